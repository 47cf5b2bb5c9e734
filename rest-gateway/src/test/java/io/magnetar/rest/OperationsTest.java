package io.magnetar.rest;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.router.ParsedEndpoint;
import io.magnetar.engine.EngineConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.magnetar.rest.GatewayFixture.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * /metrics, /health, /openapi.json; backlog full (429) and broker unavailable (503).
 */
class OperationsTest
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
    void openApiParsesAndMatchesTheServedRoutesExactly()
    {
        final GatewayFixture.Resp resp = fx.get("/openapi.json");
        assertEquals(200, resp.status());
        assertTrue(resp.raw().headers().firstValue("content-type").orElse("").startsWith("application/json"));
        final JsonNode doc = resp.json();
        assertTrue(doc.get("openapi").asText().startsWith("3."), "not OpenAPI 3");
        assertTrue(doc.get("info").get("title").isTextual());
        assertTrue(doc.get("info").get("version").isTextual());
        final JsonNode paths = doc.get("paths");
        final JsonNode schemas = doc.get("components").get("schemas");

        final Set<String> documented = new TreeSet<>();
        for (final Map.Entry<String, JsonNode> path : paths.properties())
        {
            for (final Map.Entry<String, JsonNode> operation : path.getValue().properties())
            {
                if ("parameters".equals(operation.getKey()))
                {
                    continue;
                }
                assertTrue(Set.of("get", "put", "post", "delete", "patch").contains(operation.getKey()), operation.getKey());
                final JsonNode op = operation.getValue();
                assertTrue(op.get("operationId").isTextual(), path.getKey());
                assertTrue(op.get("responses").size() > 0, path.getKey());
                // every path parameter of the template is declared
                for (final String param : params(path.getKey()))
                {
                    assertTrue(declares(path.getValue().get("parameters"), param) || declares(op.get("parameters"), param),
                        path.getKey() + " does not declare {" + param + "}");
                }
                documented.add(operation.getKey().toUpperCase() + " " + path.getKey());
            }
        }
        // every $ref resolves
        assertRefsResolve(doc, schemas);

        // the gateway's own list and Javalin's router agree with the document
        final Set<String> served = new TreeSet<>(fx.gateway.routes());
        assertEquals(documented, served);
        final Set<String> router = new TreeSet<>();
        for (final ParsedEndpoint endpoint : fx.gateway.javalin().unsafe.internalRouter.allHttpHandlers())
        {
            router.add(endpoint.endpoint.method.name() + " " + endpoint.endpoint.path);
        }
        assertEquals(documented, router);
        // and each documented operation is answered by a route, not by the 404/405 of an unknown path
        for (final String operation : documented)
        {
            final String method = operation.substring(0, operation.indexOf(' '));
            final String path = operation.substring(operation.indexOf(' ') + 1)
                .replace("{topic}", unique("probe")).replace("{subscription}", "s").replace("{consumerId}", "nope");
            final GatewayFixture.Resp probe = fx.send(method, path, "{}");
            if (probe.status() >= 400)
            {
                final String code = probe.json().path("error").path("code").asText();
                assertNotEquals("NOT_FOUND", code, operation);
                assertNotEquals("METHOD_NOT_ALLOWED", code, operation);
            }
        }
    }

    private static List<String> params(final String template)
    {
        final java.util.ArrayList<String> names = new java.util.ArrayList<>();
        final java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{([^}]+)}").matcher(template);
        while (m.find())
        {
            names.add(m.group(1));
        }
        return names;
    }

    private static boolean declares(final JsonNode parameters, final String name)
    {
        if (null == parameters)
        {
            return false;
        }
        for (final JsonNode p : parameters)
        {
            if (name.equals(p.get("name").asText()) && "path".equals(p.get("in").asText()) && p.get("required").asBoolean())
            {
                return true;
            }
        }
        return false;
    }

    private static void assertRefsResolve(final JsonNode node, final JsonNode schemas)
    {
        if (node.isObject())
        {
            final JsonNode ref = node.get("$ref");
            if (null != ref)
            {
                final String name = ref.asText().replace("#/components/schemas/", "");
                assertTrue(schemas.has(name), "unresolved " + ref.asText());
            }
            node.forEach((child) -> assertRefsResolve(child, schemas));
        }
        else if (node.isArray())
        {
            node.forEach((child) -> assertRefsResolve(child, schemas));
        }
    }

    @Test
    void requestsJettyRefusesGetTheSpecBodyToo() throws Exception
    {
        final String[] requests = {
            "GARBAGE\r\n\r\n",
            "GET /admin/v1/topics/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n",
            "POST /v1/topics/t/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "GET /admin/v1/topics HTTP/7.0\r\nHost: x\r\n\r\n"};
        for (final String request : requests)
        {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", fx.gateway.port()))
            {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
                final String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                final String statusLine = response.substring(0, response.indexOf("\r\n"));
                final int status = Integer.parseInt(statusLine.split(" ")[1]);
                assertTrue(status >= 400 && status < 500 || 505 == status, Json.clip(request, 80) + " -> " + statusLine);
                final String body = response.substring(response.indexOf("\r\n\r\n") + 4);
                final JsonNode json = GatewayFixture.MAPPER.readTree(body);
                assertTrue(json.path("error").path("code").isTextual(), Json.clip(request, 80) + " -> " + response);
                assertTrue(json.path("error").path("message").isTextual(), response);
            }
        }
    }

    @Test
    void healthIsUpWhileTheNodeServes()
    {
        final GatewayFixture.Resp resp = fx.get("/health");
        assertEquals(200, resp.status(), resp.body());
        assertEquals("UP", resp.json().get("status").asText());
    }

    @Test
    void metricsInPrometheusTextFormat()
    {
        final String topic = unique("metered");
        fx.createTopic(topic, 1);
        fx.createSubscription(topic, "s", "{\"type\": \"shared\"}");
        fx.publish(topic, List.of("a", "b"));
        final String consumer = fx.createConsumer(topic, "s", "{}");
        final List<String> ids = new java.util.ArrayList<>();
        GatewayFixture.await("two delivered", 5000, () ->
        {
            fx.fetch(consumer, 10, 200).forEach((m) -> ids.add(m.get("id").asText()));
            return ids.size() == 2;
        });
        fx.ack(consumer, ids.subList(0, 1));
        fx.get("/admin/v1/topics/" + unique("missing"));

        // acks reach the broker asynchronously (the native client batches them), and the engine series are
        // cached for metricsCacheMs: scrape until the broker's stats show the ack, with a deadline
        final String inFlight = "magnetar_subscription_in_flight{subscription=\"s\",topic=\"" + topic +
            "\",type=\"shared\"} 1.0";
        final GatewayFixture.Resp[] scraped = new GatewayFixture.Resp[1];
        GatewayFixture.await("the broker's stats show the ack", 10_000, () ->
        {
            scraped[0] = fx.get("/metrics");
            return 200 == scraped[0].status() && scraped[0].body().contains(inFlight);
        });
        final GatewayFixture.Resp resp = scraped[0];
        assertTrue(resp.raw().headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        final String text = resp.body();
        assertTrue(text.contains("# TYPE magnetar_rest_requests_total counter"), text);
        assertTrue(text.contains("magnetar_rest_requests_total{method=\"POST\",route=\"/v1/topics/{topic}/messages\",status=\"200\"}"), text);
        assertTrue(text.contains("magnetar_rest_requests_total{method=\"GET\",route=\"/admin/v1/topics/{topic}\",status=\"404\"}"), text);
        assertTrue(text.contains("# TYPE magnetar_rest_request_duration_seconds histogram"), text);
        assertTrue(text.contains("magnetar_rest_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/topics/{topic}/messages\",status=\"200\",le=\"0.1\"}"), text);
        assertTrue(text.contains("magnetar_rest_published_messages_total{topic=\"" + topic + "\"} 2.0"), text);
        assertTrue(text.contains("magnetar_rest_delivered_messages_total{subscription=\"s\",topic=\"" + topic + "\"} 2.0"), text);
        assertTrue(text.contains("magnetar_rest_acked_ids_total{subscription=\"s\",topic=\"" + topic + "\"} 1.0"), text);
        assertTrue(text.contains("magnetar_subscription_backlog{subscription=\"s\",topic=\"" + topic + "\",type=\"shared\"} 0.0"), text);
        assertTrue(text.contains("magnetar_subscription_consumers{subscription=\"s\",topic=\"" + topic + "\",type=\"shared\"} 1.0"), text);
        assertTrue(text.contains("magnetar_rest_broker_stats_up 1.0"), text);
        assertTrue(text.contains("magnetar_rest_consumers "), text);
        assertTrue(text.contains("jvm_memory_used_bytes{area=\"heap\"}"), text);
        assertTrue(text.contains("jvm_gc_collection_seconds"), text);
        // every sample line is "name{labels} value"
        for (final String line : text.split("\n"))
        {
            if (!line.isEmpty() && !line.startsWith("#"))
            {
                assertTrue(line.matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*})? [-+0-9.eE]+|.* (NaN|\\+Inf|-Inf)"), line);
            }
        }
        assertEquals(204, fx.delete("/v1/consumers/" + consumer).status());
    }

    @Test
    void backlogFullIs429()
    {
        try (GatewayFixture small = new GatewayFixture(new EngineConfig().maxLiveMessages(10), new RestConfig()))
        {
            final String topic = unique("full");
            small.createTopic(topic, 1);
            small.createSubscription(topic, "s", "{\"type\": \"shared\"}");
            final List<String> ten = List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
            small.publish(topic, ten);
            final GatewayFixture.Resp resp = small.post("/v1/topics/" + topic + "/messages", "{\"messages\": [{\"key\": \"x\"}]}");
            resp.assertError(429, "BACKLOG_FULL");
            assertEquals("1", resp.raw().headers().firstValue("retry-after").orElse(""));
            assertEquals(10, AdminRoutesTest.subscription(small.get("/admin/v1/topics/" + topic).json(), "s").get("backlog").asLong());
        }
    }

    @Test
    void brokerUnavailableIs503()
    {
        final GatewayFixture lonely = new GatewayFixture();
        try
        {
            final String topic = unique("gone");
            lonely.createTopic(topic, 1);
            lonely.node.close();
            GatewayFixture.await("health 503", 30_000, () -> 503 == lonely.get("/health").status());
            lonely.get("/health").assertError(503, "UNAVAILABLE");
            lonely.post("/v1/topics/" + topic + "/messages", "{\"messages\": [{\"key\": \"k\"}]}").assertError(503, "UNAVAILABLE");
            lonely.get("/admin/v1/topics").assertError(503, "UNAVAILABLE");
            assertTrue(lonely.get("/admin/v1/topics").raw().headers().firstValue("retry-after").isPresent());
            // requests that need no broker still work
            assertEquals(200, lonely.get("/openapi.json").status());
            assertEquals(200, lonely.get("/metrics").status());
        }
        finally
        {
            lonely.close();
        }
    }
}
