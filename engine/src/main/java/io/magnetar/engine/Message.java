package io.magnetar.engine;

/**
 * One stored message: id, key, attributes, and its deliveries: the message object is itself one of them (see
 * {@link Delivery}; {@link #UNUSED} when it holds none), the others are chained through {@link #nextOfMessage}.
 * Pooled.
 * <p>
 * {@code data} holds each attribute as {@code [u16 nameLength][name][u16 valueLength][value]} (little endian),
 * then the key bytes at {@link #keyOffset()}: the order in which they arrive on the wire. Pooled messages are kept
 * in an array stack in the engine, not linked through a field: a live message carries no pool link.
 */
final class Message extends Delivery
{
    /** topic, partition and ledger id in one reference: see {@link Ledger}. Null while pooled. */
    Ledger ledger;
    long entry;
    long sequence;
    long publishTimeMs;
    int keyHash;
    /** at most 65535: {@link EngineConfig} bounds maxKeyBytes so, and the loader checks a snapshot's. */
    char keyLength;
    /**
     * at most 65534 (a u16 group count on the wire, SBE's encoder refuses 65535): {@link EngineConfig} bounds
     * maxAttributes to {@link EngineConfig#MAX_ATTRIBUTES}, which leaves room for the original-id attribute each
     * dead-letter hop adds; the loader checks a snapshot's.
     */
    char attributeCount;
    int dataLength;
    byte[] data;
    private static final byte[] NO_DATA = new byte[0];

    /**
     * A message for the pool: no data yet, an array comes with {@link #reserve} or {@link #ensureCapacity}.
     */
    Message()
    {
        this(NO_DATA);
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
        this.state = UNUSED;
    }

    /**
     * Grows {@code data} to at least {@code capacity}, by half (not double) of what it had: for a dead-lettered copy;
     * a publish sizes the array exactly first ({@link #reserve}), so its calls here change nothing. Pooled messages
     * keep their array, so the steady state still allocates nothing.
     */
    void ensureCapacity(final int capacity)
    {
        if (data.length < capacity)
        {
            data = java.util.Arrays.copyOf(data, Math.max(capacity, data.length + (data.length >> 1)));
        }
    }

    /**
     * Room for exactly {@code length} bytes of data, which the caller then writes whole: a publish knows each
     * message's length from validating it, and an array of that length has no slack beyond the 8-byte alignment. A
     * pooled message keeps its array when it is long enough, so a steady state of like messages allocates nothing.
     */
    void reserve(final int length)
    {
        if (data.length < length)
        {
            data = new byte[length];
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

    /**
     * Where the key starts: it ends the data. Derived, not stored (4 bytes per live message).
     */
    int keyOffset()
    {
        return dataLength - keyLength;
    }

    /**
     * Payload bytes counted against the backlog: key + attribute names and values, that is the data without the two
     * u16 length prefixes of each attribute. Derived, not stored (4 bytes per live message).
     */
    int payloadBytes()
    {
        return dataLength - 4 * attributeCount;
    }

    /**
     * The first of the message's live deliveries, the chain going on through {@link #nextOfMessage}: the message
     * itself unless its own delivery is unused.
     */
    Delivery firstDelivery()
    {
        return state != UNUSED ? this : nextOfMessage;
    }

    /**
     * Some subscription still has to process the message: while so, it stays stored.
     */
    boolean hasDeliveries()
    {
        return state != UNUSED || nextOfMessage != null;
    }

    /**
     * Live deliveries: the length of the chain. Walks it; for snapshots and the state hash, not the command path.
     */
    int deliveries()
    {
        int n = 0;
        for (Delivery d = firstDelivery(); d != null; d = d.nextOfMessage)
        {
            n++;
        }
        return n;
    }

    Topic topic()
    {
        return ledger.topic;
    }

    int partition()
    {
        return ledger.partition;
    }

    long ledgerId()
    {
        return ledger.id;
    }

    void reset()
    {
        clearDelivery(UNUSED);
        nextOfMessage = null;
        ledger = null;
        dataLength = 0;
    }
}
