package io.magnetar.engine;

/**
 * The records of one snapshot, as stored: {@link #readRecords} hands each one, in order, to a sink. The source
 * may end early (a torn or damaged snapshot); the loader notices a missing {@code SnapshotEnd}.
 */
@FunctionalInterface
public interface SnapshotSource
{
    /**
     * Hand every record of the snapshot, in order, to {@code sink}.
     *
     * @param sink to receive the records.
     */
    void readRecords(SnapshotSink sink);
}
