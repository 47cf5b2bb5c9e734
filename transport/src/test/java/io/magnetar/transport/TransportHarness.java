package io.magnetar.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.transport.fixture.RawSession;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;

/**
 * A broker without the broker module: embedded driver in a unique {@code /dev/shm} directory, a real engine and
 * pipeline on a temporary journal (async durability), the egress publisher and the ingress agent on its own thread.
 * Every unexpected error of the transport's agents and of the pipeline is collected in {@link #errors()}.
 */
final class TransportHarness implements AutoCloseable
{
    final String aeronDir;
    final int udpPort;
    final Path journalDir;
    final TransportContext ctx;
    final MediaDriver driver;
    final Aeron aeron;
    final SessionRegistry registry = new SessionRegistry();
    final TransportCounters counters;
    final Engine engine;
    final Pipeline pipeline;
    final IngressAgent ingress;
    final EgressPublisher egressPublisher;
    final AgentRunner runner;
    final AgentInvoker invoker;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    TransportHarness(final Consumer<TransportContext> transportConfig)
    {
        this(transportConfig, 16 * 1024, UnaryOperator.identity());
    }

    TransportHarness(
        final Consumer<TransportContext> transportConfig,
        final int ringSize,
        final UnaryOperator<CommandHandler> handlerWrapper)
    {
        this(transportConfig, ringSize, handlerWrapper, false);
    }

    /**
     * @param useInvoker true: the ingress agent runs only when the test calls {@code invoker.invoke()}.
     */
    TransportHarness(
        final Consumer<TransportContext> transportConfig,
        final int ringSize,
        final UnaryOperator<CommandHandler> handlerWrapper,
        final boolean useInvoker)
    {
        this(transportConfig, ringSize, handlerWrapper, useInvoker, (pipelineContext) -> {});
    }

    /**
     * @param pipelineConfig adjusts the pipeline's context before it is built.
     */
    TransportHarness(
        final Consumer<TransportContext> transportConfig,
        final int ringSize,
        final UnaryOperator<CommandHandler> handlerWrapper,
        final boolean useInvoker,
        final Consumer<PipelineContext> pipelineConfig)
    {
        aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        udpPort = freeUdpPort();
        try
        {
            journalDir = Files.createTempDirectory("magnetar-transport-test");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }

        ctx = new TransportContext()
            .aeronDirectoryName(aeronDir)
            .udpChannel("aeron:udp?endpoint=localhost:" + udpPort)
            .ipcChannel("aeron:ipc")
            .ipcTermLength(1024 * 1024)
            .udpTermLength(1024 * 1024)
            .errorHandler(errors::add);
        transportConfig.accept(ctx);
        ctx.conclude();

        driver = MediaDriverLauncher.launch(ctx);
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDir).errorHandler(errors::add));
        counters = TransportCounters.allocate(aeron);
        egressPublisher = new EgressPublisher(ctx, registry, counters);

        final MutableEventListener egress = new MutableEventListener();
        engine = new Engine(new EngineConfig(), egress);
        final PipelineContext pipelineContext = new PipelineContext()
            .journalDir(journalDir.toFile())
            .durability(Durability.ASYNC)
            .ringSize(ringSize)
            .commandHandler(handlerWrapper.apply(engine))
            .egress(egress)
            .eventListener(egressPublisher)
            .onFatal(errors::add);
        pipelineConfig.accept(pipelineContext);
        pipeline = new Pipeline(pipelineContext);
        pipeline.start();

        ingress = new IngressAgent(ctx, aeron, pipeline.sequencer(), pipeline.startCount(), registry, counters);
        if (useInvoker)
        {
            runner = null;
            invoker = new AgentInvoker(errors::add, null, ingress);
            invoker.start();
        }
        else
        {
            invoker = null;
            runner = new AgentRunner(ctx.idleStrategySupplier().get(), errors::add, null, ingress);
            AgentRunner.startOnThread(runner);
        }
    }

    String ipcChannel()
    {
        return ctx.ipcChannel();
    }

    String udpChannel()
    {
        return ctx.udpChannel();
    }

    int streamId()
    {
        return ctx.ingressStreamId();
    }

    RawSession ipcSession(final String name)
    {
        return new RawSession(aeron, ipcChannel(), streamId(), false, name);
    }

    RawSession udpSession(final String name)
    {
        return new RawSession(aeron, udpChannel(), streamId(), true, name);
    }

    List<Throwable> errors()
    {
        return errors;
    }

    public void close()
    {
        ingress.stopPolling();
        final long deadline = System.currentTimeMillis() + 2_000;
        while (null != runner && !ingress.isPollingStopped() && System.currentTimeMillis() < deadline &&
            !runner.isClosed())
        {
            Thread.onSpinWait();
        }
        if (null != invoker)
        {
            invoker.invoke();
        }
        CloseHelper.quietClose(pipeline);
        CloseHelper.quietCloseAll(runner, invoker, counters, aeron, driver);
        deleteRecursively(journalDir);
        deleteRecursively(Path.of(aeronDir));
    }

    static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(0))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static void deleteRecursively(final Path dir)
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach((p) -> p.toFile().delete());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
