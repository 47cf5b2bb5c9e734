package io.magnetar.client;

/**
 * Messages of one producer sent in one Publish frame: all or nothing at the broker, ids in order in the receipt.
 */
final class PublishBatch
{
    final Producer producer;
    final PendingMessage[] messages;
    final int count;
    final int encodedLength;
    long correlationId;
    MessageId[] ids;

    PublishBatch(final Producer producer, final PendingMessage[] messages, final int count, final int encodedLength)
    {
        this.producer = producer;
        this.messages = messages;
        this.count = count;
        this.encodedLength = encodedLength;
    }

    /**
     * @return when the oldest message of the batch was sent by the application.
     */
    long oldestEnqueuedNs()
    {
        return messages[0].enqueuedNs;
    }

    /**
     * Complete every future with its id (call on the callback executor).
     */
    void complete()
    {
        for (int i = 0; i < count; i++)
        {
            messages[i].future.complete(ids[i]);
        }
    }

    /**
     * Fail every future (call on the callback executor).
     */
    void fail(final Throwable cause)
    {
        for (int i = 0; i < count; i++)
        {
            messages[i].future.completeExceptionally(cause);
        }
    }
}
