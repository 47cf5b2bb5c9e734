package io.magnetar.broker;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5 acceptance: the broker process is {@code kill -9}ed at random instants under publish + consume load and
 * restarted, 10 times per durability mode in CI ({@code -Dmagnetar.crashloop.kills=100} for the documented long
 * run, see docs/BENCHMARKS.md); every confirmed publish must be delivered, and nothing acknowledged may come back
 * after a final graceful restart. Duplicates are expected (acks lost in the kill, re-sent publishes) and reported.
 */
class CrashLoopProcessTest
{
    /**
     * @return both modes, or those named by {@code -Dmagnetar.crashloop.modes=sync} (comma separated).
     */
    static Stream<String> durabilityModes()
    {
        return Stream.of(System.getProperty("magnetar.crashloop.modes", "async,sync").split(","))
            .map(String::trim).filter((mode) -> !mode.isEmpty());
    }

    @ParameterizedTest(name = "durability={0}")
    @MethodSource("durabilityModes")
    void everyConfirmedPublishIsDeliveredAcrossKillDashNineLoop(final String durability)
    {
        final CrashLoop loop = CrashLoop.fromSystemProperties(durability);
        // generous: a cycle takes a few seconds (broker JVM start, reconnect, load); a hang must still end the test
        final CrashLoop.Result result = assertTimeoutPreemptively(
            Duration.ofSeconds(120 + 30L * loop.kills()), loop::run, "crash loop did not finish");

        assertEquals(loop.kills(), result.kills());
        assertTrue(result.confirmed() > 0, result::summary);
        assertEquals(0, result.lost(), () -> "confirmed publishes lost: " + result.summary());
        assertEquals(result.confirmed() + result.unconfirmedDelivered(), result.deliveredDistinct(), result::summary);
        assertEquals(0, result.afterGracefulRestart(),
            () -> "acknowledged messages delivered again after a graceful restart: " + result.summary());
        assertEquals(0, result.countNotIncreasing(),
            () -> "a redelivery did not count up (delivery before its journal write?): " + result.summary());
    }
}
