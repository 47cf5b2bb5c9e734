package io.magnetar.transport;

import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.magnetar.engine.pipeline.PipelineContext;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.File;
import java.nio.MappedByteBuffer;
import java.time.Instant;
import java.util.Optional;

/**
 * Launches the embedded Aeron media driver with defaults that behave on a 2-core machine: one shared driver thread
 * that backs off to parking when idle, small terms (4 MiB instead of Aeron's 64 MiB) and no directory left behind.
 * <p>
 * <b>A directory left by a killed driver.</b> Aeron refuses to start on a directory whose driver heart-beat within
 * the driver timeout (10 s), which is exactly the situation after {@code kill -9} and a quick restart. Unless told to
 * always delete it, the launcher reads the process id and start time recorded in the directory's CnC file: if that
 * process is gone (or the pid now belongs to a younger process) the directory is stale and is deleted; if it is
 * alive, the launch fails with {@link IllegalStateException} rather than pull the directory from under a live driver.
 */
public final class MediaDriverLauncher
{
    /**
     * What is found in an Aeron directory before launch.
     */
    public enum DirectoryState
    {
        /** No directory or no CnC file: nothing to clean. */
        ABSENT,
        /** Left by a driver whose process is gone: safe to delete. */
        STALE,
        /** Owned by a live process that runs a media driver. */
        ACTIVE
    }

    private static final long START_TIME_SLACK_MS = 1_000;

    private MediaDriverLauncher()
    {
    }

    /**
     * Launch an embedded media driver configured from the (concluded) context.
     *
     * @param ctx the transport context.
     * @return the running driver; close it to stop it (and delete its directory if so configured).
     * @throws IllegalStateException if a live process's driver owns the directory and {@code dirDeleteOnStart} is
     *                               false.
     */
    public static MediaDriver launch(final TransportContext ctx)
    {
        final File dir = new File(ctx.aeronDirectoryName());
        boolean deleteOnStart = ctx.dirDeleteOnStart();
        if (!deleteOnStart)
        {
            final DirectoryState state = inspect(dir);
            if (state == DirectoryState.ACTIVE &&
                CommonContext.isDriverActive(dir, CommonContext.DRIVER_TIMEOUT_MS, (msg) -> {}))
            {
                throw new IllegalStateException("a running media driver (pid " + recordedPid(dir) + ") owns " + dir +
                    ": choose another Aeron directory, use that driver (embedded driver off), or stop it");
            }
            deleteOnStart = state == DirectoryState.STALE;
        }

        final ThreadingMode mode = ctx.driverThreadingMode();
        final String idle = ctx.driverIdleStrategyName();
        final MediaDriver.Context driverCtx = new MediaDriver.Context()
            .aeronDirectoryName(ctx.aeronDirectoryName())
            .threadingMode(mode)
            .dirDeleteOnStart(deleteOnStart)
            .dirDeleteOnShutdown(ctx.dirDeleteOnShutdown())
            .warnIfDirectoryExists(false)
            .ipcTermBufferLength(ctx.ipcTermLength())
            .publicationTermBufferLength(ctx.udpTermLength())
            .sharedIdleStrategy(PipelineContext.Configuration.newIdleStrategy(idle))
            .sharedNetworkIdleStrategy(PipelineContext.Configuration.newIdleStrategy(idle))
            .conductorIdleStrategy(PipelineContext.Configuration.newIdleStrategy(idle))
            .senderIdleStrategy(PipelineContext.Configuration.newIdleStrategy(idle))
            .receiverIdleStrategy(PipelineContext.Configuration.newIdleStrategy(idle))
            .errorHandler(ctx.errorHandler());

        return MediaDriver.launch(driverCtx);
    }

    /**
     * Inspect an Aeron directory: is it absent, left by a dead driver, or owned by a live process?
     *
     * @param dir the Aeron directory.
     * @return what was found.
     */
    public static DirectoryState inspect(final File dir)
    {
        final File cncFile = new File(dir, CncFileDescriptor.CNC_FILE);
        if (!cncFile.exists() || cncFile.length() <= CncFileDescriptor.META_DATA_LENGTH)
        {
            return DirectoryState.ABSENT;
        }

        final long pid;
        final long startTimestampMs;
        MappedByteBuffer mapped = null;
        try
        {
            mapped = IoUtil.mapExistingFile(cncFile, "CnC file");
            final UnsafeBuffer metaData = CncFileDescriptor.createMetaDataBuffer(mapped);
            if (0 == metaData.getIntVolatile(CncFileDescriptor.cncVersionOffset(0)))
            {
                // being initialised right now, or its creator died before it finished: let Aeron decide by heartbeat
                return DirectoryState.ACTIVE;
            }
            pid = CncFileDescriptor.pid(metaData);
            startTimestampMs = CncFileDescriptor.startTimestampMs(metaData);
        }
        catch (final RuntimeException ex)
        {
            return DirectoryState.STALE;
        }
        finally
        {
            if (null != mapped)
            {
                IoUtil.unmap(mapped);
            }
        }

        final Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive())
        {
            return DirectoryState.STALE;
        }

        final Optional<Instant> processStart = process.get().info().startInstant();
        if (processStart.isPresent() && processStart.get().toEpochMilli() > startTimestampMs + START_TIME_SLACK_MS)
        {
            return DirectoryState.STALE; // the pid was reused by a process younger than the driver
        }

        return DirectoryState.ACTIVE;
    }

    private static long recordedPid(final File dir)
    {
        MappedByteBuffer mapped = null;
        try
        {
            mapped = IoUtil.mapExistingFile(new File(dir, CncFileDescriptor.CNC_FILE), "CnC file");
            return CncFileDescriptor.pid(CncFileDescriptor.createMetaDataBuffer(mapped));
        }
        catch (final RuntimeException ex)
        {
            return -1;
        }
        finally
        {
            if (null != mapped)
            {
                IoUtil.unmap(mapped);
            }
        }
    }
}
