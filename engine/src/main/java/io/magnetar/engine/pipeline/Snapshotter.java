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
import java.util.concurrent.TimeUnit;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Takes snapshots for the pipeline, on the thread that applies commands: after a {@code TakeSnapshot} marker is
 * applied ({@link #onApplied}) and, on graceful close, after the handler threads stopped ({@link #takeAtLastApplied}).
 * <p>
 * A snapshot is the state after the journal entry last applied: the engine writes its records into a
 * {@link SnapshotWriter}; under {@link Durability#ASYNC} the journal is forced up to that entry first (a snapshot
 * must never be on disk while the entries before it are not); the file is forced and renamed. Then the oldest
 * snapshots beyond {@code retained} are deleted, and with them every journal cycle wholly before the oldest snapshot
 * kept, once there are {@code retained} snapshots (the {@link SnapshotStore#JOURNAL_TRUNCATED} marker is written
 * before the first deletion). Keeping two snapshots and the journal from the older one means recovery can fall back
 * to the older one if the newer is damaged (and, before there are two, to the whole journal).
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

    // applying thread only (read by close after joining it)
    private long appliedIndex = -1;
    private long appliedTimestampMs;
    private long lastIndex = -1;

    // any thread
    private volatile long snapshots;
    private volatile long failures;
    private volatile long lastSnapshotIndex = -1;
    private volatile long lastSnapshotBytes;
    private volatile long lastSnapshotNs;
    private volatile long maxSnapshotNs;
    private volatile long deletedCycles;

    Snapshotter(final Snapshottable snapshottable, final SnapshotStore store, final Journal journal, final int retained)
    {
        this.snapshottable = snapshottable;
        this.store = store;
        this.journal = journal;
        this.retained = retained;
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
     * Take a snapshot of the state after the last entry applied, unless there is one of it already. Only when
     * nothing is applying commands (on close, after the handler threads stopped).
     *
     * @return true if a snapshot was written.
     */
    boolean takeAtLastApplied()
    {
        return appliedIndex >= 0 && take(appliedIndex, appliedTimestampMs);
    }

    /**
     * Write the snapshot of the state after {@code journalIndex}, then apply retention.
     *
     * @return true if it was written.
     */
    boolean take(final long journalIndex, final long timestampMs)
    {
        if (journalIndex == lastIndex)
        {
            return false;
        }

        final long startNs = System.nanoTime();
        final Path file;
        final long bytes;
        final long records;
        try (SnapshotWriter writer = store.newWriter(journalIndex))
        {
            snapshottable.takeSnapshot(journalIndex, timestampMs, writer);
            if (journal.durability() == Durability.ASYNC)
            {
                journal.forceUpTo(journalIndex);
            }
            file = writer.complete();
            bytes = writer.bytes();
            records = writer.records();
        }
        catch (final IOException | RuntimeException ex)
        {
            failures++;
            LOG.log(System.Logger.Level.ERROR, "snapshot at journal index 0x" + Long.toHexString(journalIndex) +
                " failed; the journal is kept whole until a snapshot succeeds", ex);
            return false;
        }
        final long tookNs = System.nanoTime() - startNs;
        lastIndex = journalIndex;
        lastSnapshotIndex = journalIndex;
        lastSnapshotBytes = bytes;
        lastSnapshotNs = tookNs;
        maxSnapshotNs = Math.max(maxSnapshotNs, tookNs);
        snapshots++;
        LOG.log(tookNs >= SLOW_SNAPSHOT_NS ? System.Logger.Level.INFO : System.Logger.Level.DEBUG,
            () -> "snapshot written: " + file.getFileName() + ", " + records + " records, " + bytes + " bytes, " +
            TimeUnit.NANOSECONDS.toMillis(tookNs) + " ms");

        retain();
        return true;
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
     * @return how long the last snapshot took to write (the engine's stall), ns.
     */
    long lastSnapshotNs()
    {
        return lastSnapshotNs;
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
