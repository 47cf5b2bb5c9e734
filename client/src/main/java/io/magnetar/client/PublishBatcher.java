package io.magnetar.client;

/**
 * Accumulates a producer's messages into the next Publish frame: a batch is due when it holds
 * {@code maxMessages}, when the next message would take it past {@code maxBytes}, or when its oldest message has
 * waited {@code maxDelayNs} (the linger, counted from when the application sent it). Agent thread only; pure
 * logic, clock passed in.
 */
final class PublishBatcher
{
    /** Publish header (8) + block (correlationId, topicId: 12) + messages group header (4). */
    static final int FRAME_OVERHEAD = 8 + 12 + 4;

    private final Producer producer;
    private final int maxMessages;
    private final long maxDelayNs;
    private final int maxBytes;
    private PendingMessage head;
    private PendingMessage tail;
    private int count;
    private int bytes = FRAME_OVERHEAD;

    PublishBatcher(final Producer producer, final int maxMessages, final long maxDelayNs, final int maxBytes)
    {
        this.producer = producer;
        this.maxMessages = maxMessages;
        this.maxDelayNs = maxDelayNs;
        this.maxBytes = maxBytes;
    }

    /**
     * @return the most bytes a frame may have; a message bigger than {@code maxBytes - FRAME_OVERHEAD} can never be sent.
     */
    int maxBytes()
    {
        return maxBytes;
    }

    boolean fitsAlone(final PendingMessage message)
    {
        return FRAME_OVERHEAD + message.encodedLength <= maxBytes;
    }

    /**
     * @return true if {@code message} can join the open batch (there is room by count and by bytes).
     */
    boolean fits(final PendingMessage message)
    {
        return count < maxMessages && bytes + message.encodedLength <= maxBytes;
    }

    /**
     * Add a message that {@link #fits(PendingMessage)}.
     */
    void add(final PendingMessage message)
    {
        message.next = null;
        if (null == head)
        {
            head = message;
        }
        else
        {
            tail.next = message;
        }
        tail = message;
        count++;
        bytes += message.encodedLength;
    }

    int count()
    {
        return count;
    }

    boolean isEmpty()
    {
        return 0 == count;
    }

    /**
     * @return true when the open batch should be sent now: full, or its oldest message has lingered long enough.
     */
    boolean isDue(final long nowNs)
    {
        return count > 0 && (count >= maxMessages || nowNs - head.enqueuedNs >= maxDelayNs);
    }

    /**
     * @return when the oldest open message was sent, or {@link Long#MAX_VALUE} if the batch is empty.
     */
    long oldestEnqueuedNs()
    {
        return count > 0 ? head.enqueuedNs : Long.MAX_VALUE;
    }

    /**
     * Close the open batch and start a new one.
     *
     * @return the batch (null if empty).
     */
    PublishBatch take()
    {
        if (0 == count)
        {
            return null;
        }
        final PublishBatch batch = new PublishBatch(producer, head, count, bytes);
        head = null;
        tail = null;
        count = 0;
        bytes = FRAME_OVERHEAD;
        return batch;
    }
}
