package io.magnetar.bench.load;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.magnetar.client.SubscriptionType;

/**
 * The end-to-end load tool: producers publish through a Magnetar broker (native client over Aeron IPC or UDP, or
 * REST), consumers receive and acknowledge every message; it prints the rates every second, then HdrHistogram
 * percentiles of publish latency (send → receipt) and publish→deliver latency, the totals, and a verification that
 * every confirmed message was delivered and acknowledged (and, for key_shared, in order per key).
 * <pre>
 * java -jar bench/target/magnetar-load.jar --transport ipc --partitions 16 --producers 2 --consumers 2
 * java -jar bench/target/magnetar-load.jar --rate 50000 --batch-delay-us 0 --duration 30
 * java -jar bench/target/magnetar-load.jar --mode rest --rest-batch 100 --rest-publishers 4 --consumers 2
 * java -jar bench/target/magnetar-load.jar --broker external --aeron-dir /dev/shm/aeron-me --transport ipc
 * </pre>
 * {@code --help} lists every option. Exit status 0 when the verification passed, 1 when it failed, 2 on bad options.
 * <p>
 * <b>Coordinated omission.</b> At a fixed rate each message has an intended send time ({@code start + i / rate} per
 * publisher) and both latencies are measured from it, so a stall anywhere (publisher blocked on a full pending queue,
 * broker pause, GC) is charged to every message that should have been sent during it. The actual send time travels
 * too: the report adds publish→deliver from the actual send and the publisher's lateness (send lag). At max rate
 * there is no schedule: latencies are from the send call, under saturation (they measure queueing).
 */
public final class LoadTool
{
    private LoadTool()
    {
    }

    public static void main(final String[] args)
    {
        final LoadOptions options;
        try
        {
            options = LoadOptions.parse(args);
            if (null == options)
            {
                System.out.println(LoadOptions.usage());
                return;
            }
            options.conclude();
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("load tool: " + ex.getMessage());
            System.exit(2);
            return;
        }
        try
        {
            final LoadResult result = run(options, System.out);
            System.out.flush();
            System.exit(result.verified() ? 0 : 1);
        }
        catch (final Exception ex)
        {
            System.err.println("load tool: run failed: " + ex);
            ex.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * Run once and print the progress and the report to {@code out}.
     */
    public static LoadResult run(final LoadOptions options, final PrintStream out) throws Exception
    {
        options.conclude();
        prepareJvm();
        final boolean rest = LoadOptions.Mode.REST == options.mode;
        final int groups = 0 == options.consumers ? 0 :
            SubscriptionType.MULTICAST == options.subscriptionType ? options.consumers : 1;
        final LoadStats stats = new LoadStats(options.publishers(), groups, options.keys, options.keyBytes,
            SubscriptionType.KEY_SHARED == options.subscriptionType && options.consumers > 0, options.fixedRate());
        final LoadResult result = new LoadResult();
        result.groups = groups;

        EmbeddedBroker broker = null;
        Workload workload = null;
        try
        {
            final String brokerDescription;
            if (options.embeddedBroker)
            {
                broker = EmbeddedBroker.start(options, rest, "udp".equals(options.transport));
                brokerDescription = broker.describe();
            }
            else
            {
                brokerDescription = "external broker (" + (rest ? options.httpUrl :
                    options.ingressChannel + (null != options.aeronDir ? ", Aeron directory " + options.aeronDir : "")) + ")";
            }
            if (rest)
            {
                final String url = null != broker ? broker.httpUrl() : options.httpUrl;
                workload = new RestWorkload(options, stats, url);
            }
            else
            {
                final String aeronDir = null != broker ? broker.aeronDirectory() : options.aeronDir;
                final String channel = null != broker ?
                    ("udp".equals(options.transport) ? broker.udpChannel() : broker.ipcChannel()) : options.ingressChannel;
                workload = new NativeWorkload(options, stats, aeronDir, channel);
            }
            result.description = options.describe(brokerDescription);
            if (!options.quiet)
            {
                out.println("load: " + result.description);
            }
            workload.setUp();

            final LoadRunner.Settings settings = new LoadRunner.Settings();
            settings.warmupSeconds = options.warmupSeconds;
            settings.durationSeconds = options.durationSeconds;
            settings.drainTimeoutSeconds = options.drainTimeoutSeconds;
            settings.consumers = options.consumers;
            settings.watchPid = options.watchPid;
            settings.progress = options.progress && !options.quiet;
            final long gcMillis = LoadRunner.execute(workload, stats, result, settings, out);
            workload.close();
            workload = null;
            if (null != broker)
            {
                broker.close();
                broker = null;
            }
            LoadRunner.collectErrors(stats, result);
            if (null != options.resultFile)
            {
                ResultFile.write(result, options.fixedRate(), Path.of(options.resultFile));
            }
            report(options, result, gcMillis, out);
            return result;
        }
        finally
        {
            if (null != workload)
            {
                try
                {
                    workload.close();
                }
                catch (final RuntimeException ex)
                {
                    out.println("load: closing the workload: " + ex);
                }
            }
            if (null != broker)
            {
                broker.close();
            }
        }
    }

    // ================================================================================================ report

    private static void report(final LoadOptions options, final LoadResult result, final long gcMillis, final PrintStream out)
    {
        final StringBuilder text = new StringBuilder();
        final String nl = System.lineSeparator();
        text.append("== Magnetar load tool, ").append(Instant.now()).append(nl);
        text.append("run:      ").append(result.description).append(nl);
        text.append("machine:  ").append(LoadRunner.machine()).append(nl);
        text.append(String.format(Locale.ROOT, "measured: %.1f s after %.1f s warm-up; load average %s at start, %s at end; " +
            "GC in this JVM during the window: %d ms%n", result.measuredSeconds, options.warmupSeconds,
            result.loadAverageAtStart, result.loadAverageAtEnd, gcMillis));
        if (null != result.cpu)
        {
            text.append("cpu:      ").append(result.cpu).append(nl);
        }
        if (null != result.threadCpu)
        {
            text.append("threads:  ").append(result.threadCpu).append(nl);
        }
        text.append(String.format(Locale.ROOT, "rates (msg/s, measured window): published %,.0f  confirmed %,.0f  " +
            "delivered %,.0f  acked %,.0f%n", result.publishRate, result.confirmRate, result.deliverRate, result.ackRate));
        if (LoadOptions.Mode.REST == options.mode)
        {
            text.append(String.format(Locale.ROOT, "          (publish requests: %,.0f/s of %d message(s))%n",
                result.confirmRate / options.restBatch, options.restBatch));
        }
        final String start = options.fixedRate() ? "intended send time" : "send call";
        text.append(LoadRunner.latencyLine("publish latency (" + start + " -> receipt)", result.publishLatency));
        if (result.groups > 0)
        {
            text.append(LoadRunner.latencyLine("publish->deliver latency (" + start + " -> listener)", result.e2eLatency));
        }
        if (options.fixedRate())
        {
            if (result.groups > 0)
            {
                text.append(LoadRunner.latencyLine("publish->deliver from the actual send", result.e2eFromSent));
            }
            text.append(LoadRunner.latencyLine("send lag (actual - intended send)", result.sendLag));
            text.append("coordinated omission: fixed rate; latencies are measured from each message's INTENDED send time " +
                "(start + i/rate), so stalls are charged to every message that should have been sent during them." + nl);
        }
        else
        {
            text.append("coordinated omission: max rate, no schedule; latencies are from the send call under saturation " +
                "(queueing included, not a latency figure for a paced workload)." + nl);
        }
        text.append(String.format(Locale.ROOT, "totals:   sent %,d  confirmed %,d  failed %,d | delivered %,d (first %,d, " +
            "redelivered %,d, duplicate %,d) | acked %,d | broker backlog %d, in flight %d%s%n", result.sent,
            result.confirmed, result.failed, result.delivered, result.firstDeliveries, result.redeliveries,
            result.duplicates, result.acked, result.brokerBacklog, result.brokerInFlight,
            result.httpRequests > 0 ? String.format(Locale.ROOT, " | HTTP requests %,d", result.httpRequests) : ""));
        final String keyOrder = SubscriptionType.KEY_SHARED == options.subscriptionType && result.groups > 0 ?
            ", per-key order checked (" + result.orderViolations + " violations)" : "";
        if (result.verified())
        {
            text.append("verified: OK — ").append(result.groups > 0 ?
                "published = delivered" + (result.groups > 1 ? " x " + result.groups + " consumers (multicast)" : "") +
                " = acked, no loss" + keyOrder : "every publish confirmed (no consumers)").append(nl);
        }
        else
        {
            text.append("verified: FAILED").append(nl);
            for (final String problem : result.problems)
            {
                text.append("  problem: ").append(problem).append(nl);
            }
        }
        for (final String warning : result.warnings)
        {
            text.append("  note: ").append(warning).append(nl);
        }
        out.print(text);
        out.flush();
    }

    private static void prepareJvm()
    {
        // as the broker's Main: before any Chronicle class loads, no analytics or banner (no network, quiet output)
        System.setProperty("chronicle.analytics.disable", "true");
        System.setProperty("chronicle.announcer.disable", "true");
        final Logger root = Logger.getLogger("");
        if (root.getLevel() == null || root.getLevel().intValue() < Level.WARNING.intValue())
        {
            root.setLevel(Level.WARNING);
            for (final Handler handler : root.getHandlers())
            {
                handler.setLevel(Level.WARNING);
            }
        }
    }
}
