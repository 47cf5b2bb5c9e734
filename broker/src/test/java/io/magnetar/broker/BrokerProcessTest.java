package io.magnetar.broker;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.transport.MediaDriverLauncher;
import io.magnetar.transport.TransportContext;
import io.magnetar.transport.fixture.RawSession;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker as a separate process (issue 3 acceptance): {@code kill -9} loses no confirmed publish, and SIGTERM
 * drains and exits 0. The client side speaks raw SBE frames over Aeron ({@link RawSession}).
 */
@Timeout(90)
class BrokerProcessTest
{
    private static final long T = 15_000;

    private final List<BrokerProcess> brokers = new ArrayList<>();
    private final String brokerAeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private final String clientAeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private Path dataDir;
    private int udpPort;

    @BeforeEach
    void before() throws Exception
    {
        dataDir = Files.createTempDirectory("magnetar-broker-test");
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket(0))
        {
            udpPort = socket.getLocalPort();
        }
    }

    @AfterEach
    void after()
    {
        brokers.forEach(BrokerProcess::close);
        BrokerProcess.deleteRecursively(dataDir.toFile());
        BrokerProcess.deleteRecursively(new File(brokerAeronDir));
        BrokerProcess.deleteRecursively(new File(clientAeronDir));
    }

    private BrokerProcess startBroker(final String... extra)
    {
        final List<String> args = new ArrayList<>(List.of(
            "--data-dir", dataDir.toString(),
            "--aeron-dir", brokerAeronDir,
            "--udp-channel", "aeron:udp?endpoint=localhost:" + udpPort,
            "--ipc-term-length", "1m",
            "--udp-term-length", "1m",
            "--http-port", "0")); // REST on, on any free port: 8080 may be taken on a test machine
        args.addAll(List.of(extra));
        final BrokerProcess broker = BrokerProcess.start(args.toArray(new String[0]));
        brokers.add(broker);
        return broker;
    }

    @Test
    void killDashNineLosesNoConfirmedPublish() throws Exception
    {
        final MediaDriver clientDriver = MediaDriverLauncher.launch(new TransportContext()
            .aeronDirectoryName(clientAeronDir).ipcTermLength(64 * 1024).udpTermLength(1024 * 1024)
            .ipcChannel("aeron:ipc").udpChannel(null).conclude());
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(clientAeronDir));
        final String ingress = "aeron:udp?endpoint=localhost:" + udpPort;
        try
        {
            // ---------------------------------------------------------------- first run: publish, then kill -9
            final BrokerProcess first = startBroker();
            final String ready = first.awaitLog("\"event\":\"ready\"", T);
            assertTrue(ready.contains("\"startCount\":1"), ready);
            assertTrue(ready.contains(dataDir.toString()), ready);

            final Set<String> confirmed = new HashSet<>();
            int sent = 0;
            try (RawSession producer = new RawSession(aeron, ingress, 100, true, "producer"))
            {
                producer.connect(T);
                final int topicId = producer.createTopic("crash-test", 4, T);
                producer.createSubscription("crash-test", "survivors", SubscriptionType.SHARED, T);

                final Map<Long, List<String>> inFlight = new HashMap<>();
                final long deadline = System.currentTimeMillis() + 5_000;
                int receiptsSeen = 0;
                while (confirmed.size() < 2_000 && System.currentTimeMillis() < deadline)
                {
                    while (inFlight.size() < 16)
                    {
                        final List<Msg> batch = new ArrayList<>();
                        final List<String> keys = new ArrayList<>();
                        for (int i = 0; i < 5; i++)
                        {
                            final String key = "m-" + sent++;
                            keys.add(key);
                            batch.add(Msg.of(key, "ref", "s3://bucket/" + key));
                        }
                        inFlight.put(producer.publishAsync(topicId, batch, T), keys);
                    }
                    producer.poll();
                    final List<Event.PublishReceipt> receipts = producer.recorder().ofType(Event.PublishReceipt.class);
                    for (; receiptsSeen < receipts.size(); receiptsSeen++)
                    {
                        final List<String> keys = inFlight.remove(receipts.get(receiptsSeen).correlationId());
                        confirmed.addAll(keys);
                    }
                    assertTrue(producer.recorder().errors().isEmpty(), () -> producer.recorder().errors().toString());
                }
                // kill while publishes are in flight: their receipts never come, they are not "confirmed"
                while (inFlight.size() < 16)
                {
                    final List<Msg> batch = new ArrayList<>();
                    for (int i = 0; i < 5; i++)
                    {
                        batch.add(Msg.of("m-" + sent++));
                    }
                    inFlight.put(producer.publishAsync(topicId, batch, T), List.of());
                }
                first.kill();
            }
            assertTrue(confirmed.size() >= 500, "confirmed before the kill: " + confirmed.size());
            assertTrue(new File(brokerAeronDir).exists(), "kill -9 leaves the Aeron directory behind");

            // ---------------------------------------------------------------- restart on the same data and Aeron dirs
            final BrokerProcess second = startBroker();
            final String readyAgain = second.awaitLog("\"event\":\"ready\"", T);
            assertTrue(readyAgain.contains("\"startCount\":2"), readyAgain);

            final Set<String> delivered = new HashSet<>();
            try (RawSession consumer = new RawSession(aeron, ingress, 100, true, "consumer"))
            {
                consumer.connect(T);
                assertEquals(2, consumer.sessionEvents(RawSession.Connected.class).get(0).nodeStartCount());
                final long consumerId = consumer.subscribe("crash-test", "survivors", SubscriptionType.SHARED, 1_000, T)
                    .consumerId();
                final long deadline = System.currentTimeMillis() + T;
                while (!delivered.containsAll(confirmed))
                {
                    assertTrue(System.currentTimeMillis() < deadline, () -> "delivered " + delivered.size() +
                        " of " + confirmed.size() + " confirmed");
                    consumer.poll();
                    final List<Event.Delivery> deliveries = consumer.recorder().deliveries();
                    if (!deliveries.isEmpty())
                    {
                        final List<MessageId> ids = new ArrayList<>();
                        for (final Event.Delivery delivery : deliveries)
                        {
                            delivered.add(delivery.key());
                            ids.add(delivery.id());
                        }
                        consumer.recorder().clear();
                        consumer.sendCommand(consumer.commands().ack(consumer.nextCorrelationId(), consumerId, ids), T);
                    }
                }
            }
            assertTrue(delivered.containsAll(confirmed));
            assertTrue(delivered.size() <= sent, "nothing delivered that was never sent");
            System.out.printf("kill -9: sent %d, confirmed %d, delivered after restart %d%n",
                sent, confirmed.size(), delivered.size());

            assertEquals(0, second.terminate(T), () -> String.join("\n", second.lines()));
            assertFalse(new File(brokerAeronDir).exists(), "graceful stop deletes the Aeron directory");
        }
        finally
        {
            CloseHelper.quietCloseAll(aeron, clientDriver);
        }
    }

    @Test
    void sigtermDrainsAndExitsZero() throws Exception
    {
        final BrokerProcess broker = startBroker("--durability", "async", "--log-level", "info");
        broker.awaitLog("\"event\":\"ready\"", T);

        // an IPC client on the broker's own media driver
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(brokerAeronDir)
            .errorHandler((ex) -> {}));
        try (RawSession session = new RawSession(aeron, "aeron:ipc", 100, false, "ipc-client"))
        {
            session.connect(T);
            final int topicId = session.createTopic("t", 1, T);
            final long correlationId = session.publishAsync(topicId, List.of(Msg.of("k")), T);
            session.awaitAnswer(correlationId, Event.PublishReceipt.class, T);

            broker.signalTerm();
            session.await(() -> !session.sessionEvents(RawSession.SessionEnded.class).isEmpty(), 5_000,
                "SessionEnded on shutdown");
            assertEquals(0, broker.awaitExit(T), () -> String.join("\n", broker.lines()));
            final RawSession.SessionEnded ended = session.sessionEvents(RawSession.SessionEnded.class).get(0);
            assertEquals(ErrorCode.UNAVAILABLE, ended.code());
            assertTrue(ended.message().contains("shutting down"), ended.message());
        }
        finally
        {
            CloseHelper.quietClose(aeron);
        }

        final String stopping = broker.awaitLog("\"event\":\"stopping\"", 0);
        assertTrue(stopping.contains("\"reason\":\"SIGTERM\""), stopping);
        final String stopped = broker.awaitLog("\"event\":\"stopped\"", 0);
        assertTrue(stopped.contains("\"clean\":true"), stopped);
        for (final String line : broker.lines())
        {
            assertTrue(line.startsWith("{\"ts\":\""), () -> "not a JSON log line: " + line);
        }
        assertFalse(new File(brokerAeronDir).exists(), "Aeron directory deleted");
        assertTrue(Files.exists(dataDir.resolve("journal")), "journal kept");
    }
}
