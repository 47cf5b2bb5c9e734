package io.magnetar.client;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.magnetar.codecs.DeliveriesDecoder;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

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
 * <p>
 * Per message the client allocates only the {@link Message} and one array of its key and attribute bytes (decoded
 * when asked for). A Deliveries frame's messages reach the receive queue in one locked step with one wake-up;
 * the listener thread takes them in chunks; acks and negative acks travel to the agent as primitives through a
 * preallocated ring (no object per id).
 */
public final class Consumer implements AutoCloseable
{
    static final long NULL_ID = -1;
    private static final long RECEIVE_POLL_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int DISPATCH_BATCH = 256;
    private static final int ACK = 1;
    private static final int NACK = 2;
    /** An ack record in the ring: ledger, entry, partition. */
    private static final int ACK_RECORD_LENGTH = 2 * Long.BYTES + Integer.BYTES;
    /** Ring slots per ack record: the 8-byte record header plus the record, aligned to 8. */
    private static final int ACK_SLOT_LENGTH = 32;
    /** The ring holds a window's acks (1,024 to 32,768 records: 32 KiB to 1 MiB off-heap); overflow is a queue. */
    private static final int MIN_ACK_RING_RECORDS = 1024;
    private static final int MAX_ACK_RING_RECORDS = 32768;

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
    // received, not yet handed to the application: guarded by lock
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final ArrayDeque<Message> incoming;
    // acks and nacks from any thread: primitives through the ring; the linked queues only when the ring is full
    private final ManyToOneRingBuffer ackRing;
    private final UnsafeBuffer ackRingBuffer;
    private final ManyToOneConcurrentLinkedQueue<MessageId> acks = new ManyToOneConcurrentLinkedQueue<>();
    private final ManyToOneConcurrentLinkedQueue<MessageId> nacks = new ManyToOneConcurrentLinkedQueue<>();
    private final AtomicLong ackOverflows = new AtomicLong();
    // the listener executor's thread, one dispatch at a time (the dispatching flag)
    private final Message[] dispatchBatch = new Message[DISPATCH_BATCH];
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
    private final MessageHandler ackReader = this::onAckRecord;
    private long ackReadNowNs;
    private Message[] staged = new Message[64];
    private int stagedCount;

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
        this.incoming = new ArrayDeque<>(Math.min(receiverQueueSize, 1024));
        final int records = BitUtil.findNextPositivePowerOfTwo(
            Math.min(MAX_ACK_RING_RECORDS, Math.max(MIN_ACK_RING_RECORDS, receiverQueueSize)));
        this.ackRingBuffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(
            records * ACK_SLOT_LENGTH + RingBufferDescriptor.TRAILER_LENGTH, BitUtil.CACHE_LINE_LENGTH));
        this.ackRing = new ManyToOneRingBuffer(ackRingBuffer);
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
        lock.lock();
        try
        {
            return incoming.size();
        }
        finally
        {
            lock.unlock();
        }
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
            lock.lockInterruptibly();
            try
            {
                long remainingNs = timeoutNs;
                Message message;
                while (null == (message = incoming.pollFirst()))
                {
                    if (remainingNs <= 0)
                    {
                        return null;
                    }
                    remainingNs = notEmpty.awaitNanos(remainingNs);
                }
                if (!incoming.isEmpty())
                {
                    notEmpty.signal();   // another receiver may be waiting for the rest of the batch
                }
                return message;
            }
            finally
            {
                lock.unlock();
            }
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
        Objects.requireNonNull(message, "message");
        checkOpen();
        sendAck(ACK, message.partition(), message.ledger(), message.entry());
    }

    /**
     * Acknowledge a message id (any consumer of the subscription may ack any of its ids).
     */
    public void acknowledge(final MessageId id)
    {
        Objects.requireNonNull(id, "id");
        checkOpen();
        sendAck(ACK, id.partition(), id.ledger(), id.entry());
    }

    /**
     * Negatively acknowledge a message: the broker redelivers it after the subscription's negative-ack delay.
     */
    public void negativeAcknowledge(final Message message)
    {
        Objects.requireNonNull(message, "message");
        checkOpen();
        sendAck(NACK, message.partition(), message.ledger(), message.entry());
    }

    /**
     * Negatively acknowledge a message id.
     */
    public void negativeAcknowledge(final MessageId id)
    {
        Objects.requireNonNull(id, "id");
        checkOpen();
        sendAck(NACK, id.partition(), id.ledger(), id.entry());
    }

    /**
     * @return false if the ring is full (the agent is behind): the caller queues an object instead.
     */
    /**
     * Hand an ack or nack to the agent: through the ring as primitives, or, if the ring is full (the agent is
     * behind), as an object on the overflow queue, so none is lost.
     */
    private void sendAck(final int type, final int partition, final long ledger, final long entry)
    {
        if (!offerAck(type, partition, ledger, entry))
        {
            (ACK == type ? acks : nacks).offer(new MessageId(partition, ledger, entry));
            ackOverflows.incrementAndGet();
        }
    }

    private boolean offerAck(final int type, final int partition, final long ledger, final long entry)
    {
        final int index = ackRing.tryClaim(type, ACK_RECORD_LENGTH);
        if (index < 0)
        {
            return false;
        }
        final UnsafeBuffer buffer = ackRingBuffer;
        buffer.putLong(index, ledger);
        buffer.putLong(index + Long.BYTES, entry);
        buffer.putInt(index + 2 * Long.BYTES, partition);
        ackRing.commit(index);
        return true;
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
            final int count = takeChunk();
            if (0 == count)
            {
                dispatching.set(false);
                if (isEmpty() || !dispatching.compareAndSet(false, true))
                {
                    return;
                }
                continue;
            }
            for (int i = 0; i < count; i++)
            {
                final Message message = dispatchBatch[i];
                dispatchBatch[i] = null;
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
            }
            dispatched += count;
            if (dispatched >= DISPATCH_BATCH)
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

    /**
     * Move up to a chunk of queued messages into {@link #dispatchBatch} under one lock.
     */
    private int takeChunk()
    {
        lock.lock();
        try
        {
            int count = 0;
            Message message;
            while (count < DISPATCH_BATCH && null != (message = incoming.pollFirst()))
            {
                dispatchBatch[count++] = message;
            }
            return count;
        }
        finally
        {
            lock.unlock();
        }
    }

    private boolean isEmpty()
    {
        lock.lock();
        try
        {
            return incoming.isEmpty();
        }
        finally
        {
            lock.unlock();
        }
    }

    private void clearIncoming()
    {
        lock.lock();
        try
        {
            incoming.clear();
        }
        finally
        {
            lock.unlock();
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
     * Messages from the broker: copy each one's key and attribute bytes, queue the frame's messages in one step and
     * wake the receiver or the listener once.
     */
    void onDeliveries(final DeliveriesDecoder deliveries)
    {
        if (closeRequested)
        {
            return;
        }
        final DeliveriesDecoder.MessagesDecoder messages = deliveries.messages();
        try
        {
            while (messages.hasNext())
            {
                stage(decode(topic, deliveries, messages.next()));
            }
        }
        finally
        {
            handOff();
        }
    }

    /**
     * Decode the message {@code messages} is positioned on; its var-data (attributes group, key) is copied as is,
     * for {@link Message} to decode when asked.
     */
    static Message decode(
        final String topic, final DeliveriesDecoder deliveries, final DeliveriesDecoder.MessagesDecoder messages)
    {
        final int partition = messages.partition();
        final long ledger = messages.ledger();
        final long entry = messages.entry();
        final long publishTimeMs = messages.publishTimeMs();
        final int deliveryCount = messages.deliveryCount();
        final int start = deliveries.limit();
        final DeliveriesDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
        while (attributes.hasNext())
        {
            attributes.next();
            attributes.skipName();
            attributes.skipValue();
        }
        messages.skipKey();
        final byte[] data = new byte[deliveries.limit() - start];
        deliveries.buffer().getBytes(start, data);
        return new Message(topic, partition, ledger, entry, publishTimeMs, deliveryCount, data);
    }

    private void stage(final Message message)
    {
        if (stagedCount == staged.length)
        {
            staged = Arrays.copyOf(staged, 2 * stagedCount);
        }
        staged[stagedCount++] = message;
    }

    private void handOff()
    {
        final int count = stagedCount;
        if (0 == count)
        {
            return;
        }
        lock.lock();
        try
        {
            for (int i = 0; i < count; i++)
            {
                incoming.addLast(staged[i]);
            }
            notEmpty.signal();
        }
        finally
        {
            lock.unlock();
        }
        Arrays.fill(staged, 0, count, null);
        stagedCount = 0;
        if (null != listener && dispatching.compareAndSet(false, true))
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
        int work = 0;
        while (true)
        {
            if (ackBuffer.isFull())
            {
                if (!agent.sendAcks(consumerId, ackBuffer, false, nowNs))
                {
                    return work;
                }
                ackBuffer.clear();
                work++;
            }
            if (nackBuffer.isFull())
            {
                if (!agent.sendAcks(consumerId, nackBuffer, true, nowNs))
                {
                    return work;
                }
                nackBuffer.clear();
                work++;
            }
            ackReadNowNs = nowNs;
            // each record fills one of the two buffers: read no more than the fuller one has room for
            int read = ackRing.read(ackReader, Math.min(ackBuffer.remaining(), nackBuffer.remaining()));
            read += drainOverflow(acks, ackBuffer, nowNs);
            read += drainOverflow(nacks, nackBuffer, nowNs);
            if (0 == read)
            {
                break;
            }
            work += read;
        }
        work += sendDue(ackBuffer, false, nowNs, force);
        work += sendDue(nackBuffer, true, nowNs, force);
        return work;
    }

    private int sendDue(final AckBuffer buffer, final boolean negative, final long nowNs, final boolean force)
    {
        if ((buffer.isDue(nowNs) || (force && buffer.size() > 0)) && agent.sendAcks(consumerId, buffer, negative, nowNs))
        {
            buffer.clear();
            return 1;
        }
        return 0;
    }

    private static int drainOverflow(
        final ManyToOneConcurrentLinkedQueue<MessageId> queue, final AckBuffer buffer, final long nowNs)
    {
        int drained = 0;
        MessageId id;
        while (!buffer.isFull() && null != (id = queue.poll()))
        {
            buffer.add(id.partition(), id.ledger(), id.entry(), nowNs);
            drained++;
        }
        return drained;
    }

    private void onAckRecord(final int type, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final long ledger = buffer.getLong(index);
        final long entry = buffer.getLong(index + Long.BYTES);
        final int partition = buffer.getInt(index + 2 * Long.BYTES);
        (ACK == type ? ackBuffer : nackBuffer).add(partition, ledger, entry, ackReadNowNs);
    }

    /**
     * @return acks and nacks that found the ring full and went through the linked queues instead.
     */
    long ackOverflows()
    {
        return ackOverflows.get();
    }

    boolean hasPendingAcks()
    {
        return ackBuffer.size() > 0 || nackBuffer.size() > 0 || ackRing.producerPosition() != ackRing.consumerPosition() ||
            !acks.isEmpty() || !nacks.isEmpty();
    }

    /**
     * The session is gone: no longer attached; what was not handed to the application will be redelivered.
     */
    void onSessionLost()
    {
        consumerId = NULL_ID;
        attachedConsumerId = NULL_ID;
        attaching = false;
        clearIncoming();
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
        clearIncoming();
        if (!attachFuture.isDone())
        {
            callbacks.fail(attachFuture, null != cause ? cause : new MagnetarException.AlreadyClosedException("consumer closed"));
        }
        callbacks.complete(closeFuture, null);
    }
}
