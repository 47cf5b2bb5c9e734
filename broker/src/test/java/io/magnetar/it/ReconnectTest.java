package io.magnetar.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Close and relaunch the node on the same data directory while a client is publishing and consuming: the client
 * reconnects by itself, its consumers are re-attached, and every publish it confirmed is delivered.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReconnectTest
{
    @ParameterizedTest
    @EnumSource(Transport.class)
    void clientSurvivesANodeRestart(final Transport transport) throws Exception
    {
        try (NodeFixture node = new NodeFixture())
        {
            final MagnetarClient client = transport.connect(node, "it-reconnect-" + transport.name().toLowerCase());
            try
            {
                client.admin().createTopic("restart", 2);
                final Set<String> received = ConcurrentHashMap.newKeySet();
                final AtomicInteger deliveries = new AtomicInteger();
                final Consumer consumer = client.newConsumer().topic("restart").subscription("sub")
                    .subscriptionType(SubscriptionType.SHARED).receiverQueueSize(100)
                    .messageListener((c, message) ->
                    {
                        received.add(message.key());
                        deliveries.incrementAndGet();
                        c.acknowledge(message);
                    })
                    .subscribe();
                final Producer producer = client.newProducer().topic("restart").blockIfQueueFull(true).create();

                final List<CompletableFuture<MessageId>> futures = new ArrayList<>();
                final List<String> keys = new ArrayList<>();
                final AtomicBoolean publishing = new AtomicBoolean(true);
                final Thread publisher = new Thread(() ->
                {
                    int i = 0;
                    while (publishing.get() || i < 400)
                    {
                        final String key = "m-" + i++;
                        final CompletableFuture<MessageId> future = producer.sendAsync(key, Map.of("i", key));
                        synchronized (futures)
                        {
                            keys.add(key);
                            futures.add(future);
                        }
                        if (0 == i % 20)
                        {
                            // rounds of 20: the restart lands in the middle of the stream, a round spans it
                            producer.flush();
                        }
                    }
                }, "it-publisher");
                publisher.start();

                Await.until("some messages delivered before the restart", () -> received.size() >= 100);
                final long sessionBefore = client.sessionId();
                node.restart();

                Await.until("the client reconnected", Duration.ofSeconds(30),
                    () -> client.sessionsEstablished() >= 2 && client.isConnected() && consumer.isConnected(),
                    () -> "sessions " + client.sessionsEstablished() + ", connected " + client.isConnected());
                assertTrue(client.sessionId() != sessionBefore);
                final int sentAtReconnect;
                synchronized (futures)
                {
                    sentAtReconnect = keys.size();
                }
                Await.until("publishing and delivering go on after the reconnect",
                    () -> received.size() >= sentAtReconnect + 100);
                publishing.set(false);
                publisher.join(TimeUnit.SECONDS.toMillis(30));

                final List<String> confirmed = new ArrayList<>();
                synchronized (futures)
                {
                    for (int i = 0; i < futures.size(); i++)
                    {
                        futures.get(i).get(30, TimeUnit.SECONDS);
                        confirmed.add(keys.get(i));
                    }
                }
                assertTrue(confirmed.size() >= 400);
                Await.until("every confirmed publish delivered", Duration.ofSeconds(30),
                    () -> received.containsAll(confirmed),
                    () -> "received " + received.size() + " of " + confirmed.size());
                assertEquals(confirmed.size(), Set.copyOf(confirmed).size());
                assertTrue(deliveries.get() >= confirmed.size());
                System.out.println(transport + ": " + confirmed.size() + " confirmed, " + deliveries.get() +
                    " deliveries, " + client.sessionsEstablished() + " sessions");
            }
            finally
            {
                client.close();
            }
        }
    }
}
