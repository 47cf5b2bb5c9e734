package io.magnetar.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Options of a subscription, used only when it is created (SPEC section 2, docs/ENGINE.md). An option left unset
 * takes the broker's default: ack timeout 60 s ({@code 0} = off), negative-ack redelivery delay 1 s,
 * max deliveries 0 (unlimited; otherwise dead-lettered to {@code <topic>.<subscription>.dlq}),
 * max in flight per key 0 (unlimited; key_shared only, {@code 1} = strictly one at a time).
 * Immutable: every setter returns a copy.
 */
public final class SubscriptionOptions
{
    static final long UNSET = -1;

    /** Every option at the broker's default. */
    public static final SubscriptionOptions DEFAULTS = new SubscriptionOptions(UNSET, UNSET, UNSET, UNSET);

    private final long ackTimeoutMs;
    private final long nackDelayMs;
    private final long maxDeliveries;
    private final long maxInFlightPerKey;

    private SubscriptionOptions(
        final long ackTimeoutMs, final long nackDelayMs, final long maxDeliveries, final long maxInFlightPerKey)
    {
        this.ackTimeoutMs = ackTimeoutMs;
        this.nackDelayMs = nackDelayMs;
        this.maxDeliveries = maxDeliveries;
        this.maxInFlightPerKey = maxInFlightPerKey;
    }

    /**
     * @param timeout how long a delivered message may stay unacknowledged before it is redelivered; zero = never.
     * @return a copy with the option set.
     */
    public SubscriptionOptions ackTimeout(final Duration timeout)
    {
        return new SubscriptionOptions(nonNegativeMillis(timeout, "ackTimeout"), nackDelayMs, maxDeliveries, maxInFlightPerKey);
    }

    /**
     * @param delay how long after a negative ack the message is redelivered.
     * @return a copy with the option set.
     */
    public SubscriptionOptions negativeAckRedeliveryDelay(final Duration delay)
    {
        return new SubscriptionOptions(ackTimeoutMs, nonNegativeMillis(delay, "negativeAckRedeliveryDelay"), maxDeliveries, maxInFlightPerKey);
    }

    /**
     * @param deliveries deliveries after which an unacknowledged message is dead-lettered; 0 = unlimited.
     * @return a copy with the option set.
     */
    public SubscriptionOptions maxDeliveries(final int deliveries)
    {
        return new SubscriptionOptions(ackTimeoutMs, nackDelayMs, nonNegative(deliveries, "maxDeliveries"), maxInFlightPerKey);
    }

    /**
     * @param messages messages of one key outstanding to its consumer at once (key_shared); 0 = unlimited.
     * @return a copy with the option set.
     */
    public SubscriptionOptions maxInFlightPerKey(final int messages)
    {
        return new SubscriptionOptions(ackTimeoutMs, nackDelayMs, maxDeliveries, nonNegative(messages, "maxInFlightPerKey"));
    }

    /**
     * @return the ack timeout in ms, or -1 when unset (broker default).
     */
    public long ackTimeoutMs()
    {
        return ackTimeoutMs;
    }

    /**
     * @return the negative-ack redelivery delay in ms, or -1 when unset (broker default).
     */
    public long negativeAckRedeliveryDelayMs()
    {
        return nackDelayMs;
    }

    /**
     * @return max deliveries, or -1 when unset (broker default).
     */
    public int maxDeliveries()
    {
        return (int)maxDeliveries;
    }

    /**
     * @return max in flight per key, or -1 when unset (broker default).
     */
    public int maxInFlightPerKey()
    {
        return (int)maxInFlightPerKey;
    }

    private static long nonNegativeMillis(final Duration duration, final String name)
    {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative())
        {
            throw new IllegalArgumentException(name + " must not be negative: " + duration);
        }
        return duration.toMillis();
    }

    private static long nonNegative(final int value, final String name)
    {
        if (value < 0)
        {
            throw new IllegalArgumentException(name + " must not be negative: " + value);
        }
        return value;
    }

    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof SubscriptionOptions))
        {
            return false;
        }
        final SubscriptionOptions that = (SubscriptionOptions)o;
        return ackTimeoutMs == that.ackTimeoutMs && nackDelayMs == that.nackDelayMs &&
            maxDeliveries == that.maxDeliveries && maxInFlightPerKey == that.maxInFlightPerKey;
    }

    public int hashCode()
    {
        return Objects.hash(ackTimeoutMs, nackDelayMs, maxDeliveries, maxInFlightPerKey);
    }

    public String toString()
    {
        return "SubscriptionOptions{ackTimeoutMs=" + ackTimeoutMs + ", nackDelayMs=" + nackDelayMs +
            ", maxDeliveries=" + maxDeliveries + ", maxInFlightPerKey=" + maxInFlightPerKey + '}';
    }
}
