package io.magnetar.rest;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.magnetar.client.ConsumerBuilder;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MagnetarException;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.SubscriptionOptions;
import io.magnetar.client.SubscriptionType;

/**
 * The REST consumers of a gateway, by id, and their housekeeping: leases that lapsed and consumers the broker closed.
 * Ids are 128 random bits (hex): knowing one is what lets a caller use the consumer.
 */
final class RestConsumers implements AutoCloseable
{
    private static final System.Logger LOGGER = System.getLogger(RestConsumers.class.getName());

    private final MagnetarClient client;
    private final RestConfig config;
    private final ScheduledExecutorService scheduler;
    private final Executor worker;
    private final GatewayMetrics metrics;
    private final ConcurrentHashMap<String, RestConsumer> consumers = new ConcurrentHashMap<>();
    private final AtomicInteger reserved = new AtomicInteger();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean closed;

    /**
     * What a consumer registration asks for, validated.
     */
    record Registration(
        String topic,
        String subscription,
        String name,
        SubscriptionType type,
        int permits,
        long leaseMs,
        SubscriptionOptions options)
    {
    }

    RestConsumers(
        final MagnetarClient client,
        final RestConfig config,
        final ScheduledExecutorService scheduler,
        final Executor worker,
        final GatewayMetrics metrics)
    {
        this.client = client;
        this.config = config;
        this.scheduler = scheduler;
        this.worker = worker;
        this.metrics = metrics;
        scheduler.scheduleWithFixedDelay(
            this::housekeeping, config.housekeepingIntervalMs, config.housekeepingIntervalMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Attach a native consumer for a new REST consumer.
     *
     * @return completes with the new consumer once attached, or with the broker's error.
     */
    CompletableFuture<RestConsumer> create(final Registration registration)
    {
        if (closed)
        {
            return CompletableFuture.failedFuture(new ApiException(503, ErrorMapping.UNAVAILABLE, "gateway is closing"));
        }
        if (reserved.incrementAndGet() > config.maxConsumers)
        {
            reserved.decrementAndGet();
            return CompletableFuture.failedFuture(new ApiException(503, ErrorMapping.UNAVAILABLE,
                "the gateway already has " + config.maxConsumers + " REST consumers (maxConsumers); delete some or retry later"));
        }
        final String id = newId();
        final RestConsumer consumer = new RestConsumer(
            id,
            registration.topic(),
            registration.subscription(),
            null != registration.name() ? registration.name() : "rest-" + id.substring(0, 12),
            registration.type(),
            registration.permits(),
            registration.leaseMs(),
            scheduler,
            worker,
            metrics);
        final CompletableFuture<RestConsumer> result = new CompletableFuture<>();
        try
        {
            final ConsumerBuilder builder = client.newConsumer()
                .topic(registration.topic())
                .subscription(registration.subscription())
                .consumerName(consumer.name)
                .subscriptionType(registration.type())
                .receiverQueueSize(registration.permits())
                .subscriptionOptions(registration.options())
                .acknowledgmentGroupTime(Duration.ofMillis(1))
                .messageListener((ignore, message) -> consumer.onMessage(message));
            builder.subscribeAsync().whenComplete((attached, error) ->
            {
                if (null != error)
                {
                    reserved.decrementAndGet();
                    result.completeExceptionally(ErrorMapping.unwrap(error));
                    return;
                }
                consumer.attached(attached);
                consumers.put(id, consumer);
                if (closed)
                {
                    remove(consumer, "gateway is closing");
                }
                result.complete(consumer);
            });
        }
        catch (final RuntimeException ex)
        {
            reserved.decrementAndGet();
            result.completeExceptionally(ex);
        }
        return result;
    }

    private String newId()
    {
        final byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        final StringBuilder sb = new StringBuilder(32);
        for (final byte b : bytes)
        {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    /**
     * @throws ApiException 404 CONSUMER_NOT_FOUND.
     */
    RestConsumer get(final String id)
    {
        final RestConsumer consumer = consumers.get(id);
        if (null == consumer)
        {
            throw new ApiException(404, ErrorMapping.CONSUMER_NOT_FOUND, "no REST consumer '" + Json.clip(id, 64) +
                "' (never created, deleted, or its lease lapsed)");
        }
        return consumer;
    }

    CompletableFuture<List<Message>> fetch(final String id, final int max, final long waitMs)
    {
        return get(id).fetch(max, waitMs);
    }

    RestConsumer.Counts ack(final String id, final List<MessageId> ids)
    {
        final RestConsumer consumer = get(id);
        try
        {
            return consumer.ack(ids);
        }
        catch (final MagnetarException ex)
        {
            throw closedUnderneath(consumer, ex);
        }
    }

    RestConsumer.Counts nack(final String id, final List<MessageId> ids)
    {
        final RestConsumer consumer = get(id);
        try
        {
            return consumer.nack(ids);
        }
        catch (final MagnetarException ex)
        {
            throw closedUnderneath(consumer, ex);
        }
    }

    private ApiException closedUnderneath(final RestConsumer consumer, final MagnetarException ex)
    {
        final String reason = "closed: " + ErrorMapping.brokerMessage(ex);
        remove(consumer, reason);
        return new ApiException(404, ErrorMapping.CONSUMER_NOT_FOUND, "consumer '" + consumer.id + "' is " + reason);
    }

    /**
     * Delete a consumer: it detaches and the broker redelivers its unacknowledged messages to others.
     *
     * @return completes once detached.
     */
    CompletableFuture<Void> delete(final String id)
    {
        final RestConsumer consumer = get(id);
        return remove(consumer, "deleted");
    }

    private CompletableFuture<Void> remove(final RestConsumer consumer, final String reason)
    {
        if (consumers.remove(consumer.id, consumer))
        {
            reserved.decrementAndGet();
            metrics.consumerClosed(reason);
        }
        return consumer.close(reason).handle((ignore, error) -> null);
    }

    /**
     * Close the consumers of a topic (or of one of its subscriptions, when {@code subscription} is not null) that was
     * deleted through this gateway.
     */
    void closeFor(final String topic, final String subscription, final String reason)
    {
        for (final RestConsumer consumer : consumers.values())
        {
            if (consumer.topic.equals(topic) && (null == subscription || consumer.subscription.equals(subscription)))
            {
                remove(consumer, reason);
            }
        }
    }

    private void housekeeping()
    {
        try
        {
            final long nowNs = System.nanoTime();
            final long graceNs = TimeUnit.MILLISECONDS.toNanos(config.detachedGraceMs);
            final boolean clientConnected = client.isConnected();
            for (final RestConsumer consumer : consumers.values())
            {
                if (consumer.leaseLapsed(nowNs))
                {
                    remove(consumer, "lease of " + consumer.leaseMs + " ms lapsed");
                }
                else if (consumer.detachedFor(nowNs, graceNs, clientConnected))
                {
                    remove(consumer, "the broker detached it (its subscription or topic was deleted)");
                }
            }
        }
        catch (final Throwable ex)
        {
            LOGGER.log(System.Logger.Level.WARNING, "REST consumer housekeeping failed", ex);
        }
    }

    Collection<RestConsumer> all()
    {
        return consumers.values();
    }

    int size()
    {
        return consumers.size();
    }

    public void close()
    {
        closed = true;
        final List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (final RestConsumer consumer : consumers.values())
        {
            closing.add(remove(consumer, "gateway is closing"));
        }
        try
        {
            CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.SECONDS);
        }
        catch (final Exception ex)
        {
            if (ex instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
