package io.magnetar.engine;

/**
 * A delivery of a message other than the one the message object holds itself (see {@link Delivery}): the second
 * subscription's, a multicast subscription's copies for its further consumers. Pooled by the engine.
 */
final class ExtraDelivery extends Delivery
{
    Message message;

    void reset()
    {
        clearDelivery(PENDING);
        message = null;
        nextOfMessage = null;
    }
}
