package io.magnetar.engine.snapshot;

import java.nio.file.Path;

/**
 * What {@link SnapshotReader#verify()} found in a snapshot file.
 *
 * @param file          the file.
 * @param status        {@link Status#COMPLETE} for a snapshot that can be loaded.
 * @param detail        why it cannot be, or null.
 * @param journalIndex  journal index of the state (from SnapshotBegin), or -1 if unreadable.
 * @param timestampMs   the sequencer's stamp on that journal entry, or 0.
 * @param startCount    the engine's start count in the snapshot, or 0.
 * @param liveMessages  live messages in the snapshot, or 0.
 * @param records       records read (SnapshotEnd included when complete).
 * @param bytes         size of the file.
 */
public record SnapshotInfo(
    Path file,
    Status status,
    String detail,
    long journalIndex,
    long timestampMs,
    long startCount,
    long liveMessages,
    long records,
    long bytes)
{
    /**
     * What a snapshot file is.
     */
    public enum Status
    {
        /** From SnapshotBegin to SnapshotEnd, count and checksum matching. */
        COMPLETE,
        /** Ends before its SnapshotEnd (a torn write). */
        INCOMPLETE,
        /** Bytes that are not the records they claim to be (checksum, lengths, order, trailing bytes). */
        CORRUPT
    }

    /**
     * @return true if the snapshot can be loaded.
     */
    public boolean isComplete()
    {
        return status == Status.COMPLETE;
    }
}
