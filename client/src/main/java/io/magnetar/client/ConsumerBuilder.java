package io.magnetar.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Configures a {@link Consumer}; see {@link MagnetarClient#newConsumer()}. Not thread safe.
 * The subscription options ({@link #ackTimeout}, {@link #negativeAckRedeliveryDelay}, {@link #maxDeliveries},
 * {@link #maxInFlightPerKey}) are used only if this consumer creates the subscription.
 */
public final class ConsumerBuilder
{
    private final MagnetarClient client;
    String topic;
    String subscription;
    String consumerName;
    SubscriptionType subscriptionType = SubscriptionType.SHARED;
    int receiverQueueSize = 1000;
    SubscriptionOptions options = SubscriptionOptions.DEFAULTS;
    MessageListener listener;
    Duration acknowledgmentGroupTime = Duration.ofMillis(1);
    int acknowledgmentGroupSize = 100;

    ConsumerBuilder(final MagnetarClient client)
    {
        this.client = client;
    }

    public ConsumerBuilder topic(final String topic)
    {
        this.topic = Objects.requireNonNull(topic, "topic");
        return this;
    }

    public ConsumerBuilder subscription(final String subscription)
    {
        this.subscription = Objects.requireNonNull(subscription, "subscription");
        return this;
    }

    /**
     * @param name this consumer's name at the broker (default: the client's name and a number).
     * @return this.
     */
    public ConsumerBuilder consumerName(final String name)
    {
        this.consumerName = name;
        return this;
    }

    /**
     * @param type the subscription's type (default SHARED); it must match an existing subscription's type. Null
     *             attaches only to an existing subscription.
     * @return this.
     */
    public ConsumerBuilder subscriptionType(final SubscriptionType type)
    {
        this.subscriptionType = type;
        return this;
    }

    /**
     * @param size the permit window: the most unacknowledged messages outstanding to this consumer (default 1000).
     *             It also sizes the consumer's ack ring (1,024 to 32,768 slots of 32 bytes, off-heap).
     * @return this.
     */
    public ConsumerBuilder receiverQueueSize(final int size)
    {
        if (size < 1)
        {
            throw new IllegalArgumentException("receiverQueueSize must be positive: " + size);
        }
        this.receiverQueueSize = size;
        return this;
    }

    /**
     * @param options all the subscription options at once (used only when the subscription is created).
     * @return this.
     */
    public ConsumerBuilder subscriptionOptions(final SubscriptionOptions options)
    {
        this.options = Objects.requireNonNull(options, "options");
        return this;
    }

    public ConsumerBuilder ackTimeout(final Duration timeout)
    {
        options = options.ackTimeout(timeout);
        return this;
    }

    public ConsumerBuilder negativeAckRedeliveryDelay(final Duration delay)
    {
        options = options.negativeAckRedeliveryDelay(delay);
        return this;
    }

    public ConsumerBuilder maxDeliveries(final int deliveries)
    {
        options = options.maxDeliveries(deliveries);
        return this;
    }

    public ConsumerBuilder maxInFlightPerKey(final int messages)
    {
        options = options.maxInFlightPerKey(messages);
        return this;
    }

    /**
     * @param listener called for each message (then {@link Consumer#receive()} is not available).
     * @return this.
     */
    public ConsumerBuilder messageListener(final MessageListener listener)
    {
        this.listener = listener;
        return this;
    }

    /**
     * @param time how long an ack may wait to be grouped with others (default 1 ms).
     * @return this.
     */
    public ConsumerBuilder acknowledgmentGroupTime(final Duration time)
    {
        Objects.requireNonNull(time, "time");
        if (time.isNegative())
        {
            throw new IllegalArgumentException("acknowledgmentGroupTime must not be negative: " + time);
        }
        this.acknowledgmentGroupTime = time;
        return this;
    }

    /**
     * @param ids most ids per Ack frame (default 100).
     * @return this.
     */
    public ConsumerBuilder acknowledgmentGroupSize(final int ids)
    {
        if (ids < 1 || ids > 10_000)
        {
            throw new IllegalArgumentException("acknowledgmentGroupSize must be 1..10000: " + ids);
        }
        this.acknowledgmentGroupSize = ids;
        return this;
    }

    /**
     * Attach to the subscription (creating it if it does not exist and a type is given).
     *
     * @return completes with the attached consumer, or with the broker's error.
     */
    public CompletableFuture<Consumer> subscribeAsync()
    {
        if (null == topic || null == subscription)
        {
            throw new IllegalArgumentException("topic and subscription are required");
        }
        return client.subscribe(this);
    }

    /**
     * @return the attached consumer.
     * @throws MagnetarException e.g. {@code TOPIC_NOT_FOUND}, {@code SUBSCRIPTION_TYPE_CONFLICT}.
     */
    public Consumer subscribe()
    {
        return client.awaitOperation(subscribeAsync());
    }
}
