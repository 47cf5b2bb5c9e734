package io.magnetar.engine;

import java.util.ArrayList;
import java.util.List;

import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.EventRecorder;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.magnetar.codecs.SubscriptionType.MULTICAST;
import static io.magnetar.codecs.SubscriptionType.SHARED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The engine's traffic counters (TopicDescription, protocol version 1): per topic published, delivered, acked,
 * nacked, redelivered, dead-lettered; per subscription delivered, acked, nacked. Exact values for a scripted run;
 * NodeStarted zeroes them (they count one run) while the subscription's snapshotted redeliveries and deadLettered
 * stay; they are neither in the state hash nor in snapshots.
 */
class EngineCountersTest
{
    private static final long T0 = 1_732_780_800_000L;

    private Engine engine;
    private EngineDriver driver;
    private EngineDriver.Session admin;

    @BeforeEach
    void setUp()
    {
        driver = EngineDriver.create(listener ->
        {
            engine = new Engine(new EngineConfig(), listener);
            return engine;
        });
        driver.at(T0);
        driver.tick();
        admin = driver.session(1);
    }

    /**
     * 5 publishes; shared "billing" (maxDeliveries 2, no nack delay) acks 3, nacks one message twice (a redelivery,
     * then dead-lettered); multicast "audit" with two consumers, one of which acks everything. Acks and nacks of ids
     * that are not outstanding count nothing.
     */
    private void scriptedRun()
    {
        final int topicId = admin.newTopic("orders", 2);
        final long billing = admin.attach("orders", "billing", SHARED, 10,
            SubscriptionOptions.DEFAULTS.maxDeliveries(2).nackDelayMs(0L));
        final long audit1 = admin.attach("orders", "audit", MULTICAST, 10);
        admin.attach("orders", "audit", MULTICAST, 10);
        final List<MessageId> ids = admin.publishIds(topicId,
            Msg.of("a"), Msg.of("b"), Msg.of("c"), Msg.of("d"), Msg.of("e"));
        assertEquals(15, driver.recorder().drain().deliveries().size(), "5 to billing, 5 to each audit consumer");

        assertEquals(3, admin.ackOk(billing, ids.get(0), ids.get(1), ids.get(2), new MessageId(0, 99, 99)).done());
        assertEquals(0, admin.ackOk(billing, ids.get(0)).done(), "acked already: not counted again");
        assertEquals(1, admin.nackOk(billing, ids.get(3)).done());
        assertEquals(1, driver.recorder().drain().deliveries().size(), "redelivered at once");
        assertEquals(1, admin.nackOk(billing, ids.get(3)).done(), "second nack: dead-lettered");
        assertEquals(0, admin.nackOk(billing, ids.get(0)).done(), "not outstanding: not counted");
        assertEquals(5, admin.ackOk(audit1, ids).done());
    }

    @Test
    void countsEveryTransitionExactly()
    {
        scriptedRun();

        final Event.TopicDescription orders = admin.describe("orders");
        assertEquals(new Event.TopicCounters(5, 16, 8, 2, 1, 1), orders.counters());
        final Event.SubscriptionStats billing = orders.subscription("billing");
        assertEquals(List.of(6L, 3L, 2L, 1L, 1L),
            List.of(billing.delivered(), billing.acked(), billing.nacked(), billing.redeliveries(), billing.deadLettered()));
        final Event.SubscriptionStats audit = orders.subscription("audit");
        assertEquals(List.of(10L, 5L, 0L, 0L, 0L),
            List.of(audit.delivered(), audit.acked(), audit.nacked(), audit.redeliveries(), audit.deadLettered()));

        assertEquals(new Event.TopicCounters(1, 0, 0, 0, 0, 0), admin.describe("orders.billing.dlq").counters(),
            "the dead-letter copy is stored into the .dlq topic");
        assertEquals(new Event.TopicCounters(0, 0, 0, 0, 0, 0), describeAfter("fresh", 1).counters(),
            "a new topic starts at 0");
    }

    @Test
    void publishesToATopicWithoutSubscriptionsCount()
    {
        final int topicId = admin.newTopic("t", 1);
        admin.publishIds(topicId, Msg.of("a"), Msg.of("b"));
        assertEquals(new Event.TopicCounters(2, 0, 0, 0, 0, 0), admin.describe("t").counters());
    }

    @Test
    void nodeStartedZeroesTheCountersButNotTheSubscriptionState()
    {
        scriptedRun();
        final long hash = engine.stateHash();

        driver.nodeStarted(2);

        final Event.TopicDescription orders = admin.describe("orders");
        assertEquals(new Event.TopicCounters(0, 0, 0, 0, 0, 0), orders.counters());
        final Event.SubscriptionStats billing = orders.subscription("billing");
        assertEquals(List.of(0L, 0L, 0L, 1L, 1L),
            List.of(billing.delivered(), billing.acked(), billing.nacked(), billing.redeliveries(), billing.deadLettered()),
            "delivered/acked/nacked count this run; redeliveries and deadLettered are state");
        assertEquals(0, admin.describe("orders.billing.dlq").counters().published());
        assertEquals(List.of(1L, 0L), List.of(billing.backlog(), billing.inFlight()),
            "the one unacked message is still there, waiting for a consumer");
        assertNotEquals(hash, engine.stateHash(), "NodeStarted detached the consumers: a new state");
    }

    @Test
    void countersAreNeitherHashedNorSnapshotted()
    {
        scriptedRun();
        final long hash = engine.stateHash();
        final List<byte[]> records = new ArrayList<>();
        engine.takeSnapshot(42, T0, (buffer, offset, length) ->
        {
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            records.add(copy);
        });

        final EventRecorder recorder = new EventRecorder();
        final Engine loaded = new Engine(new EngineConfig(), recorder);
        loaded.loadSnapshot((sink) ->
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[0]);
            for (final byte[] record : records)
            {
                buffer.wrap(record);
                sink.onRecord(buffer, 0, record.length);
            }
        });
        assertEquals(hash, loaded.stateHash(), "same state whatever the counters say");

        final Event.TopicDescription orders = new EngineDriver(loaded, recorder).session(1).describe("orders");
        assertEquals(new Event.TopicCounters(0, 0, 0, 0, 0, 0), orders.counters());
        assertEquals(1, orders.subscription("billing").redeliveries());
        assertEquals(1, orders.subscription("billing").deadLettered());
        assertEquals(0, orders.subscription("billing").delivered());
    }

    private Event.TopicDescription describeAfter(final String topic, final int partitions)
    {
        admin.newTopic(topic, partitions);
        return admin.describe(topic);
    }
}
