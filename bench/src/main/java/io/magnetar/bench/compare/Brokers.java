package io.magnetar.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The two brokers of the side-by-side benchmark as child processes: started, awaited until ready, PID recorded in
 * the work directory, stopped (SIGTERM, then SIGKILL after a grace period) at the end or from a shutdown hook.
 */
final class Brokers
{
    /** Pulsar's JVM options, after its bin/pulsar and conf/pulsar_env.sh (Java 17+). */
    static final List<String> PULSAR_OPENS = List.of(
        "--add-opens", "java.base/java.io=ALL-UNNAMED", "--add-opens", "java.base/java.util=ALL-UNNAMED",
        "--add-opens", "java.base/sun.net=ALL-UNNAMED", "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "--add-opens", "java.base/jdk.internal.platform=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Dio.netty.tryReflectionSetAccessible=true");

    private Brokers()
    {
    }

    /**
     * A child process with its output copied to a log file (and kept for {@link #awaitLine}).
     */
    static final class Child implements AutoCloseable
    {
        final String name;
        final Process process;
        final Path log;
        private final List<String> lines = new ArrayList<>();
        private final Thread pump;

        Child(final String name, final List<String> command, final Path workDir, final Path log) throws IOException
        {
            this.name = name;
            this.log = log;
            this.process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
            Files.writeString(workDir.resolve(name + ".pid"), Long.toString(process.pid()));
            this.pump = new Thread(this::pump, name + "-log");
            this.pump.setDaemon(true);
            this.pump.start();
        }

        long pid()
        {
            return process.pid();
        }

        private void pump()
        {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintStream out = new PrintStream(Files.newOutputStream(log), true, StandardCharsets.UTF_8))
            {
                String line;
                while (null != (line = in.readLine()))
                {
                    out.println(line);
                    synchronized (lines)
                    {
                        if (lines.size() < 10_000)
                        {
                            lines.add(line);
                        }
                        lines.notifyAll();
                    }
                }
            }
            catch (final IOException ignore)
            {
                // the process ended
            }
        }

        /**
         * @return the first output line matching, or null if the process ended or the deadline passed.
         */
        String awaitLine(final Predicate<String> match, final long deadlineNs) throws InterruptedException
        {
            int seen = 0;
            synchronized (lines)
            {
                while (System.nanoTime() - deadlineNs < 0)
                {
                    for (; seen < lines.size(); seen++)
                    {
                        if (match.test(lines.get(seen)))
                        {
                            return lines.get(seen);
                        }
                    }
                    if (!process.isAlive())
                    {
                        return null;
                    }
                    lines.wait(200);
                }
            }
            return null;
        }

        String tail(final int count)
        {
            try
            {
                final List<String> all = Files.readAllLines(log);
                return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - count), all.size()));
            }
            catch (final IOException | UncheckedIOException ex)
            {
                return "(no log: " + ex + ")";
            }
        }

        /**
         * SIGTERM, then SIGKILL if it has not ended after {@code graceSeconds}.
         */
        public void close()
        {
            if (!process.isAlive())
            {
                return;
            }
            process.destroy();
            try
            {
                if (!process.waitFor(20, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException ex)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    static int freePort()
    {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("no free TCP port", ex);
        }
    }

    static String java()
    {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    // ============================================================================================ Pulsar

    /**
     * Pulsar standalone: {@code PulsarStandaloneStarter} (broker, one bookie, RocksDB metadata store), no functions
     * worker, no stream storage, free loopback ports, data and logs in {@code dir}, {@code standalone.conf} from
     * {@code bench/pulsar/conf} with the ports and {@code journalSyncData} set.
     */
    static final class Pulsar
    {
        final Child child;
        final int brokerPort;
        final int webPort;
        final int bookiePort;
        final String heap;
        final boolean journalSyncData;

        Pulsar(final Path libDir, final Path confDir, final Path dir, final String heap, final boolean journalSyncData)
            throws IOException
        {
            this.heap = heap;
            this.journalSyncData = journalSyncData;
            brokerPort = freePort();
            webPort = freePort();
            bookiePort = freePort();
            Files.createDirectories(dir);
            final StringBuilder conf = new StringBuilder();
            for (final String line : Files.readAllLines(confDir.resolve("standalone.conf")))
            {
                final String key = line.contains("=") && !line.startsWith("#") ? line.substring(0, line.indexOf('=')).trim() : "";
                switch (key)
                {
                    case "brokerServicePort": conf.append("brokerServicePort=").append(brokerPort); break;
                    case "webServicePort": conf.append("webServicePort=").append(webPort); break;
                    case "journalSyncData": conf.append("journalSyncData=").append(journalSyncData); break;
                    default: conf.append(line); break;
                }
                conf.append('\n');
            }
            Files.writeString(dir.resolve("standalone.conf"), conf);
            Files.copy(confDir.resolve("log4j2.xml"), dir.resolve("log4j2.xml"));
            final List<String> command = new ArrayList<>(List.of(java(), "-Xms" + heap, "-Xmx" + heap,
                "-XX:MaxDirectMemorySize=4g", "-XX:+UseZGC", "-XX:+PerfDisableSharedMem"));
            command.addAll(PULSAR_OPENS);
            command.addAll(List.of("-Dio.netty.leakDetectionLevel=disabled", "-Dio.netty.recycler.maxCapacityPerThread=4096",
                "-Dlog4j.configurationFile=" + dir.resolve("log4j2.xml"), "-Dpulsar.log.file=" + dir.resolve("pulsar.log"),
                "-Dpulsar.log.level=info", "-Djute.maxbuffer=10485760", "-Djava.net.preferIPv4Stack=true",
                "-cp", libDir.toAbsolutePath() + "/*", "org.apache.pulsar.PulsarStandaloneStarter",
                "--config", dir.resolve("standalone.conf").toString(), "--no-functions-worker", "-nss",
                "--bookkeeper-port", Integer.toString(bookiePort),
                "--bookkeeper-dir", dir.resolve("data/bookkeeper").toString(),
                "--metadata-dir", dir.resolve("data/metadata").toString()));
            child = new Child("pulsar", command, dir, dir.resolve("stdout.log"));
        }

        String serviceUrl()
        {
            return "pulsar://127.0.0.1:" + brokerPort;
        }

        String httpUrl()
        {
            return "http://127.0.0.1:" + webPort;
        }

        /**
         * Ready when the admin API lists the {@code public/default} namespace the standalone creates.
         */
        void awaitReady(final long deadlineNs, final PrintStream out) throws InterruptedException
        {
            final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            long nextNoteNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            final long startNs = System.nanoTime();
            while (System.nanoTime() - deadlineNs < 0)
            {
                if (!child.process.isAlive())
                {
                    throw new IllegalStateException("Pulsar standalone exited with " + child.process.exitValue() +
                        "; its output:\n" + child.tail(40));
                }
                try
                {
                    final HttpResponse<String> answer = http.send(HttpRequest.newBuilder(
                        URI.create(httpUrl() + "/admin/v2/namespaces/public")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                    if (200 == answer.statusCode() && answer.body().contains("public/default"))
                    {
                        return;
                    }
                }
                catch (final IOException notYet)
                {
                    // not listening yet
                }
                if (System.nanoTime() - nextNoteNs > 0)
                {
                    out.printf("  ... waiting for Pulsar standalone (%d s)%n", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNs));
                    nextNoteNs += TimeUnit.SECONDS.toNanos(10);
                }
                Thread.sleep(500);
            }
            throw new IllegalStateException("Pulsar standalone not ready in time; its output:\n" + child.tail(40));
        }
    }

    // ============================================================================================ Magnetar

    /**
     * A Magnetar node ({@code java -jar broker/target/magnetar-broker.jar}): journal in {@code dir}, its own Aeron
     * directory, REST on a free port, no UDP ingress; ready when it logs its {@code ready} line.
     */
    static final class Magnetar
    {
        private static final Pattern HTTP_PORT = Pattern.compile("\"httpPort\"\\s*:\\s*(\\d+)");

        final Child child;
        final String aeronDir;
        final String durability;
        final String heap;
        int httpPort;

        Magnetar(final Path brokerJar, final Path dir, final String aeronDir, final String durability, final String heap)
            throws IOException
        {
            this.aeronDir = aeronDir;
            this.durability = durability;
            this.heap = heap;
            Files.createDirectories(dir);
            final List<String> command = new ArrayList<>(List.of(java(), "-Xmx" + heap));
            if (Runtime.version().feature() >= 24)
            {
                command.add("--sun-misc-unsafe-memory-access=allow");
            }
            command.addAll(List.of("-jar", brokerJar.toAbsolutePath().toString(),
                "--data-dir", dir.resolve("data").toString(), "--durability", durability, "--aeron-dir", aeronDir,
                "--http-port", "0", "--udp-channel", "none"));
            child = new Child("magnetar", command, dir, dir.resolve("stdout.log"));
        }

        String httpUrl()
        {
            return "http://127.0.0.1:" + httpPort;
        }

        void awaitReady(final long deadlineNs) throws InterruptedException
        {
            final String ready = child.awaitLine((line) -> line.contains("\"event\":\"ready\""), deadlineNs);
            if (null == ready)
            {
                throw new IllegalStateException("Magnetar node not ready (" + (child.process.isAlive() ? "timed out" :
                    "exited with " + child.process.exitValue()) + "); its output:\n" + child.tail(40));
            }
            final Matcher port = HTTP_PORT.matcher(ready);
            if (!port.find())
            {
                throw new IllegalStateException("no httpPort in the node's ready line: " + ready);
            }
            httpPort = Integer.parseInt(port.group(1));
        }
    }
}
