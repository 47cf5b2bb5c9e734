package io.magnetar.rest;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.magnetar.client.MagnetarClient;
import io.magnetar.engine.EngineConfig;
import org.agrona.CloseHelper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A node, a client and a gateway on an ephemeral port, and a real {@link HttpClient} to talk to it.
 */
final class GatewayFixture implements AutoCloseable
{
    static final ObjectMapper MAPPER = new ObjectMapper();

    final TestNode node;
    final MagnetarClient client;
    final RestGateway gateway;
    final HttpClient http;
    final String base;

    GatewayFixture()
    {
        this(new EngineConfig(), new RestConfig());
    }

    GatewayFixture(final EngineConfig engineConfig, final RestConfig restConfig)
    {
        node = new TestNode(engineConfig);
        MagnetarClient c = null;
        RestGateway g = null;
        try
        {
            c = node.newClient("rest-gateway");
            g = RestGateway.start(restConfig.host("127.0.0.1").port(0), c);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(g, c, node);
            throw ex;
        }
        client = c;
        gateway = g;
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
        base = "http://127.0.0.1:" + gateway.port();
    }

    /**
     * An HTTP answer.
     */
    record Resp(int status, String body, HttpResponse<byte[]> raw)
    {
        JsonNode json()
        {
            try
            {
                return MAPPER.readTree(body);
            }
            catch (final IOException ex)
            {
                throw new AssertionError("not JSON (" + status + "): " + body, ex);
            }
        }

        /**
         * Assert a SPEC error body with this status and code.
         */
        Resp assertError(final int expectedStatus, final String code)
        {
            assertEquals(expectedStatus, status, body);
            assertSpecError(this);
            assertEquals(code, json().path("error").path("code").asText(), body);
            return this;
        }

        String message()
        {
            return json().path("error").path("message").asText();
        }
    }

    static void assertSpecError(final Resp resp)
    {
        final JsonNode json = resp.json();
        assertTrue(json.isObject() && 1 == json.size() && json.has("error"), resp.body);
        final JsonNode error = json.get("error");
        assertTrue(error.isObject() && 2 == error.size(), resp.body);
        assertTrue(error.path("code").isTextual() && !error.get("code").asText().isEmpty(), resp.body);
        assertTrue(error.path("message").isTextual() && !error.get("message").asText().isEmpty(), resp.body);
        assertTrue(resp.raw.headers().firstValue("content-type").orElse("").startsWith("application/json"), resp.body);
    }

    Resp send(final String method, final String path, final String body)
    {
        return send(method, path, null == body ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    Resp send(final String method, final String path, final byte[] body)
    {
        final HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(30))
            .header("content-type", "application/json");
        builder.method(method, null == body ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        try
        {
            final HttpResponse<byte[]> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Resp(response.statusCode(), new String(response.body(), StandardCharsets.UTF_8), response);
        }
        catch (final IOException ex)
        {
            throw new AssertionError(method + " " + path + " failed: " + ex, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError(ex);
        }
    }

    Resp get(final String path)
    {
        return send("GET", path, (byte[])null);
    }

    Resp delete(final String path)
    {
        return send("DELETE", path, (byte[])null);
    }

    Resp put(final String path, final String body)
    {
        return send("PUT", path, body);
    }

    Resp post(final String path, final String body)
    {
        return send("POST", path, body);
    }

    // ------------------------------------------------------------------------------------------------- shortcuts

    static String unique(final String prefix)
    {
        return prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 20);
    }

    void createTopic(final String topic, final int partitions)
    {
        final Resp resp = put("/admin/v1/topics/" + topic, "{\"partitions\": " + partitions + "}");
        assertEquals(201, resp.status, resp.body);
    }

    void createSubscription(final String topic, final String subscription, final String body)
    {
        final Resp resp = put("/admin/v1/topics/" + topic + "/subscriptions/" + subscription, body);
        assertEquals(201, resp.status, resp.body);
    }

    String createConsumer(final String topic, final String subscription, final String body)
    {
        final Resp resp = post("/v1/topics/" + topic + "/subscriptions/" + subscription + "/consumers", body);
        assertEquals(201, resp.status, resp.body);
        final String id = resp.json().path("consumerId").asText();
        assertNotNull(id);
        assertTrue(id.length() >= 16, id);
        return id;
    }

    /**
     * Publish messages with these keys (no attributes) and return their ids.
     */
    List<String> publish(final String topic, final List<String> keys)
    {
        final StringBuilder sb = new StringBuilder("{\"messages\": [");
        for (int i = 0; i < keys.size(); i++)
        {
            sb.append(i > 0 ? "," : "").append("{\"key\": ").append(quote(keys.get(i))).append('}');
        }
        sb.append("]}");
        final Resp resp = post("/v1/topics/" + topic + "/messages", sb.toString());
        assertEquals(200, resp.status, resp.body);
        final List<String> ids = new ArrayList<>();
        resp.json().get("ids").forEach((id) -> ids.add(id.asText()));
        assertEquals(keys.size(), ids.size());
        return ids;
    }

    List<JsonNode> fetch(final String consumerId, final int max, final long waitMs)
    {
        final Resp resp = get("/v1/consumers/" + consumerId + "/messages?max=" + max + "&waitMs=" + waitMs);
        assertEquals(200, resp.status, resp.body);
        final List<JsonNode> messages = new ArrayList<>();
        resp.json().get("messages").forEach(messages::add);
        return messages;
    }

    JsonNode ack(final String consumerId, final List<String> ids)
    {
        final Resp resp = post("/v1/consumers/" + consumerId + "/acks", idsBody(ids));
        assertEquals(200, resp.status, resp.body);
        return resp.json();
    }

    JsonNode nack(final String consumerId, final List<String> ids)
    {
        final Resp resp = post("/v1/consumers/" + consumerId + "/nacks", idsBody(ids));
        assertEquals(200, resp.status, resp.body);
        return resp.json();
    }

    static String idsBody(final List<String> ids)
    {
        final StringBuilder sb = new StringBuilder("{\"ids\": [");
        for (int i = 0; i < ids.size(); i++)
        {
            sb.append(i > 0 ? "," : "").append(quote(ids.get(i)));
        }
        return sb.append("]}").toString();
    }

    static String quote(final String text)
    {
        try
        {
            return MAPPER.writeValueAsString(text);
        }
        catch (final IOException ex)
        {
            throw new AssertionError(ex);
        }
    }

    /**
     * Poll {@code condition} until it holds or the deadline passes.
     */
    static void await(final String what, final long timeoutMs, final BooleanSupplier condition)
    {
        final long deadline = System.nanoTime() + Duration.ofMillis(timeoutMs).toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            Thread.onSpinWait();
            try
            {
                Thread.sleep(5);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new AssertionError(ex);
            }
        }
    }

    public void close()
    {
        CloseHelper.quietCloseAll(gateway, client, node);
        assertTrue(node.errors().isEmpty(), "node errors: " + node.errors());
    }
}
