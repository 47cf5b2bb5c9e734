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

    /**
     * Deliveries bound to this consumer ({@link Delivery#owner} is it): its outstanding ones, and for multicast every
     * copy it has (pending in {@link #multicastPending}, outstanding, or delayed after a nack). Counted, not listed (a
     * list cost two links and a flag in every delivery): the walks over them, on a detach and when a snapshot is
     * written, scan the subscription's outstanding and delayed lists and the multicast pending list for the owner
     * instead. Part of the state hash.
     */
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

    /**
     * Bind a delivery of this consumer's subscription that is bound to no consumer yet.
     */
    void own(final Delivery d)
    {
        assert d.consumer() == null;
        d.bind(this);
        ownedCount++;
    }

    /**
     * A delivery bound to this consumer leaves it: unbound (a shared or key_shared delivery no longer outstanding), or
     * completed and released (it stays bound until {@link Delivery#reset}).
     */
    void disown(final Delivery d)
    {
        assert d.consumer() == this;
        ownedCount--;
    }
}
