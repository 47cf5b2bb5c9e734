package io.magnetar.engine.pipeline;

import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.NodeStartedDecoder;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalCorruptedException;
import io.magnetar.engine.journal.JournalReader;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.DirectBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The node's command pipeline: sequencer, ring, journal handler, engine handler, fail-stop.
 * <pre>{@code
 * final MutableEventListener egress = new MutableEventListener();
 * final Engine engine = new Engine(engineConfig, egress);
 * try (Pipeline pipeline = new Pipeline(new PipelineContext()
 *     .journalDir(dir).commandHandler(engine).egress(egress).eventListener(publisher)))
 * {
 *     pipeline.start();                           // replay (muted), then NodeStarted
 *     final Sequencer sequencer = pipeline.sequencer();
 *     ...                                         // one ingress thread: sequencer.offer(...), sequencer.doWork()
 * }
 * }</pre>
 * <b>Guarantees.</b> Commands are applied in the order they were sequenced, each only after its batch is in
 * the journal (and, under SYNC durability, on disk), except queries, which are applied without being
 * journaled. Replaying the journal into a fresh command handler feeds it exactly the journaled commands with
 * their original stamps. If any handler throws, the pipeline halts: nothing after the failure is applied,
 * {@link #isFailed()} turns true and the context's {@code onFatal} is told.
 * <p>
 * <b>Lifecycle.</b> {@link #Pipeline(PipelineContext)} concludes the context, opens the journal and builds the
 * ring; {@link #start()} replays and starts the handler threads; {@link #close()} stops accepting, drains
 * what was sequenced, stops the threads and closes the journal.
 */
public final class Pipeline implements AutoCloseable
{
    private static final int NEW = 0;
    private static final int RUNNING = 1;
    private static final int CLOSED = 2;
    private static final int START_FAILED = 3;

    private final PipelineContext ctx;
    private final Journal journal;
    private final Disruptor<CommandSlot> disruptor;
    private final RingBuffer<CommandSlot> ringBuffer;
    private final FailStopExceptionHandler failStop;
    private final Sequencer sequencer;
    private final Sequence journaledSequence = new Sequence(-1);
    private final Sequence appliedSequence = new Sequence(-1);
    private final AtomicLong nextDeadlineMs = new AtomicLong(Long.MAX_VALUE);
    private final List<Thread> threads = new ArrayList<>();
    private volatile int state = NEW;
    private volatile ReplayResult replayResult;
    private volatile long startCount;

    /**
     * Conclude the context, open the journal and build the ring. Nothing runs until {@link #start()}.
     *
     * @param ctx configuration; concluded here.
     */
    public Pipeline(final PipelineContext ctx)
    {
        this.ctx = ctx.isConcluded() ? ctx : ctx.conclude();
        failStop = new FailStopExceptionHandler(this::halt, ctx.onFatal());

        final int slotCapacity = ctx.slotCapacity();
        disruptor = new Disruptor<>(
            () -> new CommandSlot(slotCapacity),
            ctx.ringSize(),
            new HandlerThreadFactory(ctx.threadNamePrefix(), ctx.threadingMode()),
            ProducerType.SINGLE,
            ctx.waitStrategySupplier().get());
        disruptor.setDefaultExceptionHandler(failStop);
        ringBuffer = disruptor.getRingBuffer();

        journal = new Journal(ctx.journalDir(), ctx.rollCycle(), ctx.durability());
        try
        {
            final CommandHandler commandHandler = ctx.commandHandler();
            if (ctx.threadingMode() == ThreadingMode.DEDICATED)
            {
                disruptor
                    .handleEventsWith(new JournalHandler(journal, failStop, journaledSequence))
                    .then(new EngineHandler(commandHandler, failStop, appliedSequence, nextDeadlineMs));
            }
            else
            {
                disruptor.handleEventsWith(new SharedHandler(
                    ringBuffer, journal, commandHandler, failStop, journaledSequence, appliedSequence, nextDeadlineMs));
            }

            sequencer = new Sequencer(
                ringBuffer, ctx.epochClock(), ctx.maxCommandLength(), appliedSequence, nextDeadlineMs, failStop);
        }
        catch (final RuntimeException ex)
        {
            journal.close();
            throw ex;
        }
    }

    /**
     * Replay the journal through the command handler on this thread with egress muted, switch egress to the
     * context's event listener, start the handler threads, sequence a {@code NodeStarted} command (journaled
     * like any other) and start accepting offers.
     *
     * @throws JournalCorruptedException if the journal holds a record that is not intact (nothing at or after
     *                                   it was applied; the pipeline does not start).
     * @throws IllegalStateException     if already started or closed.
     */
    public void start()
    {
        if (state != NEW)
        {
            throw new IllegalStateException("pipeline not new: state=" + state);
        }

        final MutableEventListener egress = ctx.egress();
        final CommandHandler commandHandler = ctx.commandHandler();
        final ReplayCounter counter = new ReplayCounter(commandHandler);
        try
        {
            egress.delegate(EventListener.MUTED);
            final ReplayResult result = journal.replay(counter);
            replayResult = result;
            if (!result.isComplete())
            {
                throw new JournalCorruptedException(result);
            }

            egress.delegate(ctx.eventListener());
            startCount = counter.nodeStarts + 1;
            nextDeadlineMs.set(commandHandler.nextDeadlineMs());
            sequencer.lastTimestampMs(counter.lastTimestampMs);

            disruptor.start();

            if (!sequencer.offerNodeStarted(startCount))
            {
                throw new IllegalStateException("ring full at start");
            }
            sequencer.accepting(true);
            state = RUNNING;
        }
        catch (final RuntimeException | Error ex)
        {
            state = START_FAILED;
            throw ex;
        }
    }

    /**
     * @return the producer API; one thread only.
     */
    public Sequencer sequencer()
    {
        return sequencer;
    }

    /**
     * @return true between a successful {@link #start()} and {@link #close()}, unless failed.
     */
    public boolean isRunning()
    {
        return state == RUNNING && !failStop.isFailed();
    }

    /**
     * @return true once a handler has failed and the pipeline halted.
     */
    public boolean isFailed()
    {
        return failStop.isFailed();
    }

    /**
     * @return the first handler failure, or null.
     */
    public Throwable failure()
    {
        return failStop.cause();
    }

    /**
     * @return the fail-stop exception handler (failure details).
     */
    public FailStopExceptionHandler failStop()
    {
        return failStop;
    }

    /**
     * @return what the replay in {@link #start()} found, or null before it ran.
     */
    public ReplayResult replayResult()
    {
        return replayResult;
    }

    /**
     * @return the {@code startCount} of the {@code NodeStarted} this start journaled (1 on a fresh journal).
     */
    public long startCount()
    {
        return startCount;
    }

    /**
     * @return highest ring sequence whose batch is journaled (and synced under SYNC), -1 if none.
     */
    public long journaledSequence()
    {
        return journaledSequence.get();
    }

    /**
     * @return highest ring sequence applied by the command handler, -1 if none.
     */
    public long appliedSequence()
    {
        return appliedSequence.get();
    }

    /**
     * @return highest ring sequence published by the sequencer, -1 if none.
     */
    public long publishedSequence()
    {
        return ringBuffer.getCursor();
    }

    /**
     * @return the engine's next deadline as last published by the engine handler.
     */
    public long nextDeadlineMs()
    {
        return nextDeadlineMs.get();
    }

    /**
     * @return the journal (counters; reading while running is fine, appending is not).
     */
    public Journal journal()
    {
        return journal;
    }

    /**
     * @return the concluded context.
     */
    public PipelineContext context()
    {
        return ctx;
    }

    /**
     * Stop accepting offers, wait (up to the close timeout) until everything sequenced has been applied unless
     * the pipeline failed, stop the handler threads and close the journal. Idempotent. May be called from the
     * {@code onFatal} callback.
     *
     * @throws IllegalStateException if a handler thread did not stop in time (the journal is then left open).
     */
    public void close()
    {
        final int previous;
        synchronized (this)
        {
            previous = state;
            if (previous == CLOSED)
            {
                return;
            }
            state = CLOSED;
        }

        sequencer.accepting(false);
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ctx.closeTimeoutMs());
        boolean stopped = true;
        if (disruptor.hasStarted())
        {
            final long target = ringBuffer.getCursor();
            while (!failStop.isFailed() && appliedSequence.get() < target && System.nanoTime() < deadlineNs)
            {
                LockSupport.parkNanos(100_000);
            }

            disruptor.halt();
            stopped = joinThreads(deadlineNs);
        }

        if (!stopped)
        {
            throw new IllegalStateException("pipeline handler threads did not stop within " +
                ctx.closeTimeoutMs() + " ms; journal left open: " + ctx.journalDir());
        }

        journal.close();
    }

    List<Thread> threads()
    {
        synchronized (threads)
        {
            return new ArrayList<>(threads);
        }
    }

    private boolean joinThreads(final long deadlineNs)
    {
        boolean allStopped = true;
        for (final Thread thread : threads())
        {
            if (thread == Thread.currentThread())
            {
                continue;
            }

            try
            {
                final long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
                thread.join(Math.max(1, remainingMs));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }

            allStopped &= !thread.isAlive();
        }

        return allStopped;
    }

    private void halt()
    {
        sequencer().accepting(false);
        disruptor.halt();
    }

    /**
     * Replays into the command handler and notes what the restart needs: NodeStarted count, last stamp.
     */
    private static final class ReplayCounter implements JournalReader.Handler
    {
        private final CommandHandler commandHandler;
        private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
        private long nodeStarts;
        private long lastTimestampMs = Long.MIN_VALUE;

        ReplayCounter(final CommandHandler commandHandler)
        {
            this.commandHandler = commandHandler;
        }

        public void onEntry(
            final long sessionId,
            final long timestampMs,
            final DirectBuffer buffer,
            final int offset,
            final int length,
            final long index)
        {
            if (length >= MessageHeaderDecoder.ENCODED_LENGTH)
            {
                headerDecoder.wrap(buffer, offset);
                if (headerDecoder.schemaId() == NodeStartedDecoder.SCHEMA_ID &&
                    headerDecoder.templateId() == NodeStartedDecoder.TEMPLATE_ID)
                {
                    nodeStarts++;
                }
            }
            lastTimestampMs = Math.max(lastTimestampMs, timestampMs);

            commandHandler.onCommand(sessionId, timestampMs, buffer, offset, length);
        }
    }

    /**
     * Names the handler threads by role and keeps them so that close can join them.
     */
    private final class HandlerThreadFactory implements ThreadFactory
    {
        private final String[] names;
        private int count;

        HandlerThreadFactory(final String prefix, final ThreadingMode mode)
        {
            names = mode == ThreadingMode.DEDICATED ?
                new String[]{ prefix + "journal", prefix + "engine" } : new String[]{ prefix + "pipeline" };
        }

        public Thread newThread(final Runnable runnable)
        {
            final String name = count < names.length ? names[count] : names[0] + "-" + count;
            count++;
            final Thread thread = new Thread(runnable, name);
            synchronized (threads)
            {
                threads.add(thread);
            }

            return thread;
        }
    }
}
