package io.magnetar.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import io.magnetar.rest.PrometheusText;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.magnetar.broker.RestCalls.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A node's {@code GET /metrics} (the embedded gateway's) serves the node's own series — pipeline, ring, journal,
 * snapshots, transport — beside the engine's traffic counters, in strictly valid Prometheus text; the journal position
 * grows with traffic; the traffic counters count native and REST traffic exactly and start again at 0 after a
 * restart, while a subscription's redeliveries (its state) survive it.
 */
@Timeout(120)
class NodeMetricsTest
{
    private static final long T = 15_000;

    private InJvmNode fixture;

    @BeforeEach
    void before() throws IOException
    {
        fixture = new InJvmNode("magnetar-node-metrics-test");
    }

    @AfterEach
    void after()
    {
        fixture.close();
    }

    private MagnetarNode launch()
    {
        return MagnetarNode.launch(config().ringSize(1024));
    }

    private NodeConfig config()
    {
        return fixture.config();
    }

    private PrometheusText scrape(final RestCalls rest)
    {
        return PrometheusText.parse(expect(200, rest.get("/metrics")).text());
    }

    /**
     * Scrape once this start's {@code NodeStarted} was journaled and applied: launch only offers it to the ring, so a
     * scrape right after launch may not count it yet. Fails after the deadline if it never shows.
     */
    private PrometheusText scrapeOnceStarted(final RestCalls rest)
    {
        final PrometheusText[] last = new PrometheusText[1];
        await("NodeStarted journaled and applied", () ->
        {
            last[0] = scrape(rest);
            // absent before the first snapshot (a fresh journal); after a restart the caller asserts it is there
            final Double sinceSnapshot = last[0].valueOrNull("magnetar_journal_entries_since_snapshot");
            return last[0].value("magnetar_journal_appended_entries_total") >= 1 &&
                (null == sinceSnapshot || sinceSnapshot >= 1) &&
                last[0].value("magnetar_pipeline_commands_total", "stage", "applied") >= 1;
        });
        return last[0];
    }

    private static void await(final String what, final BooleanSupplier condition)
    {
        final long deadline = System.currentTimeMillis() + T;
        while (!condition.getAsBoolean())
        {
            if (System.currentTimeMillis() > deadline)
            {
                fail("timed out waiting for " + what);
            }
            RestCalls.pause();
        }
    }

    @Test
    void snapshotOptionsReachThePipeline() throws IOException
    {
        fixture.node = MagnetarNode.launch(config()
            .set(NodeConfig.Option.SNAPSHOT_INTERVAL_ENTRIES, "20")
            .set(NodeConfig.Option.SNAPSHOTS_RETAINED, "1"));
        final RestCalls rest = new RestCalls("127.0.0.1", fixture.node.httpPort());
        assertEquals(0.0, scrape(rest).value("magnetar_snapshots_total"));

        assertEquals(1, rest.publishConsumeAck("snapshotted", 1, T).size()); // creates the topic and a subscription
        // one journal entry per publish request; a snapshot is due every 20 entries (the default: 1,000,000) once as
        // many bytes were journaled as the last snapshot had: keep publishing until two were taken
        final long deadline = System.currentTimeMillis() + 2 * T;
        int published = 0;
        while (scrape(rest).value("magnetar_snapshots_total") < 2)
        {
            assertTrue(System.currentTimeMillis() < deadline, "no two snapshots after " + published + " publishes");
            for (int i = 0; i < 20; i++, published++)
            {
                expect(200, rest.post("/v1/topics/snapshotted/messages",
                    "{\"messages\": [{\"key\": \"k" + published + "\"}]}"));
            }
        }
        assertTrue(published <= 400, "snapshots every ~20 entries, not the default interval: " + published);
        final Path snapshots = fixture.dataDir.resolve("journal").resolve("snapshots");
        await("retention down to the one snapshot kept", () ->
        {
            try (var files = Files.list(snapshots))
            {
                return files.filter((f) -> f.getFileName().toString().endsWith(".snap")).count() == 1;
            }
            catch (final IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
        });
    }

    @Test
    void servesNodeSeriesAndExactTrafficCountersThatRestartAtZero()
    {
        fixture.node = launch();
        RestCalls rest = new RestCalls("127.0.0.1", fixture.node.httpPort());

        final PrometheusText idle = scrapeOnceStarted(rest);
        assertEquals(1024.0, idle.value("magnetar_ring_slots"));
        final double occupied = idle.value("magnetar_ring_occupied_slots");
        assertTrue(occupied >= 0 && occupied <= 1024, "occupied " + occupied);
        assertEquals(1.0, idle.value("magnetar_node_start_count"));
        assertEquals(0.0, idle.value("magnetar_node_engine_failed"));
        assertTrue(idle.value("magnetar_node_sessions") >= 1, "the gateway's own session");
        final double appendedBefore = idle.value("magnetar_journal_appended_entries_total");
        assertTrue(appendedBefore >= 1, "NodeStarted was journaled: " + appendedBefore);
        assertTrue(idle.value("magnetar_journal_position_sequence", "position", "appended") >= 0);
        assertOrderedStages(idle);
        assertTrue(idle.value("magnetar_transport_frames_received_total") >= 1);
        assertEquals("counter", idle.types().get("magnetar_transport_commands_sequenced_total"));
        assertEquals(0.0, idle.value("magnetar_snapshot_failures_total"));
        assertFalse(idle.find("jvm_memory_used_bytes", "area", "heap").isEmpty(), "the gateway's JVM series too");

        expect(201, rest.put("/admin/v1/topics/orders", "{\"partitions\": 2}"));
        expect(201, rest.put("/admin/v1/topics/orders/subscriptions/billing", "{\"type\": \"shared\", \"nackDelayMs\": 0}"));
        try (MagnetarClient client = MagnetarClient.builder()
            .aeronDirectory(fixture.node.aeronDirectory()).ingressChannel(fixture.node.ipcChannel()).build();
            Consumer consumer = client.newConsumer().topic("orders").subscription("billing")
                .subscriptionType(SubscriptionType.SHARED).subscribe();
            Producer producer = client.newProducer().topic("orders").create())
        {
            for (int i = 0; i < 10; i++)
            {
                producer.send("native-" + i);
            }
            expect(200, rest.post("/v1/topics/orders/messages",
                "{\"messages\": [{\"key\": \"r1\"}, {\"key\": \"r2\"}, {\"key\": \"r3\"}, {\"key\": \"r4\"}, {\"key\": \"r5\"}]}"));
            int acked = 0;
            boolean nacked = false;
            while (acked < 15)
            {
                final Message m = consumer.receive(Duration.ofMillis(T));
                assertNotNull(m, "received " + acked);
                if (!nacked)
                {
                    consumer.negativeAcknowledge(m);
                    nacked = true;
                    continue;
                }
                consumer.acknowledge(m);
                acked++;
            }

            final RestCalls calls = rest;
            await("acks applied", () ->
            {
                final Double value = scrape(calls).valueOrNull("magnetar_topic_acked_messages_total", "topic", "orders");
                return null != value && value == 15.0;
            });
            final PrometheusText busy = scrape(rest);
            assertEquals(15.0, busy.value("magnetar_topic_published_messages_total", "topic", "orders"));
            assertEquals(16.0, busy.value("magnetar_topic_delivered_messages_total", "topic", "orders"));
            assertEquals(1.0, busy.value("magnetar_topic_nacked_messages_total", "topic", "orders"));
            assertEquals(1.0, busy.value("magnetar_topic_redelivered_messages_total", "topic", "orders"));
            assertEquals(0.0, busy.value("magnetar_topic_dead_lettered_messages_total", "topic", "orders"));
            assertEquals(0.0, busy.value("magnetar_subscription_in_flight", "topic", "orders", "subscription", "billing"));
            assertEquals(0.0, busy.value("magnetar_subscription_backlog", "topic", "orders", "subscription", "billing"));

            final double appendedAfter = busy.value("magnetar_journal_appended_entries_total");
            assertTrue(appendedAfter >= appendedBefore + 2 + 2 + 1,
                "topic, subscription, at least one publish batch per producer, acks: " + appendedBefore + " -> " + appendedAfter);
            assertTrue(busy.value("magnetar_pipeline_commands_total", "stage", "applied") >
                idle.value("magnetar_pipeline_commands_total", "stage", "applied"));
            assertOrderedStages(busy);
            assertTrue(busy.value("magnetar_transport_commands_sequenced_total") >
                idle.value("magnetar_transport_commands_sequenced_total"));
        }

        // restart: the close snapshot is recovered; traffic counters start again, the subscription's state does not
        fixture.node.close();
        fixture.node = launch();
        rest = new RestCalls("127.0.0.1", fixture.node.httpPort());
        final PrometheusText restarted = scrapeOnceStarted(rest);
        assertEquals(2.0, restarted.value("magnetar_node_start_count"));
        assertEquals(0.0, restarted.value("magnetar_topic_published_messages_total", "topic", "orders"));
        assertEquals(0.0, restarted.value("magnetar_topic_acked_messages_total", "topic", "orders"));
        assertEquals(1.0, restarted.value("magnetar_subscription_redeliveries_total", "topic", "orders", "subscription", "billing"));
        assertTrue(restarted.value("magnetar_snapshot_last_bytes") > 0, "recovered from the close snapshot");
        assertTrue(restarted.value("magnetar_journal_position_cycle", "position", "snapshot") > 0);
        assertTrue(restarted.value("magnetar_journal_entries_since_snapshot") >= 1, "NodeStarted at least");
        final JsonNode stats = expect(200, rest.get("/admin/v1/topics/orders")).json();
        assertEquals(0, stats.get("published").asLong(), stats::toString);
        assertEquals(1, stats.get("subscriptions").get(0).get("redeliveries").asLong(), stats::toString);
        assertEquals(0, stats.get("subscriptions").get(0).get("delivered").asLong(), stats::toString);
    }

    private static void assertOrderedStages(final PrometheusText metrics)
    {
        final double sequenced = metrics.value("magnetar_pipeline_commands_total", "stage", "sequenced");
        final double journaled = metrics.value("magnetar_pipeline_commands_total", "stage", "journaled");
        final double applied = metrics.value("magnetar_pipeline_commands_total", "stage", "applied");
        assertTrue(applied >= 1 && applied <= journaled && journaled <= sequenced,
            "sequenced " + sequenced + " >= journaled " + journaled + " >= applied " + applied);
        final List<String> lags = List.of("journal", "engine");
        for (final String stage : lags)
        {
            assertTrue(metrics.value("magnetar_pipeline_lag_commands", "stage", stage) >= 0, stage);
        }
    }
}
