package io.magnetar.transport;

import io.aeron.Aeron;
import io.aeron.Counter;
import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The transport's counters, allocated in the media driver's counters file so that Aeron's tools ({@code AeronStat})
 * show them next to the driver's own, labelled {@code magnetar: ...}, type id {@link #TYPE_ID}.
 * <p>
 * Each counter has one writing thread (noted below), which increments it with release semantics: no lock, no
 * allocation.
 */
public final class TransportCounters implements AutoCloseable
{
    /** Aeron counter type id of every Magnetar transport counter. */
    public static final int TYPE_ID = 9100;

    /** Ingress: frames (reassembled messages) consumed from the ingress channels (held-back ones count once). */
    public final AtomicCounter framesReceived;
    /** Ingress: client commands sequenced into the engine's ring. */
    public final AtomicCounter commandsSequenced;
    /** Ingress: frames answered with {@code CommandError} by the transport (malformed, unknown, internal). */
    public final AtomicCounter framesRejected;
    /** Ingress: frames from an image without a session (no Connect): cannot be answered, dropped. */
    public final AtomicCounter framesDropped;
    /** Ingress: times a frame was held back (ABORT) because the ring was full; a frame may be held back repeatedly. */
    public final AtomicCounter ringFull;
    /** Ingress: sessions opened (Connected sent). */
    public final AtomicCounter sessionsOpened;
    /** Ingress: sessions ended, for any reason. */
    public final AtomicCounter sessionsEnded;
    /** Ingress: sessions ended because no frame arrived within the session timeout. */
    public final AtomicCounter sessionsTimedOut;
    /** Ingress: sessions ended as slow clients (responses back-pressured beyond the bounded retries). */
    public final AtomicCounter sessionsSlow;
    /** Ingress: Connects that failed (bad response channel, publication never connected, unsupported version). */
    public final AtomicCounter connectsFailed;
    /** Ingress: transport responses (errors, heartbeats) that met back-pressure and went to the pending buffer. */
    public final AtomicCounter responsesQueued;
    /** Ingress: {@code BrokerHeartbeat}s sent. */
    public final AtomicCounter heartbeatsSent;
    /** Engine thread: events sent to sessions. */
    public final AtomicCounter eventsSent;
    /** Engine thread: events that met back-pressure and went to the session's pending buffer. */
    public final AtomicCounter eventsQueued;
    /** Engine thread: events for no open session (node-internal, already ended), dropped. */
    public final AtomicCounter eventsDropped;
    /** Engine thread: events that could not be sent (pending buffer full, client gone, too long). */
    public final AtomicCounter eventsFailed;
    /**
     * Ingress: commands that grow the journal (publish, subscribe, create) refused with {@code UNAVAILABLE} because the
     * journal's disk was (nearly) full.
     */
    public final AtomicCounter journalFullRefusals;

    private final List<AtomicCounter> all = new ArrayList<>();
    private final List<String> labels = new ArrayList<>();

    private TransportCounters(final CounterFactory factory)
    {
        framesReceived = add(factory, "framesReceived", "ingress frames received");
        commandsSequenced = add(factory, "commandsSequenced", "ingress commands sequenced");
        framesRejected = add(factory, "framesRejected", "ingress frames rejected");
        framesDropped = add(factory, "framesDropped", "ingress frames dropped (no session)");
        ringFull = add(factory, "ringFull", "ingress ring full (back-pressure)");
        sessionsOpened = add(factory, "sessionsOpened", "sessions opened");
        sessionsEnded = add(factory, "sessionsEnded", "sessions ended");
        sessionsTimedOut = add(factory, "sessionsTimedOut", "sessions timed out");
        sessionsSlow = add(factory, "sessionsSlow", "sessions ended slow");
        connectsFailed = add(factory, "connectsFailed", "connects failed");
        responsesQueued = add(factory, "responsesQueued", "ingress responses queued (back-pressure)");
        heartbeatsSent = add(factory, "heartbeatsSent", "broker heartbeats sent");
        eventsSent = add(factory, "eventsSent", "egress events sent");
        eventsQueued = add(factory, "eventsQueued", "egress events queued (back-pressure)");
        eventsDropped = add(factory, "eventsDropped", "egress events dropped (no session)");
        eventsFailed = add(factory, "eventsFailed", "egress events failed");
        journalFullRefusals = add(factory, "journalFullRefusals", "ingress commands refused (journal disk full)");
    }

    /**
     * Allocate the counters in the driver of {@code aeron}.
     *
     * @param aeron the client; the counters are freed when it closes or {@link #close()} is called.
     * @return the counters.
     */
    public static TransportCounters allocate(final Aeron aeron)
    {
        return new TransportCounters((label) -> aeron.addCounter(TYPE_ID, "magnetar: " + label));
    }

    /**
     * @return every counter by name (the field name: {@code framesReceived}), for logs and tests.
     */
    public Map<String, Long> snapshot()
    {
        final Map<String, Long> values = new LinkedHashMap<>();
        for (int i = 0; i < all.size(); i++)
        {
            final AtomicCounter counter = all.get(i);
            values.put(labels.get(i), counter.isClosed() ? -1 : counter.get());
        }
        return values;
    }

    /**
     * Free the counters (idempotent).
     */
    public void close()
    {
        for (final AtomicCounter counter : all)
        {
            if (counter instanceof Counter && !((Counter)counter).isClosed())
            {
                CloseHelper.quietClose(counter);
            }
        }
    }

    private AtomicCounter add(final CounterFactory factory, final String key, final String label)
    {
        final AtomicCounter counter = factory.newCounter(label);
        all.add(counter);
        labels.add(key);
        return counter;
    }

    @FunctionalInterface
    private interface CounterFactory
    {
        AtomicCounter newCounter(String label);
    }
}
