package io.magnetar.transport;

import org.agrona.collections.Long2ObjectHashMap;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The open sessions by broker session id, shared by the ingress agent (the only writer) and the engine thread
 * (through {@link EgressPublisher}, a reader on every event).
 * <p>
 * Copy-on-write: a session opens or ends rarely, an event is routed on every engine output, so every change copies
 * the map and publishes the copy through a volatile reference, and a lookup is one volatile read and a primitive
 * {@code long} probe: no lock, no boxing, no allocation.
 * <p>
 * The engine thread also signals faults it raised on a session (slow, gone) so the ingress agent checks at once.
 */
public final class SessionRegistry
{
    private volatile Long2ObjectHashMap<Session> sessions = new Long2ObjectHashMap<>();
    private volatile boolean faultSignalled;
    private final AtomicInteger pendingSessions = new AtomicInteger();

    /**
     * @return the number of open sessions.
     */
    public int size()
    {
        return sessions.size();
    }

    /**
     * @param sessionId broker session id.
     * @return true if that session is open.
     */
    public boolean isOpen(final long sessionId)
    {
        final Session session = sessions.get(sessionId);
        return null != session && session.isOpen();
    }

    Session get(final long sessionId)
    {
        return sessions.get(sessionId);
    }

    /**
     * Ingress thread only.
     */
    void add(final Session session)
    {
        final Long2ObjectHashMap<Session> copy = new Long2ObjectHashMap<>(sessions);
        copy.put(session.id, session);
        sessions = copy;
    }

    /**
     * Ingress thread only.
     */
    void remove(final long sessionId)
    {
        final Long2ObjectHashMap<Session> current = sessions;
        if (current.containsKey(sessionId))
        {
            final Long2ObjectHashMap<Session> copy = new Long2ObjectHashMap<>(current);
            copy.remove(sessionId);
            sessions = copy;
        }
    }

    /**
     * Ingress thread only.
     */
    void clear()
    {
        sessions = new Long2ObjectHashMap<>();
    }

    /**
     * @return sessions with back-pressured responses waiting to be drained (any thread).
     */
    public int pendingSessions()
    {
        return pendingSessions.get();
    }

    AtomicInteger pendingSessionsCounter()
    {
        return pendingSessions;
    }

    /**
     * Tell the ingress agent that a session has a fault to act on.
     */
    void signalFault()
    {
        faultSignalled = true;
    }

    /**
     * @return true if a fault was signalled since the last call (ingress thread).
     */
    boolean takeFaultSignal()
    {
        if (faultSignalled)
        {
            faultSignalled = false;
            return true;
        }

        return false;
    }
}
