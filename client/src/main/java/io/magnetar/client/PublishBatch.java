package io.magnetar.client;

/**
 * Messages of one producer sent in one Publish frame: all or nothing at the broker, ids in order in the receipt.
 * The messages are a chain through {@link PendingMessage#next} (no array per batch).
 */
final class PublishBatch
{
    final Producer producer;
    final PendingMessage first;
    final int count;
    final int encodedLength;
    long correlationId;

    PublishBatch(final Producer producer, final PendingMessage first, final int count, final int encodedLength)
    {
        this.producer = producer;
        this.first = first;
        this.count = count;
        this.encodedLength = encodedLength;
    }

    /**
     * @return when the oldest message of the batch was sent by the application.
     */
    long oldestEnqueuedNs()
    {
        return first.enqueuedNs;
    }

    /**
     * Complete every future with the id the receipt stored in it (call on the callback executor).
     */
    void complete()
    {
        PendingMessage message = first;
        for (int i = 0; i < count; i++)
        {
            final PendingMessage next = message.next;
            message.completeWithId();
            message = next;
        }
    }

    /**
     * Fail every future (call on the callback executor).
     */
    void fail(final Throwable cause)
    {
        PendingMessage message = first;
        for (int i = 0; i < count; i++)
        {
            final PendingMessage next = message.next;
            message.fail(cause);
            message = next;
        }
    }
}
