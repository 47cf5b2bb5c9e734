package io.magnetar.broker;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.magnetar.broker.RestCalls.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker as a separate process serves REST on {@code --http-port}: the {@code ready} line names the address,
 * {@code /health} answers 200, a REST publish is answered with ids and consumed and acked over REST, and SIGTERM
 * still drains and exits 0 with the gateway and its client closed first; what REST confirmed survives a restart.
 */
@Timeout(90)
class BrokerRestProcessTest
{
    private static final long T = 15_000;

    private final String aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private Path dataDir;
    private BrokerProcess broker;

    @BeforeEach
    void before() throws Exception
    {
        dataDir = Files.createTempDirectory("magnetar-broker-rest-test");
    }

    @AfterEach
    void after()
    {
        if (null != broker)
        {
            broker.close();
        }
        BrokerProcess.deleteRecursively(dataDir.toFile());
        BrokerProcess.deleteRecursively(new File(aeronDir));
    }

    @Test
    void servesRestOnTheGivenPortAndStopsCleanlyOnSigterm() throws Exception
    {
        final int httpPort = RestCalls.freeTcpPort();
        broker = BrokerProcess.start(
            "--data-dir", dataDir.toString(),
            "--aeron-dir", aeronDir,
            "--udp-channel", "none",
            "--ipc-term-length", "1m",
            "--durability", "async",
            "--http-port", Integer.toString(httpPort));

        final String ready = broker.awaitLog("\"event\":\"ready\"", T);
        assertTrue(ready.contains("\"httpAddress\":\"127.0.0.1:" + httpPort + "\""), ready);
        assertTrue(ready.contains("\"httpPort\":" + httpPort), ready);

        final RestCalls rest = new RestCalls("127.0.0.1", httpPort);
        final RestCalls.Reply health = expect(200, rest.get("/health"));
        assertEquals("UP", health.json().get("status").asText(), health::toString);

        final List<String> ids = rest.publishConsumeAck("process-test", 20, T);
        assertEquals(20, ids.size());

        // a last publish whose 200 means "journaled": the drain below must not lose it
        assertEquals(1, expect(200, rest.post("/v1/topics/process-test/messages",
            "{\"messages\": [{\"key\": \"last\"}]}")).json().get("ids").size());

        assertEquals(0, broker.terminate(T), () -> String.join("\n", broker.lines()));
        final String stopping = broker.awaitLog("\"event\":\"stopping\"", 0);
        assertTrue(stopping.contains("\"reason\":\"SIGTERM\""), stopping);
        final String stopped = broker.awaitLog("\"event\":\"stopped\"", 0);
        assertTrue(stopped.contains("\"clean\":true"), stopped);
        // the gateway's client ended its own session (a clean disconnect) during the stop, before the node's drain
        final String gatewayEnded = broker.awaitLog("\"client\":\"magnetar-rest-gateway\",\"reason\"", 0);
        assertTrue(gatewayEnded.contains("\"event\":\"session.ended\"") &&
            gatewayEnded.contains("\"reason\":\"disconnect\""), gatewayEnded);
        final List<String> lines = broker.lines();
        assertTrue(lines.indexOf(stopping) < lines.indexOf(gatewayEnded) &&
            lines.indexOf(gatewayEnded) < lines.indexOf(stopped), () -> String.join("\n", lines));
        for (final String line : broker.lines())
        {
            assertTrue(line.startsWith("{\"ts\":\""), () -> "not a JSON log line: " + line);
        }
        assertFalse(RestCalls.accepting("127.0.0.1", httpPort), "stopped broker no longer serves HTTP");
        assertFalse(new File(aeronDir).exists(), "Aeron directory deleted");
        assertTrue(Files.exists(dataDir.resolve("journal")), "journal kept");

        // started again on the same data directory: the last publish is there, waiting for the subscription
        final int secondPort = RestCalls.freeTcpPort();
        broker = BrokerProcess.start(
            "--data-dir", dataDir.toString(),
            "--aeron-dir", aeronDir,
            "--udp-channel", "none",
            "--ipc-term-length", "1m",
            "--http-port", Integer.toString(secondPort));
        assertTrue(broker.awaitLog("\"event\":\"ready\"", T).contains("\"startCount\":2"));
        new RestCalls("127.0.0.1", secondPort).awaitStats("process-test", "workers", 1, 0, T);
        assertEquals(0, broker.terminate(T), () -> String.join("\n", broker.lines()));
    }
}
