package io.magnetar.transport;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.transport.fixture.RawSession;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The session protocol of docs/PROTOCOL.md against a real engine and pipeline, over IPC and UDP.
 */
@Timeout(60)
class SessionProtocolTest
{
    private static final long T = 10_000;

    private TransportHarness harness;
    private final List<RawSession> sessions = new ArrayList<>();

    @AfterEach
    void after()
    {
        sessions.forEach(RawSession::close);
        if (null != harness)
        {
            harness.close();
            assertTrue(harness.errors().isEmpty(), () -> "errors: " + harness.errors());
        }
    }

    private RawSession ipc(final String name)
    {
        final RawSession session = harness.ipcSession(name);
        sessions.add(session);
        return session;
    }

    private RawSession udp(final String name)
    {
        final RawSession session = harness.udpSession(name);
        sessions.add(session);
        return session;
    }

    @Test
    void connectOverIpcAndUdpAndRoundTrip()
    {
        harness = new TransportHarness((ctx) -> {});
        final RawSession a = ipc("ipc-client");
        final RawSession b = udp("udp-client");
        final long idA = a.connect(T);
        final long idB = b.connect(T);

        assertNotEquals(idA, idB);
        assertEquals(1, idA >>> 32, "node start count in the high bits");
        assertEquals(1, idB >>> 32);
        final RawSession.Connected connected = a.sessionEvents(RawSession.Connected.class).get(0);
        assertEquals(1, connected.protocolVersion());
        assertEquals(1, connected.nodeStartCount());
        assertEquals(harness.ctx.heartbeatIntervalMs(), connected.heartbeatIntervalMs());
        assertEquals(harness.ctx.sessionTimeoutMs(), connected.sessionTimeoutMs());

        final int topicId = a.createTopic("orders", 4, T);
        final Event.ConsumerAttached attached = b.subscribe("orders", "workers", SubscriptionType.SHARED, 100, T);
        assertEquals(topicId, attached.topicId());

        final long correlationId = a.publishAsync(topicId, List.of(Msg.of("k1", "a", "1"), Msg.of("k2")), T);
        final Event.PublishReceipt receipt = a.awaitAnswer(correlationId, Event.PublishReceipt.class, T);
        assertEquals(2, receipt.ids().size());

        b.await(() -> b.recorder().deliveries().size() == 2, T, "2 deliveries over UDP");
        final Set<MessageId> delivered = new HashSet<>();
        b.recorder().deliveries().forEach((d) -> delivered.add(d.id()));
        assertEquals(new HashSet<>(receipt.ids()), delivered);
        assertEquals(2, harness.registry.size());
    }

    @Test
    void aFullJournalDiskAnswersPublishAndCreateUnavailableWhileAcksGoOnUntilSpaceReturns()
    {
        final java.util.concurrent.atomic.AtomicLong usable = new java.util.concurrent.atomic.AtomicLong(1L << 30);
        harness = new TransportHarness((ctx) -> {}, 16 * 1024, java.util.function.UnaryOperator.identity(), false,
            (pipeline) -> pipeline.journalMinFreeBytes(1 << 20).journalSpaceCheckIntervalMs(5)
                .journalSpaceProbe(usable::get));
        final RawSession a = ipc("disk-full-client");
        a.connect(T);
        final int topicId = a.createTopic("orders", 1, T);
        final Event.ConsumerAttached attached = a.subscribe("orders", "workers", SubscriptionType.SHARED, 100, T);
        final long first = a.publishAsync(topicId, List.of(Msg.of("k1")), T);
        final MessageId firstId = a.awaitAnswer(first, Event.PublishReceipt.class, T).ids().get(0);

        usable.set(4096);
        a.await(() -> harness.pipeline.sequencer().isJournalSpaceLow(), T, "the full disk noticed");
        final long journaled = harness.pipeline.journal().appendCount();
        final long refused = a.publishAsync(topicId, List.of(Msg.of("k2")), T);
        final Event.CommandError error = a.awaitAnswer(refused, Event.CommandError.class, T);
        assertEquals(ErrorCode.UNAVAILABLE, error.code());
        assertTrue(error.message().contains("journal disk (nearly) full"), error.message());
        assertEquals(1, harness.counters.journalFullRefusals.get());

        final long ack = 777;
        a.sendCommand(a.commands().ack(ack, attached.consumerId(), firstId), T);
        a.awaitAnswer(ack, Event.AckReceipt.class, T);
        assertEquals(journaled + 1, harness.pipeline.journal().appendCount(), "the ack journaled, the publish not");

        usable.set(1L << 30);
        a.await(() -> !harness.pipeline.sequencer().isJournalSpaceLow(), T, "space back");
        final long again = a.publishAsync(topicId, List.of(Msg.of("k3")), T);
        assertEquals(1, a.awaitAnswer(again, Event.PublishReceipt.class, T).ids().size());
    }

    @Test
    void framesBeforeConnectAreDroppedAndBadVersionIsRejected()
    {
        harness = new TransportHarness((ctx) -> {});
        final RawSession s = ipc("early");
        s.await(() -> s.publication().isConnected(), T, "connected");
        final int length = s.commands().listTopics(1);
        s.sendCommand(length, T);
        s.await(() -> harness.counters.framesDropped.get() == 1, T, "frame dropped");

        final long correlationId = s.nextCorrelationId();
        final int connectLength = s.encodeConnect(correlationId, 2);
        s.send(s.sessionBuffer(), 0, connectLength, T);
        s.await(() -> !s.recorder().errors().isEmpty(), T, "CommandError for Connect");
        final Event.CommandError error = s.recorder().errors().get(0);
        assertEquals(correlationId, error.correlationId());
        assertEquals(ErrorCode.INVALID_ARGUMENT, error.code());
        assertEquals(1, error.commandTemplateId());
        assertTrue(error.message().contains("protocolVersion 2"), error.message());
        assertTrue(s.sessionEvents(RawSession.Connected.class).isEmpty());
        s.await(() -> harness.counters.connectsFailed.get() == 1, T, "connect failure counted");

        s.connect(T);
        assertEquals(1, harness.registry.size());
    }

    @Test
    void malformedSessionFramesGetErrorsOnTheirSessionOnly()
    {
        harness = new TransportHarness((ctx) -> {});
        final RawSession bad = ipc("bad");
        final RawSession good = ipc("good");
        bad.connect(T);
        good.connect(T);

        final ExpandableArrayBuffer frame = new ExpandableArrayBuffer(64);
        final MessageHeaderEncoder header = new MessageHeaderEncoder();
        // wrong schema, newer version, internal template, event template, unknown template, short frame
        header.wrap(frame, 0).blockLength(8).templateId(10).schemaId(7).version(0);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(10).schemaId(1).version(9);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(61).schemaId(1).version(0);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(101).schemaId(1).version(0);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(4000).schemaId(1).version(0);
        bad.send(frame, 0, 16, T);
        bad.send(frame, 0, 5, T);
        // heartbeat and disconnect naming another session, heartbeat truncated
        header.wrap(frame, 0).blockLength(8).templateId(2).schemaId(1).version(0);
        frame.putLong(8, 12345L);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(3).schemaId(1).version(0);
        bad.send(frame, 0, 16, T);
        header.wrap(frame, 0).blockLength(8).templateId(2).schemaId(1).version(0);
        bad.send(frame, 0, 12, T);

        bad.await(() -> bad.recorder().errors().size() == 9, T, "9 errors");
        final List<Event.CommandError> errors = bad.recorder().errors();
        assertTrue(errors.get(0).message().contains("schemaId 7"), errors.get(0).message());
        assertTrue(errors.get(1).message().contains("version 9"), errors.get(1).message());
        assertTrue(errors.get(2).message().contains("internal"), errors.get(2).message());
        assertTrue(errors.get(3).message().contains("unknown templateId 101"), errors.get(3).message());
        assertTrue(errors.get(4).message().contains("unknown templateId 4000"), errors.get(4).message());
        assertTrue(errors.get(5).message().contains("shorter than"), errors.get(5).message());
        assertTrue(errors.get(6).message().contains("Heartbeat for session 12345"), errors.get(6).message());
        assertTrue(errors.get(7).message().contains("Disconnect for session 12345"), errors.get(7).message());
        assertTrue(errors.get(8).message().contains("malformed Heartbeat"), errors.get(8).message());
        errors.forEach((e) -> assertEquals(ErrorCode.INVALID_ARGUMENT, e.code()));

        // an engine-level malformed frame (truncated client command) is answered by the engine
        final int length = bad.commands().createTopic(77, "some-topic", 1);
        bad.send(bad.commands().buffer(), 0, length - 3, T);
        bad.await(() -> bad.recorder().errors().size() == 10, T, "engine error");

        good.createTopic("still-fine", 1, T);
        assertTrue(good.recorder().errors().isEmpty());
        assertTrue(bad.sessionEvents(RawSession.SessionEnded.class).isEmpty(), "bad input does not end a session");
        assertEquals(2, harness.registry.size());
    }

    @Test
    void idleSessionGetsHeartbeatsAndSilentSessionTimesOutAndItsMessagesGoElsewhere()
    {
        harness = new TransportHarness((ctx) -> ctx.heartbeatIntervalMs(100).sessionTimeoutMs(1_000).sessionCheckIntervalMs(20));
        final RawSession silent = ipc("silent");
        final RawSession other = udp("other");
        final long silentId = silent.connect(T);
        other.connect(T);

        final int topicId = other.createTopic("jobs", 1, T);
        // The subscribe is the silent session's last frame and IngressAgent measures the timeout from the last
        // received frame, so taking the timestamp just before sending it makes "ended no earlier than ~the timeout"
        // hold by construction, whatever the scheduling of the round trips that follow.
        final long start = System.currentTimeMillis();
        silent.subscribe("jobs", "work", SubscriptionType.SHARED, 10, T);
        final long correlationId = other.publishAsync(topicId, List.of(Msg.of("a"), Msg.of("b"), Msg.of("c")), T);
        other.awaitAnswer(correlationId, Event.PublishReceipt.class, T);
        silent.await(() -> silent.recorder().deliveries().size() == 3, T, "deliveries to the first consumer");
        final Event.ConsumerAttached second = other.subscribe("jobs", "work", SubscriptionType.SHARED, 10, T);

        // the other session heartbeats, the silent one stops sending anything
        while (silent.sessionEvents(RawSession.SessionEnded.class).isEmpty())
        {
            silent.poll();
            other.heartbeat(T);
            other.poll();
            LockSupport.parkNanos(20_000_000);
            assertTrue(System.currentTimeMillis() - start < T, "silent session never ended");
        }
        final long endedAfter = System.currentTimeMillis() - start;
        // 800 rather than 1000: the agent stamps lastReceivedMs with the clock read at the start of its duty cycle
        assertTrue(endedAfter >= 800, "ended too early: " + endedAfter);
        assertTrue(silent.sessionEvents(RawSession.BrokerHeartbeat.class).size() >= 3, "heartbeats while idle");
        final RawSession.SessionEnded ended = silent.sessionEvents(RawSession.SessionEnded.class).get(0);
        assertEquals(silentId, ended.sessionId());
        assertEquals(ErrorCode.UNAVAILABLE, ended.code());
        assertTrue(ended.message().contains("timeout"), ended.message());

        other.await(() -> other.recorder().events().deliveries(second.consumerId()).size() == 3, T, "redelivered elsewhere");
        other.recorder().deliveries().forEach((d) -> assertEquals(2, d.deliveryCount()));
        assertTrue(other.sessionEvents(RawSession.SessionEnded.class).isEmpty());
        assertEquals(1, harness.counters.sessionsTimedOut.get());
        assertFalse(harness.registry.isOpen(silentId));
    }

    @Test
    void disconnectAndReconnectOnTheSamePublication()
    {
        harness = new TransportHarness((ctx) -> {});
        final RawSession s = udp("reconnecting");
        final long first = s.connect(T);
        final int topicId = s.createTopic("t", 1, T);
        s.subscribe("t", "sub", SubscriptionType.SHARED, 10, T);

        final long second = s.connect(T);
        assertNotEquals(first, second);
        s.await(() -> !s.sessionEvents(RawSession.SessionEnded.class).isEmpty(), T, "old session ended");
        final RawSession.SessionEnded replaced = s.sessionEvents(RawSession.SessionEnded.class).get(0);
        assertEquals(first, replaced.sessionId());
        assertEquals(ErrorCode.NULL_VAL, replaced.code());

        // the old session's consumer is gone: a publish is not delivered to this (new) session
        final long correlationId = s.publishAsync(topicId, List.of(Msg.of("x")), T);
        s.awaitAnswer(correlationId, Event.PublishReceipt.class, T);
        assertEquals(0, s.describeTopic("t", T).subscription("sub").consumers());

        s.disconnect(T);
        s.await(() -> s.sessionEvents(RawSession.SessionEnded.class).size() == 2, T, "disconnect acknowledged");
        assertEquals(second, s.sessionEvents(RawSession.SessionEnded.class).get(1).sessionId());
        s.await(() -> harness.registry.size() == 0, T, "no session left");
    }

    @Test
    void fullRingBackPressuresIngressWithoutLosingCommands()
    {
        final AtomicBoolean gate = new AtomicBoolean(false);
        harness = new TransportHarness((ctx) -> {}, 8, (engine) -> new CommandHandler()
        {
            public void onCommand(
                final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
            {
                while (gate.get())
                {
                    LockSupport.parkNanos(100_000);
                }
                engine.onCommand(sessionId, timestampMs, buffer, offset, length);
            }

            public long nextDeadlineMs()
            {
                return engine.nextDeadlineMs();
            }
        });
        final RawSession s = ipc("flood");
        s.connect(T);

        gate.set(true);
        final int commands = 200;
        for (int i = 0; i < commands; i++)
        {
            s.sendCommand(s.commands().listTopics(1000 + i), T);
        }
        s.await(() -> harness.counters.ringFull.get() > 0, T, "ring full");
        assertTrue(harness.counters.commandsSequenced.get() < commands);
        gate.set(false);

        s.await(() -> s.recorder().ofType(Event.TopicList.class).size() == commands, T, "every command answered");
        final List<Event.TopicList> answers = s.recorder().ofType(Event.TopicList.class);
        for (int i = 0; i < commands; i++)
        {
            assertEquals(1000 + i, answers.get(i).correlationId(), "in order");
        }
    }

    @Test
    void slowClientIsEndedAndItsMessagesAreRedeliveredElsewhere()
    {
        harness = new TransportHarness((ctx) -> ctx.ipcTermLength(64 * 1024).egressBufferLength(64 * 1024)
            .slowClientTimeoutMs(300));
        final RawSession slow = ipc("slow");
        final RawSession fast = udp("fast");
        final long slowId = slow.connect(T);
        fast.connect(T);
        final int topicId = fast.createTopic("load", 1, T);
        slow.subscribe("load", "work", SubscriptionType.SHARED, 50, T);

        final long correlationId = fast.publishAsync(topicId, List.of(Msg.of("m1"), Msg.of("m2")), T);
        fast.awaitAnswer(correlationId, Event.PublishReceipt.class, T);

        // the slow client stops reading and floods queries whose answers fill its 64 KiB response term
        for (int i = 0; i < 5_000 && harness.registry.isOpen(slowId); i++)
        {
            final int length = slow.commands().listTopics(10_000 + i);
            slow.trySend(slow.commands().buffer(), 0, length);
        }
        fast.await(() -> !harness.registry.isOpen(slowId), T, "slow session ended");
        assertEquals(1, harness.counters.sessionsSlow.get(), () -> harness.counters.snapshot().toString());

        final Event.ConsumerAttached replacement = fast.subscribe("load", "work", SubscriptionType.SHARED, 50, T);
        fast.await(() -> fast.recorder().events().deliveries(replacement.consumerId()).size() == 2, T, "redelivered");
        assertTrue(fast.sessionEvents(RawSession.SessionEnded.class).isEmpty());
    }
}
