package io.magnetar.rest;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.magnetar.rest.GatewayFixture.await;
import static io.magnetar.rest.GatewayFixture.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Publishing and REST consumers over HTTP against a real node: long polls, acks, nacks, ack timeouts, deletion and
 * lease expiry, and every error case of those routes.
 */
class PublishConsumeTest
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

    private static String topicWithSubscription(final String subscriptionBody)
    {
        final String topic = unique("t");
        fx.createTopic(topic, 1);
        fx.createSubscription(topic, "s", subscriptionBody);
        return topic;
    }

    @Test
    void publishFetchAck()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String consumer = fx.createConsumer(topic, "s", "{\"name\": \"worker-1\", \"permits\": 100, \"leaseMs\": 30000}");
        final long before = System.currentTimeMillis();
        final GatewayFixture.Resp published = fx.post("/v1/topics/" + topic + "/messages",
            "{\"messages\": [{\"key\": \"k1\", \"attributes\": {\"ref\": \"s3://b/1\", \"size\": \"42\"}}, {\"key\": \"k2\"}," +
            " {\"key\": \"k\u00e9\u4e2d\ud83d\ude00\", \"attributes\": {}}]}");
        assertEquals(200, published.status(), published.body());
        final List<String> ids = new ArrayList<>();
        published.json().get("ids").forEach((id) -> ids.add(id.asText()));
        assertEquals(3, ids.size());
        for (final String id : ids)
        {
            assertTrue(id.matches("\\d+:\\d+:\\d+"), id);
        }

        final List<JsonNode> messages = new ArrayList<>();
        await("three delivered", 5000, () ->
        {
            messages.addAll(fx.fetch(consumer, 10, 1000)); // a poll answers as soon as one message is there
            return messages.size() >= 3;
        });
        assertEquals(3, messages.size(), messages.toString());
        final JsonNode first = messages.get(0);
        assertEquals(ids.get(0), first.get("id").asText());
        assertEquals(topic, first.get("topic").asText());
        assertEquals("k1", first.get("key").asText());
        assertEquals("s3://b/1", first.get("attributes").get("ref").asText());
        assertEquals("42", first.get("attributes").get("size").asText());
        assertEquals(1, first.get("deliveryCount").asInt());
        assertTrue(first.get("publishTime").asLong() >= before - 1000, first.toString());
        assertEquals(0, messages.get(1).get("attributes").size());
        assertEquals("k\u00e9\u4e2d\ud83d\ude00", messages.get(2).get("key").asText());

        final JsonNode acked = fx.ack(consumer, ids);
        assertEquals(3, acked.get("acked").asInt());
        assertEquals(0, acked.get("unknown").asInt());
        final JsonNode again = fx.ack(consumer, ids);
        assertEquals(0, again.get("acked").asInt());
        assertEquals(3, again.get("unknown").asInt());
        await("all acked at the broker", 5000, () -> 0 == stats(topic, "s").get("inFlight").asLong());
        assertEquals(0, stats(topic, "s").get("backlog").asLong());
        assertEquals(0, fx.fetch(consumer, 10, 0).size());
        assertEquals(204, fx.delete("/v1/consumers/" + consumer).status());
        fx.delete("/v1/consumers/" + consumer).assertError(404, "CONSUMER_NOT_FOUND");
    }

    static JsonNode stats(final String topic, final String subscription)
    {
        return AdminRoutesTest.subscription(fx.get("/admin/v1/topics/" + topic).json(), subscription);
    }

    @Test
    void largeBatchesKeepRequestOrderAndTheLimitIsEnforced()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final List<String> keys = new ArrayList<>();
        for (int i = 0; i < 10_000; i++)
        {
            keys.add("key-" + i);
        }
        final List<String> ids = fx.publish(topic, keys);
        // one partition: entries grow in request order
        long previous = -1;
        for (final String id : ids)
        {
            final long entry = Long.parseLong(id.substring(id.lastIndexOf(':') + 1));
            assertTrue(entry > previous, ids.toString());
            previous = entry;
        }
        assertEquals(10_000, new HashSet<>(ids).size());
        keys.add("one-too-many");
        final GatewayFixture.Resp tooMany = fx.post("/v1/topics/" + topic + "/messages", body(keys));
        tooMany.assertError(400, "INVALID_ARGUMENT");
        assertTrue(tooMany.message().contains("10000"), tooMany.body());
        assertEquals(10_000, stats(topic, "s").get("backlog").asLong());
    }

    private static String body(final List<String> keys)
    {
        final StringBuilder sb = new StringBuilder("{\"messages\": [");
        for (int i = 0; i < keys.size(); i++)
        {
            sb.append(i > 0 ? "," : "").append("{\"key\": ").append(GatewayFixture.quote(keys.get(i))).append('}');
        }
        return sb.append("]}").toString();
    }

    @Test
    void publishErrorsRejectTheWholeBatch()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String path = "/v1/topics/" + topic + "/messages";
        final StringBuilder attrs33 = new StringBuilder("{");
        for (int i = 0; i < 33; i++)
        {
            attrs33.append(i > 0 ? "," : "").append("\"a").append(i).append("\": \"v\"");
        }
        attrs33.append('}');
        final StringBuilder attrsBig = new StringBuilder("{");
        for (int i = 0; i < 5; i++)
        {
            attrsBig.append(i > 0 ? "," : "").append("\"a").append(i).append("\": \"").append("v".repeat(1000)).append('"');
        }
        attrsBig.append('}');
        final String[][] cases = {
            {"{}", "messages: required"},
            {"{\"messages\": []}", "messages: 0 messages is outside 1..10000"},
            {"{\"messages\": {}}", "messages: expected an array"},
            {"{\"messages\": [1]}", "messages[0]: expected an object"},
            {"{\"messages\": [{}]}", "messages[0].key: required"},
            {"{\"messages\": [{\"key\": \"\"}]}", "messages[0].key: 0 bytes is outside 1..256"},
            {"{\"messages\": [{\"key\": \"" + "k".repeat(257) + "\"}]}", "messages[0].key: 257 bytes is outside 1..256"},
            {"{\"messages\": [{\"key\": \"" + "\u00e9".repeat(129) + "\"}]}", "messages[0].key: 258 bytes"},
            {"{\"messages\": [{\"key\": 7}]}", "messages[0].key: expected a string"},
            {"{\"messages\": [{\"key\": null}]}", "messages[0].key: expected a string"},
            {"{\"messages\": [{\"key\": \"\\ud800\"}]}", "messages[0].key: not valid Unicode"},
            {"{\"messages\": [{\"key\": \"k\", \"value\": \"body\"}]}", "messages[0].value: unknown field"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": []}]}", "messages[0].attributes: expected an object"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": 1}}]}", "messages[0].attributes.a: expected a string"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": null}}]}", "messages[0].attributes.a: expected a string"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"\": \"v\"}}]}", "name of 0 bytes is outside 1..64"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"" + "n".repeat(65) + "\": \"v\"}}]}", "name of 65 bytes"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": \"" + "v".repeat(1025) + "\"}}]}", "value of 1025 bytes exceeds the limit of 1024"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": " + attrs33 + "}]}", "33 attributes exceed the limit of 32"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": " + attrsBig + "}]}", "exceed the limit of 4096"},
            {"{\"messages\": [{\"key\": \"ok\"}, {\"key\": \"ok\"}, {\"key\": \"\"}]}", "messages[2].key"},
            {"{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": \"\\udfff\"}}]}", "not valid Unicode"},
        };
        for (final String[] c : cases)
        {
            final GatewayFixture.Resp resp = fx.post(path, c[0]);
            resp.assertError(400, "INVALID_ARGUMENT");
            assertTrue(resp.message().contains(c[1]), "expected '" + c[1] + "' in " + resp.body());
        }
        // nothing of any rejected batch was stored
        assertEquals(0, stats(topic, "s").get("backlog").asLong());
        fx.post("/v1/topics/" + unique("missing") + "/messages", "{\"messages\": [{\"key\": \"k\"}]}")
            .assertError(404, "TOPIC_NOT_FOUND");
        fx.post("/v1/topics/bad%20topic/messages", "{\"messages\": [{\"key\": \"k\"}]}")
            .assertError(404, "TOPIC_NOT_FOUND");
    }

    @Test
    void longPollCompletesOnArrivalAndTimesOutEmpty()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String consumer = fx.createConsumer(topic, "s", "{}");

        final long startNs = System.nanoTime();
        assertEquals(0, fx.fetch(consumer, 10, 300).size());
        assertTrue(System.nanoTime() - startNs >= TimeUnit.MILLISECONDS.toNanos(290), "returned before waitMs");

        final CompletableFuture<HttpResponse<String>> poll = fx.http.sendAsync(
            HttpRequest.newBuilder(URI.create(fx.base + "/v1/consumers/" + consumer + "/messages?max=10&waitMs=20000")).build(),
            HttpResponse.BodyHandlers.ofString());
        await("the poll to be parked", 5000, () -> 1 == fx.gateway.consumers().get(consumer).waiting());
        assertFalse(poll.isDone());
        final long publishNs = System.nanoTime();
        final List<String> ids = fx.publish(topic, List.of("wake-up"));
        final HttpResponse<String> response = poll.join();
        assertTrue(System.nanoTime() - publishNs < TimeUnit.SECONDS.toNanos(10), "the poll waited for its timeout");
        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains(ids.get(0)), response.body());
    }

    @Test
    void parkedLongPollsHoldNoThreads()
    {
        // 400 polls parked at once on a gateway with 24 request threads: each would need its own if it held one
        try (GatewayFixture small = new GatewayFixture(new io.magnetar.engine.EngineConfig(), new RestConfig().maxRequestThreads(24)))
        {
            final String topic = unique("parked");
            small.createTopic(topic, 1);
            small.createSubscription(topic, "s", "{\"type\": \"shared\"}");
            final String consumer = small.createConsumer(topic, "s", "{\"permits\": 1000}");
            final int polls = 400;
            final List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < polls; i++)
            {
                responses.add(small.http.sendAsync(
                    HttpRequest.newBuilder(URI.create(small.base + "/v1/consumers/" + consumer + "/messages?max=1&waitMs=30000"))
                        .timeout(Duration.ofSeconds(60)).build(),
                    HttpResponse.BodyHandlers.ofString()));
            }
            final RestConsumer parked = small.gateway.consumers().get(consumer);
            await(polls + " parked polls", 20_000, () -> polls == parked.waiting());
            // the gateway still answers other requests while they wait
            assertEquals(200, small.get("/health").status());

            final List<String> keys = new ArrayList<>();
            for (int i = 0; i < polls; i++)
            {
                keys.add("k" + i);
            }
            final Set<String> published = new HashSet<>(small.publish(topic, keys));
            final Set<String> received = new HashSet<>();
            for (final CompletableFuture<HttpResponse<String>> response : responses)
            {
                final HttpResponse<String> r = response.join();
                assertEquals(200, r.statusCode(), r.body());
                final JsonNode messages = parse(r.body()).get("messages");
                assertEquals(1, messages.size(), r.body());
                received.add(messages.get(0).get("id").asText());
            }
            assertEquals(published, received);
        }
    }

    static JsonNode parse(final String body)
    {
        try
        {
            return GatewayFixture.MAPPER.readTree(body);
        }
        catch (final java.io.IOException ex)
        {
            throw new AssertionError(body, ex);
        }
    }

    @Test
    void nackRedeliversWithDeliveryCount()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\", \"nackDelayMs\": 50}");
        final String consumer = fx.createConsumer(topic, "s", "{}");
        final List<String> ids = fx.publish(topic, List.of("n1"));
        final List<JsonNode> first = fx.fetch(consumer, 10, 5000);
        assertEquals(1, first.size());
        assertEquals(1, first.get(0).get("deliveryCount").asInt());

        final JsonNode nacked = fx.nack(consumer, List.of(ids.get(0), "0:0:999999"));
        assertEquals(1, nacked.get("nacked").asInt());
        assertEquals(1, nacked.get("unknown").asInt());
        final List<JsonNode> second = fx.fetch(consumer, 10, 5000);
        assertEquals(1, second.size());
        assertEquals(ids.get(0), second.get(0).get("id").asText());
        assertEquals(2, second.get(0).get("deliveryCount").asInt());
        assertEquals(1, fx.ack(consumer, ids).get("acked").asInt());
    }

    @Test
    void ackTimeoutRedeliversWithDeliveryCount()
    {
        // 2 s: long enough that collecting the first copies and acking the redelivered ones cannot straddle another
        // ack timeout on a loaded machine (which would add copies or bump deliveryCount past 2)
        final String topic = topicWithSubscription("{\"type\": \"shared\", \"ackTimeoutMs\": 2000}");
        final String consumer = fx.createConsumer(topic, "s", "{}");
        final List<String> ids = fx.publish(topic, List.of("t1", "t2"));
        final List<JsonNode> first = new ArrayList<>();
        await("both delivered", 5000, () ->
        {
            first.addAll(fx.fetch(consumer, 10, 1000)); // a poll answers as soon as one message is there
            return first.size() >= 2;
        });
        assertEquals(2, first.size());
        // not acked: the broker redelivers both after 2 s
        final List<JsonNode> again = new ArrayList<>();
        await("redelivery after the ack timeout", 10_000, () ->
        {
            again.addAll(fx.fetch(consumer, 10, 1000));
            return again.size() >= 2;
        });
        for (final JsonNode message : again)
        {
            assertTrue(ids.contains(message.get("id").asText()));
            assertEquals(2, message.get("deliveryCount").asInt(), message.toString());
        }
        assertEquals(2, fx.ack(consumer, ids).get("acked").asInt());
        await("redeliveries counted", 5000, () -> stats(topic, "s").get("redeliveries").asLong() >= 2);
    }

    @Test
    void deletedConsumersMessagesGoToOthers()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String a = fx.createConsumer(topic, "s", "{\"name\": \"a\"}");
        final List<String> ids = fx.publish(topic, List.of("d1", "d2", "d3"));
        final List<JsonNode> taken = new ArrayList<>();
        await("a holds all three", 5000, () ->
        {
            taken.addAll(fx.fetch(a, 10, 500));
            return taken.size() == 3;
        });
        final String b = fx.createConsumer(topic, "s", "{\"name\": \"b\"}");
        assertEquals(204, fx.delete("/v1/consumers/" + a).status());
        final List<JsonNode> redelivered = new ArrayList<>();
        await("b gets a's messages", 10_000, () ->
        {
            redelivered.addAll(fx.fetch(b, 10, 500));
            return redelivered.size() >= 3;
        });
        final Set<String> got = new HashSet<>();
        for (final JsonNode message : redelivered)
        {
            got.add(message.get("id").asText());
            assertEquals(2, message.get("deliveryCount").asInt(), message.toString());
        }
        assertEquals(new HashSet<>(ids), got);
        fx.get("/v1/consumers/" + a + "/messages?waitMs=0").assertError(404, "CONSUMER_NOT_FOUND");
        assertEquals(204, fx.delete("/v1/consumers/" + b).status());
    }

    @Test
    void lapsedLeaseDetachesAndRedeliversToAnotherConsumer()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        // publish first (the subscription retains the messages), so nothing stands between the lazy consumer's
        // creation and its first fetch; the lease is still short enough for the test to see it lapse
        final List<String> ids = fx.publish(topic, List.of("l1", "l2"));
        final String lazy = fx.createConsumer(topic, "s", "{\"name\": \"lazy\", \"leaseMs\": 1000}");
        final List<JsonNode> taken = new ArrayList<>();
        await("lazy holds both", 5000, () ->
        {
            taken.addAll(fx.fetch(lazy, 10, 100));
            return taken.size() == 2;
        });
        final String diligent = fx.createConsumer(topic, "s", "{\"name\": \"diligent\", \"leaseMs\": 60000}");
        // lazy stops calling; its lease lapses and the broker hands its messages to diligent
        final List<JsonNode> redelivered = new ArrayList<>();
        await("diligent gets lazy's messages", 15_000, () ->
        {
            redelivered.addAll(fx.fetch(diligent, 10, 500));
            return redelivered.size() >= 2;
        });
        final Set<String> got = new HashSet<>();
        for (final JsonNode message : redelivered)
        {
            got.add(message.get("id").asText());
            assertEquals(2, message.get("deliveryCount").asInt(), message.toString());
        }
        assertEquals(new HashSet<>(ids), got);
        final GatewayFixture.Resp gone = fx.get("/v1/consumers/" + lazy + "/messages?waitMs=0");
        gone.assertError(404, "CONSUMER_NOT_FOUND");
        fx.post("/v1/consumers/" + lazy + "/acks", GatewayFixture.idsBody(ids)).assertError(404, "CONSUMER_NOT_FOUND");
    }

    @Test
    void aWaitingPollHoldsTheLease()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String consumer = fx.createConsumer(topic, "s", "{\"leaseMs\": 1000}");
        for (int i = 0; i < 3; i++)
        {
            // each wait is longer than the lease; the lease only has to survive the gap between two polls
            assertEquals(0, fx.fetch(consumer, 1, 2000).size());
        }
        assertEquals(204, fx.delete("/v1/consumers/" + consumer).status());
    }

    @Test
    void consumerErrors()
    {
        final String topic = topicWithSubscription("{\"type\": \"shared\"}");
        final String base = "/v1/topics/" + topic + "/subscriptions/";
        fx.post("/v1/topics/" + unique("none") + "/subscriptions/s/consumers", "{\"type\": \"shared\"}")
            .assertError(404, "TOPIC_NOT_FOUND");
        fx.post(base + "missing/consumers", "{}").assertError(404, "SUBSCRIPTION_NOT_FOUND");
        fx.post(base + "s/consumers", "{\"type\": \"multicast\"}").assertError(409, "SUBSCRIPTION_TYPE_CONFLICT");
        final String[] bodies = {
            "[]", "{\"permits\": 0}", "{\"permits\": 10001}", "{\"permits\": \"5\"}", "{\"leaseMs\": 10}",
            "{\"leaseMs\": 3600001}", "{\"name\": \"\"}", "{\"name\": 5}", "{\"type\": \"fifo\"}", "{\"prefetch\": 5}",
            "{\"ackTimeoutMs\": -5}", "{", "{\"name\": \"" + "n".repeat(129) + "\"}"};
        for (final String body : bodies)
        {
            fx.post(base + "s/consumers", body).assertError(400, "INVALID_ARGUMENT");
        }
        // a consumer creating its subscription names the type
        final String created = fx.createConsumer(topic, "implicit", "{\"type\": \"key_shared\"}");
        assertEquals("key_shared", stats(topic, "implicit").get("type").asText());
        // an empty body is allowed: all defaults
        final GatewayFixture.Resp empty = fx.post(base + "s/consumers", "");
        assertEquals(201, empty.status(), empty.body());
        assertEquals(1000, empty.json().get("permits").asInt());
        final String id = empty.json().get("consumerId").asText();

        final String[] queries = {"max=0", "max=10001", "max=abc", "max=-1", "waitMs=-1", "waitMs=60001", "waitMs=1.5",
            "max=", "waitMs=99999999999999999999"};
        for (final String query : queries)
        {
            fx.get("/v1/consumers/" + id + "/messages?" + query).assertError(400, "INVALID_ARGUMENT");
        }
        final String[] idBodies = {"{}", "{\"ids\": \"0:1:2\"}", "{\"ids\": [1]}", "{\"ids\": [\"1:2\"]}",
            "{\"ids\": [\"a:b:c\"]}", "{\"ids\": [\"-1:0:0\"]}", "{\"ids\": [\"1:2:3:4\"]}", "{\"ids\": [null]}",
            "{\"ids\": [], \"all\": true}", "{\"ids\": [\"99999999999:0:0\"]}"};
        for (final String body : idBodies)
        {
            fx.post("/v1/consumers/" + id + "/acks", body).assertError(400, "INVALID_ARGUMENT");
            fx.post("/v1/consumers/" + id + "/nacks", body).assertError(400, "INVALID_ARGUMENT");
        }
        final List<String> tooMany = new ArrayList<>();
        for (int i = 0; i < 10_001; i++)
        {
            tooMany.add("0:0:" + i);
        }
        fx.post("/v1/consumers/" + id + "/acks", GatewayFixture.idsBody(tooMany)).assertError(400, "INVALID_ARGUMENT");
        assertEquals(0, fx.ack(id, List.of()).get("acked").asInt());

        final String unknown = "0123456789abcdef0123456789abcdef";
        fx.get("/v1/consumers/" + unknown + "/messages").assertError(404, "CONSUMER_NOT_FOUND");
        fx.post("/v1/consumers/" + unknown + "/acks", "{\"ids\": []}").assertError(404, "CONSUMER_NOT_FOUND");
        fx.post("/v1/consumers/" + unknown + "/nacks", "{\"ids\": []}").assertError(404, "CONSUMER_NOT_FOUND");
        fx.delete("/v1/consumers/" + unknown).assertError(404, "CONSUMER_NOT_FOUND");
        assertEquals(204, fx.delete("/v1/consumers/" + id).status());
        assertEquals(204, fx.delete("/v1/consumers/" + created).status());
    }
}
