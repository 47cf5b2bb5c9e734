package io.magnetar.broker;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The broker as a separate process: {@code java} of this JVM, the JVM flags this JVM was given (Agrona, Chronicle),
 * the test class path (or {@code -Dmagnetar.test.broker.jar=...} to run the shaded jar instead) and
 * {@link Main}; its one-line JSON log is collected for {@link #awaitLog}.
 */
final class BrokerProcess implements AutoCloseable
{
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private BrokerProcess(final Process process)
    {
        this.process = process;
        this.reader = new Thread(this::readLines, "broker-log-" + process.pid());
        this.reader.setDaemon(true);
        this.reader.start();
    }

    static BrokerProcess start(final String... args)
    {
        return start(List.of(), args);
    }

    /**
     * @param extraJvmFlags more JVM flags for the broker (e.g. {@code -Dmagnetar.snapshot.interval.entries=1000}).
     * @param args          the broker's command line.
     */
    static BrokerProcess start(final List<String> extraJvmFlags, final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.addAll(jvmFlags());
        command.addAll(extraJvmFlags);
        // what the jar's manifest grants (Enable-Native-Access) or only a command line can (Unsafe memory access)
        if (Runtime.version().feature() >= 22 && command.stream().noneMatch((a) -> a.startsWith("--enable-native-access")))
        {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        if (Runtime.version().feature() >= 24 &&
            command.stream().noneMatch((a) -> a.startsWith("--sun-misc-unsafe-memory-access")))
        {
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        command.add("-Xmx256m");
        final String jar = System.getProperty("magnetar.test.broker.jar");
        if (null != jar && !jar.isBlank())
        {
            command.add("-jar");
            command.add(jar);
        }
        else
        {
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(Main.class.getName());
        }
        command.addAll(List.of(args));

        try
        {
            return new BrokerProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static String javaExecutable()
    {
        return ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * @return the module flags and Chronicle switches this JVM was started with (surefire's argLine).
     */
    static List<String> jvmFlags()
    {
        final List<String> flags = new ArrayList<>();
        final List<String> input = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < input.size(); i++)
        {
            final String arg = input.get(i);
            if (arg.startsWith("--add-exports") || arg.startsWith("--add-opens") || arg.startsWith("--enable-native-access") ||
                arg.startsWith("--sun-misc-unsafe-memory-access"))
            {
                flags.add(arg);
                if (!arg.contains("=") && i + 1 < input.size())
                {
                    flags.add(input.get(++i));
                }
            }
            else if (arg.startsWith("-Dchronicle.") || arg.startsWith("-Dsbe.") || arg.startsWith("-Dagrona."))
            {
                flags.add(arg);
            }
        }
        return flags;
    }

    long pid()
    {
        return process.pid();
    }

    Process process()
    {
        return process;
    }

    List<String> lines()
    {
        return lines;
    }

    /**
     * Wait for a log line containing {@code fragment}.
     *
     * @return the line.
     * @throws AssertionError if the process exits or the deadline passes first.
     */
    String awaitLog(final String fragment, final long timeoutMs)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true)
        {
            for (final String line : lines)
            {
                if (line.contains(fragment))
                {
                    return line;
                }
            }
            if (!process.isAlive() && !reader.isAlive())
            {
                throw new AssertionError("broker exited (" + process.exitValue() + ") before logging " + fragment +
                    ":\n" + String.join("\n", lines));
            }
            if (System.nanoTime() > deadlineNs)
            {
                throw new AssertionError("no log line with " + fragment + " within " + timeoutMs + " ms:\n" +
                    String.join("\n", lines));
            }
            sleep(20);
        }
    }

    /**
     * {@code kill -9}.
     */
    void kill() throws InterruptedException
    {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS))
        {
            throw new AssertionError("broker did not die");
        }
    }

    /**
     * Send SIGTERM through the process handle ({@code Process.destroy()} would also close our end of its output,
     * losing the last log lines).
     */
    void signalTerm()
    {
        process.toHandle().destroy();
    }

    /**
     * SIGTERM, then wait.
     *
     * @return the exit status.
     */
    int terminate(final long timeoutMs) throws InterruptedException
    {
        signalTerm();
        return awaitExit(timeoutMs);
    }

    /**
     * Wait for the process to exit and its output to be read.
     *
     * @return the exit status.
     */
    int awaitExit(final long timeoutMs) throws InterruptedException
    {
        if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS))
        {
            process.destroyForcibly();
            throw new AssertionError("broker did not stop within " + timeoutMs + " ms:\n" + String.join("\n", lines));
        }
        reader.join(2_000);
        return process.exitValue();
    }

    public void close()
    {
        if (process.isAlive())
        {
            process.destroyForcibly();
            try
            {
                process.waitFor(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void readLines()
    {
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = in.readLine()))
            {
                lines.add(line);
            }
        }
        catch (final IOException ignore)
        {
            // process gone
        }
    }

    static void deleteRecursively(final File dir)
    {
        if (!dir.exists())
        {
            return;
        }
        try (var paths = Files.walk(dir.toPath()))
        {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach((p) -> p.toFile().delete());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
