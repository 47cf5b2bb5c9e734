package io.magnetar.engine;

/**
 * One stored message: id, key, attributes and the head of its chain of deliveries. Pooled.
 * <p>
 * {@code data} holds each attribute as {@code [u16 nameLength][name][u16 valueLength][value]} (little endian),
 * then the key bytes at {@link #keyOffset}: the order in which they arrive on the wire.
 */
final class Message
{
    Topic topic;
    int partition;
    long ledger;
    long entry;
    long sequence;
    long publishTimeMs;
    int keyHash;
    int keyOffset;
    int keyLength;
    int attributeCount;
    int dataLength;
    byte[] data;
    /** payload bytes counted against the backlog: key + attribute names and values. */
    int payloadBytes;
    /** live deliveries; the message is deleted when this reaches zero. */
    int deliveries;
    Delivery firstDelivery;
    Message nextFree;

    /**
     * A message for the pool: room for a small key and attributes, grown by {@link #ensureCapacity}.
     */
    Message()
    {
        this(new byte[64]);
    }

    /**
     * A message whose data array the caller provides (the snapshot loader, which knows the exact length only once it
     * has read the record's deliveries, passes null and sets it then): no default array allocated only to be dropped,
     * which for a recovery of N messages was N garbage arrays of 80 bytes.
     *
     * @param data holds the message's data, or null until the caller sets it.
     */
    Message(final byte[] data)
    {
        this.data = data;
    }

    /**
     * Grows {@code data} by half (not double): this array is most of a live message's heap, and a message of the
     * benchmarks' shape (17-byte key, one 62-byte attribute: 87 bytes of data) then fits 96 bytes, not 128
     * (MemoryBench, docs/BENCHMARKS.md "Durability figures"). Pooled messages keep their array, so the steady state
     * still allocates nothing.
     */
    void ensureCapacity(final int capacity)
    {
        if (data.length < capacity)
        {
            data = java.util.Arrays.copyOf(data, Math.max(capacity, data.length + (data.length >> 1)));
        }
    }

    int getU16(final int index)
    {
        return (data[index] & 0xff) | (data[index + 1] & 0xff) << 8;
    }

    void putU16(final int index, final int value)
    {
        data[index] = (byte)value;
        data[index + 1] = (byte)(value >>> 8);
    }

    void reset()
    {
        topic = null;
        firstDelivery = null;
        deliveries = 0;
        dataLength = 0;
        nextFree = null;
    }
}
