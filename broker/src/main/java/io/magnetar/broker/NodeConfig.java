package io.magnetar.broker;

import io.aeron.CommonContext;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.JournalRecovery;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.engine.pipeline.ThreadingMode;
import io.magnetar.transport.TransportContext;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The configuration of a node: every option of the broker, where its value came from, and typed accessors.
 * <p>
 * <b>Sources, lowest to highest precedence:</b> built-in defaults &lt; a Java properties file ({@code --config FILE}
 * or {@code MAGNETAR_CONFIG}) &lt; {@code MAGNETAR_*} environment variables &lt; command-line options. One option has
 * one name in three spellings: {@code data-dir} in a file (also {@code data.dir} or {@code data_dir}),
 * {@code MAGNETAR_DATA_DIR} in the environment, {@code --data-dir DIR} (or {@code --data-dir=DIR}) on the command line.
 * See {@link Option} for the list, or run with {@code --help}.
 * <p>
 * Programmatic use (tests, embedding): {@code new NodeConfig().dataDir(dir).udpChannel(...)} or
 * {@link #set(String, String)}; {@link MagnetarNode#launch(NodeConfig)} calls {@link #conclude()}, which validates
 * every value.
 */
public final class NodeConfig
{
    /**
     * Where a value came from.
     */
    public enum Source
    {
        DEFAULT, FILE, ENVIRONMENT, COMMAND_LINE, API
    }

    /**
     * Every option. The default is shown by {@code --help}; {@code null} means "the component's own default".
     */
    public enum Option
    {
        DATA_DIR("DIR", "./data", "directory of the journal (and snapshots); locked while the node runs"),
        DURABILITY("sync|async", "sync",
            "sync: journal forced to disk (group commit) before any response; async: written to the mapped journal " +
            "(survives kill -9, not a power cut)"),
        AERON_DIR("DIR", CommonContext.getAeronDirectoryName(), "Aeron directory of the media driver; clients use the same"),
        EMBEDDED_DRIVER("true|false", "true", "run the Aeron media driver inside the node (false: use an external one)"),
        DRIVER_THREADING_MODE("shared|shared-network|dedicated", "shared", "threads of the embedded media driver"),
        DRIVER_IDLE_STRATEGY("NAME", "backoff", "idle strategy of the embedded driver's threads"),
        DRIVER_DIR_DELETE_ON_START("true|false", "false",
            "always delete the Aeron directory at start (false: only when left behind by a dead driver)"),
        DRIVER_DIR_DELETE_ON_SHUTDOWN("true|false", "true", "delete the Aeron directory when the node stops"),
        IPC_TERM_LENGTH("SIZE", "4m", "term length of IPC publications (power of two, 64k..1g)"),
        UDP_TERM_LENGTH("SIZE", "4m", "term length of UDP publications (power of two, 64k..1g)"),
        IPC_CHANNEL("CHANNEL|none", TransportContext.Configuration.IPC_CHANNEL_DEFAULT, "IPC ingress channel"),
        UDP_CHANNEL("CHANNEL|none", TransportContext.Configuration.UDP_CHANNEL_DEFAULT, "UDP ingress channel"),
        INGRESS_STREAM_ID("ID", "100", "stream id of the ingress channels"),
        HEARTBEAT_INTERVAL_MS("MS", "1000", "heartbeat interval of sessions"),
        SESSION_TIMEOUT_MS("MS", "10000", "a session with no frame for this long is ended"),
        SLOW_CLIENT_TIMEOUT_MS("MS", "5000", "a session whose pending responses make no progress for this long is ended"),
        EGRESS_BUFFER_LENGTH("SIZE", "4m", "most pending (back-pressured) response bytes per session"),
        IDLE_STRATEGY("NAME", "backoff",
            "idle strategy of the ingress agent: backoff, sleeping, sleeping-millis, yielding, busy-spin, noop"),
        THREADING_MODE("shared|dedicated", "shared", "pipeline threads: one (journal then engine) or two"),
        WAIT_STRATEGY("NAME", "phased",
            "wait strategy of the pipeline threads: blocking, lite-blocking, sleeping, yielding, busy-spin, phased"),
        RING_SIZE("SLOTS", "16384", "slots of the command ring (power of two)"),
        MAX_COMMAND_LENGTH("SIZE", "4m", "longest command frame accepted"),
        ROLL_CYCLE("NAME", "TEN_MINUTELY", "Chronicle roll cycle of the journal (the journal also rolls at every snapshot, so old cycles can be deleted)"),
        JOURNAL_RECOVERY("refuse|truncate", "refuse",
            "a journal damaged in the middle (a bad record with intact ones after it): refuse to start, or truncate: " +
            "start with the state up to the last intact record, the rest set aside in journal/quarantine/ " +
            "(a damaged tail is always cut)"),
        JOURNAL_MIN_FREE_MIB("MIB", "256",
            "below this many MiB usable on the journal's disk, publishes and creations are refused with UNAVAILABLE " +
            "until space is freed (0: never)"),
        SNAPSHOT_INTERVAL_BYTES("SIZE", null,
            "take a snapshot after this many journal bytes (and at least as many as the last snapshot had); with " +
            "snapshots-retained this bounds the journal's disk use, docs/ENGINE.md (pipeline default 32m)"),
        SNAPSHOT_INTERVAL_ENTRIES("N", null, "take a snapshot after this many journal entries (pipeline default 1000000)"),
        SNAPSHOT_INTERVAL_MS("MS", null,
            "take a snapshot after this long if anything was journaled (pipeline default 600000)"),
        SNAPSHOTS_RETAINED("N", null, "snapshots kept; journal cycles before the oldest kept are deleted " +
            "(pipeline default 2: recovery can fall back to the older)"),
        HTTP_HOST("HOST", "127.0.0.1",
            "address the REST gateway binds: 127.0.0.1 (this host only) or 0.0.0.0 (every interface; no auth yet)"),
        HTTP_PORT("PORT|none", "8080", "port of the REST gateway (0: any free port; none: no REST, no gateway)"),
        NODE_ADDRESS("HOST", "127.0.0.1", "address of this node, told to clients in NOT_OWNER errors"),
        MAX_PARTITIONS("N", null, "most partitions of a topic (engine default 4096)"),
        MAX_KEY_BYTES("N", null, "longest message key, bytes (engine default 256)"),
        MAX_ATTRIBUTES("N", null, "most attributes per message (engine default 32)"),
        MAX_ATTRIBUTE_NAME_BYTES("N", null, "longest attribute name, bytes (engine default 64)"),
        MAX_ATTRIBUTE_VALUE_BYTES("N", null, "longest attribute value, bytes (engine default 1024)"),
        MAX_ATTRIBUTES_BYTES("N", null, "most attribute bytes per message (engine default 4096)"),
        MAX_PUBLISH_BATCH("N", null, "most messages per publish (engine default 10000)"),
        MAX_ACK_BATCH("N", null, "most ids per ack or nack (engine default 10000)"),
        MAX_PERMITS("N", null, "largest consumer permit window (engine default 1000000)"),
        MAX_LIVE_MESSAGES("N", null, "backlog bound: stored messages (engine default 10000000)"),
        MAX_LIVE_BYTES("SIZE", null, "backlog bound: key and attribute bytes stored (engine default 2g)"),
        DEFAULT_ACK_TIMEOUT_MS("MS", null, "ack timeout of subscriptions that name none (engine default 60000)"),
        DEFAULT_NACK_DELAY_MS("MS", null, "nack delay of subscriptions that name none (engine default 1000)"),
        KEY_SHARED_LOOKAHEAD("N", null, "pending messages a key_shared dispatch pass looks at (engine default 10000)"),
        MAX_DELIVERIES_PER_EVENT("N", null, "messages per Deliveries frame (engine default 64)"),
        LOG_LEVEL("LEVEL", "info", "error, warn, info, debug or trace");

        private final String argName;
        private final String defaultValue;
        private final String description;

        Option(final String argName, final String defaultValue, final String description)
        {
            this.argName = argName;
            this.defaultValue = defaultValue;
            this.description = description;
        }

        /**
         * @return the name in files and after {@code --}: {@code data-dir}.
         */
        public String key()
        {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /**
         * @return the command-line spelling: {@code --data-dir}.
         */
        public String flag()
        {
            return "--" + key();
        }

        /**
         * @return the environment variable: {@code MAGNETAR_DATA_DIR}.
         */
        public String envName()
        {
            return ENV_PREFIX + name();
        }

        /**
         * @return the default as text, or null for "the component's own default".
         */
        public String defaultValue()
        {
            return defaultValue;
        }

        public String argName()
        {
            return argName;
        }

        public String description()
        {
            return description;
        }

        /**
         * @param name in any spelling: {@code data-dir}, {@code data.dir}, {@code data_dir}, {@code DATA_DIR}.
         * @return the option, or null if there is none of that name.
         */
        public static Option of(final String name)
        {
            final String normalised = name.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_');
            for (final Option option : values())
            {
                if (option.name().equals(normalised))
                {
                    return option;
                }
            }
            return null;
        }
    }

    /** Prefix of the environment variables. */
    public static final String ENV_PREFIX = "MAGNETAR_";
    /** Environment variable naming the config file (when {@code --config} is not given). */
    public static final String CONFIG_ENV = "MAGNETAR_CONFIG";

    private final EnumMap<Option, String> values = new EnumMap<>(Option.class);
    private final EnumMap<Option, Source> sources = new EnumMap<>(Option.class);
    private final List<String> warnings = new ArrayList<>();
    private Path configFile;
    private boolean helpRequested;
    private boolean concluded;

    /**
     * A configuration with every option at its default.
     */
    public NodeConfig()
    {
        for (final Option option : Option.values())
        {
            if (null != option.defaultValue)
            {
                values.put(option, option.defaultValue);
                sources.put(option, Source.DEFAULT);
            }
        }
    }

    /**
     * Load defaults &lt; config file &lt; environment &lt; command line.
     *
     * @param args command-line arguments ({@code --help}, {@code --config FILE}, {@code --option value} or
     *             {@code --option=value}).
     * @param env  the environment ({@code System.getenv()}).
     * @return the configuration, not yet concluded; {@link #helpRequested()} tells whether to print usage.
     * @throws IllegalArgumentException for an unknown option, a missing value or an unreadable config file.
     */
    public static NodeConfig load(final String[] args, final Map<String, String> env)
    {
        final NodeConfig config = new NodeConfig();
        final LinkedHashMap<Option, String> cli = new LinkedHashMap<>();
        String configFile = env.get(CONFIG_ENV);

        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if ("--help".equals(arg) || "-h".equals(arg))
            {
                config.helpRequested = true;
                continue;
            }
            if (!arg.startsWith("--"))
            {
                throw new IllegalArgumentException("unexpected argument '" + arg + "' (options start with --)");
            }

            final int eq = arg.indexOf('=');
            final String name = eq > 0 ? arg.substring(2, eq) : arg.substring(2);
            String value = eq > 0 ? arg.substring(eq + 1) : null;
            final Option option = "config".equals(name) ? null : Option.of(name);
            if (!"config".equals(name) && null == option)
            {
                throw new IllegalArgumentException("unknown option --" + name + " (see --help)");
            }

            if (null == value)
            {
                final boolean isFlag = null != option && "true|false".equals(option.argName);
                if (i + 1 < args.length && !(isFlag && args[i + 1].startsWith("--")))
                {
                    value = args[++i];
                }
                else if (isFlag)
                {
                    value = "true";
                }
                else
                {
                    throw new IllegalArgumentException("--" + name + " needs a value");
                }
            }

            if (null == option)
            {
                configFile = value;
            }
            else
            {
                cli.put(option, value);
            }
        }

        if (null != configFile && !configFile.isBlank())
        {
            config.loadFile(Path.of(configFile));
        }

        for (final Map.Entry<String, String> entry : env.entrySet())
        {
            final String name = entry.getKey();
            if (!name.startsWith(ENV_PREFIX) || CONFIG_ENV.equals(name))
            {
                continue;
            }
            final Option option = Option.of(name.substring(ENV_PREFIX.length()));
            if (null == option)
            {
                config.warnings.add("ignored unknown environment variable " + name);
                continue;
            }
            config.put(option, entry.getValue(), Source.ENVIRONMENT);
        }

        for (final Map.Entry<Option, String> entry : cli.entrySet())
        {
            config.put(entry.getKey(), entry.getValue(), Source.COMMAND_LINE);
        }

        return config;
    }

    private void loadFile(final Path file)
    {
        final Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            properties.load(reader);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("cannot read config file " + file + ": " + ex.getMessage(), ex);
        }

        configFile = file;
        for (final String name : properties.stringPropertyNames())
        {
            final Option option = Option.of(name);
            if (null == option)
            {
                throw new IllegalArgumentException("unknown option '" + name + "' in " + file + " (see --help)");
            }
            put(option, properties.getProperty(name), Source.FILE);
        }
    }

    private NodeConfig put(final Option option, final String value, final Source source)
    {
        if (concluded)
        {
            throw new IllegalStateException("configuration already concluded");
        }
        values.put(option, null == value ? "" : value.trim());
        sources.put(option, source);
        return this;
    }

    /**
     * Set an option by name (any spelling), as from the API.
     *
     * @throws IllegalArgumentException for an unknown name.
     */
    public NodeConfig set(final String name, final String value)
    {
        final Option option = Option.of(name);
        if (null == option)
        {
            throw new IllegalArgumentException("unknown option " + name);
        }
        return put(option, value, Source.API);
    }

    /**
     * Set an option, as from the API.
     */
    public NodeConfig set(final Option option, final String value)
    {
        return put(option, value, Source.API);
    }

    /**
     * @return the raw value of an option, or null when it is left to the component's default.
     */
    public String get(final Option option)
    {
        return values.get(option);
    }

    /**
     * @return where the value of an option came from.
     */
    public Source source(final Option option)
    {
        return sources.getOrDefault(option, Source.DEFAULT);
    }

    /**
     * @return every option with a value, in declaration order (for the startup log).
     */
    public Map<String, String> describe()
    {
        final LinkedHashMap<String, String> described = new LinkedHashMap<>();
        for (final Option option : Option.values())
        {
            final String value = values.get(option);
            if (null != value)
            {
                described.put(option.key(), value);
            }
        }
        return Collections.unmodifiableMap(described);
    }

    /**
     * @return the options not at their defaults, with their sources (for the startup log).
     */
    public Map<String, String> describeSources()
    {
        final LinkedHashMap<String, String> described = new LinkedHashMap<>();
        for (final Map.Entry<Option, Source> entry : sources.entrySet())
        {
            if (entry.getValue() != Source.DEFAULT)
            {
                described.put(entry.getKey().key(), entry.getValue().name().toLowerCase(Locale.ROOT));
            }
        }
        return described;
    }

    /**
     * @return problems that did not stop loading (unknown {@code MAGNETAR_*} variables).
     */
    public List<String> warnings()
    {
        return Collections.unmodifiableList(warnings);
    }

    /**
     * @return the config file read, or null.
     */
    public Path configFile()
    {
        return configFile;
    }

    /**
     * @return true if {@code --help} was given.
     */
    public boolean helpRequested()
    {
        return helpRequested;
    }

    /**
     * Validate every value (parsing each typed accessor once).
     *
     * @return this.
     * @throws IllegalArgumentException naming the first invalid option.
     */
    public NodeConfig conclude()
    {
        if (concluded)
        {
            return this;
        }

        dataDir();
        durability();
        aeronDir();
        embeddedDriver();
        Flags.driverThreadingMode(this);
        idleStrategy(Option.DRIVER_IDLE_STRATEGY);
        bool(Option.DRIVER_DIR_DELETE_ON_START);
        bool(Option.DRIVER_DIR_DELETE_ON_SHUTDOWN);
        size(Option.IPC_TERM_LENGTH);
        size(Option.UDP_TERM_LENGTH);
        ingressStreamId();
        positiveLong(Option.HEARTBEAT_INTERVAL_MS);
        positiveLong(Option.SESSION_TIMEOUT_MS);
        positiveLong(Option.SLOW_CLIENT_TIMEOUT_MS);
        size(Option.EGRESS_BUFFER_LENGTH);
        idleStrategy(Option.IDLE_STRATEGY);
        threadingMode();
        waitStrategy();
        positiveInt(Option.RING_SIZE);
        size(Option.MAX_COMMAND_LENGTH);
        journalRecovery();
        journalMinFreeBytes();
        if (null != values.get(Option.SNAPSHOT_INTERVAL_BYTES))
        {
            snapshotIntervalBytes();
        }
        for (final Option option : new Option[]{ Option.SNAPSHOT_INTERVAL_ENTRIES, Option.SNAPSHOT_INTERVAL_MS })
        {
            if (null != values.get(option))
            {
                positiveLong(option);
            }
        }
        if (null != values.get(Option.SNAPSHOTS_RETAINED))
        {
            positiveInt(Option.SNAPSHOTS_RETAINED);
        }
        httpPort();
        if (httpEnabled())
        {
            httpHost();
        }
        for (final Option option : Option.values())
        {
            if (option.ordinal() >= Option.MAX_PARTITIONS.ordinal() && option != Option.LOG_LEVEL &&
                null != values.get(option))
            {
                if ("SIZE".equals(option.argName))
                {
                    size(option);
                }
                else
                {
                    longValue(option);
                }
            }
        }
        logLevel();
        if (null == ipcChannel() && null == udpChannel())
        {
            throw new IllegalArgumentException("ipc-channel and udp-channel are both disabled: enable at least one");
        }

        concluded = true;
        return this;
    }

    // =================================================================================================================
    // typed accessors and setters
    // =================================================================================================================

    public Path dataDir()
    {
        return Path.of(nonEmpty(Option.DATA_DIR));
    }

    public NodeConfig dataDir(final Path dir)
    {
        return set(Option.DATA_DIR, dir.toString());
    }

    public Durability durability()
    {
        final String value = nonEmpty(Option.DURABILITY).toUpperCase(Locale.ROOT);
        try
        {
            return Durability.valueOf(value);
        }
        catch (final IllegalArgumentException ex)
        {
            throw invalid(Option.DURABILITY, "expected sync or async");
        }
    }

    public NodeConfig durability(final Durability durability)
    {
        return set(Option.DURABILITY, durability.name().toLowerCase(Locale.ROOT));
    }

    public JournalRecovery journalRecovery()
    {
        try
        {
            return JournalRecovery.of(nonEmpty(Option.JOURNAL_RECOVERY));
        }
        catch (final IllegalArgumentException ex)
        {
            throw invalid(Option.JOURNAL_RECOVERY, "expected refuse or truncate");
        }
    }

    public NodeConfig journalRecovery(final JournalRecovery recovery)
    {
        return set(Option.JOURNAL_RECOVERY, recovery.name().toLowerCase(Locale.ROOT));
    }

    /**
     * @return {@code journal-min-free-mib} in bytes.
     */
    /**
     * @return journal bytes between snapshots (positive); only when set.
     */
    public long snapshotIntervalBytes()
    {
        final long bytes = size(Option.SNAPSHOT_INTERVAL_BYTES);
        if (bytes <= 0)
        {
            throw invalid(Option.SNAPSHOT_INTERVAL_BYTES, "must be positive");
        }
        return bytes;
    }

    public long journalMinFreeBytes()
    {
        final long mib = longValue(Option.JOURNAL_MIN_FREE_MIB);
        if (mib < 0 || mib > Long.MAX_VALUE >> 20)
        {
            throw invalid(Option.JOURNAL_MIN_FREE_MIB, "expected 0 or more MiB");
        }
        return mib << 20;
    }

    public NodeConfig journalMinFreeMib(final long mib)
    {
        return set(Option.JOURNAL_MIN_FREE_MIB, Long.toString(mib));
    }

    public String aeronDir()
    {
        return nonEmpty(Option.AERON_DIR);
    }

    public NodeConfig aeronDir(final String dir)
    {
        return set(Option.AERON_DIR, dir);
    }

    public boolean embeddedDriver()
    {
        return bool(Option.EMBEDDED_DRIVER);
    }

    public NodeConfig embeddedDriver(final boolean embedded)
    {
        return set(Option.EMBEDDED_DRIVER, Boolean.toString(embedded));
    }

    /**
     * @return the IPC ingress channel, or null when disabled.
     */
    public String ipcChannel()
    {
        return TransportContext.Configuration.normaliseChannel(get(Option.IPC_CHANNEL));
    }

    /**
     * @param channel IPC ingress channel; null or {@code none} disables it.
     */
    public NodeConfig ipcChannel(final String channel)
    {
        return set(Option.IPC_CHANNEL, null == channel ? "none" : channel);
    }

    /**
     * @return the UDP ingress channel, or null when disabled.
     */
    public String udpChannel()
    {
        return TransportContext.Configuration.normaliseChannel(get(Option.UDP_CHANNEL));
    }

    /**
     * @param channel UDP ingress channel; null or {@code none} disables it.
     */
    public NodeConfig udpChannel(final String channel)
    {
        return set(Option.UDP_CHANNEL, null == channel ? "none" : channel);
    }

    public int ingressStreamId()
    {
        return (int)longValue(Option.INGRESS_STREAM_ID);
    }

    public NodeConfig ingressStreamId(final int streamId)
    {
        return set(Option.INGRESS_STREAM_ID, Integer.toString(streamId));
    }

    public long heartbeatIntervalMs()
    {
        return positiveLong(Option.HEARTBEAT_INTERVAL_MS);
    }

    public NodeConfig heartbeatIntervalMs(final long ms)
    {
        return set(Option.HEARTBEAT_INTERVAL_MS, Long.toString(ms));
    }

    public long sessionTimeoutMs()
    {
        return positiveLong(Option.SESSION_TIMEOUT_MS);
    }

    public NodeConfig sessionTimeoutMs(final long ms)
    {
        return set(Option.SESSION_TIMEOUT_MS, Long.toString(ms));
    }

    public ThreadingMode threadingMode()
    {
        try
        {
            return ThreadingMode.valueOf(nonEmpty(Option.THREADING_MODE).toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            throw invalid(Option.THREADING_MODE, "expected shared or dedicated");
        }
    }

    public NodeConfig threadingMode(final ThreadingMode mode)
    {
        return set(Option.THREADING_MODE, mode.name().toLowerCase(Locale.ROOT));
    }

    public String idleStrategy()
    {
        return idleStrategy(Option.IDLE_STRATEGY);
    }

    String idleStrategy(final Option option)
    {
        final String name = nonEmpty(option);
        try
        {
            PipelineContext.Configuration.newIdleStrategy(name);
        }
        catch (final IllegalArgumentException ex)
        {
            throw invalid(option, "expected backoff, sleeping, sleeping-millis, yielding, busy-spin or noop");
        }
        return name;
    }

    public NodeConfig idleStrategy(final String name)
    {
        return set(Option.IDLE_STRATEGY, name);
    }

    public String waitStrategy()
    {
        final String name = nonEmpty(Option.WAIT_STRATEGY);
        try
        {
            PipelineContext.Configuration.newWaitStrategy(name);
        }
        catch (final IllegalArgumentException ex)
        {
            throw invalid(Option.WAIT_STRATEGY, "expected blocking, lite-blocking, sleeping, yielding, busy-spin or phased");
        }
        return name;
    }

    public NodeConfig waitStrategy(final String name)
    {
        return set(Option.WAIT_STRATEGY, name);
    }

    public int ringSize()
    {
        return positiveInt(Option.RING_SIZE);
    }

    public NodeConfig ringSize(final int slots)
    {
        return set(Option.RING_SIZE, Integer.toString(slots));
    }

    /**
     * @return true unless {@code http-port} is {@code none} (also {@code off}, {@code false}, {@code disabled}).
     */
    public boolean httpEnabled()
    {
        return !isDisabled(values.get(Option.HTTP_PORT));
    }

    /**
     * @return the configured REST port (0: any free port, see {@link MagnetarNode#httpPort()}), or -1 when REST is
     * disabled.
     */
    public int httpPort()
    {
        if (!httpEnabled())
        {
            return -1;
        }
        final long port = longValue(Option.HTTP_PORT);
        if (port < 0 || port > 65535)
        {
            throw invalid(Option.HTTP_PORT, "expected 0..65535 or none");
        }
        return (int)port;
    }

    /**
     * @param port REST port, 0..65535 (0: any free port).
     */
    public NodeConfig httpPort(final int port)
    {
        return set(Option.HTTP_PORT, Integer.toString(port));
    }

    /**
     * Serve no REST: the node starts no gateway and no in-process client.
     */
    public NodeConfig disableHttp()
    {
        return set(Option.HTTP_PORT, "none");
    }

    /**
     * @return the address the REST gateway binds.
     */
    public String httpHost()
    {
        return nonEmpty(Option.HTTP_HOST);
    }

    public NodeConfig httpHost(final String host)
    {
        return set(Option.HTTP_HOST, host);
    }

    private static boolean isDisabled(final String value)
    {
        if (null == value)
        {
            return false;
        }
        final String lower = value.trim().toLowerCase(Locale.ROOT);
        return "none".equals(lower) || "off".equals(lower) || "false".equals(lower) || "disabled".equals(lower);
    }

    /**
     * @return the JUL level name for {@link Option#LOG_LEVEL}.
     */
    public java.util.logging.Level logLevel()
    {
        switch (nonEmpty(Option.LOG_LEVEL).toLowerCase(Locale.ROOT))
        {
            case "error":
                return java.util.logging.Level.SEVERE;
            case "warn":
            case "warning":
                return java.util.logging.Level.WARNING;
            case "info":
                return java.util.logging.Level.INFO;
            case "debug":
                return java.util.logging.Level.FINE;
            case "trace":
                return java.util.logging.Level.FINEST;
            default:
                throw invalid(Option.LOG_LEVEL, "expected error, warn, info, debug or trace");
        }
    }

    // =================================================================================================================
    // parsing
    // =================================================================================================================

    String nonEmpty(final Option option)
    {
        final String value = values.get(option);
        if (null == value || value.isEmpty())
        {
            throw invalid(option, "a value is required");
        }
        return value;
    }

    boolean bool(final Option option)
    {
        final String value = nonEmpty(option).toLowerCase(Locale.ROOT);
        switch (value)
        {
            case "true":
            case "yes":
            case "on":
            case "1":
                return true;
            case "false":
            case "no":
            case "off":
            case "0":
                return false;
            default:
                throw invalid(option, "expected true or false");
        }
    }

    long longValue(final Option option)
    {
        try
        {
            return Long.parseLong(nonEmpty(option).replace("_", ""));
        }
        catch (final NumberFormatException ex)
        {
            throw invalid(option, "expected a whole number");
        }
    }

    long positiveLong(final Option option)
    {
        final long value = longValue(option);
        if (value <= 0)
        {
            throw invalid(option, "must be positive");
        }
        return value;
    }

    int positiveInt(final Option option)
    {
        final long value = positiveLong(option);
        if (value > Integer.MAX_VALUE)
        {
            throw invalid(option, "too large");
        }
        return (int)value;
    }

    /**
     * A size: bytes, or a number with a k, m or g suffix (powers of 1024; {@code 4m}, {@code 64KiB}, {@code 2g}).
     */
    long size(final Option option)
    {
        final String raw = nonEmpty(option).toLowerCase(Locale.ROOT).replace("_", "");
        String digits = raw;
        long unit = 1;
        final String[] suffixes = {"kib", "kb", "k", "mib", "mb", "m", "gib", "gb", "g", "b"};
        for (final String suffix : suffixes)
        {
            if (raw.endsWith(suffix))
            {
                digits = raw.substring(0, raw.length() - suffix.length()).trim();
                unit = suffix.startsWith("k") ? 1024L : suffix.startsWith("m") ? 1024L * 1024 :
                    suffix.startsWith("g") ? 1024L * 1024 * 1024 : 1;
                break;
            }
        }

        try
        {
            final long value = Math.multiplyExact(Long.parseLong(digits), unit);
            if (value <= 0)
            {
                throw invalid(option, "must be positive");
            }
            return value;
        }
        catch (final NumberFormatException | ArithmeticException ex)
        {
            throw invalid(option, "expected a size such as 65536, 64k, 4m or 1g");
        }
    }

    int intSize(final Option option)
    {
        final long value = size(option);
        if (value > Integer.MAX_VALUE)
        {
            throw invalid(option, "too large");
        }
        return (int)value;
    }

    IllegalArgumentException invalid(final Option option, final String problem)
    {
        return new IllegalArgumentException(option.key() + " = '" + values.get(option) + "' (from " +
            source(option).name().toLowerCase(Locale.ROOT) + "): " + problem);
    }

    /**
     * @return the usage text of {@code --help}.
     */
    public static String usage()
    {
        final StringBuilder sb = new StringBuilder(4096);
        sb.append("Usage: java -jar magnetar-broker.jar [--config FILE] [--option value ...]\n\n")
            .append("Starts a Magnetar node: journal + engine + Aeron transport (IPC and UDP ingress) + REST gateway.\n")
            .append("Each option may also come from the config file (Java properties, key = option name) and from\n")
            .append("the environment (MAGNETAR_<OPTION>, e.g. MAGNETAR_DATA_DIR). Precedence: defaults < file <\n")
            .append("environment < command line. MAGNETAR_CONFIG names a config file when --config is not given.\n\n")
            .append("Options:\n")
            .append(String.format("  %-44s %s%n", "--help", "print this text and exit"))
            .append(String.format("  %-44s %s%n", "--config FILE", "read options from a Java properties file"));
        for (final Option option : Option.values())
        {
            sb.append(String.format("  %-44s %s%s%n", option.flag() + " " + option.argName, option.description,
                null == option.defaultValue ? "" : " [" + option.defaultValue + "]"));
        }
        sb.append("\nSIGTERM (or Ctrl-C) drains the ring, closes the journal and exits 0.\n");
        return sb.toString();
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "NodeConfig" + describe();
    }

    /**
     * Parsing shared with {@link MagnetarNode}.
     */
    static final class Flags
    {
        private Flags()
        {
        }

        static io.aeron.driver.ThreadingMode driverThreadingMode(final NodeConfig config)
        {
            try
            {
                return TransportContext.Configuration.driverThreadingMode(config.nonEmpty(Option.DRIVER_THREADING_MODE));
            }
            catch (final IllegalArgumentException ex)
            {
                throw config.invalid(Option.DRIVER_THREADING_MODE, "expected shared, shared-network or dedicated");
            }
        }
    }
}
