package io.magnetar.bench.load;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.magnetar.client.SubscriptionType;

/**
 * The REST mode (SPEC section 5) with {@link HttpClient} (HTTP/1.1): {@code --rest-publishers} threads each POST
 * batches of {@code --rest-batch} messages and wait for the answer (200 once journaled); {@code --consumers} REST
 * consumers each long-poll {@code GET /v1/consumers/{id}/messages} and acknowledge every fetched batch with one
 * {@code POST .../acks} (sent asynchronously, at most one outstanding per consumer, so the next poll overlaps it).
 */
final class RestWorkload implements Workload
{
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    private final LoadOptions options;
    private final LoadStats stats;
    private final String baseUrl;
    private final HttpClient http;
    private final List<Thread> publisherThreads = new ArrayList<>();
    private final List<Thread> consumerThreads = new ArrayList<>();
    private final List<String> consumerIds = new ArrayList<>();
    private volatile boolean stopConsuming;

    RestWorkload(final LoadOptions options, final LoadStats stats, final String baseUrl)
    {
        this.options = options;
        this.stats = stats;
        this.baseUrl = baseUrl;
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    }

    private String topicPath()
    {
        return "/v1/topics/" + encode(options.topic);
    }

    private static String encode(final String segment)
    {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public void setUp() throws IOException, InterruptedException
    {
        final HttpResponse<String> topic = send("PUT", "/admin/v1/topics/" + encode(options.topic),
            "{\"partitions\":" + options.partitions + "}");
        if (topic.statusCode() != 200 && topic.statusCode() != 201)
        {
            throw new IllegalStateException("PUT topic: " + topic.statusCode() + " " + topic.body());
        }
        if (options.consumers > 0)
        {
            final String type = options.subscriptionType.name().toLowerCase(Locale.ROOT);
            final HttpResponse<String> subscription = send("PUT", "/admin/v1/topics/" + encode(options.topic) +
                "/subscriptions/" + encode(options.subscription), "{\"type\":\"" + type + "\"}");
            if (subscription.statusCode() != 200 && subscription.statusCode() != 201)
            {
                throw new IllegalStateException("PUT subscription: " + subscription.statusCode() + " " + subscription.body());
            }
            for (int i = 0; i < options.consumers; i++)
            {
                final HttpResponse<String> consumer = send("POST", topicPath() + "/subscriptions/" +
                    encode(options.subscription) + "/consumers", "{\"name\":\"load-consumer-" + i + "\",\"type\":\"" + type +
                    "\",\"permits\":" + options.restPermits + ",\"leaseMs\":60000}");
                if (consumer.statusCode() != 201)
                {
                    throw new IllegalStateException("POST consumer: " + consumer.statusCode() + " " + consumer.body());
                }
                consumerIds.add(MAPPER.readTree(consumer.body()).get("consumerId").asText());
            }
        }
    }

    private HttpResponse<String> send(final String method, final String path, final String body)
        throws IOException, InterruptedException
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(REQUEST_TIMEOUT);
        if (null == body)
        {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        }
        else
        {
            request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        stats.httpRequests.increment();
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    public void start(final long startNs, final long endNs)
    {
        for (int i = 0; i < consumerIds.size(); i++)
        {
            final int group = SubscriptionType.MULTICAST == options.subscriptionType ? i : 0;
            final String id = consumerIds.get(i);
            final Thread thread = new Thread(() -> consume(id, group), "load-rest-consumer-" + i);
            thread.setDaemon(true);
            consumerThreads.add(thread);
        }
        final int publishers = options.restPublishers;
        final double intervalNs = options.fixedRate() ? 1e9 * publishers * options.restBatch / options.rate : 0;
        for (int p = 0; p < publishers; p++)
        {
            final int publisher = p;
            final long offsetNs = (long)(intervalNs * p / publishers);
            final Thread thread = new Thread(
                () -> publish(publisher, startNs + offsetNs, endNs, intervalNs), "load-rest-publisher-" + p);
            thread.setDaemon(true);
            publisherThreads.add(thread);
        }
        consumerThreads.forEach(Thread::start);
        publisherThreads.forEach(Thread::start);
    }

    private void publish(final int publisher, final long startNs, final long endNs, final double intervalNs)
    {
        final Payload payload = new Payload(options.attributeBytes);
        final int batch = options.restBatch;
        final URI uri = URI.create(baseUrl + topicPath() + "/messages");
        final StringBuilder body = new StringBuilder(batch * (options.attributeBytes + 48) + 32);
        final boolean fixedRate = intervalNs > 0;
        Pacer.awaitUntil(LoadOptions.Pacing.HYBRID, startNs);
        long seq = 0;
        for (long request = 0; ; request++)
        {
            final long intendedNs;
            if (fixedRate)
            {
                intendedNs = startNs + (long)(request * intervalNs);
                if (intendedNs - endNs >= 0)
                {
                    break;
                }
                Pacer.awaitUntil(options.pacing, intendedNs);
            }
            else
            {
                stats.awaitOutstandingBelow(options.maxOutstanding);
                intendedNs = System.nanoTime();
                if (intendedNs - endNs >= 0)
                {
                    break;
                }
            }
            final long sentNs = fixedRate ? System.nanoTime() : intendedNs;
            body.setLength(0);
            body.append("{\"messages\":[");
            for (int i = 0; i < batch; i++)
            {
                if (i > 0)
                {
                    body.append(',');
                }
                body.append("{\"key\":\"").append(stats.key(publisher, seq + i)).append("\",\"attributes\":{\"")
                    .append(Payload.NAME).append("\":\"").append(payload.encode(publisher, seq + i, intendedNs, sentNs))
                    .append("\"}}");
            }
            body.append("]}");
            final HttpRequest post = HttpRequest.newBuilder(uri)
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
            stats.onSent(intendedNs, sentNs, batch);
            stats.httpRequests.increment();
            try
            {
                final HttpResponse<String> response = http.send(post, HttpResponse.BodyHandlers.ofString());
                final long nowNs = System.nanoTime();
                if (200 == response.statusCode())
                {
                    stats.onConfirmed(publisher, seq, batch, intendedNs, sentNs, nowNs);
                }
                else
                {
                    stats.onPublishFailed(batch, "publish: HTTP " + response.statusCode() + " " + response.body());
                }
            }
            catch (final IOException ex)
            {
                stats.onPublishFailed(batch, "publish: " + ex);
            }
            catch (final InterruptedException ex)
            {
                stats.onPublishFailed(batch, "publish interrupted");
                Thread.currentThread().interrupt();
                return;
            }
            seq += batch;
        }
    }

    private void consume(final String consumerId, final int group)
    {
        final URI fetch = URI.create(baseUrl + "/v1/consumers/" + encode(consumerId) + "/messages?max=" +
            options.restFetchMax + "&waitMs=" + options.restWaitMs);
        final URI acks = URI.create(baseUrl + "/v1/consumers/" + encode(consumerId) + "/acks");
        final Payload.Decoded decoded = new Payload.Decoded();
        final StringBuilder ackBody = new StringBuilder();
        CompletableFuture<Void> pendingAck = null;
        while (!stopConsuming)
        {
            final HttpResponse<byte[]> response;
            try
            {
                stats.httpRequests.increment();
                response = http.send(HttpRequest.newBuilder(fetch).timeout(REQUEST_TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            }
            catch (final IOException ex)
            {
                stats.error("fetch: " + ex, 1);
                continue;
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
            final long nowNs = System.nanoTime();
            if (200 != response.statusCode())
            {
                stats.error("fetch: HTTP " + response.statusCode() + " " + new String(response.body(), StandardCharsets.UTF_8), 1);
                if (404 == response.statusCode())
                {
                    return;
                }
                continue;
            }
            ackBody.setLength(0);
            ackBody.append("{\"ids\":[");
            final int count;
            try
            {
                count = parseMessages(response.body(), nowNs, group, decoded, ackBody);
            }
            catch (final IOException ex)
            {
                stats.error("fetch: unparseable answer: " + ex, 1);
                continue;
            }
            if (0 == count)
            {
                continue;
            }
            ackBody.append("]}");
            if (null != pendingAck)
            {
                pendingAck.join(); // at most one ack request outstanding per consumer
            }
            stats.httpRequests.increment();
            pendingAck = http.sendAsync(HttpRequest.newBuilder(acks)
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ackBody.toString()))
                .build(), HttpResponse.BodyHandlers.ofByteArray())
                .handle((answer, error) ->
                {
                    completeAck(answer, error);
                    return null;
                });
        }
        if (null != pendingAck)
        {
            pendingAck.join();
        }
    }

    private void completeAck(final HttpResponse<byte[]> response, final Throwable error)
    {
        if (null != error)
        {
            stats.error("ack: " + error, 1);
            return;
        }
        if (200 != response.statusCode())
        {
            stats.error("ack: HTTP " + response.statusCode() + " " + new String(response.body(), StandardCharsets.UTF_8), 1);
            return;
        }
        try
        {
            final JsonNode answer = MAPPER.readTree(response.body());
            stats.acked.add(answer.path("acked").asLong());
            final long unknown = answer.path("unknown").asLong();
            if (unknown > 0)
            {
                stats.error("ack: ids unknown to the consumer", unknown);
            }
        }
        catch (final IOException ex)
        {
            stats.error("ack: unparseable answer: " + ex, 1);
        }
    }

    /**
     * Record every message of a fetch answer and append its id to the ack body.
     *
     * @return how many messages it held.
     */
    private int parseMessages(
        final byte[] body, final long nowNs, final int group, final Payload.Decoded decoded, final StringBuilder ackBody)
        throws IOException
    {
        int count = 0;
        try (JsonParser parser = JSON.createParser(body))
        {
            if (JsonToken.START_OBJECT != parser.nextToken())
            {
                throw new IOException("not an object");
            }
            while (JsonToken.FIELD_NAME == parser.nextToken())
            {
                final String field = parser.currentName();
                final JsonToken value = parser.nextToken();
                if (!"messages".equals(field) || JsonToken.START_ARRAY != value)
                {
                    parser.skipChildren();
                    continue;
                }
                while (JsonToken.START_OBJECT == parser.nextToken())
                {
                    String id = null;
                    String key = null;
                    String attribute = null;
                    int deliveryCount = 1;
                    while (JsonToken.FIELD_NAME == parser.nextToken())
                    {
                        final String name = parser.currentName();
                        final JsonToken token = parser.nextToken();
                        switch (name)
                        {
                            case "id":
                                id = parser.getText();
                                break;
                            case "key":
                                key = parser.getText();
                                break;
                            case "deliveryCount":
                                deliveryCount = parser.getIntValue();
                                break;
                            case "attributes":
                                if (JsonToken.START_OBJECT == token)
                                {
                                    while (JsonToken.FIELD_NAME == parser.nextToken())
                                    {
                                        final String attributeName = parser.currentName();
                                        parser.nextToken();
                                        if (Payload.NAME.equals(attributeName))
                                        {
                                            attribute = parser.getText();
                                        }
                                        else
                                        {
                                            parser.skipChildren();
                                        }
                                    }
                                }
                                else
                                {
                                    parser.skipChildren();
                                }
                                break;
                            default:
                                parser.skipChildren();
                                break;
                        }
                    }
                    final boolean ours = decoded.decode(attribute);
                    stats.onDelivered(group, ours ? decoded : null, key, deliveryCount, nowNs);
                    if (null != id)
                    {
                        if (count > 0)
                        {
                            ackBody.append(',');
                        }
                        ackBody.append('"').append(id).append('"');
                        count++;
                    }
                }
            }
        }
        return count;
    }

    public boolean awaitPublished(final long deadlineNs) throws InterruptedException
    {
        for (final Thread thread : publisherThreads)
        {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime())));
            if (thread.isAlive())
            {
                return false;
            }
        }
        return true;
    }

    public long[] brokerSubscriptionStats()
    {
        if (options.consumers < 1)
        {
            return null;
        }
        try
        {
            final HttpResponse<String> response = send("GET", "/admin/v1/topics/" + encode(options.topic), null);
            if (200 != response.statusCode())
            {
                return null;
            }
            for (final JsonNode subscription : MAPPER.readTree(response.body()).path("subscriptions"))
            {
                if (options.subscription.equals(subscription.path("name").asText()))
                {
                    return new long[]{ subscription.path("backlog").asLong(), subscription.path("inFlight").asLong() };
                }
            }
            return null;
        }
        catch (final IOException ex)
        {
            return null;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    public void close()
    {
        stopConsuming = true;
        for (final Thread thread : consumerThreads)
        {
            try
            {
                thread.join(options.restWaitMs + 10_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (final String id : consumerIds)
        {
            try
            {
                send("DELETE", "/v1/consumers/" + encode(id), null);
            }
            catch (final IOException | InterruptedException ex)
            {
                stats.error("deleting consumer: " + ex, 1);
            }
        }
        if (options.deleteTopic)
        {
            try
            {
                send("DELETE", "/admin/v1/topics/" + encode(options.topic), null);
            }
            catch (final IOException | InterruptedException ex)
            {
                stats.error("deleting topic: " + ex, 1);
            }
        }
    }
}
