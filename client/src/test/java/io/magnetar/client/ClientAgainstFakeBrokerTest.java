package io.magnetar.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.magnetar.codecs.AckDecoder;
import io.magnetar.codecs.CloseConsumerDecoder;
import io.magnetar.codecs.ConnectDecoder;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.HeartbeatDecoder;
import io.magnetar.codecs.NackDecoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.codecs.SubscribeDecoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The client's agent against a scripted broker ({@link FakeBroker}) over a real media driver: handshake, batching,
 * typed errors, the pending-queue bound, ack grouping, heartbeats and reconnection with re-sent publishes and
 * re-attached consumers.
 */
@Timeout(60)
class ClientAgainstFakeBrokerTest
{
    private FakeBroker broker;
    private MagnetarClient client;

    @BeforeEach
    void setUp()
    {
        broker = new FakeBroker();
    }

    @AfterEach
    void tearDown()
    {
        if (null != client)
        {
            client.close();
        }
        broker.close();
    }

    private MagnetarClient connect()
    {
        client = MagnetarClient.builder()
            .aeronDirectory(broker.aeronDirectory())
            .ingressChannel("aeron:ipc")
            .ingressStreamId(FakeBroker.STREAM_ID)
            .operationTimeout(Duration.ofSeconds(10))
            .clientName("test-client")
            .build();
        return client;
    }

    @Test
    void connectsAndBatchesPublishes()
    {
        connect();
        assertTrue(client.isConnected());
        assertEquals(1, client.sessionsEstablished());
        assertEquals(1, broker.frames(ConnectDecoder.TEMPLATE_ID).size());

        final Producer producer = client.newProducer().topic("orders").batchingMaxMessages(100)
            .batchingMaxPublishDelay(50, TimeUnit.MILLISECONDS).create();
        assertEquals(2, producer.partitions());

        final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
        for (int i = 0; i < 250; i++)
        {
            futures.add(producer.sendAsync("k" + i, Map.of("ref", "r" + i)));
        }
        for (int i = 0; i < futures.size(); i++)
        {
            assertEquals(new MessageId(0, 1, i), futures.get(i).join(), "ids in send order");
        }
        final List<FakeBroker.Frame> publishes = broker.frames(PublishDecoder.TEMPLATE_ID);
        int total = 0;
        for (final FakeBroker.Frame frame : publishes)
        {
            assertTrue(frame.count() <= 100, "at most batchingMaxMessages per frame");
            total += frame.count();
        }
        assertEquals(250, total);
        assertTrue(publishes.size() <= 10, "batched: " + publishes.size() + " frames");
        assertTrue(publishes.get(0).summary().startsWith("publish k0 k1 k2"));
        assertEquals(0, producer.pendingMessages());
    }

    @Test
    void brokerErrorsAreTyped()
    {
        connect();
        final MagnetarException notFound = assertThrows(
            MagnetarException.class, () -> client.newProducer().topic("missing-topic").create());
        assertInstanceOf(MagnetarException.TopicNotFoundException.class, notFound);
        assertEquals(io.magnetar.client.ErrorCode.TOPIC_NOT_FOUND, notFound.code());

        assertInstanceOf(MagnetarException.TopicExistsException.class,
            assertThrows(MagnetarException.class, () -> client.admin().createTopic("exists-already", 3)));
        assertTrue(client.admin().createTopic("fresh", 3));

        final Producer producer = client.newProducer().topic("orders").create();
        broker.publishError = ErrorCode.BACKLOG_FULL;
        final MagnetarException full = assertThrows(MagnetarException.class, () -> producer.send("k"));
        assertInstanceOf(MagnetarException.BacklogFullException.class, full);
        assertEquals(0, producer.pendingMessages());
    }

    @Test
    void anInvalidBatchIsSplitSoOnlyTheBadMessagesFail()
    {
        connect();
        final Producer producer = client.newProducer().topic("orders").batchingMaxPublishDelay(50, TimeUnit.MILLISECONDS)
            .create();
        broker.publishErrorForBatchesOver = ErrorCode.INVALID_ARGUMENT;
        final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++)
        {
            futures.add(producer.sendAsync("k" + i));
        }
        for (final CompletableFuture<MessageId> future : futures)
        {
            future.join();
        }
        final List<FakeBroker.Frame> publishes = broker.frames(PublishDecoder.TEMPLATE_ID);
        assertTrue(publishes.get(0).count() > 1);
        assertEquals(List.of("publish k0", "publish k1", "publish k2", "publish k3", "publish k4"),
            publishes.subList(publishes.size() - 5, publishes.size()).stream().map(FakeBroker.Frame::summary).toList());
    }

    @Test
    void aFullPendingQueueFailsFast()
    {
        connect();
        broker.holdReceipts = true;
        final Producer producer = client.newProducer().topic("orders").maxPendingMessages(2).create();
        final CompletableFuture<MessageId> first = producer.sendAsync("a");
        final CompletableFuture<MessageId> second = producer.sendAsync("b");
        final CompletableFuture<MessageId> third = producer.sendAsync("c");
        assertTrue(third.isCompletedExceptionally());
        assertEquals(io.magnetar.client.ErrorCode.QUEUE_FULL, MagnetarException.unwrap(
            assertThrows(Exception.class, third::join)).code());
        assertEquals(2, producer.pendingMessages());

        broker.holdReceipts = false;
        // the 1 ms linger may close the batch between the two sends, so wait for both messages, in one frame or two
        awaitCondition(() -> 2 == broker.frames(PublishDecoder.TEMPLATE_ID).stream().mapToInt(FakeBroker.Frame::count)
            .sum(), "both messages reached the broker");
        broker.releaseReceipts();
        first.join();
        second.join();
        assertEquals(0, producer.pendingMessages());
        producer.send("d");
    }

    @Test
    void reconnectsResendsUnconfirmedPublishesAndReattachesConsumers()
    {
        connect();
        final Producer producer = client.newProducer().topic("orders").create();
        final Consumer consumer = client.newConsumer().topic("orders").subscription("billing")
            .subscriptionType(SubscriptionType.KEY_SHARED).receiverQueueSize(10).subscribe();
        assertEquals(1, consumer.consumerId());

        broker.holdReceipts = true;
        final CompletableFuture<MessageId> unconfirmed = producer.sendAsync("lost-receipt");
        awaitCondition(() -> 1 == broker.frames(PublishDecoder.TEMPLATE_ID).size(), "the publish reached the broker");
        assertFalse(unconfirmed.isDone());

        broker.holdReceipts = false;
        broker.nodeStartCount.set(2);
        broker.endSessions();

        awaitCondition(() -> 2 == client.sessionsEstablished() && client.isConnected(), "reconnected");
        assertEquals(new MessageId(0, 1, 0), unconfirmed.join());
        final List<FakeBroker.Frame> publishes = broker.frames(PublishDecoder.TEMPLATE_ID);
        assertEquals(2, publishes.size(), "the unconfirmed publish was sent again");
        assertTrue(publishes.get(1).sessionId() != publishes.get(0).sessionId());

        awaitCondition(() -> 2 == consumer.consumerId(), "the consumer is re-attached with a new id");
        final List<FakeBroker.Frame> subscribes = broker.frames(SubscribeDecoder.TEMPLATE_ID);
        assertEquals(2, subscribes.size());
        assertEquals("subscribe orders billing KEY_SHARED 10 -> 2", subscribes.get(1).summary());

        broker.deliver(2, 0, 3, 1);
        final Message message = consumer.receive(Duration.ofSeconds(5));
        assertEquals("key-0", message.key());
        assertEquals(Map.of("n", "0"), message.attributes());
        assertEquals("orders", message.topic());
        consumer.acknowledge(message);
        awaitCondition(() -> !broker.frames(AckDecoder.TEMPLATE_ID).isEmpty(), "the ack went out");
        assertEquals("ack 2 0:1:0", broker.frames(AckDecoder.TEMPLATE_ID).get(0).summary());
    }

    @Test
    void aChangedNodeStartCountMeansReconnect()
    {
        connect();
        final long firstSession = client.sessionId();
        broker.nodeStartCount.set(5);
        broker.heartbeat(5);
        awaitCondition(() -> 2 == client.sessionsEstablished() && client.isConnected(), "reconnected");
        assertTrue(client.sessionId() != firstSession);
    }

    @Test
    void acksAreGroupedAndNacksSeparate()
    {
        connect();
        final Consumer consumer = client.newConsumer().topic("orders").subscription("s")
            // 2 s: acknowledging 149 messages on a loaded machine cannot outlast it, so only a full group (100) or
            // the group time ends a group and the frames are exactly 100 and 49
            .acknowledgmentGroupTime(Duration.ofSeconds(2)).subscribe();
        broker.deliver(consumer.consumerId(), 0, 150, 1);
        final List<Message> received = new ArrayList<>();
        for (int i = 0; i < 150; i++)
        {
            received.add(consumer.receive(Duration.ofSeconds(5)));
        }
        for (int i = 0; i < 149; i++)
        {
            consumer.acknowledge(received.get(i));
        }
        consumer.negativeAcknowledge(received.get(149).id());
        awaitCondition(() -> 2 == broker.frames(AckDecoder.TEMPLATE_ID).size() &&
            1 == broker.frames(NackDecoder.TEMPLATE_ID).size(), "acks and the nack went out");
        assertEquals(100, broker.frames(AckDecoder.TEMPLATE_ID).get(0).count());
        assertEquals(49, broker.frames(AckDecoder.TEMPLATE_ID).get(1).count());
        assertEquals("nack " + consumer.consumerId() + " 0:1:149", broker.frames(NackDecoder.TEMPLATE_ID).get(0).summary());

        consumer.close();
        assertEquals(1, broker.frames(CloseConsumerDecoder.TEMPLATE_ID).size());
        assertThrows(MagnetarException.AlreadyClosedException.class, consumer::receive);
    }

    @Test
    void acksBeyondTheAckRingAreNotLost()
    {
        // while detached the agent sends no acks: 5,000 of them fill the 1,024-record ring and overflow to the queue
        client = MagnetarClient.builder()
            .aeronDirectory(broker.aeronDirectory())
            .ingressStreamId(FakeBroker.STREAM_ID)
            .reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(2))   // detached long enough to fill the ring
            .clientName("test-client")
            .build();
        final Consumer consumer = client.newConsumer().topic("orders").subscription("s").receiverQueueSize(1000).subscribe();
        broker.endSessions();
        awaitCondition(() -> !consumer.isConnected(), "the consumer is detached");
        final int count = 5000;
        for (int i = 0; i < count; i++)
        {
            if (0 == (i & 1))
            {
                consumer.acknowledge(new MessageId(i % 3, 1, i));
            }
            else
            {
                consumer.acknowledge(new Message("orders", i % 3, 1, i, 0, 1, new byte[]{ 0, 0, 0, 0, 1, 0, 'k' }));
            }
        }
        assertTrue(consumer.ackOverflows() >= count - 1024, "the ring overflowed: " + consumer.ackOverflows());
        awaitCondition(() -> consumer.isConnected() &&
            count == broker.frames(AckDecoder.TEMPLATE_ID).stream().mapToInt(FakeBroker.Frame::count).sum(),
            "every ack reached the broker after the re-attach");
        final java.util.BitSet seen = new java.util.BitSet(count);
        for (final FakeBroker.Frame frame : broker.frames(AckDecoder.TEMPLATE_ID))
        {
            final String[] parts = frame.summary().split(" ");
            assertEquals(Long.toString(consumer.consumerId()), parts[1], "acks go to the re-attached consumer");
            for (int i = 2; i < parts.length; i++)
            {
                final MessageId id = MessageId.parse(parts[i]);
                assertEquals(id.entry() % 3, id.partition(), "partition, ledger and entry of one id stay together");
                assertEquals(1, id.ledger());
                seen.set((int)id.entry());
            }
        }
        assertEquals(count, seen.cardinality(), "each id once");
    }

    @Test
    void listenerGetsMessagesInArrivalOrder()
    {
        connect();
        final List<String> keys = java.util.Collections.synchronizedList(new ArrayList<>());
        final Consumer consumer = client.newConsumer().topic("orders").subscription("s")
            .messageListener((c, message) ->
            {
                keys.add(message.key());
                c.acknowledge(message);
            })
            .subscribe();
        broker.deliver(consumer.consumerId(), 0, 20, 1);
        broker.deliver(consumer.consumerId(), 20, 20, 1);
        awaitCondition(() -> 40 == keys.size(), "all delivered");
        for (int i = 0; i < 40; i++)
        {
            assertEquals("key-" + i, keys.get(i));
        }
        assertThrows(IllegalStateException.class, consumer::receive);
    }

    @Test
    void aSilentBrokerIsDetectedByTheSessionTimeout()
    {
        // the fake broker sends no BrokerHeartbeat: after the session timeout the client must give up on the session
        broker.heartbeatIntervalMs = 100;
        broker.sessionTimeoutMs = 300;
        connect();
        final long firstSession = client.sessionId();
        awaitCondition(() -> client.sessionsEstablished() >= 2, "a new session after the timeout");
        assertTrue(client.sessionId() != firstSession);
    }

    @Test
    void sendsHeartbeatsWhenIdle()
    {
        broker.heartbeatIntervalMs = 50;
        connect();
        awaitCondition(() -> broker.frames(HeartbeatDecoder.TEMPLATE_ID).size() >= 3, "heartbeats");
    }

    @Test
    void buildFailsWhenNoBrokerAnswers()
    {
        final MagnetarException error = assertThrows(MagnetarException.class, () -> MagnetarClient.builder()
            .aeronDirectory(broker.aeronDirectory())
            .ingressStreamId(4242)
            .operationTimeout(Duration.ofMillis(500))
            .connectTimeout(Duration.ofMillis(200))
            .build());
        assertEquals(io.magnetar.client.ErrorCode.UNAVAILABLE, error.code());
    }

    static void awaitCondition(final BooleanSupplier condition, final String what)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                fail("timed out waiting for: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
