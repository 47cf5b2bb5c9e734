package io.magnetar.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A small HTTP/JSON client for the node's REST API ({@code java.net.http}), and the REST round trip that the in-JVM
 * and the process tests both run.
 */
final class RestCalls
{
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    /**
     * An answer: status, the body as JSON (null when empty or not JSON) and as text.
     */
    record Reply(int status, JsonNode json, String text)
    {
        public String toString()
        {
            return status + " " + text;
        }
    }

    RestCalls(final String host, final int port)
    {
        this.base = "http://" + host + ":" + port;
    }

    Reply get(final String path)
    {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    Reply put(final String path, final String body)
    {
        return send(HttpRequest.newBuilder(uri(path)).PUT(HttpRequest.BodyPublishers.ofString(body)));
    }

    Reply post(final String path, final String body)
    {
        return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    Reply delete(final String path)
    {
        return send(HttpRequest.newBuilder(uri(path)).DELETE());
    }

    private URI uri(final String path)
    {
        return URI.create(base + path);
    }

    private Reply send(final HttpRequest.Builder request)
    {
        try
        {
            final HttpResponse<String> response = http.send(
                request.timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            final String text = response.body();
            JsonNode json = null;
            if (null != text && !text.isEmpty() && (text.startsWith("{") || text.startsWith("[")))
            {
                json = JSON.readTree(text);
            }
            return new Reply(response.statusCode(), json, text);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    static Reply expect(final int status, final Reply reply)
    {
        assertEquals(status, reply.status(), () -> "unexpected answer: " + reply);
        return reply;
    }

    /**
     * Create a topic and a shared subscription, register a REST consumer, publish {@code count} messages, long-poll
     * until every one is delivered (with key, attributes and deliveryCount 1), ack them all, and wait until the
     * subscription's stats show nothing pending.
     *
     * @return the message ids the publish answered, in request order.
     */
    List<String> publishConsumeAck(final String topic, final int count, final long timeoutMs)
    {
        expect(201, put("/admin/v1/topics/" + topic, "{\"partitions\": 2}"));
        expect(201, put("/admin/v1/topics/" + topic + "/subscriptions/workers", "{\"type\": \"shared\"}"));
        final String consumerId = expect(201, post("/v1/topics/" + topic + "/subscriptions/workers/consumers",
            "{\"name\": \"worker-1\", \"permits\": 100, \"leaseMs\": 30000}")).json().get("consumerId").asText();

        final StringBuilder messages = new StringBuilder("{\"messages\": [");
        for (int i = 0; i < count; i++)
        {
            messages.append(0 == i ? "" : ", ")
                .append("{\"key\": \"k-").append(i).append("\", \"attributes\": {\"ref\": \"s3://bucket/").append(i)
                .append("\"}}");
        }
        messages.append("]}");
        final JsonNode ids = expect(200, post("/v1/topics/" + topic + "/messages", messages.toString())).json().get("ids");
        assertEquals(count, ids.size(), ids::toString);
        final List<String> published = new ArrayList<>();
        ids.forEach((id) -> published.add(id.asText()));

        final List<String> delivered = new ArrayList<>();
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (delivered.size() < count)
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                fail("delivered " + delivered + " of " + published + " within " + timeoutMs + " ms");
            }
            final Reply fetched = expect(200, get("/v1/consumers/" + consumerId + "/messages?max=100&waitMs=1000"));
            for (final JsonNode message : fetched.json().get("messages"))
            {
                final String key = message.get("key").asText();
                final String n = key.substring(2);
                assertEquals(topic, message.get("topic").asText(), message::toString);
                assertEquals("s3://bucket/" + n, message.get("attributes").get("ref").asText(), message::toString);
                assertEquals(1, message.get("deliveryCount").asInt(), message::toString);
                assertEquals(published.get(Integer.parseInt(n)), message.get("id").asText(), message::toString);
                delivered.add(message.get("id").asText());
            }
        }
        assertEquals(count, delivered.size());
        assertEquals(new HashSet<>(published), new HashSet<>(delivered));

        final String ackBody;
        try
        {
            ackBody = "{\"ids\": " + JSON.writeValueAsString(delivered) + "}";
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        final JsonNode acked = expect(200, post("/v1/consumers/" + consumerId + "/acks", ackBody)).json();
        assertEquals(count, acked.get("acked").asInt(), acked::toString);
        assertEquals(0, acked.get("unknown").asInt(), acked::toString);

        awaitStats(topic, "workers", 0, 0, timeoutMs);
        expect(204, delete("/v1/consumers/" + consumerId));
        return published;
    }

    /**
     * Poll the topic's stats until the subscription has this backlog and in-flight count.
     */
    void awaitStats(final String topic, final String subscription, final long backlog, final long inFlight,
        final long timeoutMs)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Reply last = null;
        while (System.nanoTime() - deadlineNs < 0)
        {
            last = expect(200, get("/admin/v1/topics/" + topic));
            for (final JsonNode sub : last.json().get("subscriptions"))
            {
                if (subscription.equals(sub.get("name").asText()) && backlog == sub.get("backlog").asLong() &&
                    inFlight == sub.get("inFlight").asLong())
                {
                    return;
                }
            }
            pause();
        }
        fail("subscription " + subscription + " of " + topic + " did not reach backlog " + backlog + ", inFlight " +
            inFlight + " within " + timeoutMs + " ms: " + last);
    }

    /**
     * @return true if something accepts TCP connections on {@code host:port}.
     */
    static boolean accepting(final String host, final int port)
    {
        try (Socket socket = new Socket())
        {
            socket.connect(new InetSocketAddress(host, port), 1_000);
            return true;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    /**
     * @return a TCP port free on the loopback interface a moment ago.
     */
    static int freeTcpPort()
    {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * A short pause between polls of a condition that has its own deadline.
     */
    static void pause()
    {
        try
        {
            Thread.sleep(5);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
