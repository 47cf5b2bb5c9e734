package io.magnetar.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.magnetar.client.SubscriptionType;
import org.HdrHistogram.Histogram;

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
    private static final long SECOND_NS = TimeUnit.SECONDS.toNanos(1);

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
        final LoadStats stats = new LoadStats(options.publishers(), groups, options.keys,
            SubscriptionType.KEY_SHARED == options.subscriptionType && options.consumers > 0, options.fixedRate());
        final LoadResult result = new LoadResult();
        result.groups = groups;

        EmbeddedBroker broker = null;
        Workload workload = null;
        Reporter reporter = null;
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

            final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            final long windowStartNs = startNs + (long)(options.warmupSeconds * SECOND_NS);
            final long windowEndNs = windowStartNs + (long)(options.durationSeconds * SECOND_NS);
            stats.window(windowStartNs, windowEndNs);
            result.loadAverageAtStart = loadAverage();
            workload.start(startNs, windowEndNs);
            if (options.progress && !options.quiet)
            {
                reporter = new Reporter(stats, out, startNs, windowStartNs, windowEndNs);
                reporter.start();
            }

            sleepUntil(windowStartNs);
            final Snapshot atStart = new Snapshot(stats);
            final long gcAtStart = gcMillis();
            final CpuSample cpuAtStart = new CpuSample(options.watchPid);
            final ThreadCpu threadsAtStart = new ThreadCpu();
            // per-thread CPU a little before the end: the publishing threads end with the window, and a busy machine
            // may wake this thread late
            sleepUntil(windowEndNs - TimeUnit.MILLISECONDS.toNanos(100));
            result.threadCpu = new ThreadCpu().since(threadsAtStart, cpuAtStart);
            sleepUntil(windowEndNs);
            final Snapshot atEnd = new Snapshot(stats);
            final long gcMillis = gcMillis() - gcAtStart;
            result.cpu = new CpuSample(options.watchPid).since(cpuAtStart);
            result.loadAverageAtEnd = loadAverage();
            result.measuredSeconds = (atEnd.timeNs - atStart.timeNs) / 1e9;
            result.publishRate = (atEnd.sent - atStart.sent) / result.measuredSeconds;
            result.confirmRate = (atEnd.confirmed - atStart.confirmed) / result.measuredSeconds;
            result.deliverRate = (atEnd.delivered - atStart.delivered) / result.measuredSeconds;
            result.ackRate = (atEnd.acked - atStart.acked) / result.measuredSeconds;

            drain(options, stats, workload, result);
            if (null != reporter)
            {
                reporter.stop();
                reporter = null;
            }
            collect(stats, result);
            verify(options, stats, result);
            workload.close();
            workload = null;
            if (null != broker)
            {
                broker.close();
                broker = null;
            }
            collectErrors(stats, result);
            report(options, result, gcMillis, out);
            return result;
        }
        finally
        {
            if (null != reporter)
            {
                reporter.stop();
            }
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

    private static void drain(final LoadOptions options, final LoadStats stats, final Workload workload, final LoadResult result)
        throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + (long)(options.drainTimeoutSeconds * SECOND_NS);
        if (!workload.awaitPublished(deadlineNs))
        {
            result.problems.add("publishing did not finish within the drain timeout (" + options.drainTimeoutSeconds +
                " s): " + (stats.sent.sum() - stats.confirmed.sum() - stats.failed.sum()) + " publishes unanswered");
        }
        if (result.groups > 0)
        {
            while (System.nanoTime() - deadlineNs < 0)
            {
                final long expected = stats.confirmed.sum() * result.groups;
                if (stats.firstDeliveries.sum() >= expected && stats.acked.sum() >= stats.delivered.sum())
                {
                    break;
                }
                Thread.sleep(10);
            }
            long[] broker = null;
            final long brokerDeadlineNs = Math.max(deadlineNs, System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            while (System.nanoTime() - brokerDeadlineNs < 0)
            {
                broker = workload.brokerSubscriptionStats();
                if (null != broker && 0 == broker[0] && 0 == broker[1])
                {
                    break;
                }
                Thread.sleep(50);
            }
            if (null != broker)
            {
                result.brokerBacklog = broker[0];
                result.brokerInFlight = broker[1];
            }
        }
    }

    private static void collect(final LoadStats stats, final LoadResult result)
    {
        result.sent = stats.sent.sum();
        result.confirmed = stats.confirmed.sum();
        result.failed = stats.failed.sum();
        result.delivered = stats.delivered.sum();
        result.firstDeliveries = stats.firstDeliveries.sum();
        result.redeliveries = stats.redeliveries.sum();
        result.duplicates = stats.duplicates.sum();
        result.acked = stats.acked.sum();
        result.orderViolations = stats.orderViolations.sum();
        result.keyMismatches = stats.keyMismatches.sum();
        result.foreign = stats.foreign.sum();
        result.httpRequests = stats.httpRequests.sum();
        result.lost = result.groups > 0 ? stats.lost() : 0;
        result.deliveredUnconfirmed = result.groups > 0 ? stats.deliveredUnconfirmed() : 0;
        result.publishLatency = finish(stats.publishLatency);
        result.e2eLatency = finish(stats.e2eLatency);
        result.e2eFromSent = finish(stats.e2eFromSent);
        result.sendLag = finish(stats.sendLag);
    }

    private static Histogram finish(final LoadStats.LatencyMetric metric)
    {
        metric.interval();
        return metric.total().copy();
    }

    private static void verify(final LoadOptions options, final LoadStats stats, final LoadResult result)
    {
        if (result.sent == 0)
        {
            result.problems.add("nothing was published");
        }
        if (result.failed > 0)
        {
            result.problems.add(result.failed + " publishes failed");
        }
        if (result.sent != result.confirmed + result.failed)
        {
            result.problems.add((result.sent - result.confirmed - result.failed) + " publishes never answered");
        }
        if (result.groups > 0)
        {
            if (result.lost > 0)
            {
                result.problems.add(result.lost + " confirmed messages never delivered (first: " + stats.firstLost() + ")");
            }
            if (result.acked != result.delivered)
            {
                result.problems.add("acknowledged " + result.acked + " of " + result.delivered + " deliveries");
            }
            if (result.brokerBacklog != 0 || result.brokerInFlight != 0)
            {
                result.problems.add("the broker still reports backlog " + result.brokerBacklog + ", in flight " +
                    result.brokerInFlight + " (-1: unknown)");
            }
            if (result.orderViolations > 0)
            {
                result.problems.add(result.orderViolations + " key order violations");
            }
            if (result.keyMismatches > 0)
            {
                result.problems.add(result.keyMismatches + " messages delivered with another key than published");
            }
            if (result.foreign > 0)
            {
                result.problems.add(result.foreign + " deliveries that this run did not publish");
            }
            if (result.duplicates > 0)
            {
                result.warnings.add(result.duplicates + " duplicate deliveries (at-least-once: redeliveries " +
                    result.redeliveries + ")");
            }
            if (result.deliveredUnconfirmed > 0)
            {
                result.warnings.add(result.deliveredUnconfirmed + " delivered messages whose publish was not confirmed");
            }
        }
        else if (options.consumers == 0)
        {
            result.warnings.add("no consumers: publish only, delivery not verified");
        }
    }

    private static void collectErrors(final LoadStats stats, final LoadResult result)
    {
        for (final Map.Entry<String, LongAdder> error : stats.errors.entrySet())
        {
            result.warnings.add("error x" + error.getValue().sum() + ": " + error.getKey());
        }
    }

    // ================================================================================================ report

    private static void report(final LoadOptions options, final LoadResult result, final long gcMillis, final PrintStream out)
    {
        final StringBuilder text = new StringBuilder();
        final String nl = System.lineSeparator();
        text.append("== Magnetar load tool, ").append(Instant.now()).append(nl);
        text.append("run:      ").append(result.description).append(nl);
        text.append("machine:  ").append(machine()).append(nl);
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
        text.append(latencyLine("publish latency (" + start + " -> receipt)", result.publishLatency));
        if (result.groups > 0)
        {
            text.append(latencyLine("publish->deliver latency (" + start + " -> listener)", result.e2eLatency));
        }
        if (options.fixedRate())
        {
            if (result.groups > 0)
            {
                text.append(latencyLine("publish->deliver from the actual send", result.e2eFromSent));
            }
            text.append(latencyLine("send lag (actual - intended send)", result.sendLag));
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

    private static String latencyLine(final String name, final Histogram histogram)
    {
        if (null == histogram || 0 == histogram.getTotalCount())
        {
            return String.format(Locale.ROOT, "%-58s no samples%n", name + ", µs:");
        }
        return String.format(Locale.ROOT, "%-58s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, n=%,d)%n",
            name + ", µs:", micros(histogram.getValueAtPercentile(50)), micros(histogram.getValueAtPercentile(90)),
            micros(histogram.getValueAtPercentile(99)), micros(histogram.getValueAtPercentile(99.9)),
            micros(histogram.getMaxValue()), micros((long)histogram.getMean()), histogram.getTotalCount());
    }

    static String micros(final long ns)
    {
        final double us = ns / 1000.0;
        return us >= 100 ? String.format(Locale.ROOT, "%,.0f", us) : String.format(Locale.ROOT, "%.1f", us);
    }

    static String machine()
    {
        String cpu = "?";
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                if (line.startsWith("model name"))
                {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        }
        catch (final IOException | RuntimeException ignore)
        {
            // not Linux
        }
        final long memory = ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
        return Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), " +
            String.format(Locale.ROOT, "%.1f GiB", memory / (1024.0 * 1024 * 1024)) + ", " +
            System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + ", heap max " +
            (Runtime.getRuntime().maxMemory() >> 20) + " MiB";
    }

    static String loadAverage()
    {
        try
        {
            final String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " " + fields[1] + " " + fields[2];
        }
        catch (final IOException | RuntimeException ex)
        {
            final double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            return String.format(Locale.ROOT, "%.2f", load);
        }
    }

    private static long gcMillis()
    {
        long total = 0;
        for (final GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans())
        {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    private static void sleepUntil(final long deadlineNs)
    {
        long remaining;
        while ((remaining = deadlineNs - System.nanoTime()) > 0)
        {
            LockSupport.parkNanos(remaining);
        }
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

    /**
     * CPU time of the whole machine ({@code /proc/stat}) and of this JVM, to tell how much of the two cores other
     * processes took during the window.
     */
    static final class CpuSample
    {
        final long timeNs = System.nanoTime();
        final long machineBusyNs;
        final long processNs;
        final long watchedPid;
        final long watchedNs;

        CpuSample()
        {
            this(0);
        }

        CpuSample(final long watchPid)
        {
            watchedPid = watchPid;
            long watched = -1;
            if (watchPid > 0)
            {
                try
                {
                    // /proc/PID/stat: "pid (comm) state ..." then utime and stime are fields 14 and 15
                    final String stat = Files.readString(Path.of("/proc/" + watchPid + "/stat"));
                    final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
                    watched = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
                }
                catch (final IOException | RuntimeException ignore)
                {
                    // gone, or not Linux
                }
            }
            watchedNs = watched;
            long busy = -1;
            try
            {
                final String[] fields = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                // cpu user nice system idle iowait irq softirq steal ...; USER_HZ is 100 on Linux
                long ticks = 0;
                for (int i = 1; i < fields.length && i <= 8; i++)
                {
                    if (i != 4 && i != 5)
                    {
                        ticks += Long.parseLong(fields[i]);
                    }
                }
                busy = ticks * 10_000_000L;
            }
            catch (final IOException | RuntimeException ignore)
            {
                // not Linux
            }
            machineBusyNs = busy;
            processNs = ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        }

        String since(final CpuSample start)
        {
            final double wallNs = timeNs - start.timeNs;
            final double process = 100.0 * (processNs - start.processNs) / wallNs;
            if (machineBusyNs < 0 || start.machineBusyNs < 0)
            {
                return String.format(Locale.ROOT, "this JVM %.0f%% of one core", process);
            }
            final double machine = 100.0 * (machineBusyNs - start.machineBusyNs) / wallNs;
            if (watchedNs >= 0 && start.watchedNs >= 0)
            {
                final double watched = 100.0 * (watchedNs - start.watchedNs) / wallNs;
                return String.format(Locale.ROOT, "machine busy %.0f%% (of %d00%%), this JVM %.0f%%, process %d %.0f%%, " +
                    "other processes ~%.0f%%", machine, Runtime.getRuntime().availableProcessors(), process, watchedPid,
                    watched, Math.max(0, machine - process - watched));
            }
            return String.format(Locale.ROOT, "machine busy %.0f%% (of %d00%%), this JVM %.0f%%, other processes ~%.0f%%",
                machine, Runtime.getRuntime().availableProcessors(), process, Math.max(0, machine - process));
        }
    }

    /**
     * CPU time of every Java thread of this JVM (the broker's too when it is embedded), to say per thread where the
     * two cores went during the window. What the Java threads do not account for is the JVM's own work (GC, JIT).
     */
    static final class ThreadCpu
    {
        private final Map<Long, String> names = new java.util.HashMap<>();
        private final Map<Long, Long> cpuNs = new java.util.HashMap<>();

        ThreadCpu()
        {
            final java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            if (!threads.isThreadCpuTimeSupported())
            {
                return;
            }
            for (final Thread thread : Thread.getAllStackTraces().keySet())
            {
                final long time = threads.getThreadCpuTime(thread.getId());
                if (time >= 0)
                {
                    names.put(thread.getId(), thread.getName());
                    cpuNs.put(thread.getId(), time);
                }
            }
        }

        /**
         * @return "% of one core" per thread group over the window, largest first, and the JVM's remainder.
         */
        String since(final ThreadCpu start, final CpuSample processStart)
        {
            final double wallNs = System.nanoTime() - processStart.timeNs;
            final Map<String, Long> byGroup = new java.util.TreeMap<>();
            long sum = 0;
            for (final Map.Entry<Long, Long> entry : cpuNs.entrySet())
            {
                final long delta = entry.getValue() - start.cpuNs.getOrDefault(entry.getKey(), 0L);
                if (delta > 0)
                {
                    byGroup.merge(group(names.get(entry.getKey())), delta, Long::sum);
                    sum += delta;
                }
            }
            final long processNow = ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
            final long jvmInternal = (processNow - processStart.processNs) - sum;
            final StringBuilder text = new StringBuilder();
            byGroup.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .filter((e) -> e.getValue() / wallNs >= 0.005)
                .forEach((e) -> text.append(String.format(Locale.ROOT, "%s %.0f%%, ", e.getKey(), 100.0 * e.getValue() / wallNs)));
            text.append(String.format(Locale.ROOT, "JVM (GC, JIT, VM threads) %.0f%% — %% of one core",
                100.0 * Math.max(0, jvmInternal) / wallNs));
            return text.toString();
        }

        private static String group(final String name)
        {
            return name.replaceAll("/dev/shm/[^ ]*|/tmp/[^ ]*", "media-driver ")
                .replaceAll("magnetar-client-[0-9a-f]+", "magnetar-client")
                .replaceAll("HttpClient-\\d+-", "HttpClient-")
                .replaceAll("qtp\\d+-\\d+", "jetty-qtp")
                .replaceAll("-\\d+$", "-N")
                .replaceAll("pool-\\d+-thread-\\d+", "pool-thread")
                .trim();
        }
    }

    // ================================================================================================ progress

    /**
     * Counters at one instant.
     */
    static final class Snapshot
    {
        final long timeNs = System.nanoTime();
        final long sent;
        final long confirmed;
        final long failed;
        final long delivered;
        final long firstDeliveries;
        final long acked;

        Snapshot(final LoadStats stats)
        {
            sent = stats.sent.sum();
            confirmed = stats.confirmed.sum();
            failed = stats.failed.sum();
            delivered = stats.delivered.sum();
            firstDeliveries = stats.firstDeliveries.sum();
            acked = stats.acked.sum();
        }
    }

    /**
     * Prints one line per second: rates since the last line, backlog, unconfirmed publishes, the last second's
     * publish→deliver percentiles and the load average.
     */
    static final class Reporter implements Runnable
    {
        private final LoadStats stats;
        private final PrintStream out;
        private final long startNs;
        private final long windowStartNs;
        private final long windowEndNs;
        private final Thread thread;
        private volatile boolean running = true;

        Reporter(final LoadStats stats, final PrintStream out, final long startNs, final long windowStartNs, final long windowEndNs)
        {
            this.stats = stats;
            this.out = out;
            this.startNs = startNs;
            this.windowStartNs = windowStartNs;
            this.windowEndNs = windowEndNs;
            this.thread = new Thread(this, "load-reporter");
            this.thread.setDaemon(true);
        }

        void start()
        {
            thread.start();
        }

        void stop()
        {
            running = false;
            LockSupport.unpark(thread);
            try
            {
                thread.join(2000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }

        public void run()
        {
            sleepUntil(startNs);
            Snapshot previous = new Snapshot(stats);
            for (long tick = startNs + SECOND_NS; running; tick += SECOND_NS)
            {
                long remaining;
                while (running && (remaining = tick - System.nanoTime()) > 0)
                {
                    LockSupport.parkNanos(remaining);
                }
                if (!running)
                {
                    return;
                }
                final Snapshot now = new Snapshot(stats);
                final Histogram interval = stats.e2eLatency.interval();
                final Histogram publish = stats.publishLatency.interval();
                stats.e2eFromSent.interval();
                stats.sendLag.interval();
                final double seconds = (now.timeNs - previous.timeNs) / 1e9;
                final String phase = now.timeNs - windowStartNs < 0 ? "warm-up" : now.timeNs - windowEndNs < 0 ? "measure" : "drain";
                final long backlog = now.confirmed * stats.groups - now.firstDeliveries;
                out.println(String.format(Locale.ROOT,
                    "[%4.0f s %-7s] publish %,10.0f/s  confirm %,10.0f/s  deliver %,10.0f/s  ack %,10.0f/s | " +
                    "backlog %,9d  unconfirmed %,8d  unacked %,7d | publish p99 %s µs  e2e p50 %s p99 %s µs | load %s",
                    (now.timeNs - startNs) / 1e9, phase,
                    (now.sent - previous.sent) / seconds, (now.confirmed - previous.confirmed) / seconds,
                    (now.delivered - previous.delivered) / seconds, (now.acked - previous.acked) / seconds,
                    stats.groups > 0 ? backlog : 0, now.sent - now.confirmed - now.failed, now.delivered - now.acked,
                    publish.getTotalCount() > 0 ? micros(publish.getValueAtPercentile(99)) : "-",
                    interval.getTotalCount() > 0 ? micros(interval.getValueAtPercentile(50)) : "-",
                    interval.getTotalCount() > 0 ? micros(interval.getValueAtPercentile(99)) : "-",
                    loadAverage()));
                previous = now;
            }
        }
    }
}
