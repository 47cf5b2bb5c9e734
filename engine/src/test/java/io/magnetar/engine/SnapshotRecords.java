package io.magnetar.engine;

import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Snapshots in memory for engine tests: an engine's records as byte arrays, and those handed back to a loader.
 */
final class SnapshotRecords
{
    private SnapshotRecords()
    {
    }

    /**
     * @return the engine's snapshot records (journal index 42, time stamp 7), each copied.
     */
    static List<byte[]> take(final Engine engine)
    {
        final List<byte[]> records = new ArrayList<>();
        engine.takeSnapshot(42, 7, (buffer, offset, length) ->
        {
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            records.add(copy);
        });
        return records;
    }

    /**
     * Hand the records to a loader's sink, in order.
     */
    static void replay(final List<byte[]> records, final SnapshotSink sink)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[0]);
        for (final byte[] record : records)
        {
            buffer.wrap(record);
            sink.onRecord(buffer, 0, record.length);
        }
    }
}
