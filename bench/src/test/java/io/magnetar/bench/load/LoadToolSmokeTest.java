package io.magnetar.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Keeps the load tool from rotting: a ~2 s run of each mode against an embedded broker (its own temporary journal and
 * a unique /dev/shm/magnetar-test-* Aeron directory, which CI's cleanup knows), asserting the tool verified its counts.
 */
class LoadToolSmokeTest
{
    private static LoadOptions tiny(final String... args)
    {
        final LoadOptions options = LoadOptions.parse(args);
        options.aeronDir = (new File("/dev/shm").isDirectory() ? "/dev/shm" : System.getProperty("java.io.tmpdir")) +
            "/magnetar-test-load-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
        return options;
    }

    private static LoadResult run(final LoadOptions options)
        throws Exception
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final LoadResult result;
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8))
        {
            result = LoadTool.run(options, out);
        }
        final String report = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(report);
        assertTrue(result.verified(), () -> "not verified: " + result.problems + "\n" + report);
        assertTrue(report.contains("verified: OK"), report);
        assertTrue(report.contains("p99.9"), report);
        assertFalse(new File(options.aeronDir).exists(), "Aeron directory left behind: " + options.aeronDir);
        return result;
    }

    @Test
    @Timeout(60)
    void nativeKeySharedOverIpc() throws Exception
    {
        final LoadResult result = run(tiny(
            "--mode", "native", "--broker", "embedded", "--durability", "async", "--transport", "ipc",
            "--partitions", "4", "--producers", "2", "--consumers", "2", "--subscription-type", "key_shared",
            "--keys", "50", "--rate", "4000", "--batch-delay-us", "200", "--warmup", "0.5", "--duration", "1.5",
            "--drain-timeout", "10"));
        assertTrue(result.confirmed > 1000, "confirmed " + result.confirmed);
        assertEquals(result.confirmed, result.firstDeliveries);
        assertEquals(result.delivered, result.acked);
        assertEquals(0, result.lost);
        assertEquals(0, result.failed);
        assertEquals(0, result.orderViolations);
        assertEquals(0, result.brokerBacklog);
        assertEquals(0, result.brokerInFlight);
        assertTrue(result.e2eLatency.getTotalCount() > 0);
    }

    @Test
    @Timeout(60)
    void restBatchesWithLongPollConsumers() throws Exception
    {
        final LoadResult result = run(tiny(
            "--mode", "rest", "--broker", "embedded", "--durability", "async",
            "--partitions", "4", "--rest-publishers", "2", "--rest-batch", "20", "--consumers", "2",
            "--rate", "2000", "--rest-wait-ms", "100", "--warmup", "0.5", "--duration", "1.5", "--drain-timeout", "10"));
        assertTrue(result.confirmed > 500, "confirmed " + result.confirmed);
        assertEquals(result.confirmed, result.firstDeliveries);
        assertEquals(result.delivered, result.acked);
        assertEquals(0, result.lost);
        assertEquals(0, result.failed);
        assertEquals(0, result.brokerBacklog);
        assertEquals(0, result.brokerInFlight);
        assertTrue(result.httpRequests > 0);
    }
}
