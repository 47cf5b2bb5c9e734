package io.magnetar.engine.pipeline;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.Snapshottable;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalEntryFormat;
import io.magnetar.engine.snapshot.SnapshotStore;
import io.magnetar.engine.snapshot.SnapshotWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Takes snapshots for the pipeline: after a {@code TakeSnapshot} marker is applied ({@link #onApplied}) and, on
 * graceful close, after the handler threads stopped ({@link #takeAtLastApplied}).
 * <p>
 * A snapshot is the state after the journal entry last applied. The thread that applies commands only serialises
 * the state: the engine writes its records into a {@link SnapshotWriter} (buffered writes into a temporary file),
 * which is all the engine stalls for. The rest runs on the snapshotter's own background thread (daemon, named
 * {@code <prefix>snapshot}): under {@link Durability#ASYNC} the journal is forced up to that entry (a snapshot must
 * never be on disk while the entries before it are not), the file is forced and renamed into place, then the oldest
 * snapshots beyond {@code retained} are deleted, and with them every journal cycle wholly before the oldest snapshot
 * kept, once there are {@code retained} snapshots (the {@link SnapshotStore#JOURNAL_TRUNCATED} marker is written
 * before the first deletion). Keeping two snapshots and the journal from the older one means recovery can fall back
 * to the older one if the newer is damaged (and, before there are two, to the whole journal).
 * <p>
 * One snapshot is in progress at a time: the sequencer holds the next marker back while {@link #isFinishing()},
 * unless the journal has grown two intervals meanwhile; a marker that finds one still in progress waits for it
 * (counted in {@link #waited()}): the engine then stalls for the disk, which keeps the journal bounded. A crash while finishing leaves a
 * {@code .snap.tmp} that recovery deletes.
 * <p>
 * A failed snapshot is logged and counted, not fatal: the journal is intact and nothing is deleted; the next marker
 * tries again.
 */
final class Snapshotter
{
    private static final System.Logger LOG = System.getLogger("io.magnetar.engine.snapshot");
    private static final long SLOW_SNAPSHOT_NS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int SCHEMA_ID_OFFSET = JournalEntryFormat.COMMAND_OFFSET + MessageHeaderDecoder.schemaIdEncodingOffset();

    private final Snapshottable snapshottable;
    private final SnapshotStore store;
    private final Journal journal;
    private final int retained;
    private final ExecutorService finisher;

    // applying thread only (read by close after joining it)
    private long appliedIndex = -1;
    private long appliedTimestampMs;
    private JournalSpaceProbe spaceProbe;
    private long minFreeBytes;

    // written by the finisher, read by the applying thread once the finish is done
    private volatile long lastIndex = -1;
    // the snapshot handed to the finisher: written by the applying thread, also read by the sequencer (isFinishing)
    private volatile Future<?> finishing;

    // any thread
    private volatile long snapshots;
    private volatile long failures;
    private volatile long lastSnapshotIndex = -1;
    private volatile long lastSnapshotBytes;
    private volatile long lastSnapshotNs;
    private volatile long maxSnapshotNs;
    private volatile long lastFinishNs;
    private volatile long deletedCycles;
    private volatile long waited;

    Snapshotter(
        final Snapshottable snapshottable,
        final SnapshotStore store,
        final Journal journal,
        final int retained,
        final String threadNamePrefix)
    {
        this.snapshottable = snapshottable;
        this.store = store;
        this.journal = journal;
        this.retained = retained;
        this.finisher = Executors.newSingleThreadExecutor((runnable) ->
        {
            final Thread thread = new Thread(runnable, threadNamePrefix + "snapshot");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Refuse to start a snapshot that could eat into the free space the journal needs: a snapshot is written only
     * while its file system has {@code minFreeBytes} plus twice the last snapshot's size usable (by default the
     * journal shares that file system, and a journal write into a page the disk cannot back is a SIGBUS, not an
     * error). A refused snapshot counts as failed; the journal is kept whole.
     *
     * @param probe        of the snapshot directory's file system.
     * @param minFreeBytes the journal's minimum (the node's {@code journal-min-free-mib}) when the snapshots share the
     *                     journal's file system, else 0.
     */
    void spaceGuard(final JournalSpaceProbe probe, final long minFreeBytes)
    {
        this.spaceProbe = probe;
        this.minFreeBytes = minFreeBytes;
    }

    /**
     * After a command was applied: note its position; after a {@code TakeSnapshot} marker, take the snapshot.
     */
    void onApplied(final CommandSlot slot)
    {
        if (slot.journalIndex < 0)
        {
            return;
        }
        appliedIndex = slot.journalIndex;
        appliedTimestampMs = slot.timestampMs;
        if (JournalHandler.isTakeSnapshot(slot) && slot.length >= MessageHeaderDecoder.ENCODED_LENGTH &&
            (slot.buffer.getShort(SCHEMA_ID_OFFSET, LITTLE_ENDIAN) & 0xFFFF) == MessageHeaderDecoder.SCHEMA_ID)
        {
            take(appliedIndex, appliedTimestampMs);
        }
    }

    /**
     * Recovery loaded a snapshot or replayed entries: that is where the state is.
     *
     * @param journalIndex of the last entry in the state, or -1.
     * @param timestampMs  its stamp.
     * @param snapshotIndex journal index of the snapshot loaded, or -1.
     * @param snapshotBytes its size, or 0.
     */
    void recovered(final long journalIndex, final long timestampMs, final long snapshotIndex, final long snapshotBytes)
    {
        appliedIndex = journalIndex;
        appliedTimestampMs = timestampMs;
        lastIndex = snapshotIndex;
        lastSnapshotIndex = snapshotIndex;
        lastSnapshotBytes = snapshotBytes;
    }

    /**
     * Take a snapshot of the state after the last entry applied, unless there is one of it already, and wait until it
     * is on disk. Only when nothing is applying commands (on close, after the handler threads stopped).
     *
     * @return true if a snapshot was written.
     */
    boolean takeAtLastApplied()
    {
        awaitFinished();
        if (appliedIndex < 0 || !take(appliedIndex, appliedTimestampMs))
        {
            return false;
        }
        awaitFinished();
        return lastIndex == appliedIndex;
    }

    /**
     * Serialise the state after {@code journalIndex} on this (the applying) thread, then hand the file to the
     * background thread to be made durable and to apply retention.
     *
     * @return true if the snapshot was started (false: one of that index exists, one is still being finished, or
     * serialising failed).
     */
    boolean take(final long journalIndex, final long timestampMs)
    {
        final long startNs = System.nanoTime(); // the engine's stall: waiting for the previous one included
        if (null != finishing)
        {
            if (!finishing.isDone())
            {
                // the sequencer let this marker go although the last snapshot is still being made durable: the
                // journal grew two intervals meanwhile, so wait for the disk here (back-pressure) rather than let the
                // journal grow further
                waited++;
                awaitFinished();
            }
            finishing = null;
        }
        if (journalIndex == lastIndex)
        {
            return false;
        }

        if (null != spaceProbe)
        {
            final long needed = minFreeBytes + 2 * lastSnapshotBytes;
            long usable;
            try
            {
                usable = spaceProbe.usableBytes();
            }
            catch (final IOException | RuntimeException ex)
            {
                usable = -1;
            }
            if (usable < needed)
            {
                failed(journalIndex, new IOException("not enough disk space for a snapshot: " + usable +
                    " bytes usable, need " + needed + " (journal minimum " + minFreeBytes + " + twice the last " +
                    "snapshot's " + lastSnapshotBytes + ")"));
                return false;
            }
        }

        final SnapshotWriter writer;
        try
        {
            writer = store.newWriter(journalIndex);
        }
        catch (final IOException | RuntimeException ex)
        {
            failed(journalIndex, ex);
            return false;
        }
        try
        {
            snapshottable.takeSnapshot(journalIndex, timestampMs, writer);
            writer.flush();
        }
        catch (final IOException | RuntimeException ex)
        {
            writer.close();
            failed(journalIndex, ex);
            return false;
        }
        final long stallNs = System.nanoTime() - startNs;
        lastSnapshotNs = stallNs;
        maxSnapshotNs = Math.max(maxSnapshotNs, stallNs);

        try
        {
            finishing = finisher.submit(() -> finish(writer, journalIndex, stallNs));
        }
        catch (final RuntimeException ex) // rejected: closing
        {
            writer.close();
            failed(journalIndex, ex);
            return false;
        }
        return true;
    }

    /**
     * @return true while a snapshot is being made durable in the background (any thread): the sequencer holds the
     * next marker back until it is done (unless the journal grew two intervals meanwhile).
     */
    boolean isFinishing()
    {
        final Future<?> inProgress = finishing;
        return null != inProgress && !inProgress.isDone();
    }

    /**
     * Wait for the snapshot being finished in the background, if any (close; tests).
     */
    void awaitFinished()
    {
        final Future<?> inProgress = finishing;
        if (null != inProgress)
        {
            try
            {
                inProgress.get();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            catch (final java.util.concurrent.ExecutionException ex)
            {
                LOG.log(System.Logger.Level.ERROR, "snapshot finisher failed", ex.getCause());
            }
            finishing = null;
        }
    }

    /**
     * Finish the snapshot being written and stop the background thread (the pipeline is closing; after the handler
     * threads stopped).
     */
    void close()
    {
        awaitFinished();
        finisher.shutdown();
        try
        {
            finisher.awaitTermination(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private void finish(final SnapshotWriter writer, final long journalIndex, final long stallNs)
    {
        final long startNs = System.nanoTime();
        final Path file;
        try (writer)
        {
            if (journal.durability() == Durability.ASYNC)
            {
                journal.forceUpTo(journalIndex);
            }
            file = writer.complete();
        }
        catch (final IOException | RuntimeException ex)
        {
            failed(journalIndex, ex);
            return;
        }
        final long finishNs = System.nanoTime() - startNs;
        lastIndex = journalIndex;
        lastSnapshotIndex = journalIndex;
        lastSnapshotBytes = writer.bytes();
        lastFinishNs = finishNs;
        snapshots++;
        final long records = writer.records();
        final long bytes = writer.bytes();
        LOG.log(stallNs >= SLOW_SNAPSHOT_NS ? System.Logger.Level.INFO : System.Logger.Level.DEBUG,
            () -> "snapshot written: " + file.getFileName() + ", " + records + " records, " + bytes + " bytes, " +
            "engine stalled " + TimeUnit.NANOSECONDS.toMillis(stallNs) + " ms, made durable in " +
            TimeUnit.NANOSECONDS.toMillis(finishNs) + " ms");

        retain();
    }

    private void failed(final long journalIndex, final Exception ex)
    {
        failures++;
        LOG.log(System.Logger.Level.ERROR, "snapshot at journal index 0x" + Long.toHexString(journalIndex) +
            " failed; the journal is kept whole until a snapshot succeeds", ex);
    }

    private void retain()
    {
        try
        {
            final long oldestKept = store.retain(retained);
            if (oldestKept < 0 || store.snapshots().size() < retained)
            {
                return; // the whole journal stays until there are as many snapshots to fall back on as retained
            }
            final List<Path> before = journal.cycleFilesBefore(oldestKept);
            if (before.isEmpty())
            {
                return;
            }
            store.markJournalTruncated(before.get(0).getFileName() + " (journal index 0x" +
                Long.toHexString(oldestKept) + " is the oldest snapshot's)");
            final int deleted = journal.deleteCyclesBefore(oldestKept);
            deletedCycles += deleted;
            LOG.log(System.Logger.Level.DEBUG, () -> "deleted " + deleted + " journal cycle files before " +
                journal.cycleFileName(journal.cycleOf(oldestKept)));
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "snapshot retention or journal cycle deletion failed", ex);
        }
    }

    /**
     * @return snapshots written.
     */
    long snapshots()
    {
        return snapshots;
    }

    /**
     * @return snapshots that failed.
     */
    long failures()
    {
        return failures;
    }

    /**
     * @return journal index of the newest snapshot written or loaded, or -1.
     */
    long lastSnapshotIndex()
    {
        return lastSnapshotIndex;
    }

    /**
     * @return size of the last snapshot written, bytes.
     */
    long lastSnapshotBytes()
    {
        return lastSnapshotBytes;
    }

    /**
     * @return how long the engine stalled serialising the last snapshot, ns.
     */
    long lastSnapshotNs()
    {
        return lastSnapshotNs;
    }

    /**
     * @return how long the background thread took to make the last snapshot durable (journal force, fsync, rename),
     * ns.
     */
    long lastFinishNs()
    {
        return lastFinishNs;
    }

    /**
     * @return markers for which the engine waited for the previous snapshot to be made durable (the journal had grown
     * two intervals while it was).
     */
    long waited()
    {
        return waited;
    }

    /**
     * @return the longest a snapshot took, ns.
     */
    long maxSnapshotNs()
    {
        return maxSnapshotNs;
    }

    /**
     * @return journal cycle files deleted.
     */
    long deletedCycles()
    {
        return deletedCycles;
    }

    SnapshotStore store()
    {
        return store;
    }
}
