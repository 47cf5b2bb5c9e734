package io.magnetar.engine.pipeline;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Poll a condition until it holds or a deadline passes (never a sleep standing in for a condition).
 */
final class Await
{
    static final long TIMEOUT_MS = 20_000;

    private Await()
    {
    }

    static void until(final BooleanSupplier condition, final Supplier<String> what)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out after " + TIMEOUT_MS + " ms waiting for: " + what.get());
            }
            LockSupport.parkNanos(200_000);
        }
    }

    static void until(final BooleanSupplier condition, final String what)
    {
        until(condition, () -> what);
    }
}
