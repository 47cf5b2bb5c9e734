package io.magnetar.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.magnetar.codecs.AckEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.engine.pipeline.Sequencer;
import io.magnetar.engine.pipeline.ThreadingMode;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The whole pipeline without a transport: publish → journal → engine → deliver → ack → journal → engine, end to
 * end, with a real Chronicle journal in a temporary directory.
 * <p>
 * <b>One producer.</b> The benchmark thread is the ingress agent, the only caller of {@link Sequencer}: each
 * invocation of {@link #dutyCycle} is one duty cycle that runs the sequencer's {@code doWork()} (ticks), offers
 * acks for what was delivered, offers publish batches of {@code publishBatch} messages, then idles with the
 * context's idle strategy if it did nothing. The engine's events reach {@link EventCounter} on the pipeline's
 * thread, which hands every delivered id to the producer through a single-producer single-consumer ring
 * ({@link IdRing}); the producer encodes acks of up to {@code ackBatch} ids from it (SBE, no allocation) and
 * offers them like any client command.
 * <p>
 * <b>Flow control</b> is the consumer's: one shared-subscription consumer with a window of {@code window}
 * permits, and the producer keeps at most {@code window} messages published and not yet acked (as a client with
 * that many pending messages would), so the backlog stays bounded and every message is delivered as soon as it
 * is applied.
 * <p>
 * <b>Results.</b> The score that matters is the secondary result {@code completed}: messages per second whose
 * ack the engine applied (its AckReceipt counted them done), i.e. published, journaled, delivered, acked and
 * journaled again. {@code published} is messages offered per second and {@code commands} commands sequenced
 * per second. The primary score only counts duty cycles.
 * <p>
 * <b>Verified</b> at the end of the trial, after draining: every published message was receipted once, delivered
 * once (first delivery) and acked once, no command was refused, the engine holds nothing, the pipeline did not
 * fail, and the journal took exactly the commands sequenced (the benchmark's, the node's {@code NodeStarted},
 * the sequencer's ticks and snapshot markers).
 * <p>
 * The pipeline runs with its defaults but for durability and threading, snapshots included: with the default
 * trigger (every 32 MiB of journal) a snapshot is taken every few hundred milliseconds at these rates, on the
 * applying thread, and under ASYNC it first forces the journal up to its entry.
 */
@State(Scope.Thread)
public class PipelineBenchmark extends MagnetarBenchmark
{
    private static final long SESSION = 1;
    private static final int KEYS = 1_000;
    private static final String DEFAULT = "default";
    private static final String THREAD_PREFIX = "magnetar-bench-";
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);
    private static final int PUBLISH_CORRELATION_ID_OFFSET =
        MessageHeaderEncoder.ENCODED_LENGTH + PublishEncoder.correlationIdEncodingOffset();

    @Param({"SHARED", "DEDICATED"})
    public ThreadingMode threading;

    @Param({"ASYNC"})
    public Durability durability;

    @Param({"100"})
    public int publishBatch;

    @Param({"100"})
    public int ackBatch;

    @Param({"10000"})
    public int window;

    /** Disruptor wait strategy name, or {@code default} for the pipeline's default. */
    @Param({DEFAULT})
    public String waitStrategy;

    /** Agrona idle strategy name for this producer, or {@code default} for the pipeline's default. */
    @Param({DEFAULT})
    public String idleStrategy;

    private final ExpandableArrayBuffer ackFrame = new ExpandableArrayBuffer(4096);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final AckEncoder ack = new AckEncoder();
    private ExpandableArrayBuffer[] publishFrames;
    private int publishFrameLength;
    private int nextFrame;

    private Path dir;
    private Engine engine;
    private Pipeline pipeline;
    private Sequencer sequencer;
    private IdleStrategy idle;
    private EventCounter events;
    private IdRing idRing;
    private long consumerId;
    private long correlationId;

    private long published;
    private long ackedOffered;
    private long commands;
    private long setupCommands;
    private long iterationPublished;
    private long iterationCompleted;
    private long iterationCommands;

    private final ThreadMXBean threadMXBean = ManagementFactory.getThreadMXBean();
    private final List<Thread> threads = new ArrayList<>();
    private long[] iterationCpuNs;
    private long iterationStartNs;
    private Thread producer;

    /**
     * Rates reported next to the primary score (JMH divides them by the iteration's time).
     */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Rates
    {
        /** Messages whose ack the engine applied: the end-to-end figure. */
        public long completed;
        /** Messages offered in publish batches. */
        public long published;
        /** Commands sequenced (publish and ack). */
        public long commands;

        @Setup(Level.Iteration)
        public void reset()
        {
            completed = 0;
            published = 0;
            commands = 0;
        }
    }

    @Setup(Level.Trial)
    public void start() throws IOException
    {
        if (publishBatch < 1 || ackBatch < 1 || window < publishBatch)
        {
            throw new IllegalArgumentException("need publishBatch >= 1, ackBatch >= 1, window >= publishBatch");
        }

        dir = TempDirs.create("magnetar-bench-pipeline-");
        idRing = new IdRing(window);
        events = new EventCounter(1, idRing);
        final MutableEventListener egress = new MutableEventListener();
        engine = new Engine(new EngineConfig(), egress);

        final PipelineContext ctx = new PipelineContext()
            .journalDir(dir.toFile())
            .durability(durability)
            .threadingMode(threading)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(events)
            .threadNamePrefix(THREAD_PREFIX);
        if (!DEFAULT.equals(waitStrategy))
        {
            ctx.waitStrategyName(waitStrategy);
        }
        if (!DEFAULT.equals(idleStrategy))
        {
            ctx.idleStrategyName(idleStrategy);
        }

        pipeline = new Pipeline(ctx);
        pipeline.start();
        sequencer = pipeline.sequencer();
        idle = ctx.idleStrategySupplier().get();

        final CommandEncoder setup = new CommandEncoder();
        offerOrFail(setup.buffer(), setup.createTopic(++correlationId, "bench", 16));
        offerOrFail(setup.buffer(), setup.subscribe(++correlationId, "bench", "s", SubscriptionType.SHARED, window, "c"));
        final long deadlineNs = System.nanoTime() + TIMEOUT_NS;
        while (events.attached() == 0)
        {
            requireRunning(deadlineNs, "consumer to attach");
            idle.idle(0);
        }
        events.requireNoErrors();
        consumerId = events.consumerId(0);
        setupCommands = commands;

        encodePublishFrames(events.topicId());

        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            if (thread.getName().startsWith(THREAD_PREFIX))
            {
                threads.add(thread);
            }
        }
        iterationCpuNs = new long[threads.size() + 1];
    }

    @Setup(Level.Iteration)
    public void markIteration()
    {
        iterationPublished = published;
        iterationCompleted = events.acked();
        iterationCommands = commands;
        producer = Thread.currentThread();
        for (int i = 0; i < iterationCpuNs.length; i++)
        {
            iterationCpuNs[i] = cpuNs(i);
        }
        iterationStartNs = System.nanoTime();
    }

    /**
     * Prints how busy each thread was during the iteration (CPU time / wall time), which tells a saturated
     * pipeline thread from one that waits.
     */
    @TearDown(Level.Iteration)
    public void reportCpu()
    {
        final long wallNs = System.nanoTime() - iterationStartNs;
        final StringBuilder line = new StringBuilder("[cpu");
        for (int i = 0; i < iterationCpuNs.length; i++)
        {
            line.append(' ').append(i < threads.size() ? threads.get(i).getName() : "producer").append(' ')
                .append(Math.round(100.0 * (cpuNs(i) - iterationCpuNs[i]) / wallNs)).append('%');
        }
        System.out.print(line.append("] "));
    }

    private long cpuNs(final int index)
    {
        return threadMXBean.getThreadCpuTime((index < threads.size() ? threads.get(index) : producer).getId());
    }

    @Benchmark
    public int dutyCycle(final Rates rates)
    {
        final int work = sequencer.doWork() + offerAcks() + offerPublishes();
        idle.idle(work);

        rates.completed = events.acked() - iterationCompleted;
        rates.published = published - iterationPublished;
        rates.commands = commands - iterationCommands;

        return work;
    }

    @TearDown(Level.Trial)
    public void drainVerifyAndStop() throws IOException
    {
        try
        {
            final long deadlineNs = System.nanoTime() + TIMEOUT_NS;
            while (events.acked() < published)
            {
                requireRunning(deadlineNs, "the last acks");
                idle.idle(sequencer.doWork() + offerAcks());
            }
            events.requireNoErrors();

            final long clientCommands = commands;
            final long ticks = sequencer.ticks();
            final long markers = sequencer.snapshotMarkers();
            pipeline.close();

            // after close the pipeline threads are joined: the engine's state is safe to read here
            final long journaled = pipeline.journal().appendCount();
            final long expectedJournaled = clientCommands + 1 + ticks + markers; // + NodeStarted
            if (pipeline.isFailed() || engine.liveMessages() != 0 || events.receipted() != published ||
                events.delivered() != published || events.acked() != published || events.redelivered() != 0 ||
                events.unknownAcks() != 0 || ackedOffered != published || journaled != expectedJournaled)
            {
                throw new IllegalStateException("published " + published + ", acks offered " + ackedOffered +
                    ", live " + engine.liveMessages() + ", journaled " + journaled + " of " + expectedJournaled +
                    " commands, failed " + pipeline.isFailed() + ": " + events.describe());
            }

            final long publishCommands = published / publishBatch;
            final long ackCommands = clientCommands - setupCommands - publishCommands;
            System.out.printf("%n[pipeline] %d messages in %d publish and %d ack commands (%.1f ids per ack), " +
                "%d Deliveries events (%.1f messages each), %d ticks, journal %d records; %d snapshots " +
                "(%d failed, longest %.1f ms)%n",
                published, publishCommands, ackCommands, (double)published / Math.max(1, ackCommands),
                events.deliveryEvents(), (double)events.delivered() / Math.max(1, events.deliveryEvents()),
                ticks, journaled, pipeline.snapshotCount(), pipeline.snapshotFailures(),
                pipeline.maxSnapshotNs() / 1e6);
        }
        finally
        {
            pipeline.close();
            TempDirs.delete(dir);
        }
    }

    private int offerPublishes()
    {
        int work = 0;
        while (published + publishBatch - ackedOffered <= window)
        {
            final ExpandableArrayBuffer frame = publishFrames[nextFrame];
            frame.putLong(PUBLISH_CORRELATION_ID_OFFSET, ++correlationId, LITTLE_ENDIAN);
            if (!sequencer.offer(SESSION, frame, 0, publishFrameLength))
            {
                --correlationId;
                break;
            }

            nextFrame = nextFrame + 1 == publishFrames.length ? 0 : nextFrame + 1;
            published += publishBatch;
            commands++;
            work++;
        }

        return work;
    }

    private int offerAcks()
    {
        int work = 0;
        int available;
        while ((available = idRing.available()) > 0)
        {
            final int count = Math.min(available, ackBatch);
            final AckEncoder.IdsEncoder ids = ack.wrapAndApplyHeader(ackFrame, 0, header)
                .correlationId(correlationId + 1)
                .consumerId(consumerId)
                .idsCount(count);
            idRing.encode(ids, count);
            if (!sequencer.offer(SESSION, ackFrame, 0, MessageHeaderEncoder.ENCODED_LENGTH + ack.encodedLength()))
            {
                break;
            }

            correlationId++;
            idRing.consume(count);
            ackedOffered += count;
            commands++;
            work++;
        }

        return work;
    }

    private void encodePublishFrames(final int topicId)
    {
        final MessageFactory messages = new MessageFactory();
        messages.keys(KEYS);
        final PublishEncoder publish = new PublishEncoder();
        publishFrames = new ExpandableArrayBuffer[(KEYS + publishBatch - 1) / publishBatch];
        long number = 0;
        for (int f = 0; f < publishFrames.length; f++)
        {
            publishFrames[f] = new ExpandableArrayBuffer(publishBatch * 128);
            final PublishEncoder.MessagesEncoder group = publish.wrapAndApplyHeader(publishFrames[f], 0, header)
                .correlationId(0)
                .topicId(topicId)
                .messagesCount(publishBatch);
            for (int m = 0; m < publishBatch; m++)
            {
                messages.encode(group.next(), number++);
            }
            publishFrameLength = MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength();
        }
    }

    private void offerOrFail(final DirectBuffer buffer, final int length)
    {
        final long deadlineNs = System.nanoTime() + TIMEOUT_NS;
        while (!sequencer.offer(SESSION, buffer, 0, length))
        {
            requireRunning(deadlineNs, "ring space");
            idle.idle(0);
        }
        commands++;
    }

    private void requireRunning(final long deadlineNs, final String waitingFor)
    {
        if (pipeline.isFailed())
        {
            throw new IllegalStateException("pipeline failed: " + events.describe(), pipeline.failure());
        }
        if (System.nanoTime() > deadlineNs)
        {
            throw new IllegalStateException("timed out waiting for " + waitingFor + ": published " + published +
                ", acks offered " + ackedOffered + ": " + events.describe());
        }
    }
}
