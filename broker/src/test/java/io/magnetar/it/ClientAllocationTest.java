package io.magnetar.it;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bytes the Java client allocates per message on the publish -> deliver -> ack path, with the client's default
 * settings against a real node in this JVM. Counted per thread ({@code com.sun.management.ThreadMXBean}) over the
 * client's own threads (agent, callbacks, listener) and the publishing thread, over a steady window after a
 * warm-up, so the broker's threads do not count. The listener only acknowledges; the message carries a key and one
 * 64-byte attribute, like the load tool's.
 * <p>
 * The bound fails if the old per-message garbage comes back: before the allocation work the client made 903 bytes
 * per message here (a {@code HashMap} and strings per delivered message, a queue node per delivery, per ack and
 * per send, byte arrays per key/name/value, an id array per receipt); after it, 372-374 bytes, nearly all of it
 * what is left by design: the future (which is also the pending message, 64 bytes) and its encoded key and
 * attribute (104), the {@code MessageId} it completes with (32), the delivered {@code Message} (64) and its bytes
 * (104).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientAllocationTest
{
    private static final int WARMUP = 100_000;
    private static final int MEASURED = 200_000;
    private static final int WINDOW = 5_000;
    /** Bytes per message; see the class comment for what it was and what it is. */
    private static final long MAX_BYTES_PER_MESSAGE = 400;

    @Test
    void publishDeliverAckAllocatesLittlePerMessage()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
            "this JVM does not count allocated bytes per thread");

        final String[] keys = new String[1000];
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] = "key-" + i;
        }
        // a HashMap: its forEach walks the table; Map.of's iterates entrySet (the JDK's objects, ~72 bytes per pass,
        // sometimes removed by escape analysis), which would make the figure depend on the JIT
        final Map<String, String> attributes = new HashMap<>(Map.of("payload", "x".repeat(64)));
        final AtomicLong received = new AtomicLong();

        try (NodeFixture node = new NodeFixture();
            MagnetarClient client = MagnetarClient.builder()
                .aeronDirectory(node.aeronDirectory()).clientName("alloc-client").build())
        {
            client.admin().createTopic("alloc", 4);
            try (Consumer consumer = client.newConsumer().topic("alloc").subscription("s")
                    .subscriptionType(SubscriptionType.SHARED)
                    .messageListener((c, message) ->
                    {
                        c.acknowledge(message);
                        received.incrementAndGet();
                    })
                    .subscribe();
                Producer producer = client.newProducer().topic("alloc").create())
            {
                publish(producer, keys, attributes, received, 0, WARMUP);

                final long[] ids = clientThreadIds();
                final long before = allocated(threads, ids);
                final long cpuBefore = cpu(threads, ids);
                publish(producer, keys, attributes, received, WARMUP, MEASURED);
                Await.until("every message delivered and confirmed", Duration.ofSeconds(60),
                    () -> received.get() >= WARMUP + MEASURED && 0 == producer.pendingMessages());
                final long after = allocated(threads, ids);
                final long cpuAfter = cpu(threads, ids);

                final double perMessage = (after - before) / (double)MEASURED;
                System.out.printf("client allocation: %.1f bytes per message over %,d messages (client threads' CPU: " +
                    "%.2f µs per message, not asserted)%n", perMessage, MEASURED, (cpuAfter - cpuBefore) / 1000.0 / MEASURED);
                assertEquals(WARMUP + MEASURED, received.get(), "each message delivered once");
                assertTrue(perMessage <= MAX_BYTES_PER_MESSAGE, String.format(
                    "the client allocated %.1f bytes per message publish -> deliver -> ack, more than %d",
                    perMessage, MAX_BYTES_PER_MESSAGE));
            }
        }
    }

    private static void publish(
        final Producer producer,
        final String[] keys,
        final Map<String, String> attributes,
        final AtomicLong received,
        final int first,
        final int count)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = first; i < first + count; i++)
        {
            // keep at most WINDOW messages between publish and deliver, like the load tool's max-outstanding
            while (i - received.get() > WINDOW)
            {
                if (System.nanoTime() - deadlineNs > 0)
                {
                    fail("deliveries stalled at " + received.get() + " of " + i + " published");
                }
                LockSupport.parkNanos(50_000);
            }
            producer.sendAsync(keys[i % keys.length], attributes);
        }
    }

    /**
     * The client's threads (named after the client) and this, the publishing thread.
     */
    private static long[] clientThreadIds()
    {
        final List<Long> ids = new ArrayList<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            if (thread.getName().startsWith("alloc-client-"))
            {
                ids.add(thread.getId());
            }
        }
        assertEquals(3, ids.size(), "the client's agent, callbacks and listener threads");
        ids.add(Thread.currentThread().getId());
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    private static long cpu(final java.lang.management.ThreadMXBean threads, final long[] ids)
    {
        long total = 0;
        for (final long id : ids)
        {
            total += Math.max(0, threads.getThreadCpuTime(id));
        }
        return total;
    }

    private static long allocated(final com.sun.management.ThreadMXBean threads, final long[] ids)
    {
        long total = 0;
        for (final long bytes : threads.getThreadAllocatedBytes(ids))
        {
            assertTrue(bytes >= 0, "a client thread ended during the measurement");
            total += bytes;
        }
        return total;
    }
}
