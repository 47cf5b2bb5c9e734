package io.magnetar.it;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Poll a condition until a deadline: the tests never sleep in place of a condition.
 */
final class Await
{
    static final Duration DEFAULT = Duration.ofSeconds(20);

    private Await()
    {
    }

    static void until(final String what, final BooleanSupplier condition)
    {
        until(what, DEFAULT, condition);
    }

    static void until(final String what, final Duration timeout, final BooleanSupplier condition)
    {
        until(what, timeout, condition, () -> "");
    }

    static void until(
        final String what, final Duration timeout, final BooleanSupplier condition, final Supplier<String> state)
    {
        final long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                fail("timed out after " + timeout.toMillis() + " ms waiting for: " + what + " " + state.get());
            }
            try
            {
                Thread.sleep(1);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for: " + what);
            }
        }
    }
}
