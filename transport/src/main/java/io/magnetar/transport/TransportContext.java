package io.magnetar.transport;

import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.driver.ThreadingMode;
import io.magnetar.engine.pipeline.PipelineContext;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.EpochClock;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SystemEpochClock;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Configuration of the transport, in the style of an Aeron {@code Context}: fluent setters, defaults from system
 * properties ({@link Configuration}), {@link #conclude()} to validate before use. One context per node.
 * <p>
 * Covers the session protocol (ingress channels and stream, heartbeat and timeouts, egress retries), the ingress
 * agent's idle strategy and the embedded media driver ({@link MediaDriverLauncher}).
 */
public final class TransportContext
{
    /**
     * Property names and defaults (docs/PROTOCOL.md).
     */
    public static final class Configuration
    {
        /** IPC ingress channel; empty or {@code none} disables it. */
        public static final String IPC_CHANNEL_PROP_NAME = "magnetar.transport.ipc.channel";
        /** Default IPC ingress channel. */
        public static final String IPC_CHANNEL_DEFAULT = "aeron:ipc";

        /** UDP ingress channel; empty or {@code none} disables it. */
        public static final String UDP_CHANNEL_PROP_NAME = "magnetar.transport.udp.channel";
        /** Default UDP ingress channel. */
        public static final String UDP_CHANNEL_DEFAULT = "aeron:udp?endpoint=localhost:40100";

        /** Stream id of both ingress channels. */
        public static final String INGRESS_STREAM_ID_PROP_NAME = "magnetar.transport.ingress.stream.id";
        /** Default ingress stream id. */
        public static final int INGRESS_STREAM_ID_DEFAULT = 100;

        /** A session that has been sent nothing for this long gets a {@code BrokerHeartbeat}; clients do the same. */
        public static final String HEARTBEAT_INTERVAL_MS_PROP_NAME = "magnetar.transport.heartbeat.interval.ms";
        /** Default heartbeat interval. */
        public static final long HEARTBEAT_INTERVAL_MS_DEFAULT = 1_000;

        /** A session from which no frame arrived for this long is ended. */
        public static final String SESSION_TIMEOUT_MS_PROP_NAME = "magnetar.transport.session.timeout.ms";
        /** Default session timeout. */
        public static final long SESSION_TIMEOUT_MS_DEFAULT = 10_000;

        /** How long a Connect may wait for its response publication to connect before it is dropped. */
        public static final String CONNECT_TIMEOUT_MS_PROP_NAME = "magnetar.transport.connect.timeout.ms";
        /** Default connect timeout. */
        public static final long CONNECT_TIMEOUT_MS_DEFAULT = 5_000;

        /**
         * Immediate retries of a back-pressured offer before the frame goes to the session's pending buffer.
         */
        public static final String EGRESS_MAX_RETRIES_PROP_NAME = "magnetar.transport.egress.max.retries";
        /** Default egress retries. */
        public static final int EGRESS_MAX_RETRIES_DEFAULT = 3;

        /**
         * Most bytes of responses a back-pressured session may have pending (a power of two); more make it a slow
         * client.
         */
        public static final String EGRESS_BUFFER_LENGTH_PROP_NAME = "magnetar.transport.egress.buffer.length";
        /** Default pending responses per session: 4 MiB (allocated only while back-pressured). */
        public static final int EGRESS_BUFFER_LENGTH_DEFAULT = 4 * 1024 * 1024;

        /** A session whose pending responses make no progress for this long is a slow client, ms. */
        public static final String SLOW_CLIENT_TIMEOUT_MS_PROP_NAME = "magnetar.transport.slow.client.timeout.ms";
        /** Default slow-client timeout. */
        public static final long SLOW_CLIENT_TIMEOUT_MS_DEFAULT = 5_000;

        /** Fragments polled per ingress subscription per duty cycle. */
        public static final String FRAGMENT_LIMIT_PROP_NAME = "magnetar.transport.fragment.limit";
        /** Default fragment limit. */
        public static final int FRAGMENT_LIMIT_DEFAULT = 64;

        /** How often the ingress agent checks session liveness and heartbeats, ms. */
        public static final String SESSION_CHECK_INTERVAL_MS_PROP_NAME = "magnetar.transport.session.check.interval.ms";
        /** Default session check interval. */
        public static final long SESSION_CHECK_INTERVAL_MS_DEFAULT = 100;

        /** Agrona idle strategy of the ingress agent (names of {@link PipelineContext.Configuration#newIdleStrategy}). */
        public static final String IDLE_STRATEGY_PROP_NAME = "magnetar.transport.idle.strategy";
        /** Default: back off from spinning to 1 ms parks; polite on 2 cores. */
        public static final String IDLE_STRATEGY_DEFAULT = "backoff";

        /** How long shutdown waits after the last responses so that the driver can send them, ms. */
        public static final String SHUTDOWN_LINGER_MS_PROP_NAME = "magnetar.transport.shutdown.linger.ms";
        /** Default shutdown linger. */
        public static final long SHUTDOWN_LINGER_MS_DEFAULT = 200;

        /** Run an embedded media driver in the node's process. */
        public static final String EMBEDDED_DRIVER_PROP_NAME = "magnetar.driver.embedded";
        /** Default: embedded. */
        public static final boolean EMBEDDED_DRIVER_DEFAULT = true;

        /** {@code shared}, {@code shared_network}, {@code dedicated} (Aeron's names; '-' and '_' alike). */
        public static final String DRIVER_THREADING_MODE_PROP_NAME = "magnetar.driver.threading.mode";
        /** Default: one driver thread. */
        public static final ThreadingMode DRIVER_THREADING_MODE_DEFAULT = ThreadingMode.SHARED;

        /** Idle strategy of the driver's threads. */
        public static final String DRIVER_IDLE_STRATEGY_PROP_NAME = "magnetar.driver.idle.strategy";
        /** Default driver idle strategy. */
        public static final String DRIVER_IDLE_STRATEGY_DEFAULT = "backoff";

        /** Always delete the Aeron directory at start (else only when it is left over from a dead driver). */
        public static final String DIR_DELETE_ON_START_PROP_NAME = "magnetar.driver.dir.delete.on.start";
        /** Default: delete only a stale directory. */
        public static final boolean DIR_DELETE_ON_START_DEFAULT = false;

        /** Delete the Aeron directory when the driver closes. */
        public static final String DIR_DELETE_ON_SHUTDOWN_PROP_NAME = "magnetar.driver.dir.delete.on.shutdown";
        /** Default: delete. */
        public static final boolean DIR_DELETE_ON_SHUTDOWN_DEFAULT = true;

        /** Term length of IPC publications, bytes (a power of two, 64 KiB..1 GiB). */
        public static final String IPC_TERM_LENGTH_PROP_NAME = "magnetar.driver.ipc.term.length";
        /** Default: 4 MiB (Aeron's 64 MiB maps 192 MiB per publication). */
        public static final int IPC_TERM_LENGTH_DEFAULT = 4 * 1024 * 1024;

        /** Term length of UDP publications, bytes. */
        public static final String UDP_TERM_LENGTH_PROP_NAME = "magnetar.driver.udp.term.length";
        /** Default: 4 MiB. */
        public static final int UDP_TERM_LENGTH_DEFAULT = 4 * 1024 * 1024;

        private Configuration()
        {
        }

        static String channel(final String propName, final String defaultValue)
        {
            return normaliseChannel(System.getProperty(propName, defaultValue));
        }

        static boolean bool(final String propName, final boolean defaultValue)
        {
            final String value = System.getProperty(propName);
            return null == value ? defaultValue : Boolean.parseBoolean(value.trim());
        }

        /**
         * @param name {@code shared}, {@code shared_network} / {@code shared-network}, {@code dedicated} or
         *             {@code invoker} (case-insensitive).
         * @return the driver threading mode.
         * @throws IllegalArgumentException for an unknown name.
         */
        public static ThreadingMode driverThreadingMode(final String name)
        {
            try
            {
                return ThreadingMode.valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            }
            catch (final RuntimeException ex)
            {
                throw new IllegalArgumentException("unknown driver threading mode: " + name);
            }
        }

        /**
         * @param channel an Aeron channel, or null, empty, {@code none}, {@code off} or {@code false} for "disabled".
         * @return the trimmed channel, or null when disabled.
         */
        public static String normaliseChannel(final String channel)
        {
            if (null == channel)
            {
                return null;
            }

            final String trimmed = channel.trim();
            final String lower = trimmed.toLowerCase(Locale.ROOT);
            if (trimmed.isEmpty() || "none".equals(lower) || "off".equals(lower) || "false".equals(lower))
            {
                return null;
            }

            return trimmed;
        }
    }

    private boolean concluded;
    private String ipcChannel = Configuration.channel(
        Configuration.IPC_CHANNEL_PROP_NAME, Configuration.IPC_CHANNEL_DEFAULT);
    private String udpChannel = Configuration.channel(
        Configuration.UDP_CHANNEL_PROP_NAME, Configuration.UDP_CHANNEL_DEFAULT);
    private int ingressStreamId = Integer.getInteger(
        Configuration.INGRESS_STREAM_ID_PROP_NAME, Configuration.INGRESS_STREAM_ID_DEFAULT);
    private long heartbeatIntervalMs = Long.getLong(
        Configuration.HEARTBEAT_INTERVAL_MS_PROP_NAME, Configuration.HEARTBEAT_INTERVAL_MS_DEFAULT);
    private long sessionTimeoutMs = Long.getLong(
        Configuration.SESSION_TIMEOUT_MS_PROP_NAME, Configuration.SESSION_TIMEOUT_MS_DEFAULT);
    private long connectTimeoutMs = Long.getLong(
        Configuration.CONNECT_TIMEOUT_MS_PROP_NAME, Configuration.CONNECT_TIMEOUT_MS_DEFAULT);
    private int egressMaxRetries = Integer.getInteger(
        Configuration.EGRESS_MAX_RETRIES_PROP_NAME, Configuration.EGRESS_MAX_RETRIES_DEFAULT);
    private int egressBufferLength = Integer.getInteger(
        Configuration.EGRESS_BUFFER_LENGTH_PROP_NAME, Configuration.EGRESS_BUFFER_LENGTH_DEFAULT);
    private long slowClientTimeoutMs = Long.getLong(
        Configuration.SLOW_CLIENT_TIMEOUT_MS_PROP_NAME, Configuration.SLOW_CLIENT_TIMEOUT_MS_DEFAULT);
    private int fragmentLimit = Integer.getInteger(
        Configuration.FRAGMENT_LIMIT_PROP_NAME, Configuration.FRAGMENT_LIMIT_DEFAULT);
    private long sessionCheckIntervalMs = Long.getLong(
        Configuration.SESSION_CHECK_INTERVAL_MS_PROP_NAME, Configuration.SESSION_CHECK_INTERVAL_MS_DEFAULT);
    private String idleStrategyName = System.getProperty(
        Configuration.IDLE_STRATEGY_PROP_NAME, Configuration.IDLE_STRATEGY_DEFAULT);
    private Supplier<IdleStrategy> idleStrategySupplier;
    private long shutdownLingerMs = Long.getLong(
        Configuration.SHUTDOWN_LINGER_MS_PROP_NAME, Configuration.SHUTDOWN_LINGER_MS_DEFAULT);
    private int maxCommandLength = PipelineContext.Configuration.maxCommandLength();

    private String aeronDirectoryName = CommonContext.getAeronDirectoryName();
    private boolean embeddedDriver = Configuration.bool(
        Configuration.EMBEDDED_DRIVER_PROP_NAME, Configuration.EMBEDDED_DRIVER_DEFAULT);
    private ThreadingMode driverThreadingMode = null == System.getProperty(Configuration.DRIVER_THREADING_MODE_PROP_NAME) ?
        Configuration.DRIVER_THREADING_MODE_DEFAULT :
        Configuration.driverThreadingMode(System.getProperty(Configuration.DRIVER_THREADING_MODE_PROP_NAME));
    private String driverIdleStrategyName = System.getProperty(
        Configuration.DRIVER_IDLE_STRATEGY_PROP_NAME, Configuration.DRIVER_IDLE_STRATEGY_DEFAULT);
    private boolean dirDeleteOnStart = Configuration.bool(
        Configuration.DIR_DELETE_ON_START_PROP_NAME, Configuration.DIR_DELETE_ON_START_DEFAULT);
    private boolean dirDeleteOnShutdown = Configuration.bool(
        Configuration.DIR_DELETE_ON_SHUTDOWN_PROP_NAME, Configuration.DIR_DELETE_ON_SHUTDOWN_DEFAULT);
    private int ipcTermLength = Integer.getInteger(
        Configuration.IPC_TERM_LENGTH_PROP_NAME, Configuration.IPC_TERM_LENGTH_DEFAULT);
    private int udpTermLength = Integer.getInteger(
        Configuration.UDP_TERM_LENGTH_PROP_NAME, Configuration.UDP_TERM_LENGTH_DEFAULT);

    private EpochClock epochClock;
    private ErrorHandler errorHandler;

    /**
     * Validate the settings and fill in what follows from them.
     *
     * @return this.
     * @throws IllegalStateException    if already concluded.
     * @throws IllegalArgumentException if a setting is invalid.
     */
    public TransportContext conclude()
    {
        if (concluded)
        {
            throw new IllegalStateException("context already concluded");
        }

        ipcChannel = Configuration.normaliseChannel(ipcChannel);
        udpChannel = Configuration.normaliseChannel(udpChannel);
        require(null != ipcChannel || null != udpChannel, "at least one ingress channel (IPC or UDP) is required");
        if (null != ipcChannel)
        {
            require(ChannelUri.parse(ipcChannel).isIpc(), "ipcChannel is not an aeron:ipc channel: " + ipcChannel);
        }
        if (null != udpChannel)
        {
            require(ChannelUri.parse(udpChannel).isUdp(), "udpChannel is not an aeron:udp channel: " + udpChannel);
        }
        require(heartbeatIntervalMs > 0, "heartbeatIntervalMs must be positive: " + heartbeatIntervalMs);
        require(sessionTimeoutMs > heartbeatIntervalMs,
            "sessionTimeoutMs (" + sessionTimeoutMs + ") must exceed heartbeatIntervalMs (" + heartbeatIntervalMs + ")");
        require(connectTimeoutMs > 0, "connectTimeoutMs must be positive: " + connectTimeoutMs);
        require(egressMaxRetries >= 0, "egressMaxRetries must be >= 0: " + egressMaxRetries);
        require(egressBufferLength >= 4096 && egressBufferLength <= 1 << 30 && Integer.bitCount(egressBufferLength) == 1,
            "egressBufferLength must be a power of two in 4 KiB..1 GiB: " + egressBufferLength);
        require(slowClientTimeoutMs > 0, "slowClientTimeoutMs must be positive: " + slowClientTimeoutMs);
        require(fragmentLimit >= 1, "fragmentLimit must be >= 1: " + fragmentLimit);
        require(sessionCheckIntervalMs >= 1, "sessionCheckIntervalMs must be >= 1: " + sessionCheckIntervalMs);
        require(shutdownLingerMs >= 0, "shutdownLingerMs must be >= 0: " + shutdownLingerMs);
        require(maxCommandLength >= 8, "maxCommandLength must be >= 8: " + maxCommandLength);
        require(null != aeronDirectoryName && !aeronDirectoryName.isBlank(), "aeronDirectoryName is required");
        require(null != driverThreadingMode, "driverThreadingMode is required");
        requireTermLength("ipcTermLength", ipcTermLength);
        requireTermLength("udpTermLength", udpTermLength);

        if (null == idleStrategySupplier)
        {
            final String name = idleStrategyName;
            PipelineContext.Configuration.newIdleStrategy(name);
            idleStrategySupplier = () -> PipelineContext.Configuration.newIdleStrategy(name);
        }
        PipelineContext.Configuration.newIdleStrategy(driverIdleStrategyName);
        if (null == epochClock)
        {
            epochClock = SystemEpochClock.INSTANCE;
        }
        if (null == errorHandler)
        {
            errorHandler = (ex) -> ex.printStackTrace(System.err);
        }

        concluded = true;
        return this;
    }

    /**
     * @return true once {@link #conclude()} has run.
     */
    public boolean isConcluded()
    {
        return concluded;
    }

    /**
     * @return the IPC ingress channel, or null when disabled.
     */
    public String ipcChannel()
    {
        return ipcChannel;
    }

    /**
     * @param channel the IPC ingress channel; null, empty or {@code none} disables it.
     * @return this.
     */
    public TransportContext ipcChannel(final String channel)
    {
        this.ipcChannel = channel;
        return this;
    }

    /**
     * @return the UDP ingress channel, or null when disabled.
     */
    public String udpChannel()
    {
        return udpChannel;
    }

    /**
     * @param channel the UDP ingress channel; null, empty or {@code none} disables it.
     * @return this.
     */
    public TransportContext udpChannel(final String channel)
    {
        this.udpChannel = channel;
        return this;
    }

    /**
     * @return the stream id of the ingress channels.
     */
    public int ingressStreamId()
    {
        return ingressStreamId;
    }

    /**
     * @param streamId of the ingress channels.
     * @return this.
     */
    public TransportContext ingressStreamId(final int streamId)
    {
        this.ingressStreamId = streamId;
        return this;
    }

    /**
     * @return heartbeat interval told to clients and used for {@code BrokerHeartbeat}, ms.
     */
    public long heartbeatIntervalMs()
    {
        return heartbeatIntervalMs;
    }

    /**
     * @param heartbeatIntervalMs heartbeat interval, ms.
     * @return this.
     */
    public TransportContext heartbeatIntervalMs(final long heartbeatIntervalMs)
    {
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        return this;
    }

    /**
     * @return session timeout, ms.
     */
    public long sessionTimeoutMs()
    {
        return sessionTimeoutMs;
    }

    /**
     * @param sessionTimeoutMs no frame for this long ends a session, ms.
     * @return this.
     */
    public TransportContext sessionTimeoutMs(final long sessionTimeoutMs)
    {
        this.sessionTimeoutMs = sessionTimeoutMs;
        return this;
    }

    /**
     * @return how long a Connect waits for its response publication to connect, ms.
     */
    public long connectTimeoutMs()
    {
        return connectTimeoutMs;
    }

    /**
     * @param connectTimeoutMs how long a Connect waits for its response publication to connect, ms.
     * @return this.
     */
    public TransportContext connectTimeoutMs(final long connectTimeoutMs)
    {
        this.connectTimeoutMs = connectTimeoutMs;
        return this;
    }

    /**
     * @return immediate retries of a back-pressured offer before the frame is buffered.
     */
    public int egressMaxRetries()
    {
        return egressMaxRetries;
    }

    /**
     * @param egressMaxRetries immediate retries of a back-pressured offer before the frame is buffered.
     * @return this.
     */
    public TransportContext egressMaxRetries(final int egressMaxRetries)
    {
        this.egressMaxRetries = egressMaxRetries;
        return this;
    }

    /**
     * @return most bytes of responses a back-pressured session may have pending.
     */
    public int egressBufferLength()
    {
        return egressBufferLength;
    }

    /**
     * @param egressBufferLength most bytes of responses a back-pressured session may have pending, a power of two.
     * @return this.
     */
    public TransportContext egressBufferLength(final int egressBufferLength)
    {
        this.egressBufferLength = egressBufferLength;
        return this;
    }

    /**
     * @return how long pending responses may make no progress before the client is slow, ms.
     */
    public long slowClientTimeoutMs()
    {
        return slowClientTimeoutMs;
    }

    /**
     * @param slowClientTimeoutMs how long pending responses may make no progress before the client is slow, ms.
     * @return this.
     */
    public TransportContext slowClientTimeoutMs(final long slowClientTimeoutMs)
    {
        this.slowClientTimeoutMs = slowClientTimeoutMs;
        return this;
    }

    /**
     * @return fragments polled per ingress subscription per duty cycle.
     */
    public int fragmentLimit()
    {
        return fragmentLimit;
    }

    /**
     * @param fragmentLimit fragments polled per ingress subscription per duty cycle.
     * @return this.
     */
    public TransportContext fragmentLimit(final int fragmentLimit)
    {
        this.fragmentLimit = fragmentLimit;
        return this;
    }

    /**
     * @return how often liveness and heartbeats are checked, ms.
     */
    public long sessionCheckIntervalMs()
    {
        return sessionCheckIntervalMs;
    }

    /**
     * @param sessionCheckIntervalMs how often liveness and heartbeats are checked, ms.
     * @return this.
     */
    public TransportContext sessionCheckIntervalMs(final long sessionCheckIntervalMs)
    {
        this.sessionCheckIntervalMs = sessionCheckIntervalMs;
        return this;
    }

    /**
     * @return the name of the ingress agent's idle strategy.
     */
    public String idleStrategyName()
    {
        return idleStrategyName;
    }

    /**
     * @param name of the ingress agent's idle strategy, see {@link PipelineContext.Configuration#newIdleStrategy}.
     * @return this.
     */
    public TransportContext idleStrategyName(final String name)
    {
        this.idleStrategyName = name;
        this.idleStrategySupplier = null;
        return this;
    }

    /**
     * @return supplier of the ingress agent's idle strategy (after {@link #conclude()}).
     */
    public Supplier<IdleStrategy> idleStrategySupplier()
    {
        return idleStrategySupplier;
    }

    /**
     * @param supplier of the ingress agent's idle strategy.
     * @return this.
     */
    public TransportContext idleStrategySupplier(final Supplier<IdleStrategy> supplier)
    {
        this.idleStrategySupplier = supplier;
        return this;
    }

    /**
     * @return how long shutdown lingers so the driver can send the last responses, ms.
     */
    public long shutdownLingerMs()
    {
        return shutdownLingerMs;
    }

    /**
     * @param shutdownLingerMs how long shutdown lingers so the driver can send the last responses, ms.
     * @return this.
     */
    public TransportContext shutdownLingerMs(final long shutdownLingerMs)
    {
        this.shutdownLingerMs = shutdownLingerMs;
        return this;
    }

    /**
     * @return longest client frame sequenced; longer ones are rejected (the pipeline's limit).
     */
    public int maxCommandLength()
    {
        return maxCommandLength;
    }

    /**
     * @param maxCommandLength longest client frame sequenced, the pipeline's {@code maxCommandLength}.
     * @return this.
     */
    public TransportContext maxCommandLength(final int maxCommandLength)
    {
        this.maxCommandLength = maxCommandLength;
        return this;
    }

    /**
     * @return the Aeron directory of the media driver.
     */
    public String aeronDirectoryName()
    {
        return aeronDirectoryName;
    }

    /**
     * @param aeronDirectoryName the Aeron directory of the media driver (embedded or external).
     * @return this.
     */
    public TransportContext aeronDirectoryName(final String aeronDirectoryName)
    {
        this.aeronDirectoryName = aeronDirectoryName;
        return this;
    }

    /**
     * @return true to run an embedded media driver.
     */
    public boolean embeddedDriver()
    {
        return embeddedDriver;
    }

    /**
     * @param embeddedDriver true to run an embedded media driver, false to use an external one.
     * @return this.
     */
    public TransportContext embeddedDriver(final boolean embeddedDriver)
    {
        this.embeddedDriver = embeddedDriver;
        return this;
    }

    /**
     * @return the embedded driver's threading mode.
     */
    public ThreadingMode driverThreadingMode()
    {
        return driverThreadingMode;
    }

    /**
     * @param mode the embedded driver's threading mode.
     * @return this.
     */
    public TransportContext driverThreadingMode(final ThreadingMode mode)
    {
        this.driverThreadingMode = mode;
        return this;
    }

    /**
     * @return the name of the embedded driver's idle strategy.
     */
    public String driverIdleStrategyName()
    {
        return driverIdleStrategyName;
    }

    /**
     * @param name of the embedded driver's idle strategy.
     * @return this.
     */
    public TransportContext driverIdleStrategyName(final String name)
    {
        this.driverIdleStrategyName = name;
        return this;
    }

    /**
     * @return true to always delete the Aeron directory at start.
     */
    public boolean dirDeleteOnStart()
    {
        return dirDeleteOnStart;
    }

    /**
     * @param dirDeleteOnStart true to always delete the Aeron directory at start; false deletes it only when it
     *                         is left over from a driver that is no longer running.
     * @return this.
     */
    public TransportContext dirDeleteOnStart(final boolean dirDeleteOnStart)
    {
        this.dirDeleteOnStart = dirDeleteOnStart;
        return this;
    }

    /**
     * @return true to delete the Aeron directory when the embedded driver closes.
     */
    public boolean dirDeleteOnShutdown()
    {
        return dirDeleteOnShutdown;
    }

    /**
     * @param dirDeleteOnShutdown true to delete the Aeron directory when the embedded driver closes.
     * @return this.
     */
    public TransportContext dirDeleteOnShutdown(final boolean dirDeleteOnShutdown)
    {
        this.dirDeleteOnShutdown = dirDeleteOnShutdown;
        return this;
    }

    /**
     * @return term length of IPC publications, bytes.
     */
    public int ipcTermLength()
    {
        return ipcTermLength;
    }

    /**
     * @param ipcTermLength term length of IPC publications, a power of two in 64 KiB..1 GiB.
     * @return this.
     */
    public TransportContext ipcTermLength(final int ipcTermLength)
    {
        this.ipcTermLength = ipcTermLength;
        return this;
    }

    /**
     * @return term length of UDP publications, bytes.
     */
    public int udpTermLength()
    {
        return udpTermLength;
    }

    /**
     * @param udpTermLength term length of UDP publications, a power of two in 64 KiB..1 GiB.
     * @return this.
     */
    public TransportContext udpTermLength(final int udpTermLength)
    {
        this.udpTermLength = udpTermLength;
        return this;
    }

    /**
     * @return the clock of session liveness and heartbeats.
     */
    public EpochClock epochClock()
    {
        return epochClock;
    }

    /**
     * @param epochClock the clock of session liveness and heartbeats (tests: a cached clock).
     * @return this.
     */
    public TransportContext epochClock(final EpochClock epochClock)
    {
        this.epochClock = epochClock;
        return this;
    }

    /**
     * @return where unexpected errors of the transport's agents go.
     */
    public ErrorHandler errorHandler()
    {
        return errorHandler;
    }

    /**
     * @param errorHandler where unexpected errors of the transport's agents go.
     * @return this.
     */
    public TransportContext errorHandler(final ErrorHandler errorHandler)
    {
        this.errorHandler = errorHandler;
        return this;
    }

    private static void requireTermLength(final String name, final int length)
    {
        require(length >= 64 * 1024 && length <= 1024 * 1024 * 1024 && Integer.bitCount(length) == 1,
            name + " must be a power of two in 64 KiB..1 GiB: " + length);
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "TransportContext{" +
            "ipcChannel=" + ipcChannel +
            ", udpChannel=" + udpChannel +
            ", ingressStreamId=" + ingressStreamId +
            ", heartbeatIntervalMs=" + heartbeatIntervalMs +
            ", sessionTimeoutMs=" + sessionTimeoutMs +
            ", aeronDirectoryName=" + aeronDirectoryName +
            ", embeddedDriver=" + embeddedDriver +
            ", driverThreadingMode=" + driverThreadingMode +
            ", ipcTermLength=" + ipcTermLength +
            ", udpTermLength=" + udpTermLength +
            '}';
    }
}
