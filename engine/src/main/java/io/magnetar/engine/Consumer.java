package io.magnetar.engine;

/**
 * A consumer attached to one subscription through one session.
 */
final class Consumer
{
    final long id;
    final long sessionId;
    final String name;
    final Subscription subscription;
    int permits;
    int outstanding;

    // key_shared, derived (not snapshotted, not hashed): pending deliveries of the subscription whose key this
    // consumer owns on the ring, and how many of those are before the subscription's scan cursor
    int keySharedPending;
    int keySharedSkipped;
    /** key_shared dispatch scratch: prefix deliveries of its keys not yet re-examined in the current pass. */
    int keySharedRecheck;

    /** deliveries bound to this consumer: outstanding ones, and for multicast every copy it owns. */
    Delivery ownedHead;
    Delivery ownedTail;
    int ownedCount;

    /** multicast only: copies waiting to be sent to this consumer, in publish order. */
    final DeliveryList multicastPending = new DeliveryList();

    /** deliveries decided during the current command, sent as one Deliveries event at its end. */
    final Delivery[] batch;
    int batchSize;
    boolean inFlushList;

    Consumer(final long id, final long sessionId, final String name, final Subscription subscription,
        final int permits, final int maxBatch)
    {
        this.id = id;
        this.sessionId = sessionId;
        this.name = name;
        this.subscription = subscription;
        this.permits = permits;
        this.batch = new Delivery[maxBatch];
    }

    int freePermits()
    {
        return permits - outstanding;
    }

    void own(final Delivery d)
    {
        d.inConsumerList = true;
        d.consumerNext = null;
        d.consumerPrev = ownedTail;
        if (ownedTail == null)
        {
            ownedHead = d;
        }
        else
        {
            ownedTail.consumerNext = d;
        }
        ownedTail = d;
        ownedCount++;
    }

    void disown(final Delivery d)
    {
        if (d.consumerPrev == null)
        {
            ownedHead = d.consumerNext;
        }
        else
        {
            d.consumerPrev.consumerNext = d.consumerNext;
        }
        if (d.consumerNext == null)
        {
            ownedTail = d.consumerPrev;
        }
        else
        {
            d.consumerNext.consumerPrev = d.consumerPrev;
        }
        d.consumerPrev = null;
        d.consumerNext = null;
        d.inConsumerList = false;
        ownedCount--;
    }
}
