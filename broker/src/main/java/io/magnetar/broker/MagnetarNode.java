package io.magnetar.broker;

import io.aeron.Aeron;
import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.magnetar.client.MagnetarClient;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.journal.ReplayResult;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.rest.RestConfig;
import io.magnetar.rest.RestGateway;
import io.magnetar.transport.EgressPublisher;
import io.magnetar.transport.IngressAgent;
import io.magnetar.transport.MediaDriverLauncher;
import io.magnetar.transport.SessionRegistry;
import io.magnetar.transport.TransportContext;
import io.magnetar.transport.TransportCounters;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A running node: embedded media driver (optional), journal + pipeline + engine, the Aeron transport and (unless
 * {@code http-port} is {@code none}) the REST gateway.
 * <pre>{@code
 * try (MagnetarNode node = MagnetarNode.launch(new NodeConfig().dataDir(dir).aeronDir(aeronDir)))
 * {
 *     // clients connect to node.aeronDirectory(), node.ipcChannel() / node.udpChannel(), node.ingressStreamId()
 * }
 * }</pre>
 * <b>Start:</b> lock the data directory, launch the driver, connect Aeron, replay the journal into the engine (muted),
 * put {@code NodeStarted} first in the ring (journaled and applied asynchronously, but before any client command, which
 * can only come after it), then open the ingress channels: clients can connect only once the node is ready. Then
 * the REST gateway: a {@link MagnetarClient} connects over IPC on the node's own Aeron directory (over the node's UDP
 * channel when IPC is disabled; the gateway is one more native client, see {@code rest-gateway/README.md}) and
 * {@link RestGateway} listens on {@code http-host:http-port} with the node's engine limits, so that a REST publish is
 * checked against them as a whole. The gateway's {@code GET /metrics} also serves the node's own series (pipeline,
 * ring, journal, snapshots, transport: {@link NodeMetrics}).
 * <p>
 * <b>Close</b> (graceful drain): stop the REST gateway (its consumers detach, its producers finish), close its client
 * (session ended), then stop polling the ingress (nothing new enters), let the ring drain so every sequenced command
 * is journaled, applied and answered, close the journal, end every session ({@code SessionEnded}), linger
 * briefly so the driver sends the last responses, close the driver (deleting its directory) and unlock the data
 * directory.
 */
public final class MagnetarNode implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("io.magnetar.broker");
    private static final String LOCK_FILE = "magnetar.lock";
    private static final String JOURNAL_DIR = "journal";
    /** {@link RestConfig}'s default largest permit window of a REST consumer. */
    private static final int REST_MAX_PERMITS = 10_000;
    /** {@link RestConfig}'s default permit window of a REST consumer that names none. */
    private static final int REST_DEFAULT_PERMITS = 1000;

    private final NodeConfig config;
    private final TransportContext transportContext;
    private final Path dataDir;
    private FileChannel lockChannel;
    private FileLock lock;
    private MediaDriver driver;
    private Aeron aeron;
    private TransportCounters counters;
    private SessionRegistry registry;
    private Pipeline pipeline;
    private IngressAgent ingress;
    private AgentRunner ingressRunner;
    private MagnetarClient restClient;
    private RestGateway restGateway;
    private String httpHost;
    private int httpPort = -1;
    private volatile Throwable engineFailure;
    private boolean closed;

    private MagnetarNode(final NodeConfig config)
    {
        this.config = config;
        this.dataDir = config.dataDir().toAbsolutePath().normalize();
        this.transportContext = transportContext(config);
    }

    /**
     * Start a node.
     *
     * @param config its configuration; concluded here.
     * @return the running node, ready for clients.
     * @throws IllegalArgumentException if the configuration is invalid.
     * @throws IllegalStateException    if the data directory is locked by another node, or an active media driver
     *                                  owns the Aeron directory.
     * @throws RuntimeException         if the journal cannot be replayed or a component fails to start; everything
     *                                  started so far is closed again.
     */
    public static MagnetarNode launch(final NodeConfig config)
    {
        config.conclude();
        final MagnetarNode node = new MagnetarNode(config);
        try
        {
            node.start();
            return node;
        }
        catch (final RuntimeException | Error ex)
        {
            node.closeQuietly();
            throw ex;
        }
    }

    private void start()
    {
        lockDataDir();

        final ErrorHandler errorHandler = (ex) -> LOG.log(System.Logger.Level.ERROR, "transport error", ex);
        transportContext.errorHandler(errorHandler).conclude();

        if (config.embeddedDriver())
        {
            driver = MediaDriverLauncher.launch(transportContext);
        }
        aeron = Aeron.connect(new Aeron.Context()
            .aeronDirectoryName(transportContext.aeronDirectoryName())
            .errorHandler(errorHandler));
        counters = TransportCounters.allocate(aeron);
        registry = new SessionRegistry();
        final EgressPublisher egressPublisher = new EgressPublisher(transportContext, registry, counters);

        final MutableEventListener egress = new MutableEventListener();
        final EngineConfig engineConfig = engineConfig(config);
        final Engine engine = new Engine(engineConfig, egress);
        final long replayStartNs = System.nanoTime();
        final PipelineContext pipelineContext = new PipelineContext()
            .journalDir(dataDir.resolve(JOURNAL_DIR).toFile())
            .durability(config.durability())
            .threadingMode(config.threadingMode())
            .waitStrategyName(config.waitStrategy())
            .idleStrategyName(config.idleStrategy())
            .ringSize(config.ringSize())
            .maxCommandLength(config.intSize(NodeConfig.Option.MAX_COMMAND_LENGTH))
            .rollCycleName(config.nonEmpty(NodeConfig.Option.ROLL_CYCLE))
            .journalRecovery(config.journalRecovery())
            .journalMinFreeBytes(config.journalMinFreeBytes())
            .commandHandler(engine)
            .egress(egress)
            .eventListener(egressPublisher)
            .onFatal(this::onFatal);
        snapshotOptions(config, pipelineContext);
        pipeline = new Pipeline(pipelineContext);
        pipeline.start();

        final ReplayResult replay = pipeline.replayResult();
        LOG.log(System.Logger.Level.INFO, "journal.replayed", "entries", replay.entries(), "ms",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - replayStartNs), "startCount", pipeline.startCount(),
            "liveMessages", engine.liveMessages(), "journalTailTruncations", pipeline.journalTailTruncations(),
            "journalEntriesDropped", pipeline.journalEntriesDropped());

        ingress = new IngressAgent(
            transportContext, aeron, pipeline.sequencer(), pipeline.startCount(), registry, counters);
        ingressRunner = new AgentRunner(
            transportContext.idleStrategySupplier().get(), errorHandler, null, ingress);
        AgentRunner.startOnThread(ingressRunner);

        if (config.httpEnabled())
        {
            startRest(engineConfig);
        }
    }

    private void startRest(final EngineConfig engineConfig)
    {
        restClient = MagnetarClient.builder()
            .clientName("magnetar-rest-gateway")
            .aeronDirectory(transportContext.aeronDirectoryName())
            .ingressChannel(gatewayIngressChannel(transportContext.ipcChannel(), transportContext.udpChannel()))
            .ingressStreamId(transportContext.ingressStreamId())
            .build();

        final RestConfig restConfig = restConfig(config, engineConfig);
        try
        {
            restGateway = RestGateway.start(restConfig, restClient);
        }
        catch (final RuntimeException ex)
        {
            throw new IllegalStateException("cannot serve REST on " + address(restConfig.host(), restConfig.port()) +
                ": " + ex.getMessage() + " (--http-port changes the port, --http-port none disables REST)", ex);
        }
        NodeMetrics.register(restGateway.metricsRegistry(), pipeline, this::counters, this::sessionCount, this::engineFailed);
        httpHost = restConfig.host();
        httpPort = restGateway.port();
    }

    /**
     * @return the channel the gateway's client sends to: the node's IPC channel, or, when IPC is disabled, its UDP
     * channel with a wildcard endpoint ({@code 0.0.0.0}, {@code [::]}) made the loopback address (the client's
     * response channel is then {@code aeron:udp?endpoint=localhost:0}, the client's default for UDP).
     */
    static String gatewayIngressChannel(final String ipcChannel, final String udpChannel)
    {
        if (null != ipcChannel)
        {
            return ipcChannel;
        }
        final ChannelUri uri = ChannelUri.parse(udpChannel);
        final String endpoint = uri.get(CommonContext.ENDPOINT_PARAM_NAME);
        final int colon = null == endpoint ? -1 : endpoint.lastIndexOf(':');
        if (colon > 0)
        {
            final String host = endpoint.substring(0, colon);
            if ("0.0.0.0".equals(host))
            {
                uri.put(CommonContext.ENDPOINT_PARAM_NAME, "127.0.0.1" + endpoint.substring(colon));
            }
            else if ("[::]".equals(host) || "[0:0:0:0:0:0:0:0]".equals(host))
            {
                uri.put(CommonContext.ENDPOINT_PARAM_NAME, "[::1]" + endpoint.substring(colon));
            }
        }
        return uri.toString();
    }

    /**
     * The gateway's configuration: where to listen, and the node's engine limits (SPEC section 1), so that the gateway
     * refuses a whole REST publish that the engine would refuse in part.
     */
    static RestConfig restConfig(final NodeConfig config, final EngineConfig engineConfig)
    {
        final RestConfig rest = new RestConfig()
            .host(config.httpHost())
            .port(config.httpPort())
            .maxKeyBytes(engineConfig.maxKeyBytes())
            .maxAttributes(engineConfig.maxAttributes())
            .maxPublishBatch(engineConfig.maxPublishBatch());
        // limits EngineConfig has no getter for: the option when set, else the gateway's default (= the engine's)
        if (null != config.get(NodeConfig.Option.MAX_ATTRIBUTE_NAME_BYTES))
        {
            rest.maxAttributeNameBytes(intValue(config, NodeConfig.Option.MAX_ATTRIBUTE_NAME_BYTES));
        }
        if (null != config.get(NodeConfig.Option.MAX_ATTRIBUTE_VALUE_BYTES))
        {
            rest.maxAttributeValueBytes(intValue(config, NodeConfig.Option.MAX_ATTRIBUTE_VALUE_BYTES));
        }
        if (null != config.get(NodeConfig.Option.MAX_ATTRIBUTES_BYTES))
        {
            rest.maxAttributesBytes(intValue(config, NodeConfig.Option.MAX_ATTRIBUTES_BYTES));
        }
        if (null != config.get(NodeConfig.Option.MAX_ACK_BATCH))
        {
            rest.maxAckBatch(intValue(config, NodeConfig.Option.MAX_ACK_BATCH));
        }
        if (null != config.get(NodeConfig.Option.MAX_PERMITS))
        {
            // a REST consumer's window is the gateway's buffer: at most REST_MAX_PERMITS, and never above the engine's
            final int maxPermits = Math.min(REST_MAX_PERMITS, intValue(config, NodeConfig.Option.MAX_PERMITS));
            rest.maxPermits(maxPermits).defaultPermits(Math.min(REST_DEFAULT_PERMITS, maxPermits));
        }
        return rest;
    }

    private static TransportContext transportContext(final NodeConfig config)
    {
        return new TransportContext()
            .aeronDirectoryName(config.aeronDir())
            .embeddedDriver(config.embeddedDriver())
            .driverThreadingMode(NodeConfig.Flags.driverThreadingMode(config))
            .driverIdleStrategyName(config.idleStrategy(NodeConfig.Option.DRIVER_IDLE_STRATEGY))
            .dirDeleteOnStart(config.bool(NodeConfig.Option.DRIVER_DIR_DELETE_ON_START))
            .dirDeleteOnShutdown(config.bool(NodeConfig.Option.DRIVER_DIR_DELETE_ON_SHUTDOWN))
            .ipcTermLength(config.intSize(NodeConfig.Option.IPC_TERM_LENGTH))
            .udpTermLength(config.intSize(NodeConfig.Option.UDP_TERM_LENGTH))
            .ipcChannel(config.ipcChannel())
            .udpChannel(config.udpChannel())
            .ingressStreamId(config.ingressStreamId())
            .heartbeatIntervalMs(config.heartbeatIntervalMs())
            .sessionTimeoutMs(config.sessionTimeoutMs())
            .slowClientTimeoutMs(config.positiveLong(NodeConfig.Option.SLOW_CLIENT_TIMEOUT_MS))
            .egressBufferLength(config.intSize(NodeConfig.Option.EGRESS_BUFFER_LENGTH))
            .idleStrategyName(config.idleStrategy())
            .maxCommandLength(config.intSize(NodeConfig.Option.MAX_COMMAND_LENGTH));
    }

    static EngineConfig engineConfig(final NodeConfig config)
    {
        final EngineConfig engineConfig = new EngineConfig();
        engineConfig.nodeAddress(config.nonEmpty(NodeConfig.Option.NODE_ADDRESS));
        for (final NodeConfig.Option option : NodeConfig.Option.values())
        {
            if (null == config.get(option))
            {
                continue;
            }
            switch (option)
            {
                case MAX_PARTITIONS:
                    engineConfig.maxPartitions(intValue(config, option));
                    break;
                case MAX_KEY_BYTES:
                    engineConfig.maxKeyBytes(intValue(config, option));
                    break;
                case MAX_ATTRIBUTES:
                    engineConfig.maxAttributes(intValue(config, option));
                    break;
                case MAX_ATTRIBUTE_NAME_BYTES:
                    engineConfig.maxAttributeNameBytes(intValue(config, option));
                    break;
                case MAX_ATTRIBUTE_VALUE_BYTES:
                    engineConfig.maxAttributeValueBytes(intValue(config, option));
                    break;
                case MAX_ATTRIBUTES_BYTES:
                    engineConfig.maxAttributesBytes(intValue(config, option));
                    break;
                case MAX_PUBLISH_BATCH:
                    engineConfig.maxPublishBatch(intValue(config, option));
                    break;
                case MAX_ACK_BATCH:
                    engineConfig.maxAckBatch(intValue(config, option));
                    break;
                case MAX_PERMITS:
                    engineConfig.maxPermits(intValue(config, option));
                    break;
                case MAX_LIVE_MESSAGES:
                    engineConfig.maxLiveMessages(config.longValue(option));
                    break;
                case MAX_LIVE_BYTES:
                    engineConfig.maxLiveBytes(config.size(option));
                    break;
                case DEFAULT_ACK_TIMEOUT_MS:
                    engineConfig.defaultAckTimeoutMs(config.longValue(option));
                    break;
                case DEFAULT_NACK_DELAY_MS:
                    engineConfig.defaultNackDelayMs(config.longValue(option));
                    break;
                case KEY_SHARED_LOOKAHEAD:
                    engineConfig.keySharedLookahead(intValue(config, option));
                    break;
                case MAX_DELIVERIES_PER_EVENT:
                    engineConfig.maxDeliveriesPerEvent(intValue(config, option));
                    break;
                default:
                    break;
            }
        }
        return engineConfig.conclude();
    }

    private static int intValue(final NodeConfig config, final NodeConfig.Option option)
    {
        final long value = config.longValue(option);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE)
        {
            throw config.invalid(option, "out of range");
        }
        return (int)value;
    }

    private void lockDataDir()
    {
        try
        {
            Files.createDirectories(dataDir);
            lockChannel = FileChannel.open(
                dataDir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try
            {
                lock = lockChannel.tryLock();
            }
            catch (final OverlappingFileLockException ex)
            {
                lock = null;
            }
            if (null == lock)
            {
                throw new IllegalStateException("data directory " + dataDir + " is in use by another node");
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot lock data directory " + dataDir, ex);
        }
    }

    private void onFatal(final Throwable cause)
    {
        engineFailure = cause;
        LOG.log(System.Logger.Level.ERROR, "engine failed, pipeline halted (fail-stop)", cause);
    }

    /**
     * @return the Aeron directory clients must use.
     */
    public String aeronDirectory()
    {
        return transportContext.aeronDirectoryName();
    }

    /**
     * @return the IPC ingress channel, or null when disabled.
     */
    public String ipcChannel()
    {
        return transportContext.ipcChannel();
    }

    /**
     * @return the UDP ingress channel, or null when disabled.
     */
    public String udpChannel()
    {
        return transportContext.udpChannel();
    }

    /**
     * @return the stream id of the ingress channels.
     */
    public int ingressStreamId()
    {
        return transportContext.ingressStreamId();
    }

    /**
     * @return the port the REST gateway is bound to (the actual one when {@code http-port} is 0), or -1 when REST is
     * disabled.
     */
    public int httpPort()
    {
        return httpPort;
    }

    /**
     * @return the address the REST gateway is bound to, or null when REST is disabled.
     */
    public String httpHost()
    {
        return httpHost;
    }

    /**
     * @return {@code host:port} of the REST gateway ({@code [::1]:8080} for IPv6), or null when REST is disabled.
     */
    public String httpAddress()
    {
        return null == httpHost ? null : address(httpHost, httpPort);
    }

    private static String address(final String host, final int port)
    {
        String literal = host;
        if (host.indexOf(':') >= 0 && !host.startsWith("["))
        {
            literal = "[" + host + "]";
        }
        return literal + ":" + port;
    }

    /**
     * @return true once the pipeline halted after a handler failure: the node no longer applies commands.
     */
    public boolean engineFailed()
    {
        return null != engineFailure || (null != pipeline && pipeline.isFailed());
    }

    /**
     * @return the failure that halted the pipeline, or null.
     */
    public Throwable engineFailure()
    {
        return null != engineFailure ? engineFailure : null != pipeline ? pipeline.failure() : null;
    }

    /**
     * @return how many times this data directory's node has started, this start included.
     */
    public long startCount()
    {
        return pipeline.startCount();
    }

    /**
     * @return the absolute data directory.
     */
    public Path dataDir()
    {
        return dataDir;
    }

    /**
     * @return the concluded configuration.
     */
    public NodeConfig config()
    {
        return config;
    }

    /**
     * @return 1 if this start cut a damaged journal tail (a torn or corrupted last record), else 0.
     */
    public long journalTailTruncations()
    {
        return pipeline.journalTailTruncations();
    }

    /**
     * @return journal records this start declared void when it cut a damaged journal (tail, or middle with
     * {@code --journal-recovery truncate}); 0 if the journal was intact.
     */
    public long journalEntriesDropped()
    {
        return pipeline.journalEntriesDropped();
    }

    /**
     * @return true while the journal's disk has less than {@code journal-min-free-mib} usable (publishes refused).
     */
    public boolean journalSpaceLow()
    {
        return pipeline.sequencer().isJournalSpaceLow();
    }

    /**
     * @return open sessions.
     */
    public int sessionCount()
    {
        return null == registry ? 0 : registry.size();
    }

    /**
     * @return the transport's counters by label (also visible to Aeron's {@code AeronStat}).
     */
    public Map<String, Long> counters()
    {
        synchronized (this)
        {
            return null == counters || closed ? Map.of() : counters.snapshot();
        }
    }

    /**
     * The snapshot options given (else the pipeline's defaults, which also read the {@code magnetar.snapshot.*}
     * system properties).
     */
    private static void snapshotOptions(final NodeConfig config, final PipelineContext ctx)
    {
        if (null != config.get(NodeConfig.Option.SNAPSHOT_INTERVAL_BYTES))
        {
            ctx.snapshotIntervalBytes(config.snapshotIntervalBytes());
        }
        if (null != config.get(NodeConfig.Option.SNAPSHOT_INTERVAL_ENTRIES))
        {
            ctx.snapshotIntervalEntries(config.positiveLong(NodeConfig.Option.SNAPSHOT_INTERVAL_ENTRIES));
        }
        if (null != config.get(NodeConfig.Option.SNAPSHOT_INTERVAL_MS))
        {
            ctx.snapshotIntervalMs(config.positiveLong(NodeConfig.Option.SNAPSHOT_INTERVAL_MS));
        }
        if (null != config.get(NodeConfig.Option.SNAPSHOTS_RETAINED))
        {
            ctx.snapshotsRetained(config.positiveInt(NodeConfig.Option.SNAPSHOTS_RETAINED));
        }
    }

    /**
     * Graceful drain and stop; idempotent.
     */
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }

        closeRest();

        if (null != ingress)
        {
            ingress.stopPolling();
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (!ingress.isPollingStopped() && !ingressRunner.isClosed() && System.nanoTime() < deadlineNs)
            {
                LockSupport.parkNanos(100_000);
            }
        }

        RuntimeException failure = null;
        try
        {
            CloseHelper.close(pipeline);
        }
        catch (final RuntimeException ex)
        {
            failure = ex;
        }

        final boolean hadSessions = null != registry && registry.size() > 0;
        CloseHelper.quietClose(ingressRunner);
        if (hadSessions && transportContext.shutdownLingerMs() > 0)
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(transportContext.shutdownLingerMs()));
        }
        closeQuietly();

        if (null != failure)
        {
            throw failure;
        }
    }

    /**
     * Gateway first (no new REST calls; its consumers detach and its producers finish while the node still answers),
     * then its client (session ended), before the node itself drains.
     */
    private void closeRest()
    {
        final RestGateway gateway = restGateway;
        restGateway = null;
        if (null != gateway)
        {
            try
            {
                gateway.close();
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, "REST gateway did not close cleanly", ex);
            }
        }
        final MagnetarClient client = restClient;
        restClient = null;
        if (null != client)
        {
            final long sessionId = client.sessionId();
            CloseHelper.quietClose(client);
            // The client's Disconnect is in the IPC log once close() returns, but the ingress agent may not have
            // polled it yet; wait (bounded) so the session ends as a clean disconnect before polling stops.
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (null != registry && registry.isOpen(sessionId) && null != ingressRunner &&
                !ingressRunner.isClosed() && System.nanoTime() < deadlineNs)
            {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    private void closeQuietly()
    {
        closeRest();
        CloseHelper.quietCloseAll(ingressRunner, pipeline, counters, aeron, driver);
        if (null != lock)
        {
            CloseHelper.quietClose(lock::release);
        }
        CloseHelper.quietClose(lockChannel);
    }
}
