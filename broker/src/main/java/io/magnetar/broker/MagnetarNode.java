package io.magnetar.broker;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.journal.ReplayResult;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
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
 * A running node: embedded media driver (optional), journal + pipeline + engine, and the Aeron transport.
 * <pre>{@code
 * try (MagnetarNode node = MagnetarNode.launch(new NodeConfig().dataDir(dir).aeronDir(aeronDir)))
 * {
 *     // clients connect to node.aeronDirectory(), node.ipcChannel() / node.udpChannel(), node.ingressStreamId()
 * }
 * }</pre>
 * <b>Start:</b> lock the data directory, launch the driver, connect Aeron, replay the journal into the engine (muted),
 * journal {@code NodeStarted}, then open the ingress channels: clients can connect only once the node is ready.
 * <p>
 * <b>Close</b> (graceful drain): stop polling the ingress (nothing new enters), let the ring drain so every sequenced
 * command is journaled, applied and answered, close the journal, end every session ({@code SessionEnded}), linger
 * briefly so the driver sends the last responses, close the driver (deleting its directory) and unlock the data
 * directory.
 */
public final class MagnetarNode implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("io.magnetar.broker");
    private static final String LOCK_FILE = "magnetar.lock";
    private static final String JOURNAL_DIR = "journal";

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
        final Engine engine = new Engine(engineConfig(config), egress);
        final long replayStartNs = System.nanoTime();
        pipeline = new Pipeline(new PipelineContext()
            .journalDir(dataDir.resolve(JOURNAL_DIR).toFile())
            .durability(config.durability())
            .threadingMode(config.threadingMode())
            .waitStrategyName(config.waitStrategy())
            .idleStrategyName(config.idleStrategy())
            .ringSize(config.ringSize())
            .maxCommandLength(config.intSize(NodeConfig.Option.MAX_COMMAND_LENGTH))
            .rollCycleName(config.nonEmpty(NodeConfig.Option.ROLL_CYCLE))
            .commandHandler(engine)
            .egress(egress)
            .eventListener(egressPublisher)
            .onFatal(this::onFatal));
        pipeline.start();

        final ReplayResult replay = pipeline.replayResult();
        LOG.log(System.Logger.Level.INFO, "journal.replayed", "entries", replay.entries(), "ms",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - replayStartNs), "startCount", pipeline.startCount(),
            "liveMessages", engine.liveMessages());

        ingress = new IngressAgent(
            transportContext, aeron, pipeline.sequencer(), pipeline.startCount(), registry, counters);
        ingressRunner = new AgentRunner(
            transportContext.idleStrategySupplier().get(), errorHandler, null, ingress);
        AgentRunner.startOnThread(ingressRunner);
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

    private void closeQuietly()
    {
        CloseHelper.quietCloseAll(ingressRunner, pipeline, counters, aeron, driver);
        if (null != lock)
        {
            CloseHelper.quietClose(lock::release);
        }
        CloseHelper.quietClose(lockChannel);
    }
}
