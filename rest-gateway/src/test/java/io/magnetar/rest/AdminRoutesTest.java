package io.magnetar.rest;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.magnetar.rest.GatewayFixture.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin routes of SPEC section 5 and their error cases, over HTTP against a real node.
 */
class AdminRoutesTest
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
    void createTopicIs201ThenIdentical200ThenDifferent409()
    {
        final String topic = unique("orders");
        final GatewayFixture.Resp created = fx.put("/admin/v1/topics/" + topic, "{\"partitions\": 4}");
        assertEquals(201, created.status(), created.body());
        assertEquals(topic, created.json().get("name").asText());
        assertEquals(4, created.json().get("partitions").asInt());

        final GatewayFixture.Resp identical = fx.put("/admin/v1/topics/" + topic, "{\"partitions\": 4}");
        assertEquals(200, identical.status(), identical.body());

        fx.put("/admin/v1/topics/" + topic, "{\"partitions\": 8}").assertError(409, "TOPIC_EXISTS");
    }

    @Test
    void listAndDescribeTopics()
    {
        final String topic = unique("listed");
        fx.createTopic(topic, 3);
        final JsonNode list = fx.get("/admin/v1/topics").json();
        boolean found = false;
        for (final JsonNode entry : list.get("topics"))
        {
            if (topic.equals(entry.get("name").asText()))
            {
                assertEquals(3, entry.get("partitions").asInt());
                found = true;
            }
        }
        assertTrue(found, list.toString());

        fx.createSubscription(topic, "billing", "{\"type\": \"key_shared\", \"ackTimeoutMs\": 30000, \"maxInFlightPerKey\": 1}");
        fx.createSubscription(topic, "audit", "{\"type\": \"multicast\"}");
        fx.publish(topic, List.of("a", "b", "c"));
        final String consumer = fx.createConsumer(topic, "billing", "{\"permits\": 1}");
        GatewayFixture.await("one message in flight", 5_000, () ->
        {
            final JsonNode sub = subscription(fx.get("/admin/v1/topics/" + topic).json(), "billing");
            return 1 == sub.get("inFlight").asLong() && 2 == sub.get("backlog").asLong();
        });

        final GatewayFixture.Resp described = fx.get("/admin/v1/topics/" + topic);
        assertEquals(200, described.status(), described.body());
        final JsonNode json = described.json();
        assertEquals(topic, json.get("name").asText());
        assertEquals(3, json.get("partitions").asInt());
        final JsonNode billing = subscription(json, "billing");
        assertEquals("key_shared", billing.get("type").asText());
        assertEquals(1, billing.get("consumers").asInt());
        assertEquals(0, billing.get("redeliveries").asLong());
        assertEquals(0, billing.get("deadLettered").asLong());
        assertEquals(30000, billing.get("ackTimeoutMs").asLong());
        assertEquals(1, billing.get("maxInFlightPerKey").asInt());
        final JsonNode audit = subscription(json, "audit");
        assertEquals("multicast", audit.get("type").asText());
        assertEquals(0, audit.get("consumers").asInt());
        assertEquals(204, fx.delete("/v1/consumers/" + consumer).status());
    }

    static JsonNode subscription(final JsonNode topic, final String name)
    {
        for (final JsonNode sub : topic.get("subscriptions"))
        {
            if (name.equals(sub.get("name").asText()))
            {
                return sub;
            }
        }
        throw new AssertionError("no subscription " + name + " in " + topic);
    }

    @Test
    void deleteTopicIs204ThenNotFound()
    {
        final String topic = unique("doomed");
        fx.createTopic(topic, 1);
        fx.createSubscription(topic, "s", "{\"type\": \"shared\"}");
        fx.publish(topic, List.of("k"));
        final String consumer = fx.createConsumer(topic, "s", "{}");

        final GatewayFixture.Resp deleted = fx.delete("/admin/v1/topics/" + topic);
        assertEquals(204, deleted.status(), deleted.body());
        assertTrue(deleted.body().isEmpty());
        fx.get("/admin/v1/topics/" + topic).assertError(404, "TOPIC_NOT_FOUND");
        fx.delete("/admin/v1/topics/" + topic).assertError(404, "TOPIC_NOT_FOUND");
        fx.post("/v1/topics/" + topic + "/messages", "{\"messages\": [{\"key\": \"k\"}]}").assertError(404, "TOPIC_NOT_FOUND");
        fx.get("/v1/consumers/" + consumer + "/messages?waitMs=0").assertError(404, "CONSUMER_NOT_FOUND");

        // re-created under the same name: publishing works again (the gateway's producer was for the old topic)
        fx.createTopic(topic, 2);
        assertEquals(1, fx.publish(topic, List.of("k2")).size());
    }

    @Test
    void subscriptionsCreateIdenticalConflictDelete()
    {
        final String topic = unique("subs");
        fx.createTopic(topic, 1);
        final String path = "/admin/v1/topics/" + topic + "/subscriptions/workers";
        final GatewayFixture.Resp created = fx.put(path, "{\"type\": \"shared\", \"nackDelayMs\": 10}");
        assertEquals(201, created.status(), created.body());
        assertEquals("shared", created.json().get("type").asText());
        assertEquals(200, fx.put(path, "{\"type\": \"shared\", \"nackDelayMs\": 10}").status());
        fx.put(path, "{\"type\": \"multicast\"}").assertError(409, "SUBSCRIPTION_TYPE_CONFLICT");
        fx.put(path, "{\"type\": \"shared\", \"nackDelayMs\": 20}").assertError(409, "SUBSCRIPTION_EXISTS");

        final String consumer = fx.createConsumer(topic, "workers", "{}");
        assertEquals(204, fx.delete(path).status());
        fx.delete(path).assertError(404, "SUBSCRIPTION_NOT_FOUND");
        fx.get("/v1/consumers/" + consumer + "/messages?waitMs=0").assertError(404, "CONSUMER_NOT_FOUND");
        fx.put("/admin/v1/topics/" + unique("none") + "/subscriptions/s", "{\"type\": \"shared\"}")
            .assertError(404, "TOPIC_NOT_FOUND");
        fx.delete("/admin/v1/topics/" + unique("none") + "/subscriptions/s").assertError(404, "TOPIC_NOT_FOUND");
    }

    @Test
    void topicBodyErrors()
    {
        final String path = "/admin/v1/topics/" + unique("bad");
        final String[] bodies = {
            "", "   ", "{", "{\"partitions\": }", "[]", "4", "null", "\"x\"", "{\"partitions\": \"4\"}",
            "{\"partitions\": 4.0}", "{\"partitions\": 4.5}", "{\"partitions\": true}", "{\"partitions\": null}",
            "{\"partitions\": [4]}", "{}", "{\"partitions\": 4, \"partitons\": 4}", "{\"partitions\": 4, \"partitions\": 4}",
            "{\"partitions\": 0}", "{\"partitions\": -1}", "{\"partitions\": 99999999999999999999}",
            "{\"partitions\": 4} {}", "{\"partitions\": 4}]", "{'partitions': 4}", "{\"partitions\": 4,}",
            "{\"partitions\": NaN}", "{\"partitions\": 0x10}", "{\"partitions\": 4097}"};
        for (final String body : bodies)
        {
            final GatewayFixture.Resp resp = fx.put(path, body);
            resp.assertError(400, "INVALID_ARGUMENT");
        }
        assertTrue(fx.put(path, "{\"partitions\": 4, \"partitons\": 4}").message().contains("partitons"));
        assertTrue(fx.put(path, "{\"partitions\": \"4\"}").message().contains("partitions: expected an integer"));
        assertTrue(fx.put(path, "{}").message().contains("partitions: required"));
        // the broker's limit message passes through
        assertTrue(fx.put(path, "{\"partitions\": 4097}").message().contains("4096"));
        fx.put("/admin/v1/topics/bad%20name", "{\"partitions\": 1}").assertError(400, "INVALID_ARGUMENT");
        fx.put("/admin/v1/topics/" + "x".repeat(129), "{\"partitions\": 1}").assertError(400, "INVALID_ARGUMENT");
        // a query for a name that cannot exist is simply not found
        fx.get("/admin/v1/topics/bad%20name").assertError(404, "TOPIC_NOT_FOUND");
        assertFalse(fx.get("/admin/v1/topics").body().contains("bad name"));
    }

    @Test
    void subscriptionBodyErrors()
    {
        final String topic = unique("subbad");
        fx.createTopic(topic, 1);
        final String path = "/admin/v1/topics/" + topic + "/subscriptions/s";
        final String[] bodies = {
            "", "{}", "{\"type\": \"Shared\"}", "{\"type\": \"exclusive\"}", "{\"type\": 1}", "{\"type\": null}",
            "{\"type\": \"shared\", \"ackTimeoutMs\": -1}", "{\"type\": \"shared\", \"ackTimeoutMs\": \"1\"}",
            "{\"type\": \"shared\", \"nackDelayMs\": 1.5}", "{\"type\": \"shared\", \"maxDeliveries\": -2}",
            "{\"type\": \"shared\", \"maxInFlightPerKey\": 1}", "{\"type\": \"shared\", \"color\": \"red\"}",
            "{\"type\": \"shared\", \"ackTimeoutMs\": 999999999999}"};
        for (final String body : bodies)
        {
            fx.put(path, body).assertError(400, "INVALID_ARGUMENT");
        }
        assertTrue(fx.put(path, "{\"type\": \"shared\", \"maxInFlightPerKey\": 1}").message().contains("key_shared"));
        fx.put("/admin/v1/topics/" + topic + "/subscriptions/-bad", "{\"type\": \"shared\"}").assertError(400, "INVALID_ARGUMENT");
    }

    @Test
    void bodyLargerThanTheLimitIs413()
    {
        try (GatewayFixture small = new GatewayFixture(new io.magnetar.engine.EngineConfig(), new RestConfig().maxBodyBytes(4096)))
        {
            final String topic = unique("big");
            small.createTopic(topic, 1);
            final String big = "{\"messages\": [{\"key\": \"" + "k".repeat(5000) + "\"}]}";
            final GatewayFixture.Resp resp = small.post("/v1/topics/" + topic + "/messages", big);
            resp.assertError(413, "INVALID_ARGUMENT");
            assertTrue(resp.message().contains("4096"), resp.body());
            // the gateway keeps serving on a new connection
            assertEquals(1, small.publish(topic, List.of("fine")).size());
        }
    }

    @Test
    void unknownRoutesAndMethods()
    {
        fx.get("/admin/v1/nothing").assertError(404, "NOT_FOUND");
        fx.get("/").assertError(404, "NOT_FOUND");
        fx.post("/admin/v1/topics", "{}").assertError(405, "METHOD_NOT_ALLOWED");
        fx.send("PATCH", "/admin/v1/topics/x", "{}").assertError(405, "METHOD_NOT_ALLOWED");
        final Set<Integer> statuses = new HashSet<>();
        statuses.add(fx.get("/v1/topics/x/messages").status());
        assertTrue(statuses.contains(405), statuses.toString());
    }
}
