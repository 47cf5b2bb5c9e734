package io.magnetar.bench;

import java.util.concurrent.atomic.AtomicLong;

import io.magnetar.codecs.AckEncoder;

/**
 * Delivered message ids, oldest first, from the thread that runs the engine (which writes them as an
 * {@link EventCounter.IdSink}) to the thread that acks them (which reads them): a single-producer,
 * single-consumer ring. Holds at most its capacity; the benchmarks bound the unacked messages below that, so a
 * full ring is a bug and throws (on the engine's thread, which halts a pipeline: fail-stop).
 */
final class IdRing implements EventCounter.IdSink
{
    private final int mask;
    private final int[] partitions;
    private final long[] ledgers;
    private final long[] entries;
    private final AtomicLong head = new AtomicLong(); // next to read: written by the reader
    private final AtomicLong tail = new AtomicLong(); // next to write: written by the writer

    /**
     * @param capacity least number of ids it must hold (rounded up to a power of two).
     */
    IdRing(final int capacity)
    {
        final int size = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
        mask = size - 1;
        partitions = new int[size];
        ledgers = new long[size];
        entries = new long[size];
    }

    public void onId(final int consumerIndex, final int partition, final long ledger, final long entry)
    {
        final long t = tail.get();
        if (t - head.get() > mask)
        {
            throw new IllegalStateException("id ring full: more than " + (mask + 1) + " ids unacked");
        }
        final int i = (int)t & mask;
        partitions[i] = partition;
        ledgers[i] = ledger;
        entries[i] = entry;
        tail.lazySet(t + 1);
    }

    /**
     * @return ids written and not yet consumed.
     */
    int available()
    {
        return (int)(tail.get() - head.get());
    }

    /**
     * Put the {@code count} oldest ids into an Ack's id group (without consuming them).
     */
    void encode(final AckEncoder.IdsEncoder ids, final int count)
    {
        final long h = head.get();
        for (int n = 0; n < count; n++)
        {
            final int i = (int)(h + n) & mask;
            ids.next().partition(partitions[i]).ledger(ledgers[i]).entry(entries[i]);
        }
    }

    /**
     * Drop the {@code count} oldest ids (once their Ack is on its way).
     */
    void consume(final int count)
    {
        head.lazySet(head.get() + count);
    }
}
