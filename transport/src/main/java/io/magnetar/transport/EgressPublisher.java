package io.magnetar.transport;

import io.aeron.logbuffer.BufferClaim;
import io.magnetar.engine.EventListener;
import org.agrona.DirectBuffer;

/**
 * The engine's {@link EventListener}: runs on the engine thread and sends each event to the publication of the
 * session it is addressed to.
 * <p>
 * <b>Never blocks the engine.</b> An event is claimed ({@code tryClaim}, one MTU) or offered (fragmented) with at most
 * {@link TransportContext#egressMaxRetries()} immediate retries on back-pressure; then it goes to the session's bounded
 * pending buffer ({@link TransportContext#egressBufferLength()}), which the ingress agent drains in order. If that
 * buffer overflows or makes no progress for {@link TransportContext#slowClientTimeoutMs()}, or the client is gone, or
 * an event is longer than the publication allows, the session gets a fault, every later event for it is dropped at
 * once, and the ingress agent ends the session: it sequences {@code SessionClosed}, so the engine detaches the session's consumers and redelivers what was
 * outstanding to them (SPEC 2.7). A dropped receipt is therefore never silent: the session it belonged to ends, and
 * the client re-sends unconfirmed publishes on its new session (docs/PROTOCOL.md).
 * <p>
 * Events for session 0 (the node itself) or for a session that is not open are dropped and counted. Allocation free.
 */
public final class EgressPublisher implements EventListener
{
    private final SessionRegistry registry;
    private final TransportCounters counters;
    private final int maxRetries;
    private final BufferClaim claim = new BufferClaim();

    /**
     * @param ctx      the concluded transport context.
     * @param registry shared with the {@link IngressAgent}.
     * @param counters shared with the {@link IngressAgent}.
     */
    public EgressPublisher(final TransportContext ctx, final SessionRegistry registry, final TransportCounters counters)
    {
        this.registry = registry;
        this.counters = counters;
        this.maxRetries = ctx.egressMaxRetries();
    }

    /**
     * {@inheritDoc}
     */
    public void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        final Session session = registry.get(sessionId);
        if (null == session || !session.isOpen() || Session.FAULT_NONE != session.fault())
        {
            counters.eventsDropped.incrementRelease();
            return;
        }

        final int result = session.deliver(claim, buffer, offset, length, maxRetries);
        if (Session.SENT == result || Session.QUEUED == result)
        {
            session.countEgress();
            counters.eventsSent.incrementRelease();
            if (Session.QUEUED == result)
            {
                counters.eventsQueued.incrementRelease();
            }
            return;
        }

        counters.eventsFailed.incrementRelease();
        final int fault = Session.OVERFLOW == result ? Session.FAULT_SLOW :
            Session.TOO_LONG == result ? Session.FAULT_TOO_LONG : Session.FAULT_GONE;
        if (session.raiseFault(fault))
        {
            registry.signalFault();
        }
    }
}
