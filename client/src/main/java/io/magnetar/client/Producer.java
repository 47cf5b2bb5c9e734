package io.magnetar.client;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * Publishes messages to one topic; thread safe. Messages are batched (one Publish frame per batch, up to
 * {@code batchingMaxMessages}, or after {@code batchingMaxPublishDelay}) and each future completes with the id the
 * broker assigned once the batch is in the broker's journal (SPEC 2.1). At most {@code maxPendingMessages} messages
 * are unconfirmed at once; past that {@link #sendAsync} fails fast with
 * {@link MagnetarException.ProducerQueueFullException}, or blocks when built with {@code blockIfQueueFull(true)}.
 * <p>
 * Across a reconnect, batches without a receipt are sent again, in order: a message whose receipt was lost may be
 * stored twice (at-least-once). The key picks the partition at the broker.
 * <p>
 * Per message the client allocates the future (which also carries the message), one array of its encoded key and
 * attributes, and the {@link MessageId} it completes with; the hand-off to the agent is a preallocated queue.
 */
public final class Producer implements AutoCloseable
{
    /** The hand-off queue holds every pending message up to this many (its array is allocated up front). */
    private static final int MAX_QUEUE_CAPACITY = 1 << 22;

    private final ClientAgent agent;
    private final Callbacks callbacks;
    private final String topic;
    final int topicId;
    private final int partitions;
    private final int maxPendingMessages;
    private final boolean blockIfQueueFull;
    final long sendTimeoutNs;
    private final long operationTimeoutNs;
    private final Semaphore pending;
    /** Sent, not yet taken by the agent; holds every pending permit (up to MAX_QUEUE_CAPACITY), so offers succeed. */
    private final ManyToOneConcurrentArrayQueue<PendingMessage> queue;
    private final PendingMessage.Scratch scratch = new PendingMessage.Scratch();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private volatile boolean closed;
    private volatile boolean removed;
    private volatile boolean flushRequested;
    private volatile CompletableFuture<MessageId> lastFuture;

    // agent thread only
    private final PublishBatcher batcher;
    private final ArrayDeque<PublishBatch> toSend = new ArrayDeque<>();
    private final ArrayDeque<PublishBatch> inFlight = new ArrayDeque<>();
    private final int drainLimit;

    Producer(
        final ClientAgent agent,
        final Callbacks callbacks,
        final ProducerBuilder builder,
        final TopicStats topicStats,
        final int maxFrameLength,
        final long operationTimeoutNs)
    {
        this.agent = agent;
        this.callbacks = callbacks;
        this.topic = topicStats.name();
        this.topicId = topicStats.topicId();
        this.partitions = topicStats.partitions();
        this.maxPendingMessages = builder.maxPendingMessages;
        this.blockIfQueueFull = builder.blockIfQueueFull;
        this.sendTimeoutNs = null == builder.sendTimeout ? operationTimeoutNs : builder.sendTimeout.toNanos();
        this.operationTimeoutNs = operationTimeoutNs;
        this.pending = new Semaphore(maxPendingMessages);
        this.queue = new ManyToOneConcurrentArrayQueue<>(Math.min(maxPendingMessages, MAX_QUEUE_CAPACITY));
        this.batcher = new PublishBatcher(
            this,
            builder.batchingMaxMessages,
            builder.batchingMaxPublishDelay.toNanos(),
            Math.min(builder.batchingMaxBytes, maxFrameLength));
        this.drainLimit = Math.max(1024, 8 * builder.batchingMaxMessages);
    }

    /**
     * @return the topic this producer publishes to.
     */
    public String topic()
    {
        return topic;
    }

    /**
     * @return the topic's partition count when the producer was created.
     */
    public int partitions()
    {
        return partitions;
    }

    /**
     * @return messages sent and not yet confirmed or failed.
     */
    public int pendingMessages()
    {
        return maxPendingMessages - pending.availablePermits();
    }

    /**
     * Publish a message without attributes.
     *
     * @see #sendAsync(String, Map)
     */
    public CompletableFuture<MessageId> sendAsync(final String key)
    {
        return sendAsync(key, null);
    }

    /**
     * Publish a message. Returns at once (unless the pending queue is full and the producer blocks).
     *
     * @param key        required, 1..256 UTF-8 bytes (the broker's limit); picks the partition.
     * @param attributes 0..32 name/value pairs, at most 4 KiB encoded (the broker's limits); may be null.
     * @return completes with the message's id once the broker has journaled it; or exceptionally with a
     * {@link MagnetarException}: {@code INVALID_ARGUMENT}, {@code TOPIC_NOT_FOUND}, {@code BACKLOG_FULL},
     * {@code QUEUE_FULL}, {@code TIMEOUT} (may still have been stored), {@code CLOSED}.
     */
    public CompletableFuture<MessageId> sendAsync(final String key, final Map<String, String> attributes)
    {
        if (closed)
        {
            final CompletableFuture<MessageId> future = new CompletableFuture<>();
            future.completeExceptionally(new MagnetarException.AlreadyClosedException("producer of '" + topic + "' is closed"));
            return future;
        }
        final PendingMessage message = PendingMessage.of(key, attributes, System.nanoTime(), scratch);
        if (message.isDone())
        {
            return message;
        }
        if (!batcher.fitsAlone(message))
        {
            message.fail(new MagnetarException.InvalidArgumentException(
                "message: " + message.encodedLength + " bytes encoded, more than a frame can carry (" +
                batcher.maxBytes() + ")"));
            return message;
        }
        if (!acquire(message))
        {
            return message;
        }
        while (!queue.offer(message))
        {
            // only with more than MAX_QUEUE_CAPACITY pending messages allowed: wait for the agent to take some
            if (removed)
            {
                pending.release();
                message.fail(new MagnetarException.AlreadyClosedException("producer of '" + topic + "' is closed"));
                return message;
            }
            Thread.yield();
        }
        lastFuture = message;
        if (removed)
        {
            failQueued(new MagnetarException.AlreadyClosedException("producer of '" + topic + "' is closed"));
        }
        return message;
    }

    /**
     * Publish a message without attributes and wait for its id.
     *
     * @see #send(String, Map)
     */
    public MessageId send(final String key)
    {
        return send(key, null);
    }

    /**
     * Publish a message and wait for its id (at most the send timeout, plus the linger).
     *
     * @throws MagnetarException as {@link #sendAsync(String, Map)} fails.
     */
    public MessageId send(final String key, final Map<String, String> attributes)
    {
        final CompletableFuture<MessageId> future = sendAsync(key, attributes);
        flushRequested = true;
        return MagnetarClient.await(future, sendTimeoutNs > 0 ? sendTimeoutNs + 1_000_000_000L : 0);
    }

    /**
     * Send what is batched now, without waiting for the linger.
     *
     * @return completes when every message sent before this call is confirmed or failed.
     */
    public CompletableFuture<Void> flushAsync()
    {
        flushRequested = true;
        final CompletableFuture<MessageId> last = lastFuture;
        if (null == last)
        {
            return CompletableFuture.completedFuture(null);
        }
        return last.handle((id, error) -> null);
    }

    /**
     * Send what is batched now and wait until every message sent before this call is confirmed or failed.
     */
    public void flush()
    {
        MagnetarClient.await(flushAsync(), sendTimeoutNs > 0 ? sendTimeoutNs + 1_000_000_000L : 0);
    }

    /**
     * Stop accepting messages, flush, wait for the pending ones, and detach from the client.
     *
     * @return completes when closed.
     */
    public CompletableFuture<Void> closeAsync()
    {
        if (closing.compareAndSet(false, true))
        {
            closed = true;
            flushAsync().whenComplete((ignore, error) ->
            {
                if (!agent.submit(() -> agent.removeProducer(this)))
                {
                    markRemoved(new MagnetarException.AlreadyClosedException("client is closed"));
                }
            });
        }
        return closeFuture;
    }

    CompletableFuture<Void> closeFuture()
    {
        return closeFuture;
    }

    /**
     * Close, waiting at most the operation timeout.
     */
    public void close()
    {
        MagnetarClient.await(closeAsync(), Math.max(operationTimeoutNs, sendTimeoutNs) + 1_000_000_000L);
    }

    public String toString()
    {
        return "Producer{topic=" + topic + ", topicId=" + topicId + ", pending=" + pendingMessages() + '}';
    }

    private boolean acquire(final PendingMessage future)
    {
        if (pending.tryAcquire())
        {
            return true;
        }
        if (!blockIfQueueFull)
        {
            future.fail(new MagnetarException.ProducerQueueFullException(
                "producer of '" + topic + "' has " + maxPendingMessages + " messages pending (maxPendingMessages)"));
            return false;
        }
        try
        {
            pending.acquire();
            return true;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            future.fail(new MagnetarException.InternalException("interrupted while the queue was full", ex));
            return false;
        }
    }

    private void failQueued(final MagnetarException error)
    {
        // only once removed: the agent no longer polls the queue; the lock keeps the draining threads one at a time
        synchronized (queue)
        {
            PendingMessage message;
            while (null != (message = queue.poll()))
            {
                pending.release();
                message.fail(error);
            }
        }
    }

    // ================================================================= agent thread

    /**
     * Send what is ready: batches waiting for the publication first (re-sends, back-pressured), then new messages.
     */
    int doWork(final long nowNs)
    {
        int work = 0;
        while (!toSend.isEmpty())
        {
            final PublishBatch batch = toSend.peekFirst();
            if (!agent.sendPublish(batch, nowNs))
            {
                return work;
            }
            toSend.pollFirst();
            inFlight.addLast(batch);
            work++;
        }

        final boolean flush = flushRequested;
        if (flush)
        {
            flushRequested = false;
        }
        int drained = 0;
        PendingMessage message;
        while (drained < drainLimit && null != (message = queue.poll()))
        {
            drained++;
            if (!batcher.fits(message) && !dispatch(batcher.take(), nowNs))
            {
                batcher.add(message);
                return work + drained;
            }
            batcher.add(message);
        }
        work += drained;

        if (batcher.isDue(nowNs) || (flush && !batcher.isEmpty()))
        {
            dispatch(batcher.take(), nowNs);
            work++;
        }
        return work;
    }

    private boolean dispatch(final PublishBatch batch, final long nowNs)
    {
        if (toSend.isEmpty() && agent.sendPublish(batch, nowNs))
        {
            inFlight.addLast(batch);
            return true;
        }
        toSend.addLast(batch);
        return false;
    }

    /**
     * The receipt's ids are in the batch's messages.
     */
    void onReceipt(final PublishBatch batch)
    {
        removeInFlight(batch);
        pending.release(batch.count);
        callbacks.execute(batch::complete);
    }

    void onBatchError(final PublishBatch batch, final MagnetarException error)
    {
        removeInFlight(batch);
        if (ErrorCode.INVALID_ARGUMENT == error.code() && batch.count > 1)
        {
            // all or nothing at the broker: send each message alone so only the invalid ones fail
            final PendingMessage[] messages = new PendingMessage[batch.count];
            PendingMessage message = batch.first;
            for (int i = 0; i < batch.count; i++)
            {
                messages[i] = message;
                message = message.next;
            }
            for (int i = batch.count - 1; i >= 0; i--)
            {
                messages[i].next = null;
                toSend.addFirst(new PublishBatch(
                    this, messages[i], 1, PublishBatcher.FRAME_OVERHEAD + messages[i].encodedLength));
            }
            return;
        }
        fail(batch, error);
    }

    private void fail(final PublishBatch batch, final MagnetarException error)
    {
        pending.release(batch.count);
        callbacks.execute(() -> batch.fail(error));
    }

    private void removeInFlight(final PublishBatch batch)
    {
        if (inFlight.peekFirst() == batch)
        {
            inFlight.pollFirst();
        }
        else
        {
            inFlight.remove(batch);
        }
    }

    /**
     * The session is gone: every batch without a receipt is sent again first, in its original order.
     */
    void onSessionLost()
    {
        while (!inFlight.isEmpty())
        {
            toSend.addFirst(inFlight.pollLast());
        }
    }

    /**
     * Fail messages older than the send timeout, wherever they are.
     */
    void checkTimeouts(final long nowNs)
    {
        if (sendTimeoutNs <= 0)
        {
            return;
        }
        final long expiredBeforeNs = nowNs - sendTimeoutNs;
        PublishBatch batch;
        while (null != (batch = inFlight.peekFirst()) && batch.oldestEnqueuedNs() - expiredBeforeNs < 0)
        {
            inFlight.pollFirst();
            agent.forgetBatch(batch);
            fail(batch, timeout());
        }
        while (null != (batch = toSend.peekFirst()) && batch.oldestEnqueuedNs() - expiredBeforeNs < 0)
        {
            toSend.pollFirst();
            fail(batch, timeout());
        }
        if (!batcher.isEmpty() && batcher.oldestEnqueuedNs() - expiredBeforeNs < 0)
        {
            fail(batcher.take(), timeout());
        }
        PendingMessage message;
        while (null != (message = queue.peek()) && message.enqueuedNs - expiredBeforeNs < 0)
        {
            queue.poll();   // the agent is the only consumer: the same message
            pending.release();
            final PendingMessage expired = message;
            final MagnetarException error = timeout();
            callbacks.execute(() -> expired.fail(error));
        }
    }

    private MagnetarException timeout()
    {
        return new MagnetarException.TimeoutException(
            "no receipt within the send timeout of " + (sendTimeoutNs / 1_000_000) + " ms (the message may still be stored)");
    }

    /**
     * Fail everything not yet confirmed and refuse new messages (producer or client closed).
     */
    void failAll(final MagnetarException error)
    {
        closed = true;
        PublishBatch batch;
        while (null != (batch = inFlight.pollFirst()))
        {
            agent.forgetBatch(batch);
            fail(batch, error);
        }
        while (null != (batch = toSend.pollFirst()))
        {
            fail(batch, error);
        }
        if (!batcher.isEmpty())
        {
            fail(batcher.take(), error);
        }
        markRemoved(error);
    }

    void markRemoved(final MagnetarException error)
    {
        closed = true;
        removed = true;
        final PendingMessage[] leftovers = drainQueue();
        if (leftovers.length > 0)
        {
            callbacks.execute(() ->
            {
                for (final PendingMessage message : leftovers)
                {
                    message.fail(error);
                }
            });
        }
        callbacks.complete(closeFuture, null);
    }

    private PendingMessage[] drainQueue()
    {
        final ArrayList<PendingMessage> messages = new ArrayList<>();
        synchronized (queue)
        {
            PendingMessage message;
            while (null != (message = queue.poll()))
            {
                pending.release();
                messages.add(message);
            }
        }
        return messages.toArray(new PendingMessage[0]);
    }
}
