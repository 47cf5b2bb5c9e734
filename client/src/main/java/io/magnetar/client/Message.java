package io.magnetar.client;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * A delivered message: its id, key and attributes, when it was published, and how many times it has been
 * delivered (1 on the first delivery). Immutable and safe to share between threads.
 * <p>
 * The client keeps the key and attributes as the bytes they arrived in (one array per message) and decodes them on
 * the first call of {@link #key()} or {@link #attributes()}; {@link #id()} is made on first use too. A listener that
 * only acknowledges costs no strings, maps or ids.
 */
public final class Message
{
    private final String topic;
    private final int partition;
    private final long ledger;
    private final long entry;
    private final long publishTime;
    private final int deliveryCount;
    /**
     * The message's var-data exactly as on the wire: the attributes group (uint16 block length, uint16 count, then
     * per pair a uint16-length name and value) followed by the uint16-length key, all little-endian.
     */
    private final byte[] data;

    // decoded on first use; racy but idempotent: each value is immutable and safely published through final fields
    private MessageId id;
    private String key;
    private Map<String, String> attributes;

    Message(
        final String topic,
        final int partition,
        final long ledger,
        final long entry,
        final long publishTime,
        final int deliveryCount,
        final byte[] data)
    {
        this.topic = topic;
        this.partition = partition;
        this.ledger = ledger;
        this.entry = entry;
        this.publishTime = publishTime;
        this.deliveryCount = deliveryCount;
        this.data = data;
    }

    /**
     * @return the topic it was published to.
     */
    public String topic()
    {
        return topic;
    }

    /**
     * @return its id, what {@link Consumer#acknowledge(MessageId)} takes.
     */
    public MessageId id()
    {
        MessageId id = this.id;
        if (null == id)
        {
            id = new MessageId(partition, ledger, entry);
            this.id = id;
        }
        return id;
    }

    int partition()
    {
        return partition;
    }

    long ledger()
    {
        return ledger;
    }

    long entry()
    {
        return entry;
    }

    /**
     * @return its key.
     */
    public String key()
    {
        String key = this.key;
        if (null == key)
        {
            int position = skipAttributes();
            final int length = uint16(position);
            position += 2;
            key = new String(data, position, length, StandardCharsets.UTF_8);
            this.key = key;
        }
        return key;
    }

    /**
     * @return its attributes, unmodifiable.
     */
    public Map<String, String> attributes()
    {
        Map<String, String> attributes = this.attributes;
        if (null == attributes)
        {
            attributes = decodeAttributes();
            this.attributes = attributes;
        }
        return attributes;
    }

    /**
     * @return when the broker accepted it, ms since the epoch (the broker's clock).
     */
    public long publishTime()
    {
        return publishTime;
    }

    /**
     * @return 1 on the first delivery, +1 on each redelivery (SPEC 2.8).
     */
    public int deliveryCount()
    {
        return deliveryCount;
    }

    public String toString()
    {
        return "Message{" + topic + ' ' + partition + ':' + ledger + ':' + entry + " key=" + key() +
            " attributes=" + attributes() + " publishTime=" + publishTime + " deliveryCount=" + deliveryCount + '}';
    }

    private Map<String, String> decodeAttributes()
    {
        final int blockLength = uint16(0);
        final int count = uint16(2);
        if (0 == count)
        {
            return Collections.emptyMap();
        }
        final HashMap<String, String> pairs = new HashMap<>(count * 2);
        int position = 4;
        for (int i = 0; i < count; i++)
        {
            position += blockLength;
            final int nameLength = uint16(position);
            final String name = new String(data, position + 2, nameLength, StandardCharsets.UTF_8);
            position += 2 + nameLength;
            final int valueLength = uint16(position);
            pairs.put(name, new String(data, position + 2, valueLength, StandardCharsets.UTF_8));
            position += 2 + valueLength;
        }
        return Collections.unmodifiableMap(pairs);
    }

    private int skipAttributes()
    {
        final int blockLength = uint16(0);
        final int count = uint16(2);
        int position = 4;
        for (int i = 0; i < count; i++)
        {
            position += blockLength;
            position += 2 + uint16(position);
            position += 2 + uint16(position);
        }
        return position;
    }

    private int uint16(final int index)
    {
        return (data[index] & 0xFF) | ((data[index + 1] & 0xFF) << 8);
    }
}
