package io.magnetar.bench.soak;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Arrays;
import java.util.Locale;

import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import org.openjdk.jol.info.GraphLayout;

/**
 * Heap per live message in the engine (issue 5: at most 100 bytes beyond the message's key and attribute bytes).
 * A fresh {@link Engine} (no pipeline, no journal: the journal is on disk and in the page cache, not on the heap) gets a
 * topic of 8 partitions, one shared subscription and one consumer ({@code --subscriptions S}: S shared subscriptions
 * with a consumer each, so each message has S deliveries), then N messages of the benchmarks' shape (17-byte
 * key, one attribute {@code body} with a 62-byte value, {@link SoakMessages}: 83 key and attribute bytes) in publish
 * batches of 1,000. Heap used is taken after several full GCs ({@code System.gc()}, G1's full collection; the figure
 * is the minimum of 5 GCs) before and after the fill; the difference over N is the cost per message. Two states: {@code pending} (the consumer has 1
 * permit, so all but one message wait in the subscription's pending list) and {@code in-flight} (the consumer's
 * window holds them all: every message is delivered and not yet acked, OUTSTANDING with its ack deadline).
 * <p>
 * {@code --footprint} also walks the engine's object graph with JOL ({@code GraphLayout}) and prints what each class
 * takes per message, i.e. where the bytes go.
 * <p>
 * Usage: {@code java <jvm flags> -Xmx4g -cp bench/target/magnetar-bench.jar io.magnetar.bench.soak.MemoryBench
 * [--messages 1000000] [--state pending|in-flight|both] [--runs 3] [--footprint] [--subscriptions 1]} (with {@code --footprint}, add
 * {@code -Djdk.attach.allowAttachSelf=true} to spare JOL a warning; its sizes are the same without).
 */
public final class MemoryBench
{
    private static final int BATCH = 1000;
    private static final int KEYS = 100_000;

    private MemoryBench()
    {
    }

    public static void main(final String[] args)
    {
        int messages = 1_000_000;
        String state = "both";
        int runs = 3;
        boolean footprint = false;
        int subscriptions = 1;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--messages" -> messages = Integer.parseInt(args[++i].replace("_", ""));
                case "--state" -> state = args[++i];
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--footprint" -> footprint = true;
                case "--subscriptions" -> subscriptions = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] +
                    "; usage: [--messages N] [--state pending|in-flight|both] [--runs R] [--footprint] [--subscriptions S]");
            }
        }
        if (!state.equals("pending") && !state.equals("in-flight") && !state.equals("both"))
        {
            throw new IllegalArgumentException("--state must be pending, in-flight or both, not " + state);
        }
        if (subscriptions < 1)
        {
            throw new IllegalArgumentException("--subscriptions must be at least 1, not " + subscriptions);
        }
        System.out.printf(Locale.ROOT, "%,d messages (17-byte key, one attribute 'body' of 62 bytes), %d shared " +
            "subscription(s) with a consumer each, %d runs, max heap %,d MB, %s%n",
            messages, subscriptions, runs, Runtime.getRuntime().maxMemory() >> 20, System.getProperty("java.vm.name") + " " +
            System.getProperty("java.version"));
        for (final String s : state.equals("both") ? new String[]{"pending", "in-flight"} : new String[]{state})
        {
            final double[] perMessage = new double[runs];
            long payload = 0;
            for (int run = 0; run < runs; run++)
            {
                final long[] result = measure(messages, subscriptions, s.equals("in-flight"), footprint && run == 0);
                perMessage[run] = (double)result[0] / messages;
                payload = result[1];
                System.out.printf(Locale.ROOT, "  %s run %d: %,d bytes of heap for %,d messages = %.1f bytes per message%n",
                    s, run, result[0], messages, perMessage[run]);
            }
            Arrays.sort(perMessage);
            final double keyAndAttributes = (double)payload / messages;
            System.out.printf(Locale.ROOT, "%s: %.1f bytes per message (min %.1f, max %.1f); key + attribute bytes %.0f; " +
                "beyond them %.1f bytes per message%n", s, perMessage[runs / 2], perMessage[0], perMessage[runs - 1],
                keyAndAttributes, perMessage[runs / 2] - keyAndAttributes);
        }
    }

    /**
     * @return heap bytes the messages took, and the engine's live (key + attribute) bytes.
     */
    private static long[] measure(final int count, final int subscriptions, final boolean inFlight, final boolean footprint)
    {
        final SoakMessages messages = new SoakMessages(KEYS);
        final Engine engine = new Engine(new EngineConfig()
            .maxLiveMessages(Math.max(10_000_000, count))
            .maxPermits(Math.max(1_000_000, count))
            .conclude(), EventListener.MUTED);
        long time = 1_000_000;
        engine.onCommand(1, time, messages.buffer(), 0, messages.createTopic(1, "bench", 8));
        for (int s = 0; s < subscriptions; s++)
        {
            engine.onCommand(2 + s, time, messages.buffer(), 0,
                messages.subscribe(2, "bench", s == 0 ? "workers" : "workers-" + (s + 1), inFlight ? count : 1));
        }
        final long before = usedAfterGc();
        final GraphLayout emptyLayout = footprint ? GraphLayout.parseInstance(engine) : null;
        long published = 0;
        while (published < count)
        {
            final int n = (int)Math.min(BATCH, count - published);
            engine.onCommand(1, ++time, messages.buffer(), 0, messages.publish(3, 1, published, n));
            published += n;
        }
        if (engine.liveMessages() != count)
        {
            throw new IllegalStateException("expected " + count + " live messages, the engine has " + engine.liveMessages());
        }
        final long after = usedAfterGc();
        if (footprint)
        {
            final GraphLayout full = GraphLayout.parseInstance(engine);
            System.out.printf(Locale.ROOT, "JOL: the engine's object graph grew by %,d bytes (%.1f per message); by class:%n",
                full.totalSize() - emptyLayout.totalSize(), (double)(full.totalSize() - emptyLayout.totalSize()) / count);
            final GraphLayout grown = full.subtract(emptyLayout);
            final String table = grown.toFootprint();
            for (final String line : table.split("\n"))
            {
                System.out.println("  " + line);
            }
            System.out.printf(Locale.ROOT, "  per message: %s%n", perMessage(grown, count));
        }
        // keep the engine reachable until the second measurement
        final long payload = engine.liveBytes();
        return new long[]{ after - before, payload };
    }

    private static String perMessage(final GraphLayout grown, final int count)
    {
        final StringBuilder b = new StringBuilder();
        for (final Class<?> type : grown.getClasses())
        {
            final long size = grown.getClassSizes().count(type);
            if (size >= count)
            {
                b.append(String.format(Locale.ROOT, "%s %.1f B (%.2f objects), ", type.getSimpleName().isEmpty() ?
                    type.getName() : type.getSimpleName(), (double)size / count, (double)grown.getClassCounts().count(type) / count));
            }
        }
        return b.toString();
    }

    private static long usedAfterGc()
    {
        final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++)
        {
            System.gc();
            min = Math.min(min, memory.getHeapMemoryUsage().getUsed());
        }
        return min;
    }
}
