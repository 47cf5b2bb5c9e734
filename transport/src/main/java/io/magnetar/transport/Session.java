package io.magnetar.transport;

import io.aeron.ConcurrentPublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableRingBuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client session: the image its frames arrive on, the publication its responses go to, and its liveness.
 * <p>
 * <b>Threads.</b> The ingress agent creates, opens and ends sessions and owns every plain field. The engine thread
 * (through {@link EgressPublisher}) only reads {@link #publication} and {@link #state()} of a session it found in the
 * {@link SessionRegistry} (published there after the publication was set), counts what it sent, and may raise a
 * {@link #fault()} once, which the ingress agent acts on.
 * <p>
 * <b>Back-pressure.</b> Both threads send through {@link #deliver}. A frame the publication pushes back goes to a
 * bounded per-session pending buffer (guarded by the session's monitor, touched only while back-pressured), which the
 * ingress agent drains in order; a full buffer, or no progress for the slow-client timeout, makes the client slow.
 * The engine thread therefore never waits for a client.
 */
final class Session
{
    static final int CONNECTING = 0;
    static final int OPEN = 1;
    static final int CLOSED = 2;

    static final int FAULT_NONE = 0;
    /** Responses stayed back-pressured beyond the bounded retries. */
    static final int FAULT_SLOW = 1;
    /** The response publication is not connected or closed: the client is gone. */
    static final int FAULT_GONE = 2;
    /** An event longer than the publication's maximum message length. */
    static final int FAULT_TOO_LONG = 3;

    /** Outcomes of {@link #send} and {@link #deliver}. */
    static final int SENT = 0;
    static final int BACK_PRESSURED = 1;
    static final int GONE = 2;
    static final int TOO_LONG = 3;
    static final int QUEUED = 4;
    static final int OVERFLOW = 5;

    private static final int PENDING_INITIAL_CAPACITY = 64 * 1024;

    private static final VarHandle STATE;
    private static final VarHandle FAULT;
    private static final VarHandle EGRESS_COUNT;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(Session.class, "state", int.class);
            FAULT = lookup.findVarHandle(Session.class, "fault", int.class);
            EGRESS_COUNT = lookup.findVarHandle(Session.class, "egressCount", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final long id;
    final long imageKey;
    final int aeronSessionId;
    final Image image;
    final IngressAgent.IngressAdapter adapter;
    final long connectCorrelationId;
    final String responseChannel;
    final int responseStreamId;
    final String clientName;
    final long registrationId;
    final String rejectReason;
    final long connectDeadlineMs;

    private final int pendingCapacity;
    private final AtomicInteger pendingSessions;
    private final ExpandableRingBuffer.MessageConsumer drainer =
        (buffer, offset, length, headOffset) -> drainOne(buffer, offset, length);
    private ExpandableRingBuffer pending;
    private int drainResult;
    private volatile boolean hasPending;

    ConcurrentPublication publication;
    long pendingProgressMs = -1;
    int maxPayloadLength;
    int maxMessageLength;
    long lastReceivedMs;
    long lastSentMs;
    long lastSeenEgressCount;

    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state = CONNECTING;
    @SuppressWarnings("unused") // accessed through FAULT
    private volatile int fault = FAULT_NONE;
    @SuppressWarnings("unused") // accessed through EGRESS_COUNT
    private volatile long egressCount;

    Session(
        final long id,
        final long imageKey,
        final int aeronSessionId,
        final Image image,
        final IngressAgent.IngressAdapter adapter,
        final long connectCorrelationId,
        final String responseChannel,
        final int responseStreamId,
        final String clientName,
        final long registrationId,
        final String rejectReason,
        final long nowMs,
        final long connectDeadlineMs,
        final int pendingCapacity,
        final AtomicInteger pendingSessions)
    {
        this.pendingCapacity = pendingCapacity;
        this.pendingSessions = pendingSessions;
        this.id = id;
        this.imageKey = imageKey;
        this.aeronSessionId = aeronSessionId;
        this.image = image;
        this.adapter = adapter;
        this.connectCorrelationId = connectCorrelationId;
        this.responseChannel = responseChannel;
        this.responseStreamId = responseStreamId;
        this.clientName = clientName;
        this.registrationId = registrationId;
        this.rejectReason = rejectReason;
        this.lastReceivedMs = nowMs;
        this.lastSentMs = nowMs;
        this.connectDeadlineMs = connectDeadlineMs;
    }

    void publication(final ConcurrentPublication publication)
    {
        this.publication = publication;
        this.maxPayloadLength = publication.maxPayloadLength();
        this.maxMessageLength = publication.maxMessageLength();
    }

    int state()
    {
        return (int)STATE.getVolatile(this);
    }

    void state(final int state)
    {
        STATE.setVolatile(this, state);
    }

    boolean isOpen()
    {
        return OPEN == (int)STATE.getAcquire(this);
    }

    int fault()
    {
        return (int)FAULT.getVolatile(this);
    }

    /**
     * Raise a fault; the first one wins.
     *
     * @param fault what went wrong.
     * @return true if this call raised it.
     */
    boolean raiseFault(final int fault)
    {
        return FAULT.compareAndSet(this, FAULT_NONE, fault);
    }

    /**
     * Count an event sent by the engine thread (its only writer); the ingress agent reads it to know the session
     * is not idle.
     */
    void countEgress()
    {
        EGRESS_COUNT.setRelease(this, (long)EGRESS_COUNT.getOpaque(this) + 1);
    }

    long egressCount()
    {
        return (long)EGRESS_COUNT.getAcquire(this);
    }

    /**
     * Send one frame from either thread, keeping the session's order: if nothing is pending it is sent at once
     * ({@link #send}); if the publication is back-pressured, or earlier frames are still pending, it is appended to
     * the session's bounded pending buffer, which the ingress agent drains ({@link #drainPending}). Allocation free
     * except for the pending buffer itself, created the first time the session is back-pressured.
     *
     * @param claim      the calling thread's own claim flyweight.
     * @param buffer     holding the frame.
     * @param offset     of the frame.
     * @param length     of the frame.
     * @param maxRetries immediate retries of a back-pressured or admin-action offer before buffering.
     * @return {@link #SENT}, {@link #QUEUED}, {@link #OVERFLOW} (pending buffer full: a slow client), {@link #GONE}
     * or {@link #TOO_LONG}.
     */
    int deliver(
        final BufferClaim claim, final DirectBuffer buffer, final int offset, final int length, final int maxRetries)
    {
        if (!hasPending)
        {
            final int result = send(claim, buffer, offset, length, maxRetries);
            if (BACK_PRESSURED != result)
            {
                return result;
            }
        }

        synchronized (this)
        {
            if (CLOSED == state())
            {
                return GONE; // ended meanwhile: its pending buffer is gone, nothing may be queued again
            }

            if (!hasPending)
            {
                // drained meanwhile (or first back-pressure): try once more before queueing, under the lock
                final int result = send(claim, buffer, offset, length, 0);
                if (BACK_PRESSURED != result)
                {
                    return result;
                }
            }

            if (length > maxMessageLength)
            {
                return TOO_LONG;
            }

            if (null == pending)
            {
                pending = new ExpandableRingBuffer(
                    Math.min(PENDING_INITIAL_CAPACITY, pendingCapacity), pendingCapacity, false);
            }

            if (!pending.append(buffer, offset, length))
            {
                return OVERFLOW;
            }

            if (!hasPending)
            {
                hasPending = true;
                pendingSessions.incrementAndGet();
            }
            return QUEUED;
        }
    }

    /**
     * Send one frame once, retrying back-pressure and admin actions up to {@code maxRetries} times: {@code tryClaim}
     * when it fits in one MTU, {@code offer} (fragmenting) otherwise. Never waits. Allocation free.
     *
     * @return {@link #SENT}, {@link #BACK_PRESSURED}, {@link #GONE} or {@link #TOO_LONG}.
     */
    int send(
        final BufferClaim claim, final DirectBuffer buffer, final int offset, final int length, final int maxRetries)
    {
        final ConcurrentPublication publication = this.publication;
        if (length > maxMessageLength)
        {
            return TOO_LONG;
        }

        final boolean claimable = length <= maxPayloadLength;
        int attempts = 0;
        while (true)
        {
            final long result = claimable ? publication.tryClaim(length, claim) : publication.offer(buffer, offset, length);
            if (result > 0)
            {
                if (claimable)
                {
                    claim.buffer().putBytes(claim.offset(), buffer, offset, length);
                    claim.commit();
                }
                return SENT;
            }

            if (result == Publication.NOT_CONNECTED || result == Publication.CLOSED ||
                result == Publication.MAX_POSITION_EXCEEDED)
            {
                return GONE;
            }

            if (++attempts > maxRetries)
            {
                return BACK_PRESSURED;
            }

            Thread.onSpinWait();
        }
    }

    /**
     * @return true while frames wait in the pending buffer.
     */
    boolean hasPending()
    {
        return hasPending;
    }

    /**
     * Ingress thread: send pending frames in order until the publication pushes back.
     *
     * @return frames sent, or -1 if the publication is gone.
     */
    int drainPending()
    {
        synchronized (this)
        {
            if (!hasPending)
            {
                return 0;
            }

            drainResult = 0;
            final int sent = pending.consume(drainer, Integer.MAX_VALUE);
            if (pending.isEmpty())
            {
                hasPending = false;
                pendingSessions.decrementAndGet();
            }

            return GONE == drainResult ? -1 : sent;
        }
    }

    /**
     * Ingress thread, when the session ends (after its state became {@link #CLOSED}): forget what is pending.
     */
    void discardPending()
    {
        synchronized (this)
        {
            if (hasPending)
            {
                hasPending = false;
                pendingSessions.decrementAndGet();
            }
            pending = null;
        }
    }

    private boolean drainOne(final DirectBuffer buffer, final int offset, final int length)
    {
        final long result = publication.offer(buffer, offset, length);
        if (result > 0)
        {
            return true;
        }

        if (result == Publication.NOT_CONNECTED || result == Publication.CLOSED ||
            result == Publication.MAX_POSITION_EXCEEDED)
        {
            drainResult = GONE;
        }
        return false;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Session{id=" + id + ", client=" + clientName + ", response=" + responseChannel + "|" +
            responseStreamId + ", state=" + state() + ", fault=" + fault() + '}';
    }
}
