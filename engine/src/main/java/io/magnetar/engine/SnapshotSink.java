package io.magnetar.engine;

import org.agrona.DirectBuffer;

/**
 * Where a snapshot's records go: each one a {@code magnetar-snapshot} SBE message with its header, in order, from
 * {@code SnapshotBegin} to {@code SnapshotEnd}. Also what a snapshot's records are read into (see
 * {@link SnapshotSource}). The buffer is only valid during the call; copy what you keep.
 */
@FunctionalInterface
public interface SnapshotSink
{
    /**
     * One record.
     *
     * @param buffer holding the record.
     * @param offset of the record's SBE header.
     * @param length of the record, header included.
     */
    void onRecord(DirectBuffer buffer, int offset, int length);
}
