package io.magnetar.broker;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 3 acceptance, end to end: the broker runs as a separate process, the Java client (over UDP, with its own
 * embedded media driver) publishes and consumes, the broker is {@code kill -9}ed mid-stream and restarted on the same
 * data directory; the client reconnects by itself and every publish it confirmed is delivered.
 */
@Timeout(90)
class ClientKillRestartProcessTest
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

    private BrokerProcess startBroker()
    {
        final BrokerProcess broker = BrokerProcess.start(
            "--data-dir", dataDir.toString(),
            "--aeron-dir", brokerAeronDir,
            "--udp-channel", "aeron:udp?endpoint=localhost:" + udpPort,
            "--ipc-term-length", "1m",
            "--udp-term-length", "1m",
            "--http-port", "0", // REST on, on any free port: 8080 may be taken on a test machine
            // the client adopts the broker's liveness settings from Connected: detect the killed broker in 2 s
            "--heartbeat-interval-ms", "250",
            "--session-timeout-ms", "2000");
        brokers.add(broker);
        broker.awaitLog("\"event\":\"ready\"", T);
        return broker;
    }

    @Test
    void clientReconnectsAfterKillDashNineAndEveryConfirmedPublishIsDelivered() throws Exception
    {
        final BrokerProcess first = startBroker();
        final MagnetarClient client = MagnetarClient.builder()
            .embeddedMediaDriver(true)
            .aeronDirectory(clientAeronDir)
            .ingressChannel("aeron:udp?endpoint=localhost:" + udpPort)
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(250))
            .clientName("kill9-client")
            .build();
        try
        {
            client.admin().createTopic("kill9", 4);
            final Set<String> received = ConcurrentHashMap.newKeySet();
            final Consumer consumer = client.newConsumer().topic("kill9").subscription("survivors")
                .subscriptionType(SubscriptionType.SHARED).receiverQueueSize(500)
                .messageListener((c, message) ->
                {
                    received.add(message.key());
                    c.acknowledge(message);
                })
                .subscribe();
            final Producer producer = client.newProducer().topic("kill9").blockIfQueueFull(true)
                .maxPendingMessages(2_000).create();

            final Set<String> confirmed = ConcurrentHashMap.newKeySet();
            final Set<String> failed = ConcurrentHashMap.newKeySet();
            final AtomicInteger sent = new AtomicInteger();
            final AtomicBoolean publishing = new AtomicBoolean(true);
            final Thread publisher = new Thread(() ->
            {
                while (publishing.get())
                {
                    final String key = "k-" + sent.getAndIncrement();
                    producer.sendAsync(key).whenComplete((id, ex) ->
                    {
                        if (null == ex)
                        {
                            confirmed.add(key);
                        }
                        else
                        {
                            failed.add(key);
                        }
                    });
                    if ((sent.get() & 63) == 0)
                    {
                        Thread.yield();
                    }
                }
            }, "publisher");
            publisher.start();

            awaitCondition(() -> confirmed.size() >= 1_000, "1,000 confirmed before the kill");
            first.kill();
            final int confirmedAtKill = confirmed.size();

            startBroker();
            awaitCondition(() -> confirmed.size() >= confirmedAtKill + 1_000, "1,000 more confirmed after the restart");
            publishing.set(false);
            publisher.join(T);
            producer.flush();

            awaitCondition(() -> received.containsAll(confirmed),
                "every confirmed message delivered (" + confirmed.size() + " confirmed)");
            assertTrue(failed.isEmpty(), () -> failed.size() + " publishes failed, e.g. " + failed.iterator().next());
            assertTrue(client.sessionsEstablished() >= 2, "the client reconnected");
            assertTrue(consumer.isConnected());
            System.out.printf("client kill -9: sent %d, confirmed %d (%d at the kill), received %d, sessions %d%n",
                sent.get(), confirmed.size(), confirmedAtKill, received.size(), client.sessionsEstablished());
        }
        finally
        {
            CloseHelper.quietClose(client);
        }

        final BrokerProcess second = brokers.get(brokers.size() - 1);
        assertEquals(0, second.terminate(T), () -> String.join("\n", second.lines()));
    }

    private static void awaitCondition(final java.util.function.BooleanSupplier condition, final String what)
        throws InterruptedException
    {
        final long deadline = System.currentTimeMillis() + 30_000;
        while (!condition.getAsBoolean())
        {
            if (System.currentTimeMillis() > deadline)
            {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }
}
