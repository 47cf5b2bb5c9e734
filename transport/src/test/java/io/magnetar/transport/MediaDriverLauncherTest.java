package io.magnetar.transport;

import java.io.File;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

import io.aeron.CncFileDescriptor;
import io.aeron.driver.MediaDriver;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class MediaDriverLauncherTest
{
    private final String dir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());

    @AfterEach
    void after()
    {
        TransportHarness.deleteRecursively(Path.of(dir));
    }

    private TransportContext ctx()
    {
        return new TransportContext().aeronDirectoryName(dir).ipcTermLength(64 * 1024).udpTermLength(64 * 1024)
            .udpChannel(null).conclude();
    }

    @Test
    void absentDirectoryIsCreatedAndDeletedOnShutdown()
    {
        assertEquals(MediaDriverLauncher.DirectoryState.ABSENT, MediaDriverLauncher.inspect(new File(dir)));
        try (MediaDriver driver = MediaDriverLauncher.launch(ctx()))
        {
            assertEquals(dir, driver.aeronDirectoryName());
            assertEquals(64 * 1024, driver.context().ipcTermBufferLength());
            assertEquals(io.aeron.driver.ThreadingMode.SHARED, driver.context().threadingMode());
        }
        assertFalse(new File(dir).exists(), "deleted on shutdown");
    }

    @Test
    void refusesADirectoryOwnedByALiveDriver()
    {
        try (MediaDriver driver = MediaDriverLauncher.launch(ctx()))
        {
            assertTrue(driver.context().cncFile().exists());
            assertEquals(MediaDriverLauncher.DirectoryState.ACTIVE, MediaDriverLauncher.inspect(new File(dir)));
            final IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> MediaDriverLauncher.launch(ctx()));
            assertTrue(ex.getMessage().contains("pid " + ProcessHandle.current().pid()), ex.getMessage());
        }
    }

    @Test
    void replacesADirectoryLeftByAKilledDriverAtOnce() throws Exception
    {
        // a driver that "died" without cleaning up: its directory stays, its heartbeat is seconds old at most
        final MediaDriver dead = MediaDriverLauncher.launch(ctx().dirDeleteOnShutdown(false));
        dead.close();
        assertTrue(new File(dir, CncFileDescriptor.CNC_FILE).exists());

        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        writePid(gone.pid());
        assertEquals(MediaDriverLauncher.DirectoryState.STALE, MediaDriverLauncher.inspect(new File(dir)));

        try (MediaDriver driver = MediaDriverLauncher.launch(ctx()))
        {
            assertEquals(MediaDriverLauncher.DirectoryState.ACTIVE, MediaDriverLauncher.inspect(new File(dir)));
            assertTrue(driver.context().cncFile().exists());
        }
    }

    private void writePid(final long pid)
    {
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(new File(dir, CncFileDescriptor.CNC_FILE), "cnc");
        try
        {
            final UnsafeBuffer metaData = CncFileDescriptor.createMetaDataBuffer(mapped);
            metaData.putLong(CncFileDescriptor.pidOffset(0), pid);
        }
        finally
        {
            IoUtil.unmap(mapped);
        }
    }
}
