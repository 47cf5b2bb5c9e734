package io.magnetar.rest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.magnetar.client.MagnetarClient;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.journal.Durability;
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
import org.agrona.concurrent.AgentRunner;

/**
 * A real node in the test's JVM: embedded media driver in a unique {@code /dev/shm/magnetar-test-<random>}
 * directory, engine, Chronicle journal in a temporary directory and pipeline, Aeron IPC ingress and egress — wired from
 * the transport and engine modules as the broker's node does it (the broker module depends on this one, so the tests
 * cannot use its {@code MagnetarNode} without a cycle). Both directories are deleted on close. Errors of the node's
 * agents are collected in {@link #errors()}.
 */
final class TestNode implements AutoCloseable
{
    final String aeronDir;
    final Path journalDir;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final TransportCounters counters;
    private final Pipeline pipeline;
    private final IngressAgent ingress;
    private final AgentRunner runner;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private boolean closed;

    TestNode()
    {
        this(new EngineConfig());
    }

    TestNode(final EngineConfig engineConfig)
    {
        aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
        try
        {
            journalDir = Files.createTempDirectory("magnetar-rest-test");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        final TransportContext ctx = new TransportContext()
            .aeronDirectoryName(aeronDir)
            .ipcChannel("aeron:ipc")
            .udpChannel("none")
            .ipcTermLength(4 * 1024 * 1024)
            .idleStrategyName("backoff")
            .errorHandler(errors::add);
        ctx.conclude();

        driver = MediaDriverLauncher.launch(ctx);
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDir).errorHandler(errors::add));
        counters = TransportCounters.allocate(aeron);
        final SessionRegistry registry = new SessionRegistry();
        final EgressPublisher egress = new EgressPublisher(ctx, registry, counters);
        final MutableEventListener events = new MutableEventListener();
        final Engine engine = new Engine(engineConfig, events);
        pipeline = new Pipeline(new PipelineContext()
            .journalDir(journalDir.toFile())
            .durability(Durability.ASYNC)
            .commandHandler(engine)
            .egress(events)
            .eventListener(egress)
            .onFatal(errors::add));
        pipeline.start();
        ingress = new IngressAgent(ctx, aeron, pipeline.sequencer(), pipeline.startCount(), registry, counters);
        runner = new AgentRunner(ctx.idleStrategySupplier().get(), errors::add, null, ingress);
        AgentRunner.startOnThread(runner);
    }

    /**
     * @return a client connected to this node over IPC.
     */
    MagnetarClient newClient(final String name)
    {
        return MagnetarClient.builder()
            .aeronDirectory(aeronDir)
            .ingressChannel("aeron:ipc")
            .clientName(name)
            .operationTimeout(Duration.ofSeconds(5))
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    }

    List<Throwable> errors()
    {
        return errors;
    }

    /**
     * Stop the node (the gateway's client loses its broker); idempotent.
     */
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        ingress.stopPolling();
        final long deadline = System.currentTimeMillis() + 2_000;
        while (!ingress.isPollingStopped() && System.currentTimeMillis() < deadline && !runner.isClosed())
        {
            Thread.onSpinWait();
        }
        CloseHelper.quietClose(pipeline);
        CloseHelper.quietCloseAll(runner, counters, aeron, driver);
        deleteRecursively(journalDir);
        deleteRecursively(Path.of(aeronDir));
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
