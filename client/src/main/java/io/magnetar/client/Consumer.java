package io.magnetar.client;

import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.magnetar.codecs.DeliveriesDecoder;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;

/**
 * A consumer attached to one subscription of a topic; thread safe. The broker keeps at most
 * {@code receiverQueueSize} unacknowledged messages outstanding to it (its permit window): acknowledge (or
 * negatively acknowledge) messages to receive more. Messages arrive either through the {@link MessageListener}
 * (one at a time, in arrival order, on the listener executor) or through {@link #receive()}.
 * <p>
 * Acks and negative acks are grouped by the client agent (every {@code acknowledgmentGroupTime} or 100 ids) and
 * are fire-and-forget: an ack lost with its session just causes a redelivery. After a reconnect the consumer is
 * re-attached with the same topic, subscription, type and window; messages received but not yet handed to the
 * application are dropped (the broker redelivers them).
 */
public final class Consumer implements AutoCloseable
{
    static final long NULL_ID = -1;
    private static final long RECEIVE_POLL_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int DISPATCH_BATCH = 256;

    private final ClientAgent agent;
    private final Callbacks callbacks;
    private final String topic;
    private final String subscription;
    private final String consumerName;
    private final SubscriptionType type;
    private final int receiverQueueSize;
    private final SubscriptionOptions options;
    private final MessageListener listener;
    private final long operationTimeoutNs;
    private final LinkedBlockingQueue<Message> incoming = new LinkedBlockingQueue<>();
    private final ManyToOneConcurrentLinkedQueue<MessageId> acks = new ManyToOneConcurrentLinkedQueue<>();
    private final ManyToOneConcurrentLinkedQueue<MessageId> nacks = new ManyToOneConcurrentLinkedQueue<>();
    private final AtomicBoolean dispatching = new AtomicBoolean();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final Runnable dispatchTask = this::dispatch;
    final CompletableFuture<Consumer> attachFuture = new CompletableFuture<>();
    final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private volatile boolean closed;
    private volatile MagnetarException closedCause;
    private volatile long attachedConsumerId = NULL_ID;

    // agent thread only
    long consumerId = NULL_ID;
    boolean attaching;
    boolean closeRequested;
    private final AckBuffer ackBuffer;
    private final AckBuffer nackBuffer;

    Consumer(final ClientAgent agent, final Callbacks callbacks, final ConsumerBuilder builder, final long operationTimeoutNs)
    {
        this.agent = agent;
        this.callbacks = callbacks;
        this.topic = builder.topic;
        this.subscription = builder.subscription;
        this.consumerName = builder.consumerName;
        this.type = builder.subscriptionType;
        this.receiverQueueSize = builder.receiverQueueSize;
        this.options = builder.options;
        this.listener = builder.listener;
        this.operationTimeoutNs = operationTimeoutNs;
        final long groupTimeNs = builder.acknowledgmentGroupTime.toNanos();
        this.ackBuffer = new AckBuffer(builder.acknowledgmentGroupSize, groupTimeNs);
        this.nackBuffer = new AckBuffer(builder.acknowledgmentGroupSize, groupTimeNs);
    }

    public String topic()
    {
        return topic;
    }

    public String subscription()
    {
        return subscription;
    }

    public String consumerName()
    {
        return consumerName;
    }

    public SubscriptionType subscriptionType()
    {
        return type;
    }

    /**
     * @return the permit window: the most unacknowledged messages the broker has outstanding to this consumer.
     */
    public int receiverQueueSize()
    {
        return receiverQueueSize;
    }

    SubscriptionOptions options()
    {
        return options;
    }

    /**
     * @return true while attached to the broker (false while reconnecting, and once closed).
     */
    public boolean isConnected()
    {
        return !closed && NULL_ID != attachedConsumerId;
    }

    /**
     * @return the broker's id for this consumer in the current session, or -1 while not attached.
     */
    public long consumerId()
    {
        return attachedConsumerId;
    }

    /**
     * @return messages received and not yet handed to the application.
     */
    public int queuedMessages()
    {
        return incoming.size();
    }

    /**
     * Wait for the next message.
     *
     * @return the message.
     * @throws MagnetarException.AlreadyClosedException (or the reason the broker closed it) once closed.
     * @throws IllegalStateException if the consumer has a message listener.
     */
    public Message receive()
    {
        Message message;
        while (null == (message = receive(RECEIVE_POLL_NS)))
        {
            checkOpen();
        }
        return message;
    }

    /**
     * Wait at most {@code timeout} for the next message.
     *
     * @return the message, or null if none arrived in time.
     */
    public Message receive(final Duration timeout)
    {
        final long deadlineNs = System.nanoTime() + timeout.toNanos();
        long remainingNs = timeout.toNanos();
        Message message;
        while (null == (message = receive(Math.min(remainingNs, RECEIVE_POLL_NS))))
        {
            checkOpen();
            remainingNs = deadlineNs - System.nanoTime();
            if (remainingNs <= 0)
            {
                return null;
            }
        }
        return message;
    }

    private Message receive(final long timeoutNs)
    {
        if (null != listener)
        {
            throw new IllegalStateException("receive() is not available on a consumer with a message listener");
        }
        checkOpen();
        try
        {
            return incoming.poll(timeoutNs, TimeUnit.NANOSECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new MagnetarException.InternalException("interrupted while receiving", ex);
        }
    }

    /**
     * Acknowledge a message: it is complete for this subscription (for multicast: for this consumer).
     */
    public void acknowledge(final Message message)
    {
        acknowledge(message.id());
    }

    /**
     * Acknowledge a message id (any consumer of the subscription may ack any of its ids).
     */
    public void acknowledge(final MessageId id)
    {
        Objects.requireNonNull(id, "id");
        checkOpen();
        acks.offer(id);
    }

    /**
     * Negatively acknowledge a message: the broker redelivers it after the subscription's negative-ack delay.
     */
    public void negativeAcknowledge(final Message message)
    {
        negativeAcknowledge(message.id());
    }

    /**
     * Negatively acknowledge a message id.
     */
    public void negativeAcknowledge(final MessageId id)
    {
        Objects.requireNonNull(id, "id");
        checkOpen();
        nacks.offer(id);
    }

    /**
     * Send the pending acks, detach from the subscription (its unacknowledged messages go to other consumers) and
     * stop delivering.
     *
     * @return completes when detached.
     */
    public CompletableFuture<Void> closeAsync()
    {
        if (closing.compareAndSet(false, true))
        {
            if (!agent.submit(() -> agent.closeConsumer(this)))
            {
                onClosed(new MagnetarException.AlreadyClosedException("client is closed"));
            }
        }
        return closeFuture;
    }

    /**
     * Close, waiting at most the operation timeout.
     */
    public void close()
    {
        MagnetarClient.await(closeAsync(), operationTimeoutNs + 1_000_000_000L);
    }

    public String toString()
    {
        return "Consumer{topic=" + topic + ", subscription=" + subscription + ", type=" + type +
            ", name=" + consumerName + ", consumerId=" + attachedConsumerId + '}';
    }

    private void checkOpen()
    {
        if (closed)
        {
            final MagnetarException cause = closedCause;
            throw null != cause ? cause : new MagnetarException.AlreadyClosedException("consumer is closed");
        }
    }

    private void dispatch()
    {
        int dispatched = 0;
        while (true)
        {
            final Message message = incoming.poll();
            if (null == message)
            {
                dispatching.set(false);
                if (incoming.isEmpty() || !dispatching.compareAndSet(false, true))
                {
                    return;
                }
                continue;
            }
            if (closed)
            {
                continue;
            }
            try
            {
                listener.received(this, message);
            }
            catch (final Throwable ex)
            {
                callbacks.onError(ex);
            }
            if (++dispatched >= DISPATCH_BATCH)
            {
                // let other consumers sharing the executor run; dispatching stays true
                if (!callbacks.executeListener(dispatchTask))
                {
                    dispatching.set(false);
                }
                return;
            }
        }
    }

    // ================================================================= agent thread

    void onAttached(final long consumerId)
    {
        this.consumerId = consumerId;
        this.attachedConsumerId = consumerId;
        this.attaching = false;
    }

    /**
     * Messages from the broker: queue them and wake the listener.
     */
    void onDeliveries(final DeliveriesDecoder.MessagesDecoder messages)
    {
        while (messages.hasNext())
        {
            messages.next();
            final int partition = messages.partition();
            final long ledger = messages.ledger();
            final long entry = messages.entry();
            final long publishTimeMs = messages.publishTimeMs();
            final int deliveryCount = messages.deliveryCount();
            final DeliveriesDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
            final int attributeCount = attributes.count();
            final Map<String, String> map;
            if (0 == attributeCount)
            {
                map = Collections.emptyMap();
            }
            else
            {
                final HashMap<String, String> pairs = new HashMap<>(attributeCount * 2);
                while (attributes.hasNext())
                {
                    attributes.next();
                    final String name = attributes.name();
                    pairs.put(name, attributes.value());
                }
                map = Collections.unmodifiableMap(pairs);
            }
            final String key = messages.key();
            if (!closeRequested)
            {
                incoming.offer(new Message(
                    topic, new MessageId(partition, ledger, entry), key, map, publishTimeMs, deliveryCount));
            }
        }
        if (null != listener && !incoming.isEmpty() && dispatching.compareAndSet(false, true))
        {
            if (!callbacks.executeListener(dispatchTask))
            {
                dispatching.set(false);
            }
        }
    }

    /**
     * Send the grouped acks and negative acks that are due (all of them when {@code force}).
     */
    int sendAcks(final long nowNs, final boolean force)
    {
        if (NULL_ID == consumerId)
        {
            return 0;
        }
        return flush(acks, ackBuffer, false, nowNs, force) + flush(nacks, nackBuffer, true, nowNs, force);
    }

    private int flush(
        final ManyToOneConcurrentLinkedQueue<MessageId> queue,
        final AckBuffer buffer,
        final boolean negative,
        final long nowNs,
        final boolean force)
    {
        int work = 0;
        while (true)
        {
            if (buffer.isFull())
            {
                if (!agent.sendAcks(consumerId, buffer, negative, nowNs))
                {
                    return work;
                }
                buffer.clear();
                work++;
            }
            final MessageId id = queue.poll();
            if (null == id)
            {
                break;
            }
            buffer.add(id, nowNs);
            work++;
        }
        if ((buffer.isDue(nowNs) || (force && buffer.size() > 0)) && agent.sendAcks(consumerId, buffer, negative, nowNs))
        {
            buffer.clear();
            work++;
        }
        return work;
    }

    boolean hasPendingAcks()
    {
        return ackBuffer.size() > 0 || nackBuffer.size() > 0 || !acks.isEmpty() || !nacks.isEmpty();
    }

    /**
     * The session is gone: no longer attached; what was not handed to the application will be redelivered.
     */
    void onSessionLost()
    {
        consumerId = NULL_ID;
        attachedConsumerId = NULL_ID;
        attaching = false;
        incoming.clear();
    }

    /**
     * Closed by the application, the broker (subscription or topic deleted) or the client.
     *
     * @param cause null for a normal close.
     */
    void onClosed(final MagnetarException cause)
    {
        closedCause = cause;
        closed = true;
        consumerId = NULL_ID;
        attachedConsumerId = NULL_ID;
        incoming.clear();
        if (!attachFuture.isDone())
        {
            callbacks.fail(attachFuture, null != cause ? cause : new MagnetarException.AlreadyClosedException("consumer closed"));
        }
        callbacks.complete(closeFuture, null);
    }
}
