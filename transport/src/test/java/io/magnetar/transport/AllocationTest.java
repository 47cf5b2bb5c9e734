package io.magnetar.transport;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

import io.magnetar.codecs.AckReceiptEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.transport.fixture.RawSession;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Steady state of the transport's hot paths allocates nothing: the ingress agent's duty cycle (poll, validate,
 * sequence, reject, heartbeat handling) and the egress publisher's {@code onEvent}, measured with the JVM's
 * per-thread allocation counter after a warm-up. The one documented exception, creating or growing a session's
 * bounded pending buffer the first times its responses meet back-pressure, is excluded by watching the counters.
 */
@Timeout(60)
class AllocationTest
{
    private static final long T = 10_000;
    private static final int WARM_UP = 100_000;
    private static final int MEASURED = 100_000;

    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

    @Test
    void ingressDutyCycleAllocatesNothing() throws Exception
    {
        try (TransportHarness harness = new TransportHarness((ctx) -> {}, 16 * 1024, UnaryOperator.identity(), true))
        {
            final RawSession client = harness.ipcSession("alloc-in");
            final AtomicBoolean pumping = new AtomicBoolean(true);
            final Thread pump = new Thread(() ->
            {
                while (pumping.get())
                {
                    harness.invoker.invoke();
                }
            });
            pump.start();
            client.connect(T);
            client.createTopic("alloc", 1, T);
            final long consumerId = client.subscribe("alloc", "s", SubscriptionType.SHARED, 10, T).consumerId();
            pumping.set(false);
            pump.join();

            // the client sends a mix: a command for the ring, a heartbeat, a frame the transport rejects
            final AtomicBoolean sending = new AtomicBoolean(true);
            final Thread sender = new Thread(() ->
            {
                final ExpandableArrayBuffer bad = new ExpandableArrayBuffer(16);
                new MessageHeaderEncoder().wrap(bad, 0).blockLength(8).templateId(10).schemaId(99).version(0);
                long n = 0;
                while (sending.get())
                {
                    final int kind = (int)(n % 3);
                    if (0 == kind)
                    {
                        client.sendCommand(client.commands().ack(n, consumerId, new MessageId(0, 1, n)), T);
                    }
                    else if (1 == kind)
                    {
                        client.heartbeat(T);
                    }
                    else
                    {
                        client.send(bad, 0, 16, T);
                    }
                    n++;
                    client.poll();
                    client.recorder().clear();
                    client.sessionEvents().clear();
                }
            });
            sender.start();

            try
            {
                final long warmUpTarget = harness.counters.framesReceived.get() + WARM_UP;
                while (harness.counters.framesReceived.get() < warmUpTarget)
                {
                    harness.invoker.invoke();
                }

                final long start = harness.counters.framesReceived.get();
                long allocated = 0;
                long cycles = 0;
                long backPressuredCycles = 0;
                final StringBuilder windows = new StringBuilder();
                long windowAllocated = 0;
                long nextWindow = start + MEASURED / 10;
                while (harness.counters.framesReceived.get() < start + MEASURED)
                {
                    final long queuedBefore = harness.counters.responsesQueued.get();
                    final long before = THREADS.getCurrentThreadAllocatedBytes();
                    harness.invoker.invoke();
                    long delta = THREADS.getCurrentThreadAllocatedBytes() - before;
                    if (harness.counters.responsesQueued.get() != queuedBefore)
                    {
                        // back-pressure: the session's bounded pending buffer is created or grown (documented)
                        backPressuredCycles++;
                        delta = 0;
                    }
                    allocated += delta;
                    windowAllocated += delta;
                    cycles++;
                    if (harness.counters.framesReceived.get() >= nextWindow)
                    {
                        windows.append(windowAllocated).append(' ');
                        windowAllocated = 0;
                        nextWindow += MEASURED / 10;
                    }
                }
                System.out.println("ingress allocation per 10k-frame window: " + windows);

                System.out.printf("ingress: %d frames in %d duty cycles (%d with responses queued), %d bytes allocated%n",
                    harness.counters.framesReceived.get() - start, cycles, backPressuredCycles, allocated);
                assertTrue(harness.errors().isEmpty(), () -> "errors: " + harness.errors());
                // Now and then a single duty cycle allocates 72..1104 bytes with no frame, counter or state change to
                // explain it (a full-ring abort, say): the JVM's deoptimisation (uncommon trap, objects rematerialised),
                // not our code; with -XX:-DoEscapeAnalysis the path shows 0 bytes over 100,000 frames too. So tolerate
                // under 4 KiB per 100,000 frames: nothing per frame.
                assertTrue(allocated < 4096, "bytes allocated by the ingress duty cycle in steady state: " + allocated);
                assertTrue(harness.counters.framesRejected.get() > MEASURED / 4, () -> harness.counters.snapshot().toString());
            }
            finally
            {
                sending.set(false);
                while (sender.isAlive())
                {
                    harness.invoker.invoke();
                }
                client.close();
            }
        }
    }

    @Test
    void egressOnEventAllocatesNothing() throws Exception
    {
        try (TransportHarness harness = new TransportHarness((ctx) -> {}))
        {
            final RawSession client = harness.ipcSession("alloc-out");
            final long sessionId = client.connect(T);
            final Session session = harness.registry.get(sessionId);

            final ExpandableArrayBuffer event = new ExpandableArrayBuffer(64);
            final AckReceiptEncoder encoder = new AckReceiptEncoder()
                .wrapAndApplyHeader(event, 0, new MessageHeaderEncoder())
                .correlationId(7).consumerId(1).done(1).unknown(0);
            final int length = MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength();

            final AtomicBoolean reading = new AtomicBoolean(true);
            final Thread reader = new Thread(() ->
            {
                while (reading.get())
                {
                    if (0 == client.poll())
                    {
                        Thread.onSpinWait();
                    }
                    client.recorder().clear();
                    client.sessionEvents().clear();
                }
            });
            reader.start();

            try
            {
                // the first loop also grows the session's pending buffer (back-pressure); the measured loop waits
                // for it to drain before each event, so it measures the common path: claim, copy, commit
                for (int i = 0; i < WARM_UP; i++)
                {
                    harness.egressPublisher.onEvent(sessionId, event, 0, length);
                }

                final long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < MEASURED; i++)
                {
                    while (session.hasPending())
                    {
                        Thread.onSpinWait();
                    }
                    harness.egressPublisher.onEvent(sessionId, event, 0, length);
                }
                final long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;

                System.out.printf("egress: %d events, %d queued on back-pressure, %d bytes allocated%n",
                    MEASURED, harness.counters.eventsQueued.get(), allocated);
                // As for ingress: a rare stray allocation of tens of bytes comes from the JVM (seen once in CI: 56 bytes
                // over 100,000 events), not from onEvent; anything per event would be >= 1,600,000 bytes here.
                assertTrue(allocated < 4096, "bytes allocated by EgressPublisher.onEvent in steady state: " + allocated);
                assertTrue(harness.registry.isOpen(sessionId));
            }
            finally
            {
                reading.set(false);
                reader.join();
                client.close();
            }
        }
    }
}
