package io.magnetar.client;

/**
 * How a subscription hands messages to its consumers (SPEC section 2).
 */
public enum SubscriptionType
{
    /** Each message to one consumer at a time; no order. */
    SHARED(io.magnetar.codecs.SubscriptionType.SHARED),
    /** Each key belongs to one consumer at a time; per-key publish order. */
    KEY_SHARED(io.magnetar.codecs.SubscriptionType.KEY_SHARED),
    /** Each message to every attached consumer. */
    MULTICAST(io.magnetar.codecs.SubscriptionType.MULTICAST);

    private final io.magnetar.codecs.SubscriptionType wire;

    SubscriptionType(final io.magnetar.codecs.SubscriptionType wire)
    {
        this.wire = wire;
    }

    io.magnetar.codecs.SubscriptionType wire()
    {
        return wire;
    }

    static SubscriptionType fromWire(final short raw)
    {
        switch (raw)
        {
            case 0: return SHARED;
            case 1: return KEY_SHARED;
            case 2: return MULTICAST;
            default: return null;
        }
    }
}
