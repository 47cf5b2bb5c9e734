package io.magnetar.client;

/**
 * Called for each message a consumer receives, on the client's listener executor, one message at a time per
 * consumer in arrival order (so a key_shared consumer sees each key's messages in publish order).
 * An exception thrown here is reported to the client's error handler; the message stays unacknowledged.
 */
@FunctionalInterface
public interface MessageListener
{
    void received(Consumer consumer, Message message);
}
