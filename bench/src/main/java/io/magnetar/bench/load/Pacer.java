package io.magnetar.bench.load;

import java.util.concurrent.locks.LockSupport;

/**
 * Waits for a fixed-rate publisher's next intended send time.
 */
final class Pacer
{
    private static final long HYBRID_PARK_ABOVE_NS = 200_000;
    private static final long HYBRID_PARK_MARGIN_NS = 150_000;

    private Pacer()
    {
    }

    /**
     * Return at or soon after {@code intendedNs} (never before).
     */
    static void awaitUntil(final LoadOptions.Pacing pacing, final long intendedNs)
    {
        long remaining;
        while ((remaining = intendedNs - System.nanoTime()) > 0)
        {
            switch (pacing)
            {
                case PARK:
                    LockSupport.parkNanos(remaining);
                    break;
                case YIELD:
                    Thread.yield();
                    break;
                default:
                    if (remaining > HYBRID_PARK_ABOVE_NS)
                    {
                        LockSupport.parkNanos(remaining - HYBRID_PARK_MARGIN_NS);
                    }
                    else
                    {
                        Thread.yield();
                    }
                    break;
            }
        }
    }
}
