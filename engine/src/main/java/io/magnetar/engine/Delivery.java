package io.magnetar.engine;

/**
 * The state of one message for one subscription (for multicast: for one consumer of it). Pooled.
 * <p>
 * A delivery sits in exactly one state list at a time ({@link #prev}/{@link #next}): the pending list
 * of its subscription (or, for a multicast copy, of its consumer), the subscription's delayed list, or
 * the subscription's outstanding list. A consumer keeps no list of the deliveries bound to it, only their count:
 * the rare walks over them (detach, snapshot) scan the state lists for {@link #owner} (see {@code Engine.detach}).
 * <p>
 * Which state list is not stored but follows from the state ({@link #pendingList()} for a pending one), and the
 * subscription and the consumer share one field ({@link #owner}), and a consumer counts its deliveries rather than
 * linking them: 48 bytes a delivery, not 64 (JOL, compressed oops).
 */
final class Delivery
{
    static final byte PENDING = 0;
    static final byte DELAYED = 1;
    static final byte OUTSTANDING = 2;

    /**
     * The consumer the delivery is bound to (outstanding, or a multicast copy), else its subscription: a consumer's
     * {@link Consumer#subscription} is the delivery's subscription, so one field holds both.
     */
    Object owner;
    Message message;
    byte state;
    /**
     * In one of the state lists. Kept for the snapshot loader, which checks that each delivery enters exactly one; the
     * live engine never reads it (which list a delivery is in follows from its state, see the class comment).
     */
    boolean inList;
    int deliveryCount;
    /** OUTSTANDING: ack deadline; DELAYED: time it becomes pending again. */
    long dueMs;

    Delivery prev;
    Delivery next;
    Delivery nextOfMessage;

    Subscription subscription()
    {
        final Object o = owner;
        return o instanceof Consumer ? ((Consumer)o).subscription : (Subscription)o;
    }

    /**
     * @return the consumer the delivery is bound to, or null.
     */
    Consumer consumer()
    {
        final Object o = owner;
        return o instanceof Consumer ? (Consumer)o : null;
    }

    /**
     * Bind to a consumer of the delivery's subscription.
     */
    void bind(final Consumer consumer)
    {
        assert consumer.subscription == subscription();
        owner = consumer;
    }

    /**
     * Bound to no consumer any more: the owner is the subscription again.
     */
    void unbind()
    {
        owner = subscription();
    }

    /**
     * The list a pending delivery is in: for a multicast copy bound to its consumer, that consumer's; otherwise the
     * subscription's (a non-multicast delivery is bound only while outstanding).
     */
    DeliveryList pendingList()
    {
        final Object o = owner;
        return o instanceof Consumer ? ((Consumer)o).multicastPending : ((Subscription)o).pending;
    }

    void reset()
    {
        owner = null;
        message = null;
        state = PENDING;
        inList = false;
        deliveryCount = 0;
        dueMs = 0;
        prev = null;
        next = null;
        nextOfMessage = null;
    }
}
