package io.magnetar.client;

/**
 * Message ids waiting to go out in one Ack (or Nack) frame of one consumer: a group is due when it holds
 * {@code capacity} ids or its first id has waited {@code maxDelayNs}. Preallocated; agent thread only.
 */
final class AckBuffer
{
    final int[] partitions;
    final long[] ledgers;
    final long[] entries;
    private final long maxDelayNs;
    private int size;
    private long firstAddedNs;

    AckBuffer(final int capacity, final long maxDelayNs)
    {
        partitions = new int[capacity];
        ledgers = new long[capacity];
        entries = new long[capacity];
        this.maxDelayNs = maxDelayNs;
    }

    int size()
    {
        return size;
    }

    boolean isFull()
    {
        return size == partitions.length;
    }

    int remaining()
    {
        return partitions.length - size;
    }

    /**
     * Add an id; the buffer must not be full.
     */
    void add(final int partition, final long ledger, final long entry, final long nowNs)
    {
        if (0 == size)
        {
            firstAddedNs = nowNs;
        }
        partitions[size] = partition;
        ledgers[size] = ledger;
        entries[size] = entry;
        size++;
    }

    boolean isDue(final long nowNs)
    {
        return size > 0 && (size == partitions.length || nowNs - firstAddedNs >= maxDelayNs);
    }

    void clear()
    {
        size = 0;
    }
}
