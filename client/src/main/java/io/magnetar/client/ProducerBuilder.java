package io.magnetar.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Configures a {@link Producer}; see {@link MagnetarClient#newProducer()}. Not thread safe.
 */
public final class ProducerBuilder
{
    private final MagnetarClient client;
    String topic;
    int batchingMaxMessages = 100;
    Duration batchingMaxPublishDelay = Duration.ofMillis(1);
    int batchingMaxBytes = 128 * 1024;
    int maxPendingMessages = 10_000;
    boolean blockIfQueueFull;
    Duration sendTimeout;

    ProducerBuilder(final MagnetarClient client)
    {
        this.client = client;
    }

    /**
     * @param topic the topic to publish to; it must exist.
     * @return this.
     */
    public ProducerBuilder topic(final String topic)
    {
        this.topic = Objects.requireNonNull(topic, "topic");
        return this;
    }

    /**
     * @param messages most messages per Publish frame (default 100; 1 = no batching; the broker allows 10,000).
     * @return this.
     */
    public ProducerBuilder batchingMaxMessages(final int messages)
    {
        if (messages < 1 || messages > 65535)
        {
            throw new IllegalArgumentException("batchingMaxMessages must be 1..65535: " + messages);
        }
        this.batchingMaxMessages = messages;
        return this;
    }

    /**
     * @param delay the linger: how long the first message of a batch may wait for others (default 1 ms; 0 = send
     *              what is there at once).
     * @return this.
     */
    public ProducerBuilder batchingMaxPublishDelay(final long delay, final TimeUnit unit)
    {
        return batchingMaxPublishDelay(Duration.ofNanos(unit.toNanos(delay)));
    }

    /**
     * @param delay the linger (default 1 ms).
     * @return this.
     */
    public ProducerBuilder batchingMaxPublishDelay(final Duration delay)
    {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative())
        {
            throw new IllegalArgumentException("batchingMaxPublishDelay must not be negative: " + delay);
        }
        this.batchingMaxPublishDelay = delay;
        return this;
    }

    /**
     * @param bytes most bytes per Publish frame (default 128 KiB; never more than the publication carries).
     * @return this.
     */
    public ProducerBuilder batchingMaxBytes(final int bytes)
    {
        if (bytes < 1024)
        {
            throw new IllegalArgumentException("batchingMaxBytes must be >= 1024: " + bytes);
        }
        this.batchingMaxBytes = bytes;
        return this;
    }

    /**
     * @param messages most messages sent and not yet confirmed (default 10,000). The producer's hand-off queue to
     *                 the client agent is an array of this many slots (rounded up to a power of two, at most 2^22),
     *                 allocated when the producer is created.
     * @return this.
     */
    public ProducerBuilder maxPendingMessages(final int messages)
    {
        if (messages < 1)
        {
            throw new IllegalArgumentException("maxPendingMessages must be positive: " + messages);
        }
        this.maxPendingMessages = messages;
        return this;
    }

    /**
     * @param block when the pending queue is full: true = {@code sendAsync} blocks until there is room; false
     *              (default) = it fails at once with {@link MagnetarException.ProducerQueueFullException}.
     * @return this.
     */
    public ProducerBuilder blockIfQueueFull(final boolean block)
    {
        this.blockIfQueueFull = block;
        return this;
    }

    /**
     * @param timeout how long a message may wait for its receipt, reconnects included (default: the client's
     *                operation timeout; zero = forever). A timed-out message may still have been stored.
     * @return this.
     */
    public ProducerBuilder sendTimeout(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative())
        {
            throw new IllegalArgumentException("sendTimeout must not be negative: " + timeout);
        }
        this.sendTimeout = timeout;
        return this;
    }

    /**
     * Look the topic up (DescribeTopic) and create the producer.
     *
     * @return completes with the producer, or with {@link MagnetarException.TopicNotFoundException}.
     */
    public CompletableFuture<Producer> createAsync()
    {
        if (null == topic)
        {
            throw new IllegalArgumentException("topic is required");
        }
        return client.createProducer(this);
    }

    /**
     * @return the producer, once the topic is known.
     * @throws MagnetarException.TopicNotFoundException if the topic does not exist.
     */
    public Producer create()
    {
        return client.awaitOperation(createAsync());
    }
}
