package io.magnetar.rest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.magnetar.client.ErrorCode;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MagnetarException;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;

/**
 * Publishes REST batches through one native {@link Producer} per topic, created on first use and shared by every
 * request to that topic (so concurrent requests share Publish frames: the producer batches). Each message's future
 * completes once the broker has journaled it; a request's answer waits for all of its messages, so
 * {@code 200 {"ids": [...]}} means durable (SPEC 2.1) and the ids are in request order.
 * <p>
 * A producer is bound to a topic id; when the topic is deleted (and maybe re-created) the broker answers
 * TOPIC_NOT_FOUND, the producer is dropped and the request retried once with a fresh one.
 */
final class Publisher implements AutoCloseable
{
    private final MagnetarClient client;
    private final RestConfig config;
    private final ConcurrentHashMap<String, CompletableFuture<Producer>> producers = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * One message of a request, already validated.
     */
    record Outgoing(String key, Map<String, String> attributes)
    {
    }

    Publisher(final MagnetarClient client, final RestConfig config)
    {
        this.client = client;
        this.config = config;
    }

    /**
     * @return completes with the ids in request order, or fails with the first message's error (an
     * {@link ApiException} or a {@link MagnetarException}).
     */
    CompletableFuture<List<MessageId>> publish(final String topic, final List<Outgoing> messages)
    {
        return publish(topic, messages, true);
    }

    private CompletableFuture<List<MessageId>> publish(
        final String topic, final List<Outgoing> messages, final boolean retryStale)
    {
        final CompletableFuture<Producer> producerFuture = producer(topic);
        return producerFuture.thenCompose((producer) -> send(producer, messages)).handle((ids, error) ->
        {
            if (null == error)
            {
                return CompletableFuture.completedFuture(ids);
            }
            final Throwable cause = ErrorMapping.unwrap(error);
            if (retryStale && producerFuture.isDone() && !producerFuture.isCompletedExceptionally() &&
                cause instanceof MagnetarException && isStale(((MagnetarException)cause).code()))
            {
                evict(topic, producerFuture);
                return publish(topic, messages, false);
            }
            return CompletableFuture.<List<MessageId>>failedFuture(cause);
        }).thenCompose((future) -> future);
    }

    private static boolean isStale(final ErrorCode code)
    {
        return ErrorCode.TOPIC_NOT_FOUND == code || ErrorCode.CLOSED == code;
    }

    private CompletableFuture<List<MessageId>> send(final Producer producer, final List<Outgoing> messages)
    {
        final int count = messages.size();
        if (producer.pendingMessages() + count > config.producerMaxPendingMessages)
        {
            return CompletableFuture.failedFuture(new ApiException(503, ErrorMapping.UNAVAILABLE,
                "the gateway has " + producer.pendingMessages() + " messages to topic '" + producer.topic() +
                "' waiting for the broker (producerMaxPendingMessages " + config.producerMaxPendingMessages +
                "); retry later"));
        }
        @SuppressWarnings({"unchecked", "rawtypes"})
        final CompletableFuture<MessageId>[] futures = new CompletableFuture[count];
        for (int i = 0; i < count; i++)
        {
            final Outgoing message = messages.get(i);
            futures[i] = producer.sendAsync(message.key(), message.attributes());
        }
        producer.flushAsync();
        return CompletableFuture.allOf(futures).handle((ignore, error) ->
        {
            final List<MessageId> ids = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                final CompletableFuture<MessageId> future = futures[i];
                if (future.isCompletedExceptionally())
                {
                    throw new java.util.concurrent.CompletionException(indexed(i, future));
                }
                ids.add(future.join());
            }
            return ids;
        });
    }

    /**
     * @return the failure of message {@code index}; an INVALID_ARGUMENT names the message by its index in the request
     * (the producer resends a rejected batch message by message, so the broker's text says {@code messages[0]}).
     */
    private static Throwable indexed(final int index, final CompletableFuture<MessageId> future)
    {
        try
        {
            future.join();
            return new IllegalStateException("not failed");
        }
        catch (final RuntimeException ex)
        {
            final Throwable cause = ErrorMapping.unwrap(ex);
            if (cause instanceof MagnetarException && ErrorCode.INVALID_ARGUMENT == ((MagnetarException)cause).code())
            {
                String message = ErrorMapping.brokerMessage((MagnetarException)cause);
                if (message.startsWith("messages[0]"))
                {
                    message = message.substring("messages[0]".length());
                    message = "messages[" + index + "]" + message;
                }
                else
                {
                    message = "messages[" + index + "]: " + message;
                }
                return new MagnetarException.InvalidArgumentException(message);
            }
            return cause;
        }
    }

    private CompletableFuture<Producer> producer(final String topic)
    {
        if (closed)
        {
            return CompletableFuture.failedFuture(new MagnetarException.AlreadyClosedException("gateway is closing"));
        }
        final CompletableFuture<Producer> existing = producers.get(topic);
        if (null != existing && !existing.isCompletedExceptionally())
        {
            return existing;
        }
        final CompletableFuture<Producer> created = new CompletableFuture<>();
        final CompletableFuture<Producer> raced = null == existing ?
            producers.putIfAbsent(topic, created) : (producers.replace(topic, existing, created) ? null : producers.get(topic));
        if (null != raced)
        {
            return raced;
        }
        try
        {
            client.newProducer()
                .topic(topic)
                .batchingMaxMessages(config.producerBatchMaxMessages)
                .batchingMaxBytes(1024 * 1024)
                .batchingMaxPublishDelay(1, TimeUnit.MILLISECONDS)
                .maxPendingMessages(config.producerMaxPendingMessages)
                .blockIfQueueFull(false)
                .createAsync()
                .whenComplete((producer, error) ->
                {
                    if (null != error)
                    {
                        producers.remove(topic, created);
                        created.completeExceptionally(ErrorMapping.unwrap(error));
                    }
                    else
                    {
                        created.complete(producer);
                    }
                });
        }
        catch (final RuntimeException ex)
        {
            producers.remove(topic, created);
            created.completeExceptionally(ex);
        }
        return created;
    }

    private void evict(final String topic, final CompletableFuture<Producer> future)
    {
        if (producers.remove(topic, future))
        {
            future.thenAccept(Producer::closeAsync);
        }
    }

    /**
     * Drop the producer of a topic (it was deleted).
     */
    void forget(final String topic)
    {
        final CompletableFuture<Producer> future = producers.remove(topic);
        if (null != future)
        {
            future.thenAccept(Producer::closeAsync);
        }
    }

    int producerCount()
    {
        return producers.size();
    }

    public void close()
    {
        closed = true;
        final List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (final CompletableFuture<Producer> future : producers.values())
        {
            final Producer producer = future.getNow(null);
            if (null != producer)
            {
                closing.add(producer.closeAsync());
            }
        }
        producers.clear();
        try
        {
            CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.SECONDS);
        }
        catch (final Exception ignore)
        {
            if (ignore instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
