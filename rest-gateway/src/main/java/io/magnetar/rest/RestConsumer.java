package io.magnetar.rest;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.magnetar.client.Consumer;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.SubscriptionType;

/**
 * One REST consumer: a native {@link Consumer} of the gateway's client whose messages wait in a buffer until a
 * long poll takes them. The broker never has more than {@code permits} unacknowledged messages outstanding to it, so
 * the buffer plus the messages handed out and not yet acked never exceed the permits either.
 * <p>
 * A long poll that finds the buffer empty parks a {@link Waiter} (a future, no thread) that the next message or
 * its timeout completes. Every call renews the lease; {@link RestConsumers}' housekeeping closes a consumer whose lease
 * lapsed with no poll waiting, and the broker redelivers what it held to the subscription's other consumers.
 * Thread safe: the listener thread, request threads and the housekeeping thread meet under this object's lock, and
 * futures are completed outside it.
 */
final class RestConsumer
{
    final String id;
    final String topic;
    final String subscription;
    final String name;
    final SubscriptionType type;
    final int permits;
    final long leaseMs;
    private final ScheduledExecutorService scheduler;
    private final Executor wakeExecutor;
    private final GatewayMetrics metrics;

    private volatile Consumer consumer;
    private final LinkedHashMap<MessageId, Message> buffer = new LinkedHashMap<>();
    private final HashMap<MessageId, Message> held = new HashMap<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long leaseDeadlineNs;
    private long detachedSinceNs;
    private boolean closed;
    private boolean wakeScheduled;
    private String closedReason;

    /**
     * A parked long poll.
     */
    static final class Waiter
    {
        final int max;
        final CompletableFuture<List<Message>> future = new CompletableFuture<>();
        ScheduledFuture<?> timeout;

        Waiter(final int max)
        {
            this.max = max;
        }
    }

    /**
     * Counts of an ack or nack request.
     */
    record Counts(int done, int unknown)
    {
    }

    RestConsumer(
        final String id,
        final String topic,
        final String subscription,
        final String name,
        final SubscriptionType type,
        final int permits,
        final long leaseMs,
        final ScheduledExecutorService scheduler,
        final Executor wakeExecutor,
        final GatewayMetrics metrics)
    {
        this.id = id;
        this.topic = topic;
        this.subscription = subscription;
        this.name = name;
        this.type = type;
        this.permits = permits;
        this.leaseMs = leaseMs;
        this.scheduler = scheduler;
        this.wakeExecutor = wakeExecutor;
        this.metrics = metrics;
        this.leaseDeadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(leaseMs);
    }

    void attached(final Consumer consumer)
    {
        this.consumer = consumer;
    }

    Consumer consumer()
    {
        return consumer;
    }

    /**
     * The native consumer's listener: one message at a time, in arrival order.
     */
    void onMessage(final Message message)
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            // a redelivery replaces an older copy and goes to the back
            buffer.remove(message.id());
            held.remove(message.id());
            buffer.put(message.id(), message);
            if (waiters.isEmpty() || wakeScheduled)
            {
                return;
            }
            wakeScheduled = true;
        }
        // wake the parked polls from another thread: by the time it runs, the rest of the Deliveries frame this
        // message came in has usually been buffered too, so one poll takes them together
        wakeExecutor.execute(this::wake);
    }

    private void wake()
    {
        while (true)
        {
            final Waiter waiter;
            final List<Message> batch;
            synchronized (this)
            {
                if (closed || waiters.isEmpty() || buffer.isEmpty())
                {
                    wakeScheduled = false;
                    return;
                }
                waiter = waiters.pollFirst();
                batch = drain(waiter.max);
                renew();
            }
            complete(waiter, batch);
        }
    }

    /**
     * A long poll: what is buffered now, or wait up to {@code waitMs} for the first message.
     */
    CompletableFuture<List<Message>> fetch(final int max, final long waitMs)
    {
        final Waiter waiter;
        synchronized (this)
        {
            checkOpen();
            renew();
            if (!buffer.isEmpty() || 0 == waitMs)
            {
                return CompletableFuture.completedFuture(drain(max));
            }
            waiter = new Waiter(max);
            waiters.addLast(waiter);
        }
        final ScheduledFuture<?> timeout = scheduler.schedule(() -> expire(waiter), waitMs, TimeUnit.MILLISECONDS);
        synchronized (this)
        {
            waiter.timeout = timeout;
        }
        return waiter.future;
    }

    private void expire(final Waiter waiter)
    {
        final boolean removed;
        synchronized (this)
        {
            removed = waiters.remove(waiter);
            if (removed)
            {
                renew();
            }
        }
        if (removed)
        {
            waiter.future.complete(Collections.emptyList());
        }
    }

    private void complete(final Waiter waiter, final List<Message> batch)
    {
        final ScheduledFuture<?> timeout;
        synchronized (this)
        {
            timeout = waiter.timeout;
        }
        if (null != timeout)
        {
            timeout.cancel(false);
        }
        waiter.future.complete(batch);
    }

    private List<Message> drain(final int max)
    {
        if (buffer.isEmpty())
        {
            return Collections.emptyList();
        }
        final List<Message> batch = new ArrayList<>(Math.min(max, buffer.size()));
        final Iterator<Message> iterator = buffer.values().iterator();
        while (iterator.hasNext() && batch.size() < max)
        {
            final Message message = iterator.next();
            iterator.remove();
            held.put(message.id(), message);
            batch.add(message);
        }
        metrics.delivered(topic, subscription, batch.size());
        return batch;
    }

    /**
     * Acknowledge: every id goes to the broker (any consumer of a subscription may ack any of its ids, SPEC 2.5);
     * {@code done} counts the ids this consumer was holding (handed out or buffered), {@code unknown} the others.
     */
    Counts ack(final List<MessageId> ids)
    {
        final Consumer native_;
        int done = 0;
        synchronized (this)
        {
            checkOpen();
            renew();
            native_ = consumer;
            for (final MessageId id : ids)
            {
                if (null != held.remove(id) || null != buffer.remove(id))
                {
                    done++;
                }
            }
        }
        for (final MessageId id : ids)
        {
            native_.acknowledge(id);
        }
        metrics.acked(topic, subscription, ids.size());
        return new Counts(done, ids.size() - done);
    }

    /**
     * Negatively acknowledge: redelivered after the subscription's nackDelayMs (SPEC 2.6). Counted like acks.
     */
    Counts nack(final List<MessageId> ids)
    {
        final Consumer native_;
        int done = 0;
        synchronized (this)
        {
            checkOpen();
            renew();
            native_ = consumer;
            for (final MessageId id : ids)
            {
                if (null != held.remove(id) || null != buffer.remove(id))
                {
                    done++;
                }
            }
        }
        for (final MessageId id : ids)
        {
            native_.negativeAcknowledge(id);
        }
        metrics.nacked(topic, subscription, ids.size());
        return new Counts(done, ids.size() - done);
    }

    private void renew()
    {
        leaseDeadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(leaseMs);
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new ApiException(404, ErrorMapping.CONSUMER_NOT_FOUND, "consumer '" + id + "' is closed: " + closedReason);
        }
    }

    /**
     * @return true if the lease lapsed (and no poll is waiting, which would hold it).
     */
    synchronized boolean leaseLapsed(final long nowNs)
    {
        return !closed && waiters.isEmpty() && nowNs - leaseDeadlineNs > 0;
    }

    /**
     * Track how long the native consumer has been detached while the client is connected.
     *
     * @return true once that lasted {@code graceNs}: the broker closed it (subscription or topic deleted).
     */
    synchronized boolean detachedFor(final long nowNs, final long graceNs, final boolean clientConnected)
    {
        final Consumer native_ = consumer;
        if (closed || null == native_ || !clientConnected || native_.isConnected())
        {
            detachedSinceNs = 0;
            return false;
        }
        if (0 == detachedSinceNs)
        {
            detachedSinceNs = nowNs;
            return false;
        }
        return nowNs - detachedSinceNs >= graceNs;
    }

    synchronized int buffered()
    {
        return buffer.size();
    }

    synchronized int waiting()
    {
        return waiters.size();
    }

    synchronized int handedOut()
    {
        return held.size();
    }

    synchronized boolean isClosed()
    {
        return closed;
    }

    /**
     * Close: fail waiting polls with CONSUMER_NOT_FOUND, drop the buffer, detach the native consumer (the broker
     * redelivers its unacknowledged messages to other consumers, SPEC 2.7).
     *
     * @return completes when the broker has detached it.
     */
    CompletableFuture<Void> close(final String reason)
    {
        final List<Waiter> waiting;
        synchronized (this)
        {
            if (closed)
            {
                final Consumer native_ = consumer;
                return null == native_ ? CompletableFuture.completedFuture(null) : native_.closeAsync();
            }
            closed = true;
            closedReason = reason;
            waiting = new ArrayList<>(waiters);
            waiters.clear();
            buffer.clear();
            held.clear();
        }
        final ApiException gone = new ApiException(404, ErrorMapping.CONSUMER_NOT_FOUND,
            "consumer '" + id + "' is closed: " + reason);
        for (final Waiter waiter : waiting)
        {
            if (null != waiter.timeout)
            {
                waiter.timeout.cancel(false);
            }
            waiter.future.completeExceptionally(gone);
        }
        final Consumer native_ = consumer;
        return null == native_ ? CompletableFuture.completedFuture(null) : native_.closeAsync();
    }
}
