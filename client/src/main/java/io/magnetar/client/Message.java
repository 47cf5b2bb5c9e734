package io.magnetar.client;

import java.util.Map;

/**
 * A delivered message: its id, key and attributes, when it was published, and how many times it has been
 * delivered (1 on the first delivery). Immutable.
 */
public final class Message
{
    private final String topic;
    private final MessageId id;
    private final String key;
    private final Map<String, String> attributes;
    private final long publishTime;
    private final int deliveryCount;

    Message(
        final String topic,
        final MessageId id,
        final String key,
        final Map<String, String> attributes,
        final long publishTime,
        final int deliveryCount)
    {
        this.topic = topic;
        this.id = id;
        this.key = key;
        this.attributes = attributes;
        this.publishTime = publishTime;
        this.deliveryCount = deliveryCount;
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
        return id;
    }

    /**
     * @return its key.
     */
    public String key()
    {
        return key;
    }

    /**
     * @return its attributes, unmodifiable.
     */
    public Map<String, String> attributes()
    {
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
        return "Message{" + topic + ' ' + id + " key=" + key + " attributes=" + attributes +
            " publishTime=" + publishTime + " deliveryCount=" + deliveryCount + '}';
    }
}
