package io.magnetar.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MagnetarException;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionOptions;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.SubscriptionType;
import io.magnetar.client.TopicInfo;
import io.magnetar.client.TopicStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client against a real node in this JVM: one node and one client per transport (the subclasses), a topic of
 * its own per test. Every wait polls a condition against a deadline.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class MessagingTestBase
{
    private static final AtomicInteger TOPIC_COUNTER = new AtomicInteger();

    NodeFixture node;
    MagnetarClient client;

    abstract Transport transport();

    @BeforeAll
    void startNode()
    {
        node = new NodeFixture();
        client = transport().connect(node, "it-" + transport().name().toLowerCase());
    }

    @AfterAll
    void stopNode()
    {
        if (null != client)
        {
            client.close();
        }
        if (null != node)
        {
            node.close();
        }
    }

    String newTopic(final String name, final int partitions)
    {
        final String topic = name + "-" + transport().name().toLowerCase() + "-" + TOPIC_COUNTER.incrementAndGet();
        assertTrue(client.admin().createTopic(topic, partitions));
        return topic;
    }

    @ParameterizedTest
    @EnumSource(SubscriptionType.class)
    void publishDeliverAck(final SubscriptionType type)
    {
        final String topic = newTopic("pda-" + type.name().toLowerCase(), 4);
        final Consumer consumer = client.newConsumer().topic(topic).subscription("sub").subscriptionType(type)
            .receiverQueueSize(100).subscribe();
        final Producer producer = client.newProducer().topic(topic).create();
        assertEquals(4, producer.partitions());

        final int count = 300;
        final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            futures.add(producer.sendAsync("key-" + (i % 17), Map.of("ref", "s3://bucket/obj-" + i, "i", Integer.toString(i))));
        }
        final Map<MessageId, Integer> confirmed = new HashMap<>();
        for (int i = 0; i < count; i++)
        {
            confirmed.put(futures.get(i).join(), i);
        }
        assertEquals(count, confirmed.size(), "ids are unique");

        final Set<MessageId> received = new HashSet<>();
        final Map<String, Integer> partitionOfKey = new HashMap<>();
        while (received.size() < count)
        {
            final Message message = consumer.receive(Duration.ofSeconds(10));
            assertNotNull(message, "received " + received.size() + " of " + count);
            final Integer i = confirmed.get(message.id());
            assertNotNull(i, "delivered an id that was confirmed: " + message.id());
            assertEquals(Integer.toString(i), message.attributes().get("i"));
            assertEquals("s3://bucket/obj-" + i, message.attributes().get("ref"));
            assertEquals("key-" + (i % 17), message.key());
            assertEquals(topic, message.topic());
            assertEquals(1, message.deliveryCount());
            assertTrue(message.publishTime() > 0);
            assertEquals(message.id().partition(),
                partitionOfKey.computeIfAbsent(message.key(), (key) -> message.id().partition()),
                "one key, one partition");
            assertTrue(received.add(message.id()), "delivered once: " + message.id());
            consumer.acknowledge(message);
        }
        assertEquals(confirmed.keySet(), received);
        assertNull(consumer.receive(Duration.ofMillis(100)), "nothing more");

        Await.until("the subscription is drained", () ->
        {
            final SubscriptionStats stats = client.admin().describeTopic(topic).subscription("sub");
            return 0 == stats.backlog() && 0 == stats.inFlight() && 1 == stats.consumers();
        });
        consumer.close();
        producer.close();
    }

    @Test
    void negativeAckRedeliversWithDeliveryCountTwo()
    {
        final String topic = newTopic("nack", 1);
        final Consumer consumer = client.newConsumer().topic(topic).subscription("sub")
            .negativeAckRedeliveryDelay(Duration.ofMillis(100)).subscribe();
        final Producer producer = client.newProducer().topic(topic).create();
        final MessageId id = producer.send("k", Map.of("a", "b"));

        final Message first = consumer.receive(Duration.ofSeconds(10));
        assertEquals(id, first.id());
        assertEquals(1, first.deliveryCount());
        consumer.negativeAcknowledge(first);

        final Message second = consumer.receive(Duration.ofSeconds(10));
        assertNotNull(second);
        assertEquals(id, second.id());
        assertEquals(2, second.deliveryCount());
        assertEquals(Map.of("a", "b"), second.attributes());
        consumer.acknowledge(second);
        assertNull(consumer.receive(Duration.ofMillis(300)), "acked: not redelivered again");
        consumer.close();
    }

    @Test
    void ackTimeoutRedelivers()
    {
        final String topic = newTopic("ack-timeout", 1);
        final Consumer consumer = client.newConsumer().topic(topic).subscription("sub")
            .ackTimeout(Duration.ofSeconds(1)).subscribe();
        final Producer producer = client.newProducer().topic(topic).create();
        // taken before the send, so at or before the broker's first delivery: the redelivery comes at least the ack
        // timeout after this, however late the client thread gets to see either copy
        final long sentAtNs = System.nanoTime();
        final MessageId id = producer.send("k");

        final Message first = consumer.receive(Duration.ofSeconds(10));
        assertEquals(id, first.id());

        final Message second = consumer.receive(Duration.ofSeconds(10));
        assertNotNull(second, "redelivered after the ack timeout");
        // half the timeout: the broker stamps the delivery with a clock read at the start of its duty cycle
        final long redeliveredAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentAtNs);
        assertTrue(redeliveredAfterMs >= 500, "not long before the timeout: " + redeliveredAfterMs + " ms");
        assertEquals(id, second.id());
        assertEquals(2, second.deliveryCount());
        consumer.acknowledge(second);
        consumer.close();
    }

    @Test
    void keySharedKeepsPerKeyOrderAcrossTwoConsumers()
    {
        final String topic = newTopic("key-shared", 4);
        final Map<String, List<Message>> byConsumer = new ConcurrentHashMap<>();
        final AtomicInteger total = new AtomicInteger();
        final Consumer first = keySharedListener(topic, "first", byConsumer, total);
        final Consumer second = keySharedListener(topic, "second", byConsumer, total);

        final Producer producer = client.newProducer().topic(topic).batchingMaxMessages(50).create();
        final int keys = 24;
        final int perKey = 25;
        final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
        for (int seq = 0; seq < perKey; seq++)
        {
            for (int k = 0; k < keys; k++)
            {
                futures.add(producer.sendAsync("key-" + k, Map.of("seq", Integer.toString(seq))));
            }
        }
        futures.forEach(CompletableFuture::join);

        Await.until("every message delivered", () -> keys * perKey == total.get());
        final Map<String, String> ownerOfKey = new HashMap<>();
        for (final Map.Entry<String, List<Message>> entry : byConsumer.entrySet())
        {
            final Map<String, Integer> lastSeq = new HashMap<>();
            for (final Message message : entry.getValue())
            {
                assertEquals(1, message.deliveryCount());
                final int seq = Integer.parseInt(message.attributes().get("seq"));
                final Integer previous = lastSeq.put(message.key(), seq);
                assertEquals(null == previous ? 0 : previous + 1, seq, "publish order of " + message.key());
                final String owner = ownerOfKey.putIfAbsent(message.key(), entry.getKey());
                assertTrue(null == owner || owner.equals(entry.getKey()), message.key() + " on two consumers");
            }
        }
        assertEquals(keys, ownerOfKey.size());
        assertEquals(2, byConsumer.size(), "both consumers own keys");
        first.close();
        second.close();
    }

    private Consumer keySharedListener(
        final String topic, final String name, final Map<String, List<Message>> byConsumer, final AtomicInteger total)
    {
        final List<Message> received = Collections.synchronizedList(new ArrayList<>());
        return client.newConsumer().topic(topic).subscription("sub").subscriptionType(SubscriptionType.KEY_SHARED)
            .consumerName(name).receiverQueueSize(50)
            .messageListener((consumer, message) ->
            {
                byConsumer.computeIfAbsent(name, (ignore) -> received).add(message);
                total.incrementAndGet();
                consumer.acknowledge(message);
            })
            .subscribe();
    }

    @Test
    void multicastDeliversEveryMessageToBothConsumers()
    {
        final String topic = newTopic("multicast", 2);
        final Set<MessageId> first = ConcurrentHashMap.newKeySet();
        final Set<MessageId> second = ConcurrentHashMap.newKeySet();
        final Consumer a = multicastListener(topic, first);
        final Consumer b = multicastListener(topic, second);
        final Producer producer = client.newProducer().topic(topic).create();
        final Set<MessageId> published = new HashSet<>();
        final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
        for (int i = 0; i < 200; i++)
        {
            futures.add(producer.sendAsync("key-" + i));
        }
        futures.forEach((future) -> published.add(future.join()));

        Await.until("both consumers got everything", Await.DEFAULT, () -> published.equals(first) && published.equals(second),
            () -> "first " + first.size() + ", second " + second.size());
        Await.until("every copy acknowledged", () ->
            0 == client.admin().describeTopic(topic).subscription("sub").inFlight());
        a.close();
        b.close();
    }

    private Consumer multicastListener(final String topic, final Set<MessageId> received)
    {
        return client.newConsumer().topic(topic).subscription("sub").subscriptionType(SubscriptionType.MULTICAST)
            .messageListener((consumer, message) ->
            {
                assertTrue(received.add(message.id()));
                consumer.acknowledge(message);
            })
            .subscribe();
    }

    @Test
    void aClosedConsumersMessagesGoToAnother()
    {
        final String topic = newTopic("close-consumer", 1);
        final Consumer leaving = client.newConsumer().topic(topic).subscription("sub").receiverQueueSize(10).subscribe();
        final Set<MessageId> published = publish(topic, 10);

        final Set<MessageId> held = new HashSet<>();
        while (held.size() < 10)
        {
            final Message message = leaving.receive(Duration.ofSeconds(10));
            assertNotNull(message);
            held.add(message.id());
        }
        assertEquals(published, held);

        final Consumer staying = client.newConsumer().topic(topic).subscription("sub").receiverQueueSize(10).subscribe();
        assertNull(staying.receive(Duration.ofMillis(200)), "all ten are outstanding on the first consumer");
        leaving.close();

        final Set<MessageId> redelivered = receiveAll(staying, 10, 2);
        assertEquals(published, redelivered);
        staying.close();
    }

    @Test
    void aClosedClientsMessagesGoToAnother()
    {
        final String topic = newTopic("close-client", 1);
        final MagnetarClient other = transport().connect(node, "it-leaving-" + transport().name().toLowerCase());
        final Set<MessageId> published;
        try
        {
            final Consumer leaving = other.newConsumer().topic(topic).subscription("sub").receiverQueueSize(10).subscribe();
            published = publish(topic, 10);
            final Set<MessageId> held = new HashSet<>();
            while (held.size() < 10)
            {
                held.add(leaving.receive(Duration.ofSeconds(10)).id());
            }
        }
        finally
        {
            other.close();
        }

        final Consumer staying = client.newConsumer().topic(topic).subscription("sub").receiverQueueSize(10).subscribe();
        assertEquals(published, receiveAll(staying, 10, 2));
        staying.close();
    }

    private Set<MessageId> publish(final String topic, final int count)
    {
        final Producer producer = client.newProducer().topic(topic).create();
        final Set<MessageId> ids = new HashSet<>();
        for (int i = 0; i < count; i++)
        {
            ids.add(producer.send("key-" + i));
        }
        producer.close();
        return ids;
    }

    private static Set<MessageId> receiveAll(final Consumer consumer, final int count, final int deliveryCount)
    {
        final Set<MessageId> ids = new HashSet<>();
        while (ids.size() < count)
        {
            final Message message = consumer.receive(Duration.ofSeconds(10));
            assertNotNull(message, "received " + ids.size() + " of " + count);
            assertEquals(deliveryCount, message.deliveryCount());
            ids.add(message.id());
            consumer.acknowledge(message);
        }
        return ids;
    }

    @Test
    void adminCallsAndTypedErrors()
    {
        final String topic = newTopic("admin", 3);
        assertFalse(client.admin().createTopic(topic, 3), "identical: unchanged");
        assertInstanceOf(MagnetarException.TopicExistsException.class,
            assertThrows(MagnetarException.class, () -> client.admin().createTopic(topic, 5)));
        assertTrue(client.admin().listTopics().contains(new TopicInfo(topic, 3)));

        final SubscriptionOptions options = SubscriptionOptions.DEFAULTS
            .ackTimeout(Duration.ofSeconds(5)).negativeAckRedeliveryDelay(Duration.ofMillis(50)).maxDeliveries(3);
        assertTrue(client.admin().createSubscription(topic, "keyed", SubscriptionType.KEY_SHARED, options));
        assertFalse(client.admin().createSubscription(topic, "keyed", SubscriptionType.KEY_SHARED, options));
        assertInstanceOf(MagnetarException.SubscriptionTypeConflictException.class, assertThrows(MagnetarException.class,
            () -> client.admin().createSubscription(topic, "keyed", SubscriptionType.SHARED)));
        assertInstanceOf(MagnetarException.SubscriptionTypeConflictException.class, assertThrows(MagnetarException.class,
            () -> client.newConsumer().topic(topic).subscription("keyed").subscriptionType(SubscriptionType.MULTICAST)
                .subscribe()));

        final TopicStats stats = client.admin().describeTopic(topic);
        assertEquals(topic, stats.name());
        assertEquals(3, stats.partitions());
        final SubscriptionStats keyed = stats.subscription("keyed");
        assertEquals(SubscriptionType.KEY_SHARED, keyed.type());
        assertEquals(5000, keyed.ackTimeoutMs());
        assertEquals(50, keyed.nackDelayMs());
        assertEquals(3, keyed.maxDeliveries());

        client.admin().deleteSubscription(topic, "keyed");
        assertNull(client.admin().describeTopic(topic).subscription("keyed"));
        assertInstanceOf(MagnetarException.SubscriptionNotFoundException.class, assertThrows(MagnetarException.class,
            () -> client.admin().deleteSubscription(topic, "keyed")));

        client.admin().deleteTopic(topic);
        assertInstanceOf(MagnetarException.TopicNotFoundException.class,
            assertThrows(MagnetarException.class, () -> client.admin().describeTopic(topic)));
        assertInstanceOf(MagnetarException.TopicNotFoundException.class,
            assertThrows(MagnetarException.class, () -> client.newProducer().topic(topic).create()));
        assertInstanceOf(MagnetarException.TopicNotFoundException.class, assertThrows(MagnetarException.class,
            () -> client.newConsumer().topic(topic).subscription("s").subscribe()));
        assertInstanceOf(MagnetarException.InvalidArgumentException.class,
            assertThrows(MagnetarException.class, () -> client.admin().createTopic("bad name!", 1)));
    }

    @Test
    void invalidMessagesFailAloneInABatch()
    {
        final String topic = newTopic("invalid", 1);
        final Producer producer = client.newProducer().topic(topic).batchingMaxPublishDelay(Duration.ofMillis(20)).create();
        final CompletableFuture<MessageId> good = producer.sendAsync("good");
        final CompletableFuture<MessageId> tooLong = producer.sendAsync("k".repeat(300));
        final CompletableFuture<MessageId> alsoGood = producer.sendAsync("also-good");
        assertNotNull(good.join());
        assertNotNull(alsoGood.join());
        final MagnetarException error = MagnetarException.unwrap(assertThrows(Exception.class, tooLong::join));
        assertInstanceOf(MagnetarException.InvalidArgumentException.class, error);
        assertTrue(error.getMessage().contains("key"), error.getMessage());
    }
}
