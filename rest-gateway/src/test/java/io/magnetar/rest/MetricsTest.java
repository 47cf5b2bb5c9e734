package io.magnetar.rest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import io.magnetar.engine.EngineConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.magnetar.rest.GatewayFixture.await;
import static io.magnetar.rest.GatewayFixture.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /metrics} and the topic stats report the engine's traffic counters for native and REST traffic alike,
 * with exact values; the scrape is valid Prometheus text (parsed strictly, {@link PrometheusText}); the broker's stats
 * are cached for {@code metricsCacheMs}; a gateway not embedded in a broker node has no node gauges.
 */
@Timeout(120)
class MetricsTest
{
    private static final long T = 15_000;

    private GatewayFixture fx;
    private MagnetarClient nativeClient;

    @AfterEach
    void after()
    {
        if (null != nativeClient)
        {
            nativeClient.close();
        }
        if (null != fx)
        {
            fx.close();
        }
    }

    private PrometheusText scrape()
    {
        final GatewayFixture.Resp resp = fx.get("/metrics");
        assertEquals(200, resp.status(), resp.body());
        assertTrue(resp.raw().headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"),
            resp.raw().headers().toString());
        return PrometheusText.parse(resp.body());
    }

    /**
     * Native producer 3 + REST 2 publishes. Shared "work" (max 2 deliveries, no nack delay) consumed over REST: 5
     * delivered, 3 acked, one nacked twice (redelivered once, then dead-lettered), one left in flight. Multicast "tap"
     * consumed natively: 5 delivered, one nacked and redelivered, all 5 acked.
     */
    @Test
    void engineCountersCountNativeAndRestTrafficExactly() throws Exception
    {
        fx = new GatewayFixture(new EngineConfig(), new RestConfig().metricsCacheMs(0));
        nativeClient = fx.node.newClient("native");
        final String topic = unique("metered");
        fx.createTopic(topic, 2);
        fx.createSubscription(topic, "work", "{\"type\": \"shared\", \"maxDeliveries\": 2, \"nackDelayMs\": 0}");
        fx.createSubscription(topic, "tap", "{\"type\": \"multicast\", \"nackDelayMs\": 0}");
        final String rest = fx.createConsumer(topic, "work", "{}");

        try (Consumer tap = nativeClient.newConsumer().topic(topic).subscription("tap")
                .subscriptionType(SubscriptionType.MULTICAST).subscribe();
            Producer producer = nativeClient.newProducer().topic(topic).create())
        {
            for (final String key : List.of("n1", "n2", "n3"))
            {
                producer.send(key);
            }
            fx.publish(topic, List.of("r1", "r2"));

            // native: nack one, then ack all five (the nacked one once it is back)
            final List<Message> received = new ArrayList<>();
            Message redelivered = null;
            while (received.size() < 5 || null == redelivered)
            {
                final Message m = tap.receive(Duration.ofMillis(T));
                assertNotNull(m, "tap got " + received + " and " + redelivered);
                if (m.deliveryCount() == 1)
                {
                    received.add(m);
                    if (received.size() == 1)
                    {
                        tap.negativeAcknowledge(m);
                    }
                }
                else
                {
                    assertEquals(2, m.deliveryCount());
                    redelivered = m;
                }
            }
            for (final Message m : received.subList(1, 5))
            {
                tap.acknowledge(m);
            }
            tap.acknowledge(redelivered);

            // REST: ack three, nack one twice (dead-lettered on the second), keep one
            final Map<String, JsonNode> got = new LinkedHashMap<>();
            await("five fetched", T, () ->
            {
                fx.fetch(rest, 10, 200).forEach((m) -> got.put(m.get("id").asText(), m));
                return got.size() == 5;
            });
            final List<String> ids = new ArrayList<>(got.keySet());
            assertEquals(3, fx.ack(rest, ids.subList(0, 3)).get("acked").asInt());
            assertEquals(1, fx.nack(rest, ids.subList(3, 4)).get("nacked").asInt());
            final List<JsonNode> again = new ArrayList<>();
            await("the nacked message redelivered", T, () ->
            {
                again.addAll(fx.fetch(rest, 10, 200));
                return !again.isEmpty();
            });
            assertEquals(ids.get(3), again.get(0).get("id").asText());
            assertEquals(2, again.get(0).get("deliveryCount").asInt());
            assertEquals(1, fx.nack(rest, ids.subList(3, 4)).get("nacked").asInt());

            final Map<String, Double> expectedTopic = Map.of(
                "magnetar_topic_published_messages_total", 5.0,
                "magnetar_topic_delivered_messages_total", 12.0,
                "magnetar_topic_acked_messages_total", 8.0,
                "magnetar_topic_nacked_messages_total", 3.0,
                "magnetar_topic_redelivered_messages_total", 2.0,
                "magnetar_topic_dead_lettered_messages_total", 1.0);
            final Map<String, Double> actual = new LinkedHashMap<>();
            // native acks are sent in groups and asynchronously: wait until the engine has applied them all
            await("the counters reach their final values", T, () ->
            {
                final PrometheusText metrics = scrape();
                actual.clear();
                expectedTopic.keySet().forEach((name) -> actual.put(name, metrics.valueOrNull(name, "topic", topic)));
                actual.put("tap acked", metrics.valueOrNull("magnetar_subscription_acked_total", "topic", topic,
                    "subscription", "tap"));
                return actual.entrySet().containsAll(expectedTopic.entrySet()) && Double.valueOf(5).equals(actual.get("tap acked"));
            });

            final PrometheusText metrics = scrape();
            for (final Map.Entry<String, Double> e : expectedTopic.entrySet())
            {
                assertEquals(e.getValue(), metrics.value(e.getKey(), "topic", topic), e.getKey());
                assertEquals("counter", metrics.types().get(e.getKey()), e.getKey());
            }
            final String[] work = {"topic", topic, "subscription", "work", "type", "shared"};
            final String[] tapLabels = {"topic", topic, "subscription", "tap", "type", "multicast"};
            assertEquals(List.of(6.0, 3.0, 2.0, 1.0, 1.0, 1.0, 0.0, 1.0), List.of(
                metrics.value("magnetar_subscription_delivered_total", work),
                metrics.value("magnetar_subscription_acked_total", work),
                metrics.value("magnetar_subscription_nacked_total", work),
                metrics.value("magnetar_subscription_redeliveries_total", work),
                metrics.value("magnetar_subscription_dead_lettered_total", work),
                metrics.value("magnetar_subscription_in_flight", work),
                metrics.value("magnetar_subscription_backlog", work),
                metrics.value("magnetar_subscription_consumers", work)));
            assertEquals(List.of(6.0, 5.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0), List.of(
                metrics.value("magnetar_subscription_delivered_total", tapLabels),
                metrics.value("magnetar_subscription_acked_total", tapLabels),
                metrics.value("magnetar_subscription_nacked_total", tapLabels),
                metrics.value("magnetar_subscription_redeliveries_total", tapLabels),
                metrics.value("magnetar_subscription_dead_lettered_total", tapLabels),
                metrics.value("magnetar_subscription_in_flight", tapLabels),
                metrics.value("magnetar_subscription_backlog", tapLabels),
                metrics.value("magnetar_subscription_consumers", tapLabels)));
            final String dlq = topic + ".work.dlq";
            assertEquals(1.0, metrics.value("magnetar_topic_published_messages_total", "topic", dlq));
            assertEquals(0.0, metrics.value("magnetar_topic_delivered_messages_total", "topic", dlq));
            // the gateway's own view counts REST traffic only
            assertEquals(2.0, metrics.value("magnetar_rest_published_messages_total", "topic", topic));
            assertEquals(3.0, metrics.value("magnetar_rest_acked_ids_total", "topic", topic, "subscription", "work"));
            assertEquals(1.0, metrics.value("magnetar_rest_broker_stats_up"));
            assertEquals(2.0, metrics.value("magnetar_rest_broker_stats_topics", "state", "listed"));
            assertEquals(2.0, metrics.value("magnetar_rest_broker_stats_topics", "state", "described"));
            // a gateway not embedded in a broker node has no node gauges
            assertTrue(metrics.samples().stream().noneMatch((s) -> s.name().startsWith("magnetar_journal_") ||
                s.name().startsWith("magnetar_ring_") || s.name().startsWith("magnetar_pipeline_")), "node gauges");

            // the same numbers in the topic stats
            final JsonNode stats = fx.get("/admin/v1/topics/" + topic).json();
            assertEquals(List.of(5L, 12L, 8L, 3L, 2L, 1L), List.of(stats.get("published").asLong(),
                stats.get("delivered").asLong(), stats.get("acked").asLong(), stats.get("nacked").asLong(),
                stats.get("redelivered").asLong(), stats.get("deadLettered").asLong()), stats::toString);
            for (final JsonNode sub : stats.get("subscriptions"))
            {
                final List<Long> counters = List.of(sub.get("delivered").asLong(), sub.get("acked").asLong(),
                    sub.get("nacked").asLong(), sub.get("redeliveries").asLong(), sub.get("deadLettered").asLong(),
                    sub.get("inFlight").asLong(), sub.get("backlog").asLong());
                assertEquals("work".equals(sub.get("name").asText()) ?
                    List.of(6L, 3L, 2L, 1L, 1L, 1L, 0L) : List.of(6L, 5L, 1L, 1L, 0L, 0L, 0L), counters, sub::toString);
            }
            assertEquals(1L, fx.get("/admin/v1/topics/" + dlq).json().get("published").asLong());
        }
    }

    @Test
    void brokerStatsAreCachedForMetricsCacheMs()
    {
        // a generous metricsTimeoutMs: the first scrape must fetch the broker's stats in time on a loaded machine, or
        // there would be no cached answer to observe
        fx = new GatewayFixture(new EngineConfig(), new RestConfig().metricsCacheMs(3_600_000).metricsTimeoutMs(10_000));
        final String topic = unique("cached");
        fx.createTopic(topic, 1);
        fx.publish(topic, List.of("a"));
        final double before = scrape().value("magnetar_topic_published_messages_total", "topic", topic);
        assertEquals(1.0, before);

        fx.publish(topic, List.of("b", "c"));
        assertEquals(3L, fx.get("/admin/v1/topics/" + topic).json().get("published").asLong(), "the broker counted");
        final PrometheusText cached = scrape();
        assertEquals(1.0, cached.value("magnetar_topic_published_messages_total", "topic", topic),
            "within the cache time a scrape shows the broker's previous answer");
        assertEquals(3.0, cached.value("magnetar_rest_published_messages_total", "topic", topic),
            "the gateway's own counters are live");
    }

    @Test
    void theParserRefusesWhatIsNotTheTextFormat()
    {
        final String ok = "# HELP a_total help\n# TYPE a_total counter\na_total{x=\"1\"} 2.0\n";
        assertEquals(2.0, PrometheusText.parse(ok).value("a_total", "x", "1"));
        for (final String bad : List.of(
            "a_total 1\n",                                                    // no TYPE
            "# TYPE a gauge\na{x=\"1\" 1\n",                                  // unterminated labels
            "# TYPE a gauge\na{1x=\"1\"} 1\n",                                // bad label name
            "# TYPE a gauge\na{x=1} 1\n",                                     // unquoted value
            "# TYPE a gauge\na 1,5\n",                                        // bad number
            "# TYPE a gauge\na 1\na 2\n",                                     // duplicate series
            "# TYPE a gauge\nb 1\n",                                          // outside its family
            "# TYPE a-b gauge\n",                                             // bad metric name
            "# TYPE a gauge\na{x=\"\\t\"} 1\n",                               // bad escape
            "# TYPE a gauge\na 1"))                                           // no final line feed
        {
            try
            {
                PrometheusText.parse(bad);
            }
            catch (final IllegalArgumentException expected)
            {
                continue;
            }
            throw new AssertionError("accepted: " + bad);
        }
    }
}
