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
 * linking them.
 * <p>
 * <b>A message is its own first delivery.</b> {@link Message} extends this class: the delivery fields of a message
 * object hold one of its deliveries (state {@link #UNUSED} when none), and only the others are
 * {@link ExtraDelivery} objects, chained from the message through {@link #nextOfMessage}. A message with one
 * subscription, the common case, is then one object instead of two: no second object header, no reference from
 * the delivery to its message nor from the message to its delivery (docs/ENGINE.md, "Live-message layout").
 */
abstract class Delivery
{
    static final byte PENDING = 0;
    static final byte DELAYED = 1;
    static final byte OUTSTANDING = 2;
    /** only a {@link Message}'s own delivery: it holds none of the message's deliveries now. */
    static final byte UNUSED = 3;

    /**
     * The consumer the delivery is bound to (outstanding, or a multicast copy), else its subscription: a consumer's
     * {@link Consumer#subscription} is the delivery's subscription, so one field holds both.
     */
    Object owner;
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
    /**
     * The message's next delivery: from the message object, the first {@link ExtraDelivery}; from those, the next.
     * A message keeps its chain while its own delivery is unused.
     */
    ExtraDelivery nextOfMessage;

    /**
     * The message this is a delivery of: the object itself for a message's own delivery. Not virtual: a type test
     * against a final class.
     */
    final Message message()
    {
        return this instanceof Message ? (Message)this : ((ExtraDelivery)this).message;
    }

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

    /**
     * Forget the delivery's state (not its place in the message's chain, {@link #nextOfMessage}).
     */
    void clearDelivery(final byte newState)
    {
        owner = null;
        state = newState;
        inList = false;
        deliveryCount = 0;
        dueMs = 0;
        prev = null;
        next = null;
    }
}
