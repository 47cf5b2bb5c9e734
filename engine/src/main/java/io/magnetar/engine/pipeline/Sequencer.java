package io.magnetar.engine.pipeline;

import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.CreateSubscriptionDecoder;
import io.magnetar.codecs.CreateTopicDecoder;
import io.magnetar.codecs.NodeStartedEncoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.codecs.SubscribeDecoder;
import io.magnetar.codecs.SessionClosedEncoder;
import io.magnetar.codecs.SnapshotReason;
import io.magnetar.codecs.TakeSnapshotEncoder;
import io.magnetar.codecs.TickEncoder;
import io.magnetar.engine.CommandTypes;
import io.magnetar.engine.PublishKeyHashes;
import io.magnetar.engine.journal.JournalEntryFormat;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.EpochClock;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The single producer into the pipeline's ring: it stamps each command with the session it came from and
 * the node's time, it injects a {@code Tick} when the engine's next deadline has come, and a {@code TakeSnapshot}
 * marker when a snapshot is due (see {@link #doWork()}).
 * <p>
 * <b>One thread only.</b> {@link #offer}, {@link #offerSessionClosed} and {@link #doWork} must all be called
 * from the same thread (the ingress agent's duty cycle), which must start after {@link Pipeline#start()}
 * returned (e.g. started by the thread that called it, or after observing {@link Pipeline#isRunning()}).
 * <p>
 * <b>Back-pressure is a return value:</b> when the ring is full, or the pipeline is not running, the offer
 * returns false at once; it never blocks and never queues elsewhere. Check {@link Pipeline#isFailed()} to
 * tell a failed pipeline from a busy one.
 * <p>
 * <b>Journal space.</b> The sequencer watches the usable space of the journal's file system ({@link JournalSpaceProbe},
 * asked every {@code journalSpaceCheckIntervalMs} in {@link #doWork()} and after every quarter of
 * {@code journalMinFreeBytes} sequenced). While it is below {@code journalMinFreeBytes}, commands that grow the journal
 * and the state ({@code Publish}, {@code Subscribe}, {@code CreateTopic}, {@code CreateSubscription}) are refused
 * ({@link #tryOffer} returns {@link #REFUSED_JOURNAL_FULL}; the transport answers {@code UNAVAILABLE}) without being
 * journaled; everything else (acks, nacks, flow, detaching, deletes, ticks, snapshot markers) goes on, so that
 * consumers drain the backlog and snapshots let old journal cycles be deleted. Chronicle writes through memory
 * mappings, and a write to a mapped page the file system cannot back kills the process (SIGBUS): refusing early is
 * the only safe way to meet a full disk.
 * <p>
 * <b>Time</b> comes from the context's {@link EpochClock} and never goes backwards in the journal: a stamp is
 * {@code max(clock.time(), previous stamp)}, and after a restart the previous stamp is the journal's last one.
 * <p>
 * <b>Key hashes.</b> A {@code Publish} is copied into its ring slot here, on the caller's thread; the sequencer then
 * also hashes its keys ({@link io.magnetar.engine.PublishKeyHashes}) into the slot, and the engine handler passes them
 * with the command, so that the engine's thread, the pipeline's bottleneck, need not. Not journaled: replay hashes the
 * keys itself and reaches the same state.
 * <p>
 * Allocation free (once every slot has met the largest command and publish batch it will hold).
 */
public final class Sequencer
{
    private static final long NO_SLOT = -1;
    private static final System.Logger LOG = System.getLogger("io.magnetar.engine.journal");

    /** {@link #tryOffer}: sequenced. */
    public static final int OFFERED = 1;
    /** {@link #tryOffer}: ring full or pipeline not running; try again later. */
    public static final int BACK_PRESSURED = 0;
    /** {@link #tryOffer}: refused, not journaled, because the journal's disk is (nearly) full; answer UNAVAILABLE. */
    public static final int REFUSED_JOURNAL_FULL = -1;

    private static final int RECORD_HEADER = JournalEntryFormat.HEADER_LENGTH;
    private static final int COMMAND_OFFSET = JournalEntryFormat.COMMAND_OFFSET;
    private static final int TEMPLATE_ID_OFFSET = MessageHeaderDecoder.templateIdEncodingOffset();
    private static final int TICK_LENGTH = MessageHeaderEncoder.ENCODED_LENGTH + TickEncoder.BLOCK_LENGTH;
    private static final int SESSION_CLOSED_LENGTH =
        MessageHeaderEncoder.ENCODED_LENGTH + SessionClosedEncoder.BLOCK_LENGTH;
    private static final int NODE_STARTED_LENGTH =
        MessageHeaderEncoder.ENCODED_LENGTH + NodeStartedEncoder.BLOCK_LENGTH;
    private static final int TAKE_SNAPSHOT_LENGTH =
        MessageHeaderEncoder.ENCODED_LENGTH + TakeSnapshotEncoder.BLOCK_LENGTH;

    private final RingBuffer<CommandSlot> ringBuffer;
    private final EpochClock clock;
    private final int maxCommandLength;
    private final Sequence appliedSequence;
    private final AtomicLong nextDeadlineMs;
    private final FailStopExceptionHandler failStop;
    private final JournalEntryFormat format = new JournalEntryFormat();
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final TickEncoder tickEncoder = new TickEncoder();
    private final SessionClosedEncoder sessionClosedEncoder = new SessionClosedEncoder();
    private final NodeStartedEncoder nodeStartedEncoder = new NodeStartedEncoder();
    private final TakeSnapshotEncoder takeSnapshotEncoder = new TakeSnapshotEncoder();
    /** reads the key hashes of each publish on this (the producer's) thread. */
    private final PublishKeyHashes publishKeyHashes = new PublishKeyHashes();
    private volatile boolean accepting;
    private volatile boolean snapshotRequested;
    private boolean snapshotsEnabled;
    private long snapshotIntervalEntries;
    private long snapshotIntervalBytes;
    private long snapshotIntervalMs;
    private LongSupplier lastSnapshotBytes = () -> 0;
    private BooleanSupplier snapshotInProgress = () -> false;
    private long entriesSinceSnapshot;
    private long bytesSinceSnapshot;
    private long lastSnapshotMs;
    private long snapshotSequence = -1;
    private long snapshotMarkers;
    private long lastTimestampMs = Long.MIN_VALUE;
    private long tickSequence = -1;
    private long ticks;
    private long keyHashFailures;
    private JournalSpaceProbe spaceProbe;
    private long minFreeBytes;
    private long spaceCheckIntervalMs;
    private long spaceCheckIntervalBytes = Long.MAX_VALUE;
    private long nextSpaceCheckMs;
    private long bytesSinceSpaceCheck;
    private volatile boolean journalSpaceLow;
    private volatile long usableBytes = -1;
    private final AtomicLong refusedJournalFull = new AtomicLong();

    Sequencer(
        final RingBuffer<CommandSlot> ringBuffer,
        final EpochClock clock,
        final int maxCommandLength,
        final Sequence appliedSequence,
        final AtomicLong nextDeadlineMs,
        final FailStopExceptionHandler failStop)
    {
        this.ringBuffer = ringBuffer;
        this.clock = clock;
        this.maxCommandLength = maxCommandLength;
        this.appliedSequence = appliedSequence;
        this.nextDeadlineMs = nextDeadlineMs;
        this.failStop = failStop;
    }

    /**
     * Sequence one command frame from a session.
     *
     * @param sessionId the session it came from (transport sessions are non-zero; 0 is the node itself).
     * @param buffer    holding the frame (a {@code magnetar-protocol} message with its header).
     * @param offset    of the frame.
     * @param length    of the frame, at most {@link PipelineContext#maxCommandLength()}.
     * @return true if sequenced; false if the ring is full or the pipeline is not running (try again later,
     * or answer the client that the node is unavailable).
     * @throws IllegalArgumentException if {@code length} is negative or over the limit (the transport must
     *                                  reject such frames before offering them).
     */
    public boolean offer(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        return OFFERED == tryOffer(sessionId, buffer, offset, length);
    }

    /**
     * Sequence one command frame from a session, telling back-pressure from a refusal.
     *
     * @param sessionId the session it came from (transport sessions are non-zero; 0 is the node itself).
     * @param buffer    holding the frame (a {@code magnetar-protocol} message with its header).
     * @param offset    of the frame.
     * @param length    of the frame, at most {@link PipelineContext#maxCommandLength()}.
     * @return {@link #OFFERED}; {@link #BACK_PRESSURED} if the ring is full or the pipeline is not running;
     * {@link #REFUSED_JOURNAL_FULL} if the command grows the journal and its disk is (nearly) full: it was not
     * sequenced and never will be, answer the client {@code UNAVAILABLE} ({@link #journalSpaceMessage()}).
     * @throws IllegalArgumentException if {@code length} is negative or over the limit.
     */
    public int tryOffer(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < 0 || length > maxCommandLength)
        {
            throw new IllegalArgumentException("command length " + length + " not in 0.." + maxCommandLength);
        }

        if (!isAccepting())
        {
            return BACK_PRESSURED;
        }

        final int templateId = length >= MessageHeaderDecoder.ENCODED_LENGTH ?
            buffer.getShort(offset + TEMPLATE_ID_OFFSET, LITTLE_ENDIAN) & 0xFFFF : -1;
        if (journalSpaceLow && growsJournal(templateId))
        {
            refusedJournalFull.lazySet(refusedJournalFull.get() + 1);
            return REFUSED_JOURNAL_FULL;
        }

        final long sequence = claim();
        if (NO_SLOT == sequence)
        {
            return BACK_PRESSURED;
        }

        final CommandSlot slot = ringBuffer.get(sequence);
        try
        {
            slot.prepare(JournalEntryFormat.HEADER_LENGTH + length)
                .putBytes(JournalEntryFormat.COMMAND_OFFSET, buffer, offset, length);
        }
        catch (final Throwable ex)
        {
            // the claimed sequence can never be published with a valid command: nothing after it can run
            failStop.fail(ex, sequence);
            throw ex;
        }
        if (templateId == PublishDecoder.TEMPLATE_ID)
        {
            keyHashes(slot, length);
        }

        publish(sequence, slot, sessionId, templateId, length);
        bytesSinceSpaceCheck += length;
        if (bytesSinceSpaceCheck >= spaceCheckIntervalBytes)
        {
            checkJournalSpace(clock.time());
        }

        return OFFERED;
    }

    /**
     * Hash the keys of a publish here, on the producer's thread, for the engine's ({@link CommandSlot#computeKeyHashes}).
     * A failure costs only the hints: the engine then hashes the keys itself.
     */
    private void keyHashes(final CommandSlot slot, final int length)
    {
        try
        {
            slot.computeKeyHashes(length, publishKeyHashes);
        }
        catch (final RuntimeException ex)
        {
            slot.keyHashCount = 0;
            keyHashFailures++;
        }
    }

    /**
     * @param templateId of a client command.
     * @return true for the commands refused while the journal's disk is (nearly) full: the ones that add messages,
     * topics, subscriptions or consumers.
     */
    public static boolean growsJournal(final int templateId)
    {
        return templateId == PublishDecoder.TEMPLATE_ID || templateId == SubscribeDecoder.TEMPLATE_ID ||
            templateId == CreateTopicDecoder.TEMPLATE_ID || templateId == CreateSubscriptionDecoder.TEMPLATE_ID;
    }

    /**
     * @return true while the journal's file system has less than {@code journalMinFreeBytes} usable (any thread).
     */
    public boolean isJournalSpaceLow()
    {
        return journalSpaceLow;
    }

    /**
     * @return usable bytes of the journal's file system at the last check, -1 before the first or if it failed (any
     * thread).
     */
    public long journalUsableBytes()
    {
        return usableBytes;
    }

    /**
     * @return commands refused because the journal's disk was (nearly) full (any thread).
     */
    public long refusedJournalFull()
    {
        return refusedJournalFull.get();
    }

    /**
     * @return the text to answer a refused command with.
     */
    public String journalSpaceMessage()
    {
        return "journal disk (nearly) full: " + usableBytes + " bytes usable, below the minimum of " + minFreeBytes +
            " (journalMinFreeBytes); publishes and creations are refused until space is freed";
    }

    /**
     * Sequence a {@code SessionClosed} command (stamped by the node, session 0): the transport lost or closed
     * a session and its consumers must be detached.
     *
     * @param closedSessionId the session that is gone.
     * @return true if sequenced; false if the ring is full or the pipeline is not running.
     */
    public boolean offerSessionClosed(final long closedSessionId)
    {
        if (!isAccepting())
        {
            return false;
        }

        final long sequence = claim();
        if (NO_SLOT == sequence)
        {
            return false;
        }

        final CommandSlot slot = ringBuffer.get(sequence);
        sessionClosedEncoder
            .wrapAndApplyHeader(slot.prepare(RECORD_HEADER + SESSION_CLOSED_LENGTH), COMMAND_OFFSET, headerEncoder)
            .closedSessionId(closedSessionId);
        publish(sequence, slot, 0, SessionClosedEncoder.TEMPLATE_ID, SESSION_CLOSED_LENGTH);

        return true;
    }

    /**
     * One duty cycle: inject a {@code Tick} if the engine's next deadline has come, and a {@code TakeSnapshot}
     * marker if a snapshot is due. At most one tick and one marker are in flight: the next one waits until the
     * engine has applied the previous one.
     * <p>
     * A snapshot is due when requested ({@link Pipeline#requestSnapshot()}), or when entries were journaled since
     * the last marker and either {@code snapshotIntervalMs} has passed, or {@code snapshotIntervalEntries} entries
     * or {@code snapshotIntervalBytes} bytes were journaled and at least as many bytes as the last snapshot had
     * (so snapshots never write more than the journal does, however large the live state).
     *
     * @return how many commands were sequenced (0..2).
     */
    public int doWork()
    {
        if (!isAccepting())
        {
            return 0;
        }

        if (null != spaceProbe)
        {
            final long now = clock.time();
            if (now >= nextSpaceCheckMs)
            {
                checkJournalSpace(now); // not counted: the return value is commands sequenced
            }
        }

        return tick() + snapshot();
    }

    private void checkJournalSpace(final long now)
    {
        nextSpaceCheckMs = now + spaceCheckIntervalMs;
        bytesSinceSpaceCheck = 0;
        if (null == spaceProbe)
        {
            return;
        }

        long usable;
        String failure = null;
        try
        {
            usable = spaceProbe.usableBytes();
        }
        catch (final IOException | RuntimeException ex)
        {
            usable = -1;
            failure = ex.toString();
        }
        usableBytes = usable;

        final boolean low = usable < minFreeBytes;
        if (low != journalSpaceLow)
        {
            journalSpaceLow = low;
            if (low)
            {
                LOG.log(System.Logger.Level.WARNING, (null == failure ?
                    "journal disk (nearly) full: " + usable + " bytes usable" : "journal disk space unknown: " + failure) +
                    ", below the minimum of " + minFreeBytes + " (journalMinFreeBytes): refusing publishes and " +
                    "creations with UNAVAILABLE until space is freed");
            }
            else
            {
                LOG.log(System.Logger.Level.WARNING, "journal disk has " + usable + " bytes usable again (minimum " +
                    minFreeBytes + "): accepting publishes and creations; " + refusedJournalFull.get() +
                    " commands refused so far");
            }
        }
    }

    private int snapshot()
    {
        if (!snapshotsEnabled || appliedSequence.get() < snapshotSequence ||
            snapshotInProgress.getAsBoolean() && !snapshotOverdue())
        {
            // one at a time: the marker waits until the last snapshot is on disk, then goes at once if due; unless the
            // journal has grown two intervals meanwhile: then the marker goes and the engine waits for the disk
            // (back-pressure, so the journal stays bounded however fast it is written)
            return 0;
        }

        final SnapshotReason reason;
        if (snapshotRequested)
        {
            reason = SnapshotReason.REQUESTED;
        }
        else if (entriesSinceSnapshot == 0)
        {
            return 0;
        }
        else if ((snapshotIntervalEntries > 0 && entriesSinceSnapshot >= snapshotIntervalEntries ||
            snapshotIntervalBytes > 0 && bytesSinceSnapshot >= snapshotIntervalBytes) &&
            bytesSinceSnapshot >= lastSnapshotBytes.getAsLong())
        {
            reason = SnapshotReason.ENTRIES;
        }
        else if (snapshotIntervalMs > 0 && clock.time() - lastSnapshotMs >= snapshotIntervalMs)
        {
            reason = SnapshotReason.TIME;
        }
        else
        {
            return 0;
        }

        final long sequence = claim();
        if (NO_SLOT == sequence)
        {
            return 0;
        }

        final CommandSlot slot = ringBuffer.get(sequence);
        takeSnapshotEncoder
            .wrapAndApplyHeader(slot.prepare(RECORD_HEADER + TAKE_SNAPSHOT_LENGTH), COMMAND_OFFSET, headerEncoder)
            .reason(reason);
        snapshotRequested = false;
        publish(sequence, slot, 0, TakeSnapshotEncoder.TEMPLATE_ID, TAKE_SNAPSHOT_LENGTH);
        entriesSinceSnapshot = 0;
        bytesSinceSnapshot = 0;
        lastSnapshotMs = lastTimestampMs;
        snapshotSequence = sequence;
        snapshotMarkers++;

        return 1;
    }

    private boolean snapshotOverdue()
    {
        return snapshotIntervalEntries > 0 && entriesSinceSnapshot >= 2 * snapshotIntervalEntries ||
            snapshotIntervalBytes > 0 && bytesSinceSnapshot >= 2 * Math.max(snapshotIntervalBytes,
            lastSnapshotBytes.getAsLong());
    }

    private int tick()
    {
        if (appliedSequence.get() < tickSequence)
        {
            return 0;
        }

        final long deadlineMs = nextDeadlineMs.get();
        if (deadlineMs == Long.MAX_VALUE || Math.max(clock.time(), lastTimestampMs) < deadlineMs)
        {
            return 0;
        }

        final long sequence = claim();
        if (NO_SLOT == sequence)
        {
            return 0;
        }

        final CommandSlot slot = ringBuffer.get(sequence);
        tickEncoder
            .wrapAndApplyHeader(slot.prepare(RECORD_HEADER + TICK_LENGTH), COMMAND_OFFSET, headerEncoder)
            .deadlineMs(deadlineMs);
        publish(sequence, slot, 0, TickEncoder.TEMPLATE_ID, TICK_LENGTH);
        tickSequence = sequence;
        ticks++;

        return 1;
    }

    /**
     * @return the claimed ring sequence, or {@link #NO_SLOT} when the ring is full (back-pressure, never a wait).
     */
    private long claim()
    {
        try
        {
            return ringBuffer.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            return NO_SLOT;
        }
    }

    /**
     * @return true while offers can succeed (started, not closing, not failed).
     */
    public boolean isAccepting()
    {
        return accepting && !failStop.isFailed();
    }

    /**
     * @return {@code TakeSnapshot} markers injected by this sequencer.
     */
    public long snapshotMarkers()
    {
        return snapshotMarkers;
    }

    /**
     * @return publishes whose key hashes the sequencer failed to compute (should stay 0; the engine hashed them).
     */
    long keyHashFailures()
    {
        return keyHashFailures;
    }

    /**
     * @return ticks injected by this sequencer.
     */
    public long ticks()
    {
        return ticks;
    }

    /**
     * @return the last time stamp given to a command, or {@link Long#MIN_VALUE} if none yet.
     */
    public long lastTimestampMs()
    {
        return lastTimestampMs;
    }

    /**
     * @return free slots in the ring now.
     */
    public long remainingCapacity()
    {
        return ringBuffer.remainingCapacity();
    }

    void accepting(final boolean accepting)
    {
        this.accepting = accepting;
    }

    void lastTimestampMs(final long timestampMs)
    {
        lastTimestampMs = timestampMs;
    }

    void snapshots(
        final boolean enabled,
        final long intervalEntries,
        final long intervalBytes,
        final long intervalMs,
        final LongSupplier lastSnapshotBytes,
        final BooleanSupplier snapshotInProgress)
    {
        this.snapshotInProgress = snapshotInProgress;
        this.snapshotsEnabled = enabled;
        this.snapshotIntervalEntries = intervalEntries;
        this.snapshotIntervalBytes = intervalBytes;
        this.snapshotIntervalMs = intervalMs;
        this.lastSnapshotBytes = lastSnapshotBytes;
        this.lastSnapshotMs = clock.time();
    }

    /**
     * Watch the journal's disk (before offers start). Checks once now.
     */
    void journalSpace(final JournalSpaceProbe probe, final long minFreeBytes, final long checkIntervalMs)
    {
        this.spaceProbe = probe;
        this.minFreeBytes = minFreeBytes;
        this.spaceCheckIntervalMs = checkIntervalMs;
        this.spaceCheckIntervalBytes = Math.max(64 * 1024, minFreeBytes / 4);
        checkJournalSpace(clock.time());
    }

    void requestSnapshot()
    {
        snapshotRequested = true;
    }

    boolean offerNodeStarted(final long startCount)
    {
        final long sequence = claim();
        if (NO_SLOT == sequence)
        {
            return false;
        }

        final CommandSlot slot = ringBuffer.get(sequence);
        nodeStartedEncoder
            .wrapAndApplyHeader(slot.prepare(RECORD_HEADER + NODE_STARTED_LENGTH), COMMAND_OFFSET, headerEncoder)
            .startCount(startCount);
        publish(sequence, slot, 0, NodeStartedEncoder.TEMPLATE_ID, NODE_STARTED_LENGTH);

        return true;
    }

    private void publish(
        final long sequence, final CommandSlot slot, final long sessionId, final int templateId, final int length)
    {
        final long now = clock.time();
        final long timestampMs = now > lastTimestampMs ? now : lastTimestampMs;
        lastTimestampMs = timestampMs;

        format.writeHeader(slot.buffer, 0, timestampMs, sessionId, length);
        slot.length = length;
        slot.sessionId = sessionId;
        slot.timestampMs = timestampMs;
        slot.templateId = templateId;
        slot.journalIndex = -1;
        if (!CommandTypes.isQuery(templateId))
        {
            entriesSinceSnapshot++;
            bytesSinceSnapshot += JournalEntryFormat.HEADER_LENGTH + length;
        }
        ringBuffer.publish(sequence);
    }
}
