package io.magnetar.rest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.magnetar.rest.GatewayFixture.await;
import static io.magnetar.rest.GatewayFixture.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * key_shared and multicast over REST behave as over the native client (SPEC 2.3, 2.4).
 */
class SubscriptionTypesTest
{
    private static GatewayFixture fx;

    @BeforeAll
    static void start()
    {
        fx = new GatewayFixture();
    }

    @AfterAll
    static void stop()
    {
        fx.close();
    }

    @Test
    void keySharedKeepsPerKeyOrderAndNeverSplitsAKey()
    {
        final String topic = unique("ks");
        fx.createTopic(topic, 4);
        fx.createSubscription(topic, "s", "{\"type\": \"key_shared\"}");
        final List<String> consumers = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            consumers.add(fx.createConsumer(topic, "s", "{\"name\": \"c" + i + "\", \"permits\": 50}"));
        }
        final int keys = 30;
        final int perKey = 20;
        final List<String> batch = new ArrayList<>();
        for (int round = 0; round < perKey; round++)
        {
            for (int k = 0; k < keys; k++)
            {
                batch.add("key-" + k);
            }
        }
        final List<String> ids = fx.publish(topic, batch);
        final Map<String, Integer> publishOrder = new HashMap<>();
        for (int i = 0; i < ids.size(); i++)
        {
            publishOrder.put(ids.get(i), i);
        }

        final Map<String, String> owner = new HashMap<>();
        final Map<String, Integer> lastSeen = new HashMap<>();
        final Set<String> received = new HashSet<>();
        await("every message consumed", 30_000, () ->
        {
            for (final String consumer : consumers)
            {
                final List<JsonNode> messages = fx.fetch(consumer, 25, 20);
                final List<String> toAck = new ArrayList<>();
                for (final JsonNode message : messages)
                {
                    final String key = message.get("key").asText();
                    final String id = message.get("id").asText();
                    final String previousOwner = owner.putIfAbsent(key, consumer);
                    assertTrue(null == previousOwner || previousOwner.equals(consumer),
                        key + " went to " + previousOwner + " and " + consumer);
                    final int position = publishOrder.get(id);
                    final Integer last = lastSeen.put(key, position);
                    assertTrue(null == last || last < position, key + ": " + id + " after a later message");
                    assertEquals(1, message.get("deliveryCount").asInt());
                    assertTrue(received.add(id), "duplicate " + id);
                    toAck.add(id);
                }
                if (!toAck.isEmpty())
                {
                    assertEquals(toAck.size(), fx.ack(consumer, toAck).get("acked").asInt());
                }
            }
            return received.size() == ids.size();
        });
        assertEquals(keys, owner.size());
        assertTrue(new HashSet<>(owner.values()).size() > 1, "all keys on one consumer: " + owner);
        for (final String consumer : consumers)
        {
            assertEquals(204, fx.delete("/v1/consumers/" + consumer).status());
        }
    }

    @Test
    void multicastGivesEveryConsumerEveryMessage()
    {
        final String topic = unique("mc");
        fx.createTopic(topic, 2);
        fx.createSubscription(topic, "fanout", "{\"type\": \"multicast\"}");
        final String a = fx.createConsumer(topic, "fanout", "{\"name\": \"a\"}");
        final String b = fx.createConsumer(topic, "fanout", "{\"name\": \"b\"}");
        final List<String> keys = new ArrayList<>();
        for (int i = 0; i < 50; i++)
        {
            keys.add("m" + i);
        }
        final Set<String> ids = new HashSet<>(fx.publish(topic, keys));
        final Set<String> gotA = drain(a, ids.size());
        final Set<String> gotB = drain(b, ids.size());
        assertEquals(ids, gotA);
        assertEquals(ids, gotB);
        // a has acked everything; b's copies are still in flight until b acks
        assertEquals(ids.size(), fx.ack(a, new ArrayList<>(ids)).get("acked").asInt());
        await("b's copies in flight", 5000, () -> ids.size() == fanoutStats(topic).get("inFlight").asLong());
        assertEquals(ids.size(), fx.ack(b, new ArrayList<>(ids)).get("acked").asInt());
        await("complete for the subscription", 5000, () -> 0 == fanoutStats(topic).get("inFlight").asLong());
        assertEquals(204, fx.delete("/v1/consumers/" + a).status());
        assertEquals(204, fx.delete("/v1/consumers/" + b).status());
    }

    private static JsonNode fanoutStats(final String topic)
    {
        return AdminRoutesTest.subscription(fx.get("/admin/v1/topics/" + topic).json(), "fanout");
    }

    private static Set<String> drain(final String consumer, final int expected)
    {
        final Set<String> got = new HashSet<>();
        await(expected + " messages on " + consumer, 10_000, () ->
        {
            for (final JsonNode message : fx.fetch(consumer, 100, 100))
            {
                got.add(message.get("id").asText());
            }
            return got.size() >= expected;
        });
        return got;
    }
}
