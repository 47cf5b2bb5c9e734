package io.magnetar.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.magnetar.bench.load.LoadRunner;
import io.magnetar.bench.load.ResultFile;

/**
 * The side-by-side benchmark against Apache Pulsar (issue 6): starts a Pulsar standalone and a Magnetar node as child
 * processes, runs every workload of {@code bench/workloads/*.yaml} against both through their own Java clients (the
 * load tool for Magnetar, {@code PulsarDriver} for Pulsar, each in its own JVM), with batching off and on,
 * interleaving the two brokers (the order alternates run by run), stops both and writes a Markdown report with
 * absolute figures and ratios. Run through {@code bench/compare-pulsar.sh}, which builds what it needs first;
 * {@code --help} lists the options.
 */
public final class PulsarComparison
{
    final Path root;
    Path workloadDir;
    Path out;
    Set<String> only = new LinkedHashSet<>();
    double warmup = 5;
    double duration = 10;
    double brokerWarmup = 20;
    String durability = "sync";
    String pulsarHeap = "2g";
    String magnetarHeap = "2g";
    String driverHeap = "1g";
    List<Boolean> batching = List.of(false, true);
    boolean smoke;
    String magnetarVersion = "unknown";
    String commandLine = "bench/compare-pulsar.sh";

    PulsarComparison(final Path root)
    {
        this.root = root;
        this.workloadDir = root.resolve("bench/workloads");
        this.out = root.resolve("bench/target/pulsar-comparison/report.md");
    }

    static String usage()
    {
        return String.join(System.lineSeparator(),
            "Magnetar vs Apache Pulsar, side by side: bench/compare-pulsar.sh [options] (builds, then runs this class)",
            "  --root DIR             repository root (default .)",
            "  --workloads DIR        workload files (default bench/workloads)",
            "  --only A,B             only these workloads (file names without .yaml, or their name:)",
            "  --out FILE             the Markdown report (default bench/target/pulsar-comparison/report.md; result",
            "                         files and logs go beside it)",
            "  --warmup S             per run, not measured (default 5)",
            "  --duration S           per run, measured (default 10)",
            "  --broker-warmup S      one unreported run against each broker first, for the JIT (default 20)",
            "  --batching off,on      producer batching variants (default both)",
            "  --durability sync|async  Magnetar --durability, and Pulsar's bookie journalSyncData=true|false (default sync)",
            "  --pulsar-heap SIZE, --magnetar-heap SIZE, --driver-heap SIZE   (defaults 2g, 2g, 1g)",
            "  --smoke                tiny: workloads marked smoke, batching off, 0.5 s warm-up, 2 s measured",
            "  --magnetar-version V, --command-line TEXT   for the report");
    }

    public static void main(final String[] args) throws Exception
    {
        PulsarComparison comparison = new PulsarComparison(Path.of("."));
        try
        {
            for (int i = 0; i < args.length; i++)
            {
                final String name = args[i];
                if ("--help".equals(name) || "-h".equals(name))
                {
                    System.out.println(usage());
                    return;
                }
                if ("--smoke".equals(name))
                {
                    comparison.smoke = true;
                    continue;
                }
                if (i + 1 >= args.length)
                {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                final String value = args[++i];
                switch (name)
                {
                    case "--root":
                        final PulsarComparison rooted = new PulsarComparison(Path.of(value));
                        rooted.smoke = comparison.smoke;
                        comparison = rooted;
                        break;
                    case "--workloads": comparison.workloadDir = Path.of(value); break;
                    case "--only": comparison.only.addAll(Arrays.asList(value.split(","))); break;
                    case "--out": comparison.out = Path.of(value); break;
                    case "--warmup": comparison.warmup = seconds(name, value); break;
                    case "--duration": comparison.duration = seconds(name, value); break;
                    case "--broker-warmup": comparison.brokerWarmup = seconds(name, value); break;
                    case "--durability":
                        if (!"sync".equals(value) && !"async".equals(value))
                        {
                            throw new IllegalArgumentException("--durability must be sync or async: " + value);
                        }
                        comparison.durability = value;
                        break;
                    case "--batching":
                        final List<Boolean> variants = new ArrayList<>();
                        for (final String v : value.split(","))
                        {
                            if (!"on".equals(v) && !"off".equals(v))
                            {
                                throw new IllegalArgumentException("--batching takes off, on or off,on: " + value);
                            }
                            variants.add("on".equals(v));
                        }
                        comparison.batching = variants;
                        break;
                    case "--pulsar-heap": comparison.pulsarHeap = value; break;
                    case "--magnetar-heap": comparison.magnetarHeap = value; break;
                    case "--driver-heap": comparison.driverHeap = value; break;
                    case "--magnetar-version": comparison.magnetarVersion = value; break;
                    case "--command-line": comparison.commandLine = value; break;
                    default: throw new IllegalArgumentException("unknown option " + name + " (--help lists them)");
                }
            }
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("compare-pulsar: " + ex.getMessage());
            System.exit(2);
            return;
        }
        if (comparison.smoke)
        {
            comparison.warmup = Math.min(comparison.warmup, 0.5);
            comparison.duration = Math.min(comparison.duration, 2);
            comparison.brokerWarmup = 0;
            comparison.batching = List.of(false);
        }
        final ComparisonReport report = comparison.run(System.out);
        System.exit(report.valid() ? 0 : 1);
    }

    private static double seconds(final String name, final String value)
    {
        try
        {
            final double seconds = Double.parseDouble(value);
            if (seconds < 0)
            {
                throw new NumberFormatException();
            }
            return seconds;
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(name + " must be a non-negative number of seconds: " + value);
        }
    }

    private Path required(final String what, final Path path, final String howToBuild)
    {
        if (!Files.exists(path))
        {
            throw new IllegalStateException("missing " + what + " " + path.toAbsolutePath() + ": " + howToBuild);
        }
        return path;
    }

    ComparisonReport run(final PrintStream log) throws Exception
    {
        final long startedNs = System.nanoTime();
        final Path brokerJar = required("Magnetar broker jar", root.resolve("broker/target/magnetar-broker.jar"),
            "mvn -B install -DskipTests");
        final Path loadJar = required("load tool jar", root.resolve("bench/target/magnetar-load.jar"), "mvn -B install -DskipTests");
        final Path pulsarLib = required("Pulsar standalone jars", root.resolve("bench/pulsar/server/target/lib"),
            "mvn -s bench/pulsar/settings.xml -f bench/pulsar/pom.xml -B package");
        final Path driverJar = required("Pulsar driver", root.resolve("bench/pulsar/driver/target/pulsar-driver.jar"),
            "mvn -s bench/pulsar/settings.xml -f bench/pulsar/pom.xml -B package");
        final Path driverLib = root.resolve("bench/pulsar/driver/target/lib");
        final Path pulsarConf = required("Pulsar configuration", root.resolve("bench/pulsar/conf"), "part of the repository");

        final List<WorkloadSpec> specs = new ArrayList<>();
        for (final WorkloadSpec spec : WorkloadSpec.loadAll(workloadDir))
        {
            if ((only.isEmpty() || only.contains(spec.name)) && (!smoke || spec.smoke || !only.isEmpty()))
            {
                specs.add(spec);
            }
        }
        if (specs.isEmpty())
        {
            throw new IllegalArgumentException("no workload selected (--only " + only + ")");
        }

        final Path outDir = out.toAbsolutePath().getParent();
        final Path resultsDir = outDir.resolve("results");
        Files.createDirectories(resultsDir);
        final Path work = Files.createTempDirectory("magnetar-vs-pulsar-");
        final String aeronDir = (Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir")) +
            "/magnetar-bench-cmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);

        final ComparisonReport report = new ComparisonReport(this, specs);
        report.loadAverageAtStart = LoadRunner.loadAverage();
        report.started = Instant.now();
        log.printf("compare-pulsar: %d workload(s) x batching %s, %.1f s warm-up + %.1f s measured per run; work directory %s%n",
            specs.size(), batching, warmup, duration, work);

        Brokers.Pulsar pulsar = null;
        Brokers.Magnetar magnetar = null;
        final Brokers.Pulsar[] pulsarRef = new Brokers.Pulsar[1];
        final Brokers.Magnetar[] magnetarRef = new Brokers.Magnetar[1];
        final Thread hook = new Thread(() ->
        {
            if (null != magnetarRef[0])
            {
                magnetarRef[0].child.close();
            }
            if (null != pulsarRef[0])
            {
                pulsarRef[0].child.close();
            }
        }, "compare-pulsar-stop-brokers");
        Runtime.getRuntime().addShutdownHook(hook);
        try
        {
            // both start at once: Pulsar takes ~30 s, the node ~1 s
            final long startNs = System.nanoTime();
            pulsar = new Brokers.Pulsar(pulsarLib, pulsarConf, work.resolve("pulsar"), pulsarHeap, "sync".equals(durability));
            pulsarRef[0] = pulsar;
            log.printf("compare-pulsar: Pulsar standalone starting, PID %d (ports %d/%d, bookie %d, journalSyncData=%s, heap %s)%n",
                pulsar.child.pid(), pulsar.brokerPort, pulsar.webPort, pulsar.bookiePort, pulsar.journalSyncData, pulsarHeap);
            magnetar = new Brokers.Magnetar(brokerJar, work.resolve("magnetar"), aeronDir, durability, magnetarHeap);
            magnetarRef[0] = magnetar;
            magnetar.awaitReady(System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
            report.magnetarStartupSeconds = (System.nanoTime() - startNs) / 1e9;
            log.printf("compare-pulsar: Magnetar node ready in %.1f s, PID %d (durability %s, REST %s, Aeron %s, heap %s)%n",
                report.magnetarStartupSeconds, magnetar.child.pid(), durability, magnetar.httpUrl(), aeronDir, magnetarHeap);
            pulsar.awaitReady(System.nanoTime() + TimeUnit.SECONDS.toNanos(300), log);
            report.pulsarStartupSeconds = (System.nanoTime() - startNs) / 1e9;
            log.printf("compare-pulsar: Pulsar standalone ready in %.1f s%n", report.pulsarStartupSeconds);

            // idle: a few seconds after both are ready, before any load
            Thread.sleep(smoke ? 1000 : 5000);
            final long mCpu0 = LoadRunner.cpuNanos(magnetar.child.pid());
            final long pCpu0 = LoadRunner.cpuNanos(pulsar.child.pid());
            final long idleStartNs = System.nanoTime();
            Thread.sleep(smoke ? 1000 : 5000);
            final double idleNs = System.nanoTime() - idleStartNs;
            report.magnetarIdleCpu = 100.0 * (LoadRunner.cpuNanos(magnetar.child.pid()) - mCpu0) / idleNs;
            report.pulsarIdleCpu = 100.0 * (LoadRunner.cpuNanos(pulsar.child.pid()) - pCpu0) / idleNs;
            report.magnetarIdleRss = LoadRunner.rssBytes(magnetar.child.pid());
            report.pulsarIdleRss = LoadRunner.rssBytes(pulsar.child.pid());
            log.printf("compare-pulsar: idle RSS Magnetar %,d MiB, Pulsar %,d MiB; idle CPU %.1f%% / %.1f%% of one core%n",
                report.magnetarIdleRss >> 20, report.pulsarIdleRss >> 20, report.magnetarIdleCpu, report.pulsarIdleCpu);

            final Sides sides = new Sides(magnetar, pulsar, loadJar, driverJar, driverLib, resultsDir, outDir.resolve("logs"));
            Files.createDirectories(outDir.resolve("logs"));
            if (brokerWarmup > 0)
            {
                final WorkloadSpec warm = new WorkloadSpec();
                warm.name = "broker-warmup";
                warm.partitions = 16;
                warm.consumers = 2;
                warm.check("broker warm-up");
                for (final boolean isMagnetar : new boolean[]{ true, false })
                {
                    log.printf("%n== broker warm-up (not reported): %s, %.0f s%n", isMagnetar ? "Magnetar" : "Pulsar", brokerWarmup);
                    sides.run(warm, false, 0, isMagnetar, 0, brokerWarmup, "warmup", log);
                }
            }

            int index = 0;
            final int total = countRuns(specs);
            for (final WorkloadSpec spec : specs)
            {
                final List<Long> rates = spec.rates.isEmpty() ? List.of(0L) : spec.rates;
                for (final long rate : rates)
                {
                    for (final boolean batched : batching)
                    {
                        final ComparisonReport.Row row = report.add(spec, batched, rate);
                        // A/B interleaved: the order alternates, so slow drift (JIT, page cache, other load) hits both
                        final boolean magnetarFirst = 0 == (index % 2);
                        for (int side = 0; side < 2; side++)
                        {
                            final boolean isMagnetar = (0 == side) == magnetarFirst;
                            index++;
                            log.printf("%n== [%d/%d, %s elapsed] %s, batching %s%s — %s%n", index, total * 2,
                                elapsed(startedNs), spec.title, batched ? "on" : "off",
                                rate > 0 ? String.format(Locale.ROOT, ", %,d msg/s", rate) : "", isMagnetar ? "Magnetar" : "Pulsar");
                            final Sides.Outcome outcome = sides.run(spec, batched, rate, isMagnetar, warmup, duration,
                                row.id(), log);
                            if (isMagnetar)
                            {
                                row.magnetar = outcome.result;
                                row.magnetarError = outcome.error;
                            }
                            else
                            {
                                row.pulsar = outcome.result;
                                row.pulsarError = outcome.error;
                            }
                        }
                        log.println("   " + row.oneLine());
                    }
                }
            }
        }
        finally
        {
            if (null != magnetar)
            {
                magnetar.child.close();
                report.magnetarLog = magnetar.child.log;
            }
            if (null != pulsar)
            {
                pulsar.child.close();
            }
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException ignore)
            {
                // shutting down
            }
            copyLog(work.resolve("magnetar/stdout.log"), outDir.resolve("logs/magnetar-node.log"));
            copyLog(work.resolve("pulsar/stdout.log"), outDir.resolve("logs/pulsar-stdout.log"));
            copyLog(work.resolve("pulsar/pulsar.log"), outDir.resolve("logs/pulsar.log"));
            deleteTree(work);
            deleteTree(Path.of(aeronDir));
        }
        report.loadAverageAtEnd = LoadRunner.loadAverage();
        report.totalSeconds = (System.nanoTime() - startedNs) / 1e9;
        final String markdown = report.markdown();
        Files.writeString(out, markdown);
        log.println();
        log.println(markdown);
        log.printf("compare-pulsar: report written to %s (%s)%n", out.toAbsolutePath(), elapsed(startedNs));
        return report;
    }

    private int countRuns(final List<WorkloadSpec> specs)
    {
        int runs = 0;
        for (final WorkloadSpec spec : specs)
        {
            runs += Math.max(1, spec.rates.size()) * batching.size();
        }
        return runs;
    }

    private static String elapsed(final long startNs)
    {
        final long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNs);
        return String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }

    private static void copyLog(final Path from, final Path to)
    {
        try
        {
            if (Files.exists(from))
            {
                Files.createDirectories(to.getParent());
                Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        catch (final IOException ex)
        {
            System.err.println("compare-pulsar: could not keep " + from + ": " + ex);
        }
    }

    static void deleteTree(final Path dir)
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (var paths = Files.walk(dir))
        {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach((p) -> p.toFile().delete());
        }
        catch (final IOException | RuntimeException ex)
        {
            System.err.println("compare-pulsar: could not delete " + dir + ": " + ex);
        }
    }

    /**
     * Runs one side of one workload in its own JVM: the load tool for Magnetar, the Pulsar driver for Pulsar.
     */
    final class Sides
    {
        final Brokers.Magnetar magnetar;
        final Brokers.Pulsar pulsar;
        final Path loadJar;
        final Path driverJar;
        final Path driverLib;
        final Path resultsDir;
        final Path logsDir;

        Sides(final Brokers.Magnetar magnetar, final Brokers.Pulsar pulsar, final Path loadJar, final Path driverJar,
            final Path driverLib, final Path resultsDir, final Path logsDir)
        {
            this.magnetar = magnetar;
            this.pulsar = pulsar;
            this.loadJar = loadJar;
            this.driverJar = driverJar;
            this.driverLib = driverLib;
            this.resultsDir = resultsDir;
            this.logsDir = logsDir;
        }

        record Outcome(Properties result, String error)
        {
        }

        Outcome run(final WorkloadSpec spec, final boolean batched, final long rate, final boolean isMagnetar,
            final double warmupSeconds, final double durationSeconds, final String id, final PrintStream log)
            throws IOException, InterruptedException
        {
            final String side = isMagnetar ? "magnetar" : "pulsar";
            final Path resultFile = resultsDir.resolve(id + "-" + side + ".properties");
            Files.deleteIfExists(resultFile);
            final String topic = "cmp-" + id + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 40);
            final List<String> command = new ArrayList<>();
            command.add(Brokers.java());
            command.add("-Xmx" + driverHeap);
            final List<String> common = List.of("--topic", topic, "--keys", Integer.toString(spec.keys),
                "--key-bytes", Integer.toString(spec.keyBytes), "--attribute-bytes", Integer.toString(spec.attributeBytes),
                "--warmup", Double.toString(warmupSeconds), "--duration", Double.toString(durationSeconds),
                "--drain-timeout", "30", "--result-file", resultFile.toString());
            if (isMagnetar)
            {
                if (Runtime.version().feature() >= 24)
                {
                    command.add("--sun-misc-unsafe-memory-access=allow");
                }
                command.addAll(List.of("-jar", loadJar.toAbsolutePath().toString(), "--broker", "external",
                    "--watch-pid", Long.toString(magnetar.child.pid())));
                command.addAll(common);
                if (spec.rest())
                {
                    command.addAll(List.of("--mode", "rest", "--http-url", magnetar.httpUrl(), "--consumers", "0",
                        "--rest-publishers", Integer.toString(spec.restPublishers),
                        "--rest-batch", Integer.toString(batched ? spec.restBatchOn : spec.restBatchOff),
                        "--partitions", Integer.toString(spec.partitions)));
                }
                else
                {
                    command.addAll(List.of("--mode", "native", "--transport", "ipc", "--aeron-dir", magnetar.aeronDir,
                        "--partitions", Integer.toString(spec.partitions),
                        "--subscription-type", spec.magnetarSubscriptionType(),
                        "--producers", Integer.toString(spec.producers), "--consumers", Integer.toString(spec.consumers),
                        "--rate", rate > 0 ? Long.toString(rate) : "max",
                        "--max-outstanding", Long.toString(spec.maxOutstanding),
                        "--batch-max-messages", batched ? "1000" : "1", "--batch-delay-us", batched ? "1000" : "0",
                        "--max-pending", "10000", "--receiver-queue-size", "1000"));
                }
            }
            else
            {
                command.add("-XX:MaxDirectMemorySize=1g");
                command.addAll(Brokers.PULSAR_OPENS);
                command.addAll(List.of("-cp", driverLib.toAbsolutePath() + "/*" + java.io.File.pathSeparator +
                    driverJar.toAbsolutePath(), "io.magnetar.bench.load.PulsarDriver",
                    "--service-url", pulsar.serviceUrl(), "--http-url", pulsar.httpUrl(),
                    "--watch-pid", Long.toString(pulsar.child.pid())));
                command.addAll(common);
                if (spec.rest())
                {
                    command.addAll(List.of("--mode", "rest", "--consumers", "0",
                        "--rest-publishers", Integer.toString(spec.restPublishers),
                        "--rest-batch", Integer.toString(batched ? spec.restBatchOn : spec.restBatchOff)));
                }
                else
                {
                    command.addAll(List.of("--mode", "native", "--partitions", Integer.toString(spec.partitions),
                        "--subscription-type", spec.subscriptionType,
                        "--producers", Integer.toString(spec.producers), "--consumers", Integer.toString(spec.consumers),
                        "--rate", rate > 0 ? Long.toString(rate) : "max",
                        "--max-outstanding", Long.toString(spec.maxOutstanding),
                        "--batching", Boolean.toString(batched), "--batch-max-messages", "1000", "--batch-delay-us", "1000",
                        "--max-pending", "10000", "--receiver-queue-size", "1000"));
                }
            }
            final Path logFile = logsDir.resolve(id + "-" + side + ".log");
            final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String prefix = "   " + side + " | ";
            final Thread pump = new Thread(() ->
            {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                    PrintStream file = new PrintStream(Files.newOutputStream(logFile), true, StandardCharsets.UTF_8))
                {
                    file.println(String.join(" ", command));
                    String line;
                    while (null != (line = in.readLine()))
                    {
                        file.println(line);
                        log.println(prefix + line);
                    }
                }
                catch (final IOException ignore)
                {
                    // ended
                }
            }, "compare-pulsar-" + side + "-output");
            pump.setDaemon(true);
            pump.start();
            final long timeoutSeconds = (long)(warmupSeconds + durationSeconds) + 120;
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS))
            {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
                pump.join(5000);
                return new Outcome(null, "no result within " + timeoutSeconds + " s (the run was stopped)");
            }
            pump.join(5000);
            if (!Files.exists(resultFile))
            {
                return new Outcome(null, "exited with " + process.exitValue() + " without a result (see " + logFile + ")");
            }
            return new Outcome(ResultFile.read(resultFile), null);
        }
    }
}
