package io.magnetar.engine.pipeline;

import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.Snapshottable;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalCorruptedException;
import io.magnetar.engine.journal.JournalRecovery;
import io.magnetar.engine.journal.ReplayResult;
import io.magnetar.engine.snapshot.SnapshotInfo;
import io.magnetar.engine.snapshot.SnapshotStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
 * ring; {@link #start()} recovers (latest complete snapshot, then the journal after it) and starts the handler
 * threads; {@link #close()} stops accepting, drains what was sequenced, stops the threads, takes a snapshot and
 * closes the journal.
 * <p>
 * <b>Snapshots</b> (when the command handler is {@link Snapshottable}) are commands in the stream: the sequencer
 * injects a {@code TakeSnapshot} marker when one is due (entries, bytes or time since the last one, see
 * {@link Sequencer#doWork()}, or {@link #requestSnapshot()}); the journal rolls to a new cycle file right before
 * it; the engine thread, having applied everything up to it, writes the snapshot of the state at the marker's
 * journal index, then deletes older snapshots beyond the retained ones and the journal cycles before the oldest
 * snapshot kept. The engine stalls while it writes (see docs/ENGINE.md for figures).
 */
public final class Pipeline implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("io.magnetar.engine.journal");
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
    private final SnapshotStore snapshotStore;
    private final Snapshotter snapshotter;
    private final Sequence journaledSequence = new Sequence(-1);
    private final Sequence appliedSequence = new Sequence(-1);
    private final AtomicLong nextDeadlineMs = new AtomicLong(Long.MAX_VALUE);
    private final List<Thread> threads = new ArrayList<>();
    private volatile int state = NEW;
    private volatile ReplayResult replayResult;
    private volatile SnapshotInfo recoveredSnapshot;
    private volatile long startCount;
    private volatile Journal.Cut journalCut;
    private volatile boolean tailCut;
    private final JournalSpaceProbe spaceProbe;

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
            final Snapshottable snapshottable = ctx.snapshottable();
            snapshotStore = new SnapshotStore(ctx.snapshotDir().toPath());
            snapshotter = null == snapshottable || !ctx.snapshotEnabled() ?
                null : new Snapshotter(
                    snapshottable, snapshotStore, journal, ctx.snapshotsRetained(), ctx.threadNamePrefix());
            if (ctx.threadingMode() == ThreadingMode.DEDICATED)
            {
                disruptor
                    .handleEventsWith(new JournalHandler(journal, failStop, journaledSequence))
                    .then(new EngineHandler(commandHandler, snapshotter, failStop, appliedSequence, nextDeadlineMs));
            }
            else
            {
                disruptor.handleEventsWith(new SharedHandler(
                    ringBuffer, journal, commandHandler, snapshotter, failStop, journaledSequence, appliedSequence,
                    nextDeadlineMs));
            }

            sequencer = new Sequencer(
                ringBuffer, ctx.epochClock(), ctx.maxCommandLength(), appliedSequence, nextDeadlineMs, failStop);
            spaceProbe = ctx.journalMinFreeBytes() <= 0 ? null :
                null != ctx.journalSpaceProbe() ? ctx.journalSpaceProbe() : JournalSpaceProbe.of(ctx.journalDir());
            if (null != snapshotter && null != spaceProbe)
            {
                final boolean sameStore = null != ctx.journalSpaceProbe() ||
                    Files.getFileStore(ctx.snapshotDir().toPath()).equals(Files.getFileStore(ctx.journalDir().toPath()));
                snapshotter.spaceGuard(
                    sameStore ? spaceProbe : JournalSpaceProbe.of(ctx.snapshotDir()),
                    sameStore ? ctx.journalMinFreeBytes() : 0);
            }
        }
        catch (final IOException ex)
        {
            journal.close();
            throw new UncheckedIOException("cannot open the snapshot directory " + ctx.snapshotDir(), ex);
        }
        catch (final RuntimeException ex)
        {
            journal.close();
            throw ex;
        }
    }

    /**
     * Recover on this thread with egress muted: load the latest complete snapshot that joins the journal (skipping,
     * with a log line, any that is damaged, incomplete or does not join), then replay the journal entries after it
     * (or, with no snapshot, the whole journal); switch egress to the context's event listener, start the handler
     * threads, sequence a {@code NodeStarted} command (journaled like any other) and start accepting offers.
     *
     * A replay that stops at a record that is not intact with nothing intact after it (a torn or corrupted tail) is
     * cut there ({@link Journal#cut}): the node starts with the state up to the last intact record, logs a WARNING and
     * reports it ({@link #journalCut()}, {@link #journalTailTruncations()}).
     *
     * @throws JournalCorruptedException if the journal holds a record that is not intact with intact records after it
     *                                   and the context's journal recovery is {@link JournalRecovery#REFUSE} (nothing
     *                                   at or after it was applied, nothing was changed on disk; the pipeline does not
     *                                   start).
     * @throws IllegalStateException     if already started or closed, or if journal cycles were deleted and no
     *                                   snapshot is usable.
     */
    public void start()
    {
        if (state != NEW)
        {
            throw new IllegalStateException("pipeline not new: state=" + state);
        }

        final MutableEventListener egress = ctx.egress();
        final CommandHandler commandHandler = ctx.commandHandler();
        try
        {
            egress.delegate(EventListener.MUTED);
            final Recovery.Result recovered = Recovery.recover(journal, snapshotStore, commandHandler, ctx.snapshottable());
            final ReplayResult result = recovered.replay();
            replayResult = result;
            recoveredSnapshot = recovered.snapshot();
            if (!result.isComplete())
            {
                cutDamagedJournal(result);
            }

            egress.delegate(ctx.eventListener());
            startCount = recovered.startCount() + 1;
            nextDeadlineMs.set(commandHandler.nextDeadlineMs());
            sequencer.lastTimestampMs(recovered.lastTimestampMs());
            if (null != snapshotter)
            {
                snapshotter.recovered(recovered.lastIndex(), recovered.lastTimestampMs(),
                    null == recovered.snapshot() ? -1 : recovered.snapshot().journalIndex(),
                    null == recovered.snapshot() ? 0 : recovered.snapshot().bytes());
                sequencer.snapshots(true, ctx.snapshotIntervalEntries(), ctx.snapshotIntervalBytes(),
                    ctx.snapshotIntervalMs(), snapshotter::lastSnapshotBytes, snapshotter::isFinishing);
            }

            if (null != spaceProbe)
            {
                sequencer.journalSpace(spaceProbe, ctx.journalMinFreeBytes(), ctx.journalSpaceCheckIntervalMs());
            }

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
     * The replay stopped at a record that is not intact. A damaged tail (no intact record after it: what a crash in the
     * middle of a write leaves) is cut; damage in the middle is cut only with {@link JournalRecovery#TRUNCATE}. The
     * state is already the one up to the last intact record before it.
     */
    private void cutDamagedJournal(final ReplayResult result)
    {
        final boolean tail = 0 == result.entriesAfterBad();
        final String cycleFile = journal.cycleFileName(journal.cycleOf(result.badIndex()));
        if (!tail && ctx.journalRecovery() != JournalRecovery.TRUNCATE)
        {
            throw new JournalCorruptedException(result, cycleFile, journal.dir());
        }

        final Journal.Cut cut = journal.cut(result);
        journalCut = cut;
        tailCut = tail;
        LOG.log(System.Logger.Level.WARNING, String.format(
            "journal %s damaged: %s at index 0x%x in cycle file %s (%s); recovered up to the last intact record " +
            "0x%x (%d entries replayed); %d record(s) dropped from the damaged one on (%s), cycle files kept in %s; " +
            "new entries start at 0x%x",
            tail ? "tail" : "middle", result.status(), result.badIndex(), cycleFile, result.detail(),
            result.lastGoodIndex(), result.entries(), cut.droppedEntries(),
            tail ? "nothing intact after it" : "journal recovery truncate", cut.quarantine(), cut.resumeIndex()));
    }

    /**
     * @return what {@link #start()} cut from a damaged journal, or null if the journal was intact.
     */
    public Journal.Cut journalCut()
    {
        return journalCut;
    }

    /**
     * @return 1 if {@link #start()} cut a damaged journal tail (a torn or corrupted last record), else 0.
     */
    public long journalTailTruncations()
    {
        return null != journalCut && tailCut ? 1 : 0;
    }

    /**
     * @return records {@link #start()} declared void when it cut a damaged journal (0 if none).
     */
    public long journalEntriesDropped()
    {
        final Journal.Cut cut = journalCut;
        return null == cut ? 0 : cut.droppedEntries();
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
     * @return the snapshot {@link #start()} recovered from, or null if it replayed the whole journal (or has not
     * run).
     */
    public SnapshotInfo recoveredSnapshot()
    {
        return recoveredSnapshot;
    }

    /**
     * Ask for a snapshot: the sequencer injects a {@code TakeSnapshot} marker on its next duty cycle
     * ({@link Sequencer#doWork()}) and the engine thread writes the snapshot once it applied everything before it.
     *
     * @return false if this pipeline takes no snapshots.
     */
    public boolean requestSnapshot()
    {
        if (null == snapshotter)
        {
            return false;
        }
        sequencer.requestSnapshot();
        return true;
    }

    /**
     * @return snapshots written by this pipeline (readable from any thread).
     */
    public long snapshotCount()
    {
        return null == snapshotter ? 0 : snapshotter.snapshots();
    }

    /**
     * @return snapshots that failed to be written (readable from any thread).
     */
    public long snapshotFailures()
    {
        return null == snapshotter ? 0 : snapshotter.failures();
    }

    /**
     * @return journal index of the newest snapshot written or recovered from, or -1 (readable from any thread).
     */
    public long lastSnapshotIndex()
    {
        return null == snapshotter ? -1 : snapshotter.lastSnapshotIndex();
    }

    /**
     * @return size of the last snapshot written, bytes (readable from any thread).
     */
    public long lastSnapshotBytes()
    {
        return null == snapshotter ? 0 : snapshotter.lastSnapshotBytes();
    }

    /**
     * @return how long the engine stalled serialising the last snapshot (the file is made durable in the
     * background), ns (readable from any thread).
     */
    public long lastSnapshotNs()
    {
        return null == snapshotter ? 0 : snapshotter.lastSnapshotNs();
    }

    /**
     * @return how long the background thread took to make the last snapshot durable (journal force under async,
     * fsync, rename), ns (readable from any thread). The engine does not wait for this.
     */
    public long lastSnapshotFinishNs()
    {
        return null == snapshotter ? 0 : snapshotter.lastFinishNs();
    }

    /**
     * @return snapshot markers for which the engine waited for the previous snapshot to be made durable, because the
     * journal had grown two snapshot intervals while it was (any thread).
     */
    public long snapshotsWaited()
    {
        return null == snapshotter ? 0 : snapshotter.waited();
    }

    /**
     * @return the longest the engine stalled writing a snapshot, ns (readable from any thread).
     */
    public long maxSnapshotNs()
    {
        return null == snapshotter ? 0 : snapshotter.maxSnapshotNs();
    }

    /**
     * @return the snapshot directory.
     */
    public SnapshotStore snapshotStore()
    {
        return snapshotStore;
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
     * @return slots of the ring.
     */
    public int ringSize()
    {
        return ringBuffer.getBufferSize();
    }

    /**
     * @return slots holding a command that was published and not yet released by the slowest handler: the ring
     * cursor minus the lowest gating sequence (readable from any thread: both are volatile reads).
     */
    public long ringOccupiedSlots()
    {
        return Math.max(0, ringBuffer.getCursor() - ringBuffer.getMinimumGatingSequence());
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
     * the pipeline failed, stop the handler threads, snapshot the state after the last entry applied (unless
     * failed, or {@code snapshotOnClose} is off) and close the journal. Idempotent. May be called from the
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

        if (null != snapshotter && ctx.snapshotOnClose() && previous == RUNNING && !failStop.isFailed())
        {
            // the handler threads have stopped (joined): this thread may read the engine
            snapshotter.takeAtLastApplied();
        }
        if (null != snapshotter)
        {
            snapshotter.close(); // a snapshot still being made durable needs the journal open (forceUpTo)
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
