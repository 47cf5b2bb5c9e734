package io.magnetar.broker;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Proxy;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;

/**
 * {@code java -jar magnetar-broker.jar [options]}: parse the configuration ({@link NodeConfig}), start a
 * {@link MagnetarNode}, log one-line JSON ({@link JsonLogging}) including a {@code "ready"} line with the channels,
 * the REST address ({@code httpAddress}, null when REST is disabled) and the data directory, and run until told to
 * stop.
 * <p>
 * <b>Stopping.</b> SIGTERM and SIGINT are trapped: the node drains (REST gateway and its client closed, no new
 * commands, ring drained, journal closed, sessions ended, driver closed and its directory deleted) and the process
 * exits 0. Trapping the signal rather than relying on a shutdown hook alone means the drain runs while the JVM is
 * still fully alive (no other shutdown hook, such as the logging reset, races it). A shutdown hook remains as the
 * fallback for any other exit path, and it too ends the process with 0 after a clean drain. If the engine fails
 * (fail-stop) the process exits 1; a configuration error exits 2; a failure to start (a REST port in use, say) exits 1.
 * <p>
 * {@code chronicle.analytics.disable=true} and {@code chronicle.announcer.disable=true} are set before any Chronicle
 * class loads (unless given on the command line).
 */
public final class Main
{
    /** Exit status of a clean stop. */
    public static final int EXIT_OK = 0;
    /** Exit status when the node failed to start or the engine failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit status of a configuration error. */
    public static final int EXIT_CONFIG = 2;

    private static final String LOGGER = "io.magnetar.broker";

    private Main()
    {
    }

    /**
     * Entry point.
     *
     * @param args see {@link NodeConfig#usage()}.
     */
    public static void main(final String[] args)
    {
        disableChronicleAnalytics();
        final int status = run(args, System.getenv(), System.out, System.err);
        System.exit(status);
    }

    static void disableChronicleAnalytics()
    {
        if (null == System.getProperty("chronicle.analytics.disable"))
        {
            System.setProperty("chronicle.analytics.disable", "true");
        }
        if (null == System.getProperty("chronicle.announcer.disable"))
        {
            System.setProperty("chronicle.announcer.disable", "true");
        }
    }

    static int run(final String[] args, final Map<String, String> env, final PrintStream out, final PrintStream err)
    {
        final long startNs = System.nanoTime();
        final NodeConfig config;
        try
        {
            config = NodeConfig.load(args, env);
            if (config.helpRequested())
            {
                out.print(NodeConfig.usage());
                out.flush();
                return EXIT_OK;
            }
            JsonLogging.install(config.logLevel());
            config.conclude();
        }
        catch (final IllegalArgumentException ex)
        {
            err.println("magnetar: " + ex.getMessage());
            err.println("run with --help for the options");
            err.flush();
            return EXIT_CONFIG;
        }

        final System.Logger log = System.getLogger(LOGGER);
        for (final String warning : config.warnings())
        {
            log.log(System.Logger.Level.WARNING, "config.warning", "warning", warning);
        }
        log.log(System.Logger.Level.INFO, "config", "options", config.describe(), "sources", config.describeSources(),
            "configFile", null == config.configFile() ? null : config.configFile().toString(),
            "pid", ProcessHandle.current().pid(), "java", Runtime.version().toString());

        final MagnetarNode node;
        try
        {
            node = MagnetarNode.launch(config);
        }
        catch (final RuntimeException | Error ex)
        {
            log.log(System.Logger.Level.ERROR, "node failed to start: " + ex, ex);
            return EXIT_FAILED;
        }

        final CountDownLatch stop = new CountDownLatch(1);
        final AtomicReference<String> reason = new AtomicReference<>();
        final Stopper stopper = new Stopper(node);
        final boolean signalsTrapped = trapSignals(stop, reason);
        Runtime.getRuntime().addShutdownHook(new Thread(stopper::onShutdownHook, "magnetar-shutdown"));

        final Map<String, Object> ready = new LinkedHashMap<>();
        ready.put("ipcChannel", node.ipcChannel());
        ready.put("udpChannel", node.udpChannel());
        ready.put("ingressStreamId", node.ingressStreamId());
        ready.put("aeronDir", node.aeronDirectory());
        ready.put("dataDir", node.dataDir().toString());
        ready.put("durability", config.durability().name().toLowerCase());
        ready.put("startCount", node.startCount());
        ready.put("journalTailTruncations", node.journalTailTruncations());
        ready.put("journalEntriesDropped", node.journalEntriesDropped());
        ready.put("httpAddress", node.httpAddress());
        ready.put("httpPort", node.httpPort() < 0 ? null : node.httpPort());
        ready.put("pid", ProcessHandle.current().pid());
        ready.put("startupMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
        ready.put("jvmUptimeMs", ManagementFactory.getRuntimeMXBean().getUptime());
        ready.put("signalsTrapped", signalsTrapped);
        log.log(System.Logger.Level.INFO, "ready", flatten(ready));

        try
        {
            while (!stop.await(100, TimeUnit.MILLISECONDS))
            {
                if (node.engineFailed())
                {
                    log.log(System.Logger.Level.ERROR, "engine failed: stopping", node.engineFailure());
                    stopper.stop("engine-failure");
                    return EXIT_FAILED;
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            reason.compareAndSet(null, "interrupted");
        }

        return stopper.stop(reason.get()) ? EXIT_OK : EXIT_FAILED;
    }

    private static Object[] flatten(final Map<String, Object> fields)
    {
        final Object[] pairs = new Object[fields.size() * 2];
        int i = 0;
        for (final Map.Entry<String, Object> entry : fields.entrySet())
        {
            pairs[i++] = entry.getKey();
            pairs[i++] = entry.getValue();
        }
        return pairs;
    }

    /**
     * Trap SIGTERM and SIGINT with {@code sun.misc.Signal} (jdk.unsupported, exported to every module), looked up
     * reflectively so that the build carries no proprietary-API warning.
     *
     * @return false if the signals could not be trapped (e.g. {@code -Xrs}); the shutdown hook then drains instead.
     */
    private static boolean trapSignals(final CountDownLatch stop, final AtomicReference<String> reason)
    {
        boolean trapped = true;
        for (final String name : new String[]{ "TERM", "INT" })
        {
            try
            {
                final Class<?> signalClass = Class.forName("sun.misc.Signal");
                final Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
                final Object handler = Proxy.newProxyInstance(
                    Main.class.getClassLoader(),
                    new Class<?>[]{ handlerClass },
                    (proxy, method, args) ->
                    {
                        switch (method.getName())
                        {
                            case "handle":
                                reason.compareAndSet(null, "SIG" + name);
                                stop.countDown();
                                return null;
                            case "hashCode":
                                return System.identityHashCode(proxy);
                            case "equals":
                                return proxy == args[0];
                            default:
                                return "magnetar-signal-handler-" + name;
                        }
                    });
                signalClass.getMethod("handle", signalClass, handlerClass)
                    .invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
            }
            catch (final ReflectiveOperationException | RuntimeException | LinkageError ex)
            {
                trapped = false;
            }
        }
        return trapped;
    }

    /**
     * Drains the node once, from the main thread (signal) or from the shutdown hook (any other exit).
     */
    private static final class Stopper
    {
        private final MagnetarNode node;
        private final long startNs = System.nanoTime();
        private boolean stopped;
        private boolean clean;

        Stopper(final MagnetarNode node)
        {
            this.node = node;
        }

        synchronized boolean stop(final String why)
        {
            if (stopped)
            {
                return clean;
            }
            stopped = true;

            final long stopStartNs = System.nanoTime();
            JsonLogging.direct(Level.INFO, LOGGER, "stopping", "reason", why, "counters", node.counters());
            try
            {
                node.close();
                clean = !node.engineFailed();
            }
            catch (final RuntimeException ex)
            {
                JsonLogging.direct(Level.SEVERE, LOGGER, "stop.failed", "error", ex.toString());
                clean = false;
            }
            JsonLogging.direct(Level.INFO, LOGGER, "stopped", "clean", clean,
                "drainMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopStartNs),
                "uptimeMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
            return clean;
        }

        void onShutdownHook()
        {
            final boolean alreadyStopped;
            synchronized (this)
            {
                alreadyStopped = stopped;
            }
            if (!alreadyStopped)
            {
                // an exit path other than a trapped signal: drain, then end with the status a signal would give
                final boolean ok = stop("shutdown-hook");
                Runtime.getRuntime().halt(ok ? EXIT_OK : EXIT_FAILED);
            }
        }
    }

    /**
     * @return the usage text.
     */
    static String usage()
    {
        return NodeConfig.usage();
    }
}
