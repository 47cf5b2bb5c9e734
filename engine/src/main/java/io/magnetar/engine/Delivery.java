package io.magnetar.engine;

/**
 * The state of one message for one subscription (for multicast: for one consumer of it). Pooled.
 * <p>
 * A delivery sits in exactly one state list at a time ({@link #prev}/{@link #next}): the pending list
 * of its subscription (or, for a multicast copy, of its consumer), the subscription's delayed list, or
 * the subscription's outstanding list. Deliveries bound to a consumer also sit in that consumer's list
 * ({@link #consumerPrev}/{@link #consumerNext}).
 */
final class Delivery
{
    static final byte PENDING = 0;
    static final byte DELAYED = 1;
    static final byte OUTSTANDING = 2;

    Subscription subscription;
    Message message;
    Consumer consumer;
    byte state;
    boolean inConsumerList;
    int deliveryCount;
    /** OUTSTANDING: ack deadline; DELAYED: time it becomes pending again. */
    long dueMs;

    Delivery prev;
    Delivery next;
    DeliveryList list;
    Delivery consumerPrev;
    Delivery consumerNext;
    Delivery nextOfMessage;

    void reset()
    {
        subscription = null;
        message = null;
        consumer = null;
        state = PENDING;
        inConsumerList = false;
        deliveryCount = 0;
        dueMs = 0;
        prev = null;
        next = null;
        list = null;
        consumerPrev = null;
        consumerNext = null;
        nextOfMessage = null;
    }
}
