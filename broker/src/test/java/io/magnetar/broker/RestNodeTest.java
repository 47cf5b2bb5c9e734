package io.magnetar.broker;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.magnetar.broker.RestCalls.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The node serves the REST API itself: a {@link MagnetarNode} launched in this JVM on an ephemeral HTTP port
 * ({@code http-port 0}, the bound port read back with {@link MagnetarNode#httpPort()}) answers {@code /health}, runs a
 * REST publish → long-poll → ack round trip, applies the node's engine limits to REST publishes, shares its topics
 * with native clients, and stops serving HTTP when closed. Each test has its own data directory and
 * {@code /dev/shm/magnetar-test-<random>} Aeron directory, both deleted afterwards.
 */
@Timeout(120)
class RestNodeTest
{
    private static final long T = 15_000;

    private InJvmNode fixture;

    @BeforeEach
    void before() throws IOException
    {
        fixture = new InJvmNode("magnetar-rest-node-test");
    }

    @AfterEach
    void after()
    {
        fixture.close();
    }

    private NodeConfig config(final UnaryOperator<NodeConfig> customizer)
    {
        return customizer.apply(fixture.config());
    }

    @Test
    void servesHealthAndARestRoundTripOnAnEphemeralPort()
    {
        fixture.node = MagnetarNode.launch(config(UnaryOperator.identity()));

        final int port = fixture.node.httpPort();
        assertTrue(port > 0, "bound port " + port);
        assertEquals("127.0.0.1", fixture.node.httpHost());
        assertEquals("127.0.0.1:" + port, fixture.node.httpAddress());
        assertEquals(1, fixture.node.sessionCount(), "the gateway's client is one session on the node's IPC");

        final RestCalls rest = new RestCalls("127.0.0.1", port);
        final RestCalls.Reply health = expect(200, rest.get("/health"));
        assertEquals("UP", health.json().get("status").asText(), health::toString);

        final List<String> ids = rest.publishConsumeAck("orders", 10, T);
        assertEquals(10, ids.size());
        final JsonNode topics = expect(200, rest.get("/admin/v1/topics")).json().get("topics");
        assertEquals(1, topics.size(), topics::toString);
        assertEquals("orders", topics.get(0).get("name").asText());
        assertEquals(2, topics.get(0).get("partitions").asInt());
        expect(200, rest.get("/openapi.json"));
        assertTrue(expect(200, rest.get("/metrics")).text().contains("magnetar_rest_requests_total"));

        fixture.node.close();
        assertFalse(RestCalls.accepting("127.0.0.1", port), "closed node no longer serves HTTP");
        assertFalse(Files.exists(Path.of(fixture.aeronDir)), "Aeron directory deleted on close");
        fixture.node = null;
    }

    @Test
    void restPublishesAreCheckedAgainstTheNodesEngineLimits()
    {
        fixture.node = MagnetarNode.launch(config((config) -> config
            .set(NodeConfig.Option.MAX_KEY_BYTES, "16")
            .set(NodeConfig.Option.MAX_PUBLISH_BATCH, "5")
            .set(NodeConfig.Option.MAX_ACK_BATCH, "3")));
        final RestCalls rest = new RestCalls("127.0.0.1", fixture.node.httpPort());
        expect(201, rest.put("/admin/v1/topics/limits", "{\"partitions\": 1}"));
        expect(201, rest.put("/admin/v1/topics/limits/subscriptions/s", "{\"type\": \"shared\"}"));

        final RestCalls.Reply tooMany = expect(400, rest.post("/v1/topics/limits/messages",
            "{\"messages\": [{\"key\": \"a\"}, {\"key\": \"b\"}, {\"key\": \"c\"}, {\"key\": \"d\"}, {\"key\": \"e\"}, " +
            "{\"key\": \"f\"}]}"));
        assertEquals("INVALID_ARGUMENT", tooMany.json().get("error").get("code").asText(), tooMany::toString);
        assertTrue(tooMany.json().get("error").get("message").asText().contains("1..5"), tooMany::toString);

        final RestCalls.Reply longKey = expect(400, rest.post("/v1/topics/limits/messages",
            "{\"messages\": [{\"key\": \"ok\"}, {\"key\": \"seventeen-bytes-k\"}]}"));
        assertTrue(longKey.json().get("error").get("message").asText().contains("1..16"), longKey::toString);

        final String consumerId = expect(201, rest.post("/v1/topics/limits/subscriptions/s/consumers", "{}"))
            .json().get("consumerId").asText();
        final RestCalls.Reply tooManyIds = expect(400, rest.post("/v1/consumers/" + consumerId + "/acks",
            "{\"ids\": [\"0:1:1\", \"0:1:2\", \"0:1:3\", \"0:1:4\"]}"));
        assertTrue(tooManyIds.json().get("error").get("message").asText().contains("exceed the limit of 3"),
            tooManyIds::toString);

        // nothing of the refused requests was stored; five messages are fine
        rest.awaitStats("limits", "s", 0, 0, T);
        assertEquals(5, expect(200, rest.post("/v1/topics/limits/messages",
            "{\"messages\": [{\"key\": \"a\"}, {\"key\": \"b\"}, {\"key\": \"c\"}, {\"key\": \"d\"}, " +
            "{\"key\": \"sixteen-bytes-kk\"}]}")).json().get("ids").size());
    }

    @Test
    void restAndNativeClientsShareTheNode() throws Exception
    {
        fixture.node = MagnetarNode.launch(config(UnaryOperator.identity()));
        final RestCalls rest = new RestCalls("127.0.0.1", fixture.node.httpPort());
        expect(201, rest.put("/admin/v1/topics/shared", "{\"partitions\": 1}"));
        final String consumerId = expect(201, rest.post("/v1/topics/shared/subscriptions/audit/consumers",
            "{\"type\": \"shared\"}")).json().get("consumerId").asText();

        try (MagnetarClient client = MagnetarClient.builder()
            .aeronDirectory(fixture.node.aeronDirectory()).ingressChannel(fixture.node.ipcChannel()).build())
        {
            assertTrue(client.admin().listTopics().stream().anyMatch((t) -> "shared".equals(t.name())));
            final Producer producer = client.newProducer().topic("shared").create();
            final MessageId id = producer.send("from-java", Map.of("lang", "java"));

            final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(T);
            JsonNode message = null;
            while (null == message)
            {
                if (System.nanoTime() - deadlineNs > 0)
                {
                    fail("the REST consumer got nothing the Java producer published");
                }
                final JsonNode messages = expect(200, rest.get("/v1/consumers/" + consumerId + "/messages?waitMs=500"))
                    .json().get("messages");
                message = messages.isEmpty() ? null : messages.get(0);
            }
            assertEquals("from-java", message.get("key").asText());
            assertEquals("java", message.get("attributes").get("lang").asText());
            assertEquals(id.toString(), message.get("id").asText());
            producer.close();
        }
    }

    @Test
    void withoutIpcTheGatewayReachesTheNodeOverUdp() throws IOException
    {
        final int udpPort;
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket(0))
        {
            udpPort = socket.getLocalPort();
        }
        fixture.node = MagnetarNode.launch(config((config) -> config
            .ipcChannel(null)
            .udpChannel("aeron:udp?endpoint=0.0.0.0:" + udpPort)
            .set(NodeConfig.Option.UDP_TERM_LENGTH, "1m")));
        assertNull(fixture.node.ipcChannel());
        final RestCalls rest = new RestCalls("127.0.0.1", fixture.node.httpPort());
        assertEquals(200, rest.get("/health").status());
        assertEquals(3, rest.publishConsumeAck("over-udp", 3, T).size());
    }

    @Test
    void restCanBeDisabled()
    {
        fixture.node = MagnetarNode.launch(config(NodeConfig::disableHttp));
        assertEquals(-1, fixture.node.httpPort());
        assertNull(fixture.node.httpHost());
        assertNull(fixture.node.httpAddress());
        assertEquals(0, fixture.node.sessionCount(), "no gateway, no in-process client");
    }

    @Test
    void aPortInUseFailsTheLaunchAndReleasesEverything() throws IOException
    {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1")))
        {
            final int port = taken.getLocalPort();
            final IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> MagnetarNode.launch(config((config) -> config.httpPort(port))));
            assertTrue(ex.getMessage().contains("cannot serve REST on 127.0.0.1:" + port), ex.getMessage());
            assertTrue(ex.getMessage().contains("--http-port"), ex.getMessage());
        }

        // the data directory lock, the media driver and its directory were released: the same node starts again
        fixture.node = MagnetarNode.launch(config(UnaryOperator.identity()));
        assertEquals(200, new RestCalls("127.0.0.1", fixture.node.httpPort()).get("/health").status());
    }
}
