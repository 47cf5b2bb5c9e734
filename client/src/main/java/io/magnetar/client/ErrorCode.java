package io.magnetar.client;

/**
 * Why a request failed. The first thirteen are the broker's error codes of SPEC section 3 (the wire's
 * {@code ErrorCode}); the last three are raised by the client itself and never travel on the wire.
 */
public enum ErrorCode
{
    TOPIC_NOT_FOUND,
    TOPIC_EXISTS,
    SUBSCRIPTION_NOT_FOUND,
    SUBSCRIPTION_TYPE_CONFLICT,
    SUBSCRIPTION_EXISTS,
    CONSUMER_NOT_FOUND,
    INVALID_ARGUMENT,
    NOT_OWNER,
    BACKLOG_FULL,
    UNAUTHENTICATED,
    UNAUTHORIZED,
    /** The broker cannot be reached, or the session was lost while the request was in flight (outcome unknown). */
    UNAVAILABLE,
    INTERNAL,
    /** Client side: no answer within the operation (or send) timeout. */
    TIMEOUT,
    /** Client side: the producer's pending queue is full and it was built with {@code blockIfQueueFull(false)}. */
    QUEUE_FULL,
    /** Client side: the client, producer or consumer is closed. */
    CLOSED;

    /**
     * @param raw an error code from the wire ({@code ErrorCode} of magnetar-protocol.xml, uint8).
     * @return the client's code for it ({@link #INTERNAL} for a value this client does not know).
     */
    static ErrorCode fromWire(final short raw)
    {
        switch (raw)
        {
            case 1: return TOPIC_NOT_FOUND;
            case 2: return TOPIC_EXISTS;
            case 3: return SUBSCRIPTION_NOT_FOUND;
            case 4: return SUBSCRIPTION_TYPE_CONFLICT;
            case 5: return SUBSCRIPTION_EXISTS;
            case 6: return CONSUMER_NOT_FOUND;
            case 7: return INVALID_ARGUMENT;
            case 8: return NOT_OWNER;
            case 9: return BACKLOG_FULL;
            case 10: return UNAUTHENTICATED;
            case 11: return UNAUTHORIZED;
            case 12: return UNAVAILABLE;
            case 13: return INTERNAL;
            default: return INTERNAL;
        }
    }
}
