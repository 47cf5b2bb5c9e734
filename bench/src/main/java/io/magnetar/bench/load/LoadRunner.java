package io.magnetar.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;

/**
 * The measuring and verifying core of a load run, independent of the broker and client under test (it has no Magnetar
 * dependency, so the Apache Pulsar driver of the side-by-side benchmark, {@code bench/pulsar}, compiles it too and
 * measures the same way): start a {@link Workload} that is set up, take the measured window's rates and CPU, print
 * a progress line per second, drain, collect the {@link LoadStats} into a {@link LoadResult} and verify it.
 */
public final class LoadRunner
{
    private static final long SECOND_NS = TimeUnit.SECONDS.toNanos(1);

    /**
     * What a run needs to know besides the workload.
     */
    public static final class Settings
    {
        public double warmupSeconds = 5;
        public double durationSeconds = 30;
        public double drainTimeoutSeconds = 30;
        /** Consumers of the workload (0: publish only, nothing to drain). */
        public int consumers;
        /** A process (the broker) whose CPU use and RSS during the window are reported apart; 0 = none. */
        public long watchPid;
        public boolean progress = true;
    }

    private LoadRunner()
    {
    }

    /**
     * Publish from 200 ms from now (the workload is set up), measure the window after the warm-up, drain, collect and
     * verify into {@code result}; progress lines go to {@code out} if asked.
     *
     * @return GC time of this JVM during the window, ms.
     */
    public static long execute(
        final Workload workload, final LoadStats stats, final LoadResult result, final Settings settings, final PrintStream out)
        throws InterruptedException
    {
        Reporter reporter = null;
        try
        {
            final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            final long windowStartNs = startNs + (long)(settings.warmupSeconds * SECOND_NS);
            final long windowEndNs = windowStartNs + (long)(settings.durationSeconds * SECOND_NS);
            stats.window(windowStartNs, windowEndNs);
            result.loadAverageAtStart = loadAverage();
            workload.start(startNs, windowEndNs);
            if (settings.progress)
            {
                reporter = new Reporter(stats, out, startNs, windowStartNs, windowEndNs);
                reporter.start();
            }

            sleepUntil(windowStartNs);
            final Snapshot atStart = new Snapshot(stats);
            final long gcAtStart = gcMillis();
            final CpuSample cpuAtStart = new CpuSample(settings.watchPid);
            final ThreadCpu threadsAtStart = new ThreadCpu();
            // per-thread CPU a little before the end: the publishing threads end with the window, and a busy machine
            // may wake this thread late
            sleepUntil(windowEndNs - TimeUnit.MILLISECONDS.toNanos(100));
            result.threadCpu = new ThreadCpu().since(threadsAtStart, cpuAtStart);
            sleepUntil(windowEndNs);
            final Snapshot atEnd = new Snapshot(stats);
            final long gcMillis = gcMillis() - gcAtStart;
            final CpuSample cpuAtEnd = new CpuSample(settings.watchPid);
            result.cpu = cpuAtEnd.since(cpuAtStart);
            cpuAtEnd.fill(cpuAtStart, result);
            result.watchedRssBytes = rssBytes(settings.watchPid);
            result.loadAverageAtEnd = loadAverage();
            result.measuredSeconds = (atEnd.timeNs - atStart.timeNs) / 1e9;
            result.publishRate = (atEnd.sent - atStart.sent) / result.measuredSeconds;
            result.confirmRate = (atEnd.confirmed - atStart.confirmed) / result.measuredSeconds;
            result.deliverRate = (atEnd.delivered - atStart.delivered) / result.measuredSeconds;
            result.ackRate = (atEnd.acked - atStart.acked) / result.measuredSeconds;

            drain(settings, stats, workload, result);
            if (null != reporter)
            {
                reporter.stop();
                reporter = null;
            }
            collect(stats, result);
            verify(settings, stats, result);
            return gcMillis;
        }
        finally
        {
            if (null != reporter)
            {
                reporter.stop();
            }
        }
    }

    private static void drain(final Settings options, final LoadStats stats, final Workload workload, final LoadResult result)
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

    private static void verify(final Settings options, final LoadStats stats, final LoadResult result)
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

    public static void collectErrors(final LoadStats stats, final LoadResult result)
    {
        for (final Map.Entry<String, LongAdder> error : stats.errors.entrySet())
        {
            result.warnings.add("error x" + error.getValue().sum() + ": " + error.getKey());
        }
    }

    /**
     * @return the resident set size of a process ({@code VmRSS} of {@code /proc/PID/status}), bytes; -1 if not known.
     */
    public static long rssBytes(final long pid)
    {
        if (pid <= 0)
        {
            return -1;
        }
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
            {
                if (line.startsWith("VmRSS:"))
                {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
                }
            }
        }
        catch (final IOException | RuntimeException ignore)
        {
            // gone, or not Linux
        }
        return -1;
    }

    /**
     * @return CPU time (user + system) a process has used so far, ns; -1 if not known.
     */
    public static long cpuNanos(final long pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ..." then utime and stime are fields 14 and 15, in USER_HZ (100) ticks
            final String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
    }

    /**
     * A short report of a run (the Pulsar driver's; the load tool prints its own, longer one).
     */
    public static String summary(final LoadResult result, final boolean fixedRate)
    {
        final StringBuilder text = new StringBuilder();
        final String nl = System.lineSeparator();
        text.append("run:      ").append(result.description).append(nl);
        text.append("machine:  ").append(machine()).append(nl);
        text.append(String.format(Locale.ROOT, "measured: %.1f s; load average %s at start, %s at end%n",
            result.measuredSeconds, result.loadAverageAtStart, result.loadAverageAtEnd));
        text.append("cpu:      ").append(result.cpu).append(nl);
        text.append(String.format(Locale.ROOT, "rates (msg/s, measured window): published %,.0f  confirmed %,.0f  " +
            "delivered %,.0f  acked %,.0f%n", result.publishRate, result.confirmRate, result.deliverRate, result.ackRate));
        final String start = fixedRate ? "intended send time" : "send call";
        text.append(latencyLine("publish latency (" + start + " -> receipt)", result.publishLatency));
        text.append(latencyLine("publish->deliver latency (" + start + " -> listener)", result.e2eLatency));
        text.append(String.format(Locale.ROOT, "totals:   sent %,d  confirmed %,d  failed %,d | delivered %,d (first %,d, " +
            "duplicate %,d) | acked %,d | broker backlog %d, in flight %d%n", result.sent, result.confirmed, result.failed,
            result.delivered, result.firstDeliveries, result.duplicates, result.acked, result.brokerBacklog,
            result.brokerInFlight));
        text.append(result.verified() ? "verified: OK" : "verified: FAILED " + result.problems).append(nl);
        for (final String warning : result.warnings)
        {
            text.append("  note: ").append(warning).append(nl);
        }
        return text.toString();
    }

    static String latencyLine(final String name, final Histogram histogram)
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

    public static String micros(final long ns)
    {
        final double us = ns / 1000.0;
        return us >= 100 ? String.format(Locale.ROOT, "%,.0f", us) : String.format(Locale.ROOT, "%.1f", us);
    }

    public static String machine()
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

    public static String loadAverage()
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
            watchedNs = watchPid > 0 ? cpuNanos(watchPid) : -1;
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

        /**
         * The same figures as numbers, % of one core (-1 when not known).
         */
        void fill(final CpuSample start, final LoadResult result)
        {
            final double wallNs = timeNs - start.timeNs;
            result.processCpuPercent = 100.0 * (processNs - start.processNs) / wallNs;
            result.machineCpuPercent = machineBusyNs < 0 || start.machineBusyNs < 0 ? -1 :
                100.0 * (machineBusyNs - start.machineBusyNs) / wallNs;
            result.watchedCpuPercent = watchedNs < 0 || start.watchedNs < 0 ? -1 :
                100.0 * (watchedNs - start.watchedNs) / wallNs;
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
