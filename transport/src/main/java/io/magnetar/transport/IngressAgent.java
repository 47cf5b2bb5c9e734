package io.magnetar.transport;

import io.aeron.Aeron;
import io.aeron.ConcurrentPublication;
import io.aeron.ControlledFragmentAssembler;
import io.aeron.Image;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import io.magnetar.codecs.ConnectDecoder;
import io.magnetar.codecs.DisconnectDecoder;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.HeartbeatDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.CommandTypes;
import io.magnetar.engine.pipeline.Sequencer;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.EpochClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The ingress agent: polls the ingress subscriptions (IPC and/or UDP) and is the <b>only producer</b> into the
 * engine's ring ({@link Sequencer}). It implements the session protocol of docs/PROTOCOL.md:
 * <ul>
 *   <li><b>Connect</b> on an image opens a session: the response publication is added asynchronously, and once it
 *       is connected {@code Connected} is sent. Frames that follow on the image before that are held back (ABORT),
 *       so no answer can overtake {@code Connected}. A Connect on an image that already has a session replaces it.</li>
 *   <li>Every frame is validated before it reaches the ring (length, schema id, version, template range, maximum
 *       length); a bad one is answered with {@code CommandError(INVALID_ARGUMENT)} to its session only. Frames from
 *       an image with no session cannot be answered and are dropped (counted).</li>
 *   <li>Client commands (templates 10..49) are offered to the sequencer stamped with the session id; a full ring
 *       returns {@link ControlledFragmentHandler.Action#ABORT}, so the fragment stays in the image and the client's
 *       publication is back-pressured: nothing is queued here.</li>
 *   <li>Back-pressured responses wait in the session's bounded pending buffer; this agent drains them in order.</li>
 *   <li>Liveness: no frame for {@code sessionTimeoutMs}, a {@code Disconnect}, a slow client (pending responses
 *       overflow or make no progress for {@code slowClientTimeoutMs}), a vanished client or a closed ingress image
 *       end the session: {@code SessionClosed} is
 *       sequenced (retried until the ring takes it) and {@code SessionEnded} sent best effort. Sessions that were sent
 *       nothing for {@code heartbeatIntervalMs} get a {@code BrokerHeartbeat}.</li>
 *   <li>Each duty cycle also drives {@link Sequencer#doWork()} (ticks for the engine's timers).</li>
 * </ul>
 * Start it only after the pipeline has started. Runs on an {@code AgentRunner} or an {@code AgentInvoker}; the
 * steady-state path (poll, validate, offer) allocates nothing.
 */
public final class IngressAgent implements Agent
{
    /** The session protocol version this broker speaks ({@code Connect.protocolVersion}). */
    public static final int PROTOCOL_VERSION = 1;

    /** {@code SessionEnded} reasons. */
    static final int END_CLIENT = 0;
    static final int END_TIMEOUT = 1;
    static final int END_SLOW = 2;
    static final int END_GONE = 3;
    static final int END_REPLACED = 4;
    static final int END_TOO_LONG = 5;
    static final int END_IMAGE_CLOSED = 6;

    private static final System.Logger LOG = System.getLogger("io.magnetar.transport");
    private static final int HEADER_LENGTH = MessageHeaderDecoder.ENCODED_LENGTH;
    private static final int BLOCK_LENGTH_OFFSET = MessageHeaderDecoder.blockLengthEncodingOffset();
    private static final int TEMPLATE_ID_OFFSET = MessageHeaderDecoder.templateIdEncodingOffset();
    private static final int SCHEMA_ID_OFFSET = MessageHeaderDecoder.schemaIdEncodingOffset();
    private static final int VERSION_OFFSET = MessageHeaderDecoder.versionEncodingOffset();
    private static final int SCHEMA_ID = MessageHeaderDecoder.SCHEMA_ID;
    private static final int SCHEMA_VERSION = MessageHeaderDecoder.SCHEMA_VERSION;

    private final TransportContext ctx;
    private final Aeron aeron;
    private final Sequencer sequencer;
    private final SessionRegistry registry;
    private final TransportCounters counters;
    private final EpochClock clock;
    private final long nodeStartCount;
    private final IngressAdapter[] adapters;
    private final SessionEventPublisher responder;
    private final Long2ObjectHashMap<Session> sessionByImage = new Long2ObjectHashMap<>();
    private final ArrayList<Session> sessions = new ArrayList<>();
    private final ArrayList<Session> pendingSessionClosed = new ArrayList<>();
    private final UnsafeBuffer frame = new UnsafeBuffer(0, 0);
    private final ConnectDecoder connectDecoder = new ConnectDecoder();
    private final HeartbeatDecoder heartbeatDecoder = new HeartbeatDecoder();
    private final DisconnectDecoder disconnectDecoder = new DisconnectDecoder();
    private final long heartbeatIntervalMs;
    private final long sessionTimeoutMs;
    private final long slowClientTimeoutMs;
    private final int egressBufferLength;
    private final long connectTimeoutMs;
    private final long checkIntervalMs;
    private final int maxCommandLength;
    private final int fragmentLimit;

    private long nextSessionSequence = 1;
    private long nowMs;
    private long nextCheckMs;
    private int connectingCount;
    private volatile boolean pollingEnabled = true;
    private volatile boolean pollingStopped;

    /**
     * Create the agent and its ingress subscriptions.
     *
     * @param ctx            the concluded transport context.
     * @param aeron          client of the node's media driver.
     * @param sequencer      of the started pipeline; this agent becomes its only caller.
     * @param nodeStartCount the pipeline's {@code startCount}: high 32 bits of every session id of this run.
     * @param registry       shared with the {@link EgressPublisher}.
     * @param counters       shared with the {@link EgressPublisher}.
     */
    public IngressAgent(
        final TransportContext ctx,
        final Aeron aeron,
        final Sequencer sequencer,
        final long nodeStartCount,
        final SessionRegistry registry,
        final TransportCounters counters)
    {
        if (!ctx.isConcluded())
        {
            ctx.conclude();
        }
        this.ctx = ctx;
        this.aeron = aeron;
        this.sequencer = sequencer;
        this.nodeStartCount = nodeStartCount;
        this.registry = registry;
        this.counters = counters;
        this.clock = ctx.epochClock();
        this.responder = new SessionEventPublisher(ctx.egressMaxRetries());
        this.heartbeatIntervalMs = ctx.heartbeatIntervalMs();
        this.sessionTimeoutMs = ctx.sessionTimeoutMs();
        this.slowClientTimeoutMs = ctx.slowClientTimeoutMs();
        this.egressBufferLength = ctx.egressBufferLength();
        this.connectTimeoutMs = ctx.connectTimeoutMs();
        this.checkIntervalMs = ctx.sessionCheckIntervalMs();
        this.maxCommandLength = ctx.maxCommandLength();
        this.fragmentLimit = ctx.fragmentLimit();

        final ArrayList<IngressAdapter> list = new ArrayList<>(2);
        try
        {
            if (null != ctx.ipcChannel())
            {
                list.add(new IngressAdapter(list.size(), aeron.addSubscription(ctx.ipcChannel(), ctx.ingressStreamId())));
            }
            if (null != ctx.udpChannel())
            {
                list.add(new IngressAdapter(list.size(), aeron.addSubscription(ctx.udpChannel(), ctx.ingressStreamId())));
            }
        }
        catch (final RuntimeException ex)
        {
            for (final IngressAdapter adapter : list)
            {
                CloseHelper.quietClose(adapter.subscription);
            }
            throw ex;
        }
        adapters = list.toArray(new IngressAdapter[0]);
    }

    /**
     * {@inheritDoc}
     */
    public String roleName()
    {
        return "magnetar-ingress";
    }

    /**
     * {@inheritDoc}
     */
    public void onStart()
    {
        nowMs = clock.time();
        nextCheckMs = nowMs + checkIntervalMs;
    }

    /**
     * {@inheritDoc}
     */
    public int doWork()
    {
        nowMs = clock.time();
        int workCount = 0;

        final boolean sequencing = pollingEnabled;
        if (sequencing)
        {
            if (!pendingSessionClosed.isEmpty())
            {
                workCount += offerPendingSessionClosed();
            }

            for (final IngressAdapter adapter : adapters)
            {
                workCount += adapter.poll();
            }

            workCount += sequencer.doWork();
        }
        else if (!pollingStopped)
        {
            pollingStopped = true; // from now on this agent never touches the sequencer again
        }

        if (connectingCount > 0)
        {
            workCount += progressConnecting();
        }

        if (registry.pendingSessions() > 0)
        {
            workCount += drainPending();
        }

        if (nowMs >= nextCheckMs || registry.takeFaultSignal())
        {
            nextCheckMs = nowMs + checkIntervalMs;
            workCount += checkSessions();
        }

        return workCount;
    }

    /**
     * On the agent's thread when it stops: every open session gets {@code SessionEnded(UNAVAILABLE)} best effort,
     * every publication and subscription is closed. No {@code SessionClosed} is sequenced: the pipeline is draining
     * or closed, and the next start's {@code NodeStarted} detaches every consumer of this run.
     */
    public void onClose()
    {
        for (int i = sessions.size() - 1; i >= 0; i--)
        {
            final Session session = sessions.get(i);
            if (session.isOpen())
            {
                responder.text("broker shutting down");
                responder.sessionEnded(session, ErrorCode.UNAVAILABLE);
            }
            session.state(Session.CLOSED);
            session.discardPending();
            removePublication(session);
        }
        sessions.clear();
        sessionByImage.clear();
        registry.clear();
        for (final IngressAdapter adapter : adapters)
        {
            CloseHelper.quietClose(adapter.subscription);
        }
    }

    /**
     * Stop polling the ingress channels and sequencing anything (graceful shutdown): nothing new enters the ring,
     * while the agent keeps serving the sessions (heartbeats, pending responses) until it is closed. Any thread.
     */
    public void stopPolling()
    {
        pollingEnabled = false;
    }

    /**
     * @return true once a duty cycle has run after {@link #stopPolling()}: no offer (command, tick, SessionClosed) is
     * in progress or will follow, so the pipeline can drain and close.
     */
    public boolean isPollingStopped()
    {
        return pollingStopped;
    }

    /**
     * @return the node start count in the high bits of this run's session ids.
     */
    public long nodeStartCount()
    {
        return nodeStartCount;
    }

    /**
     * @return sessions open or connecting (agent thread; approximate from others).
     */
    public int sessionCount()
    {
        return sessions.size();
    }

    // =================================================================================================================
    // frames
    // =================================================================================================================

    ControlledFragmentHandler.Action onFrame(
        final IngressAdapter adapter, final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        try
        {
            final ControlledFragmentHandler.Action action =
                handleFrame(adapter, buffer, offset, length, header.sessionId());
            if (ControlledFragmentHandler.Action.ABORT != action)
            {
                counters.framesReceived.incrementRelease();
            }
            return action;
        }
        catch (final RuntimeException ex)
        {
            // a bug must not turn one frame into an endless re-poll: report it and move past the frame
            ctx.errorHandler().onError(ex);
            return ControlledFragmentHandler.Action.CONTINUE;
        }
    }

    private ControlledFragmentHandler.Action handleFrame(
        final IngressAdapter adapter, final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId)
    {
        final long imageKey = adapter.imageKey(aeronSessionId);
        final Session session = sessionByImage.get(imageKey);

        if (length < HEADER_LENGTH)
        {
            if (null == session)
            {
                counters.framesDropped.incrementRelease();
                return ControlledFragmentHandler.Action.CONTINUE;
            }

            session.lastReceivedMs = nowMs;
            if (holdBack(session))
            {
                return ControlledFragmentHandler.Action.ABORT;
            }

            reject(session, 0, responder.text("frame of ").append(length)
                .append(" bytes is shorter than the 8-byte SBE message header"));
            return ControlledFragmentHandler.Action.CONTINUE;
        }

        final int blockLength = buffer.getShort(offset + BLOCK_LENGTH_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
        final int templateId = buffer.getShort(offset + TEMPLATE_ID_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
        final int schemaId = buffer.getShort(offset + SCHEMA_ID_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
        final int version = buffer.getShort(offset + VERSION_OFFSET, LITTLE_ENDIAN) & 0xFFFF;

        if (SCHEMA_ID == schemaId && ConnectDecoder.TEMPLATE_ID == templateId && version <= SCHEMA_VERSION)
        {
            onConnect(adapter, imageKey, aeronSessionId, session, buffer, offset, length, blockLength, version);
            return ControlledFragmentHandler.Action.CONTINUE;
        }

        if (null == session)
        {
            counters.framesDropped.incrementRelease();
            return ControlledFragmentHandler.Action.CONTINUE;
        }

        session.lastReceivedMs = nowMs;
        if (holdBack(session))
        {
            return ControlledFragmentHandler.Action.ABORT;
        }

        if (SCHEMA_ID != schemaId)
        {
            reject(session, templateId, responder.text("schemaId ").append(schemaId)
                .append(" is not the Magnetar protocol (").append(SCHEMA_ID).append(")"));
        }
        else if (version > SCHEMA_VERSION)
        {
            reject(session, templateId, responder.text("schema version ").append(version)
                .append(" is newer than this broker's ").append(SCHEMA_VERSION));
        }
        else if (CommandTypes.isClientCommand(templateId))
        {
            if (length > maxCommandLength)
            {
                reject(session, templateId, responder.text("frame of ").append(length)
                    .append(" bytes exceeds the limit of ").append(maxCommandLength));
            }
            else
            {
                final int offered = sequencer.tryOffer(session.id, buffer, offset, length);
                if (Sequencer.OFFERED == offered)
                {
                    counters.commandsSequenced.incrementRelease();
                }
                else if (Sequencer.REFUSED_JOURNAL_FULL == offered)
                {
                    refuseJournalFull(session, templateId, buffer, offset, length);
                }
                else
                {
                    counters.ringFull.incrementRelease();
                    return ControlledFragmentHandler.Action.ABORT;
                }
            }
        }
        else if (HeartbeatDecoder.TEMPLATE_ID == templateId)
        {
            onHeartbeat(session, buffer, offset, length, blockLength, version);
        }
        else if (DisconnectDecoder.TEMPLATE_ID == templateId)
        {
            onDisconnect(session, buffer, offset, length, blockLength, version);
        }
        else if (templateId >= CommandTypes.INTERNAL_MIN && templateId <= CommandTypes.INTERNAL_MAX)
        {
            reject(session, templateId, responder.text("templateId ").append(templateId)
                .append(" is internal to the broker and not accepted from a session"));
        }
        else
        {
            reject(session, templateId, responder.text("unknown templateId ").append(templateId));
        }

        return ControlledFragmentHandler.Action.CONTINUE;
    }

    private static boolean holdBack(final Session session)
    {
        return Session.CONNECTING == session.state();
    }

    private void onConnect(
        final IngressAdapter adapter,
        final long imageKey,
        final int aeronSessionId,
        final Session existing,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int blockLength,
        final int version)
    {
        final long correlationId;
        final int protocolVersion;
        final int responseStreamId;
        final String responseChannel;
        final String clientName;
        try
        {
            if (blockLength < ConnectDecoder.BLOCK_LENGTH || HEADER_LENGTH + blockLength > length)
            {
                throw new IllegalArgumentException("blockLength " + blockLength + " in a frame of " + length + " bytes");
            }
            frame.wrap(buffer, offset, length);
            connectDecoder.wrap(frame, HEADER_LENGTH, blockLength, version);
            correlationId = connectDecoder.correlationId();
            protocolVersion = connectDecoder.protocolVersion();
            responseStreamId = connectDecoder.responseStreamId();
            responseChannel = connectDecoder.responseChannel();
            clientName = connectDecoder.clientName();
        }
        catch (final RuntimeException ex)
        {
            if (null != existing)
            {
                existing.lastReceivedMs = nowMs;
                reject(existing, ConnectDecoder.TEMPLATE_ID, responder.text("malformed Connect: ")
                    .append(ex.getClass().getSimpleName()));
            }
            else
            {
                counters.framesDropped.incrementRelease();
            }
            return;
        }

        if (null != existing)
        {
            responder.text("replaced by a new Connect on the same publication");
            endSession(existing, END_REPLACED, ErrorCode.NULL_VAL);
        }

        String rejectReason = null;
        if (protocolVersion != PROTOCOL_VERSION)
        {
            rejectReason = "protocolVersion " + protocolVersion + " is not supported (this broker speaks " +
                PROTOCOL_VERSION + ")";
        }

        final long registrationId;
        try
        {
            registrationId = aeron.asyncAddPublication(responseChannel, responseStreamId);
        }
        catch (final RuntimeException ex)
        {
            connectFailed(null, "response channel rejected: " + ex.getMessage(), responseChannel, responseStreamId);
            return;
        }

        final long sessionId = (nodeStartCount << 32) | (nextSessionSequence++ & 0xFFFF_FFFFL);
        final Session session = new Session(
            sessionId,
            imageKey,
            aeronSessionId,
            adapter.subscription.imageBySessionId(aeronSessionId),
            adapter,
            correlationId,
            responseChannel,
            responseStreamId,
            clientName,
            registrationId,
            rejectReason,
            nowMs,
            nowMs + connectTimeoutMs,
            egressBufferLength,
            registry.pendingSessionsCounter());
        sessionByImage.put(imageKey, session);
        sessions.add(session);
        connectingCount++;
    }

    private void onHeartbeat(
        final Session session,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int blockLength,
        final int version)
    {
        if (blockLength < HeartbeatDecoder.BLOCK_LENGTH || HEADER_LENGTH + blockLength > length)
        {
            reject(session, HeartbeatDecoder.TEMPLATE_ID, responder.text("malformed Heartbeat: blockLength ")
                .append(blockLength).append(" in a frame of ").append(length).append(" bytes"));
            return;
        }

        frame.wrap(buffer, offset, length);
        final long claimed = heartbeatDecoder.wrap(frame, HEADER_LENGTH, blockLength, version).sessionId();
        if (claimed != session.id)
        {
            reject(session, HeartbeatDecoder.TEMPLATE_ID, responder.text("Heartbeat for session ").append(claimed)
                .append(" arrived on session ").append(session.id));
        }
    }

    private void onDisconnect(
        final Session session,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int blockLength,
        final int version)
    {
        if (blockLength < DisconnectDecoder.BLOCK_LENGTH || HEADER_LENGTH + blockLength > length)
        {
            reject(session, DisconnectDecoder.TEMPLATE_ID, responder.text("malformed Disconnect: blockLength ")
                .append(blockLength).append(" in a frame of ").append(length).append(" bytes"));
            return;
        }

        frame.wrap(buffer, offset, length);
        final long claimed = disconnectDecoder.wrap(frame, HEADER_LENGTH, blockLength, version).sessionId();
        if (claimed != session.id)
        {
            reject(session, DisconnectDecoder.TEMPLATE_ID, responder.text("Disconnect for session ").append(claimed)
                .append(" arrived on session ").append(session.id));
            return;
        }

        responder.text("disconnected by the client");
        endSession(session, END_CLIENT, ErrorCode.NULL_VAL);
    }

    /**
     * Answer a frame with {@code CommandError(INVALID_ARGUMENT)} carrying the responder's current text. If the
     * session's responses are back-pressured beyond the retries, it is a slow client and will be ended.
     */
    private void reject(final Session session, final int templateId, final SessionEventPublisher text)
    {
        counters.framesRejected.incrementRelease();
        if (Session.OPEN != session.state() || Session.FAULT_NONE != session.fault())
        {
            return;
        }

        final int result = text.commandError(session, 0, ErrorCode.INVALID_ARGUMENT, templateId);
        afterAnswer(session, result);
    }

    /**
     * After an answer to a session: note the send (and count a queued one), or raise the fault it hit.
     */
    private void afterAnswer(final Session session, final int result)
    {
        if (Session.SENT == result || Session.QUEUED == result)
        {
            session.lastSentMs = nowMs;
            if (Session.QUEUED == result)
            {
                counters.responsesQueued.incrementRelease();
            }
        }
        else
        {
            raiseFault(session, result);
        }
    }

    /**
     * Answer a command the sequencer refused because the journal's disk is (nearly) full with
     * {@code CommandError(UNAVAILABLE)} for its correlation id (the first field of every command it refuses). Not
     * journaled, nothing applied: the client may retry once space is freed.
     */
    private void refuseJournalFull(
        final Session session, final int templateId, final DirectBuffer buffer, final int offset, final int length)
    {
        counters.journalFullRefusals.incrementRelease();
        if (Session.OPEN != session.state() || Session.FAULT_NONE != session.fault())
        {
            return;
        }

        final long correlationId = length >= HEADER_LENGTH + Long.BYTES ?
            buffer.getLong(offset + HEADER_LENGTH, LITTLE_ENDIAN) : 0;
        final int result = responder.text(sequencer.journalSpaceMessage())
            .commandError(session, correlationId, ErrorCode.UNAVAILABLE, templateId);
        afterAnswer(session, result);
    }

    private void raiseFault(final Session session, final int sendResult)
    {
        final int fault = Session.OVERFLOW == sendResult || Session.BACK_PRESSURED == sendResult ? Session.FAULT_SLOW :
            Session.TOO_LONG == sendResult ? Session.FAULT_TOO_LONG : Session.FAULT_GONE;
        if (session.raiseFault(fault))
        {
            registry.signalFault();
        }
    }

    // =================================================================================================================
    // session life
    // =================================================================================================================

    private int progressConnecting()
    {
        int workCount = 0;
        for (int i = sessions.size() - 1; i >= 0; i--)
        {
            final Session session = sessions.get(i);
            if (Session.CONNECTING != session.state())
            {
                continue;
            }

            if (null == session.publication)
            {
                final ConcurrentPublication publication;
                try
                {
                    publication = aeron.getPublication(session.registrationId);
                }
                catch (final RuntimeException ex)
                {
                    connectFailed(session, "response publication failed: " + ex.getMessage(),
                        session.responseChannel, session.responseStreamId);
                    workCount++;
                    continue;
                }

                if (null == publication)
                {
                    if (nowMs > session.connectDeadlineMs)
                    {
                        connectFailed(session, "response publication not added in time",
                            session.responseChannel, session.responseStreamId);
                        workCount++;
                    }
                    continue;
                }
                session.publication(publication);
                workCount++;
            }

            if (!session.publication.isConnected())
            {
                if (nowMs > session.connectDeadlineMs)
                {
                    connectFailed(session, "response channel not connected within " + connectTimeoutMs + " ms",
                        session.responseChannel, session.responseStreamId);
                    workCount++;
                }
                continue;
            }

            if (null != session.rejectReason)
            {
                responder.text(session.rejectReason).commandError(
                    session, session.connectCorrelationId, ErrorCode.INVALID_ARGUMENT, ConnectDecoder.TEMPLATE_ID);
                connectFailed(session, session.rejectReason, session.responseChannel, session.responseStreamId);
                workCount++;
                continue;
            }

            final int result = responder.connected(
                session, PROTOCOL_VERSION, heartbeatIntervalMs, sessionTimeoutMs, nodeStartCount);
            if (Session.SENT == result)
            {
                session.lastSentMs = nowMs;
                session.lastReceivedMs = nowMs;
                session.state(Session.OPEN);
                registry.add(session);
                connectingCount--;
                counters.sessionsOpened.incrementRelease();
                workCount++;
                if (LOG.isLoggable(System.Logger.Level.INFO))
                {
                    LOG.log(System.Logger.Level.INFO, "session.opened", "sessionId", session.id, "client",
                        session.clientName, "responseChannel", session.responseChannel, "responseStreamId",
                        session.responseStreamId, "ingress", session.adapter.subscription.channel());
                }
            }
            else if (nowMs > session.connectDeadlineMs)
            {
                connectFailed(session, "could not send Connected", session.responseChannel, session.responseStreamId);
                workCount++;
            }
        }

        return workCount;
    }

    private void connectFailed(final Session session, final String reason, final String channel, final int streamId)
    {
        counters.connectsFailed.incrementRelease();
        if (null != session)
        {
            session.state(Session.CLOSED);
            connectingCount--;
            forget(session);
            removePublication(session);
        }

        if (LOG.isLoggable(System.Logger.Level.WARNING))
        {
            LOG.log(System.Logger.Level.WARNING, "session.connect.failed", "reason", reason, "responseChannel",
                channel, "responseStreamId", streamId);
        }
    }

    /**
     * End an open session with the responder's current text as the {@code SessionEnded} message.
     */
    private void endSession(final Session session, final int reason, final ErrorCode code)
    {
        final int state = session.state();
        if (Session.CLOSED == state)
        {
            return;
        }

        if (Session.CONNECTING == state)
        {
            session.state(Session.CLOSED);
            forget(session);
            connectingCount--;
            removePublication(session);
            return;
        }

        counters.sessionsEnded.incrementRelease();
        if (END_TIMEOUT == reason)
        {
            counters.sessionsTimedOut.incrementRelease();
        }
        else if (END_SLOW == reason)
        {
            counters.sessionsSlow.incrementRelease();
        }

        session.state(Session.CLOSED);
        forget(session);
        registry.remove(session.id);
        session.discardPending();
        if (!pollingStopped && !sequencer.offerSessionClosed(session.id))
        {
            pendingSessionClosed.add(session);
        }

        if (END_GONE != reason && END_TOO_LONG != reason)
        {
            responder.sessionEnded(session, code);
        }
        removePublication(session);

        if (LOG.isLoggable(System.Logger.Level.INFO))
        {
            LOG.log(System.Logger.Level.INFO, "session.ended", "sessionId", session.id, "client", session.clientName,
                "reason", reasonName(reason));
        }
    }

    private void forget(final Session session)
    {
        if (sessionByImage.get(session.imageKey) == session)
        {
            sessionByImage.remove(session.imageKey);
            session.adapter.assembler.freeSessionBuffer(session.aeronSessionId);
        }
        sessions.remove(session);
    }

    private void removePublication(final Session session)
    {
        try
        {
            aeron.asyncRemovePublication(session.registrationId);
        }
        catch (final RuntimeException ex)
        {
            ctx.errorHandler().onError(ex);
        }
    }

    private int offerPendingSessionClosed()
    {
        int workCount = 0;
        while (!pendingSessionClosed.isEmpty())
        {
            final Session session = pendingSessionClosed.get(0);
            if (!sequencer.offerSessionClosed(session.id))
            {
                break;
            }
            pendingSessionClosed.remove(0);
            workCount++;
        }
        return workCount;
    }

    private int drainPending()
    {
        int workCount = 0;
        for (int i = sessions.size() - 1; i >= 0; i--)
        {
            final Session session = sessions.get(i);
            if (!session.hasPending())
            {
                if (session.pendingProgressMs >= 0)
                {
                    session.pendingProgressMs = -1;
                }
                continue;
            }

            final int sent = session.drainPending();
            if (sent > 0)
            {
                workCount += sent;
                session.pendingProgressMs = session.hasPending() ? nowMs : -1;
            }
            else if (sent < 0)
            {
                raiseFault(session, Session.GONE);
            }
            else if (session.pendingProgressMs < 0)
            {
                session.pendingProgressMs = nowMs;
            }
            else if (nowMs - session.pendingProgressMs > slowClientTimeoutMs)
            {
                raiseFault(session, Session.OVERFLOW);
            }
        }

        return workCount;
    }

    private int checkSessions()
    {
        int workCount = 0;
        for (int i = sessions.size() - 1; i >= 0; i--)
        {
            final Session session = sessions.get(i);
            if (!session.isOpen())
            {
                continue;
            }

            final int fault = session.fault();
            if (Session.FAULT_SLOW == fault)
            {
                responder.text("slow client: responses back-pressured beyond the pending limit or timeout");
                endSession(session, END_SLOW, ErrorCode.UNAVAILABLE);
            }
            else if (Session.FAULT_GONE == fault)
            {
                responder.text("response channel not connected");
                endSession(session, END_GONE, ErrorCode.UNAVAILABLE);
            }
            else if (Session.FAULT_TOO_LONG == fault)
            {
                responder.text("a response exceeded the response channel's maximum message length");
                endSession(session, END_TOO_LONG, ErrorCode.INTERNAL);
            }
            else if (nowMs - session.lastReceivedMs > sessionTimeoutMs)
            {
                responder.text("session timeout: no frame for ").append(nowMs - session.lastReceivedMs).append(" ms");
                endSession(session, END_TIMEOUT, ErrorCode.UNAVAILABLE);
            }
            else if (null != session.image && session.image.isClosed())
            {
                responder.text("the client's ingress publication is gone");
                endSession(session, END_IMAGE_CLOSED, ErrorCode.UNAVAILABLE);
            }
            else
            {
                final long egressCount = session.egressCount();
                if (egressCount != session.lastSeenEgressCount)
                {
                    session.lastSeenEgressCount = egressCount;
                    session.lastSentMs = nowMs;
                }

                if (nowMs - session.lastSentMs >= heartbeatIntervalMs)
                {
                    final int result = responder.brokerHeartbeat(session, nodeStartCount);
                    if (Session.SENT == result || Session.QUEUED == result)
                    {
                        session.lastSentMs = nowMs;
                        counters.heartbeatsSent.incrementRelease();
                        if (Session.QUEUED == result)
                        {
                            counters.responsesQueued.incrementRelease();
                        }
                    }
                    else
                    {
                        raiseFault(session, result);
                    }
                }
                continue;
            }
            workCount++;
        }

        return workCount;
    }

    private static String reasonName(final int reason)
    {
        switch (reason)
        {
            case END_CLIENT:
                return "disconnect";
            case END_TIMEOUT:
                return "timeout";
            case END_SLOW:
                return "slow";
            case END_GONE:
                return "response-channel-gone";
            case END_REPLACED:
                return "replaced";
            case END_TOO_LONG:
                return "response-too-long";
            case END_IMAGE_CLOSED:
                return "ingress-image-closed";
            default:
                return "unknown";
        }
    }

    /**
     * One ingress subscription with its own fragment assembler (Aeron session ids are unique per subscription only).
     */
    final class IngressAdapter implements ControlledFragmentHandler
    {
        final int index;
        final Subscription subscription;
        final ControlledFragmentAssembler assembler;

        IngressAdapter(final int index, final Subscription subscription)
        {
            this.index = index;
            this.subscription = subscription;
            this.assembler = new ControlledFragmentAssembler(this);
        }

        int poll()
        {
            return subscription.controlledPoll(assembler, fragmentLimit);
        }

        long imageKey(final int aeronSessionId)
        {
            return ((long)index << 32) | (aeronSessionId & 0xFFFF_FFFFL);
        }

        /**
         * {@inheritDoc}
         */
        public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
        {
            return onFrame(this, buffer, offset, length, header);
        }
    }
}
