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
    /**
     * The state (2 bits), "in a state list" (1 bit) and the delivery count (the other 29) in one int: three fields of
     * 4 + 1 + 1 bytes took 8 with padding, and with them a {@link Message} was 80 bytes instead of 72 (JOL). Read and
     * written only through the methods below. The count saturates at {@value #MAX_DELIVERY_COUNT}: half a billion
     * deliveries of one message.
     */
    private int bits;
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

    static final int MAX_DELIVERY_COUNT = (1 << 29) - 1;
    private static final int STATE_MASK = 3;
    private static final int IN_LIST = 4;
    private static final int COUNT_SHIFT = 3;

    /**
     * {@link #PENDING}, {@link #DELAYED}, {@link #OUTSTANDING}, or {@link #UNUSED} for a message's own delivery.
     */
    final byte state()
    {
        return (byte)(bits & STATE_MASK);
    }

    final void setState(final byte state)
    {
        bits = (bits & ~STATE_MASK) | state;
    }

    /**
     * In one of the state lists. Kept for the snapshot loader, which checks that each delivery enters exactly one; the
     * live engine never reads it (which list a delivery is in follows from its state, see the class comment).
     */
    final boolean inList()
    {
        return (bits & IN_LIST) != 0;
    }

    final void setInList(final boolean inList)
    {
        bits = inList ? bits | IN_LIST : bits & ~IN_LIST;
    }

    /**
     * How many times the message was sent to this subscription (for multicast: to this consumer).
     */
    final int deliveryCount()
    {
        return bits >>> COUNT_SHIFT;
    }

    final void setDeliveryCount(final int count)
    {
        bits = (bits & (STATE_MASK | IN_LIST)) | Math.min(count, MAX_DELIVERY_COUNT) << COUNT_SHIFT;
    }

    /**
     * Forget the delivery's state (not its place in the message's chain, {@link #nextOfMessage}).
     */
    void clearDelivery(final byte newState)
    {
        owner = null;
        bits = newState;
        dueMs = 0;
        prev = null;
        next = null;
    }
}
