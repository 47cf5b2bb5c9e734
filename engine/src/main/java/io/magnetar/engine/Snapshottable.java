package io.magnetar.engine;

/**
 * A command handler whose state can be written as a snapshot and loaded back (STYLE: "snapshots are commands in
 * the stream"). Both run on the thread that applies commands, between commands, and do no I/O: the pipeline
 * writes the records to a file and reads them back.
 * <p>
 * Contract: for a handler {@code a} and a fresh handler {@code b} of the same configuration,
 * {@code a.takeSnapshot(n, t, records); b.loadSnapshot(records)} leaves {@code b} in a state that behaves exactly
 * as {@code a} does for every command that follows (for the {@link Engine}: equal {@link Engine#stateHash()} and
 * equal events).
 */
public interface Snapshottable
{
    /**
     * Write the current state as snapshot records, {@code SnapshotBegin} first and {@code SnapshotEnd} last.
     *
     * @param journalIndex the journal index of the last command applied (the snapshot is the state after it).
     * @param timestampMs  the sequencer's stamp on that command.
     * @param sink         receives the records in order.
     */
    void takeSnapshot(long journalIndex, long timestampMs, SnapshotSink sink);

    /**
     * Replace the state of a fresh handler (nothing applied yet) with the snapshot's. The snapshot is checked
     * completely (order of records, references, counts, {@code SnapshotEnd}'s record count and checksum) before
     * anything changes: when this throws, the handler is still fresh.
     *
     * @param source the snapshot's records.
     * @throws SnapshotLoadException if the records are not one complete, consistent snapshot.
     * @throws IllegalStateException if the handler is not fresh.
     */
    void loadSnapshot(SnapshotSource source);
}
