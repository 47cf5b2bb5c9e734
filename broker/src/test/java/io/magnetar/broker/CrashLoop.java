package io.magnetar.broker;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.SubscriptionType;
import io.magnetar.client.TopicStats;
import org.agrona.CloseHelper;
import org.agrona.collections.Long2LongHashMap;

/**
 * The crash loop (issue 5): a broker process under publish + consume load is {@code kill -9}ed at seeded random
 * instants and restarted on the same data directory, {@code kills} times; then every confirmed publish must have
 * been delivered. One long-lived {@link MagnetarClient} (UDP, its own embedded media driver) reconnects by itself
 * across every restart, re-sending unconfirmed publishes and re-attaching its consumer: the real recovery path.
 * <p>
 * Each cycle: start the broker, wait until the client is back and publishes are confirmed again (or, in one
 * cycle of five, not even that: a kill during recovery and reconnect), let the load run a random time, kill.
 * After the last restart: stop publishing, wait for every publish to be confirmed or failed, drain until every
 * confirmed id is delivered, wait for the subscription's backlog and in-flight count to reach 0, restart
 * gracefully (SIGTERM) and check that nothing acknowledged comes back.
 * <p>
 * Configured by system properties (the JUnit test and the documented long run share this class):
 * {@code magnetar.crashloop.kills} (10), {@code magnetar.crashloop.seed} (random; logged),
 * {@code magnetar.crashloop.rate} (publishes per second over all producers, 4000),
 * {@code magnetar.crashloop.maxLoadMs} (most load time before a kill, 2000),
 * {@code magnetar.crashloop.snapshotEntries} (the broker snapshots every this many journal entries, 2000; 0 = the
 * broker's default), so kills also land in snapshots, journal rolls and old-cycle deletion;
 * {@code magnetar.crashloop.logFile} (also append the progress lines to this file).
 */
final class CrashLoop
{
    static final String TOPIC = "crashloop";
    static final String SUBSCRIPTION = "owed";
    private static final int PRODUCERS = 2;
    private static final int PARTITIONS = 4;
    private static final long STEP_TIMEOUT_MS = 60_000;
    private static final int EXAMPLES = 10;
    private static final long SLOW_MS = 10_000;
    // a start after a kill can stall in Chronicle's recovery of a half-written cycle (see docs/CRASHLOOP.md)
    private static final long START_TIMEOUT_MS = 180_000;

    /**
     * What one run found.
     *
     * @param durability          the broker's durability mode.
     * @param seed                the random seed (kill instants, cycle kinds).
     * @param kills               kill -9s done.
     * @param recoveryKills       kills done before the load had resumed after the restart before.
     * @param sent                publishes submitted.
     * @param confirmed           publishes whose future completed with an id.
     * @param failed              publishes whose future failed (may or may not be delivered; not loss).
     * @param deliveries          deliveries received (all, duplicates included).
     * @param deliveredDistinct   distinct ids (keys) delivered.
     * @param duplicates          deliveries of an already-delivered key.
     * @param redeliveries        deliveries of an already-delivered message id (same id again).
     * @param countNotIncreasing  redeliveries whose deliveryCount was not above the previous one for that id.
     * @param unconfirmedDelivered keys delivered that were never confirmed.
     * @param lost                confirmed keys never delivered.
     * @param lostExamples        a few of them.
     * @param afterGracefulRestart deliveries after the final graceful restart other than the sentinel.
     * @param replayedEntries     journal entries replayed over all starts (after the latest snapshot).
     * @param slowStarts          broker starts that took over 10 s to be ready.
     * @param maxStartMs          the longest start (process start to ready).
     * @param maxReplayMs         the longest recovery (snapshot load and journal replay, as the broker logs it).
     * @param repeatedStartCounts starts whose startCount equalled the run before (killed before NodeStarted was
     *                            journaled).
     * @param durationMs          wall time of the run.
     */
    record Result(
        String durability,
        long seed,
        int kills,
        int recoveryKills,
        long sent,
        long confirmed,
        long failed,
        long deliveries,
        long deliveredDistinct,
        long duplicates,
        long redeliveries,
        long countNotIncreasing,
        long unconfirmedDelivered,
        long lost,
        List<String> lostExamples,
        long afterGracefulRestart,
        long replayedEntries,
        int slowStarts,
        long maxStartMs,
        long maxReplayMs,
        int repeatedStartCounts,
        long durationMs)
    {
        String summary()
        {
            return String.format(
                "crashloop durability=%s seed=%d kills=%d (recovery-time %d) sent=%d confirmed=%d failed=%d " +
                "deliveries=%d delivered-distinct=%d duplicates=%d (same-id redeliveries %d, deliveryCount not " +
                "increasing %d) unconfirmed-delivered=%d lost=%d%s after-graceful-restart=%d replayed-entries=%d slow-starts=%d max-start=%dms max-replay=%dms " +
                "repeated-start-counts=%d duration=%.1fs",
                durability, seed, kills, recoveryKills, sent, confirmed, failed, deliveries, deliveredDistinct,
                duplicates, redeliveries, countNotIncreasing, unconfirmedDelivered, lost,
                lostExamples.isEmpty() ? "" : " e.g. " + lostExamples, afterGracefulRestart, replayedEntries,
                slowStarts, maxStartMs, maxReplayMs, repeatedStartCounts, durationMs / 1000.0);
        }
    }

    private final String durability;
    private final int kills;
    private final long seed;
    private final int rate;
    private final int maxLoadMs;
    private final long snapshotEntries;
    private long replayedEntries;
    private int starts;
    private long lastStartCount;
    private int repeatedStartCounts;
    private int slowStarts;
    private long maxStartMs;
    private long maxReplayMs;
    private final Random random;
    private final List<BrokerProcess> brokers = new ArrayList<>();
    private final String brokerAeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private final String clientAeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());

    // per producer, indexed by sequence; guarded by this
    private final BitSet[] confirmedSeqs = new BitSet[PRODUCERS];
    private final BitSet[] failedSeqs = new BitSet[PRODUCERS];
    private final BitSet[] deliveredSeqs = new BitSet[PRODUCERS];
    private final Long2LongHashMap lastDeliveryCount = new Long2LongHashMap(-1);
    private long confirmed;
    private long failed;
    private long deliveries;
    private long deliveredDistinct;
    private long duplicates;
    private long redeliveries;
    private long countNotIncreasing;
    private long sentinelDeliveries;
    private final AtomicLong sent = new AtomicLong();

    CrashLoop(
        final String durability,
        final int kills,
        final long seed,
        final int rate,
        final int maxLoadMs,
        final long snapshotEntries)
    {
        if (kills < 1 || rate < 1 || maxLoadMs < 1)
        {
            throw new IllegalArgumentException("kills, rate and maxLoadMs must be positive: " + kills + ", " + rate +
                ", " + maxLoadMs);
        }
        this.durability = durability;
        this.kills = kills;
        this.seed = seed;
        this.rate = rate;
        this.maxLoadMs = maxLoadMs;
        this.snapshotEntries = snapshotEntries;
        this.random = new Random(seed);
        for (int i = 0; i < PRODUCERS; i++)
        {
            confirmedSeqs[i] = new BitSet();
            failedSeqs[i] = new BitSet();
            deliveredSeqs[i] = new BitSet();
        }
    }

    /**
     * @param durability {@code async} or {@code sync}.
     * @return a crash loop configured from the {@code magnetar.crashloop.*} system properties.
     */
    static CrashLoop fromSystemProperties(final String durability)
    {
        final String seedText = System.getProperty("magnetar.crashloop.seed");
        final long seed = null == seedText || seedText.isBlank() ? System.nanoTime() ^ ThreadLocalRandom.current().nextLong() :
            Long.parseLong(seedText.trim());
        return new CrashLoop(
            durability,
            Integer.getInteger("magnetar.crashloop.kills", 10),
            seed,
            Integer.getInteger("magnetar.crashloop.rate", 4_000),
            Integer.getInteger("magnetar.crashloop.maxLoadMs", 2_000),
            Long.getLong("magnetar.crashloop.snapshotEntries", 2_000));
    }

    int kills()
    {
        return kills;
    }

    Result run() throws Exception
    {
        final long startNs = System.nanoTime();
        log("start: durability=" + durability + " kills=" + kills + " seed=" + seed + " rate=" + rate +
            "/s maxLoadMs=" + maxLoadMs + " snapshotEntries=" + snapshotEntries + " (rerun with -Dmagnetar.crashloop.seed=" + seed + ")");
        final Path dataDir = Files.createTempDirectory("magnetar-crashloop");
        final int udpPort;
        try (DatagramSocket socket = new DatagramSocket(0))
        {
            udpPort = socket.getLocalPort();
        }

        MagnetarClient client = null;
        final AtomicBoolean publishing = new AtomicBoolean(true);
        final List<Thread> publishers = new ArrayList<>();
        try
        {
            BrokerProcess broker = startBroker(dataDir, udpPort);
            client = MagnetarClient.builder()
                .embeddedMediaDriver(true)
                .aeronDirectory(clientAeronDir)
                .ingressChannel("aeron:udp?endpoint=localhost:" + udpPort)
                .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(250))
                .clientName("crashloop-" + durability)
                .build();
            client.admin().createTopic(TOPIC, PARTITIONS);
            // before the first publish, so every confirmed publish is owed to it (SPEC 2.1)
            client.admin().createSubscription(TOPIC, SUBSCRIPTION, SubscriptionType.SHARED);
            final Consumer consumer = client.newConsumer().topic(TOPIC).subscription(SUBSCRIPTION)
                .subscriptionType(SubscriptionType.SHARED).receiverQueueSize(500)
                .messageListener((c, message) ->
                {
                    onDelivery(message);
                    c.acknowledge(message);
                })
                .subscribe();
            final List<Producer> producers = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++)
            {
                final Producer producer = client.newProducer().topic(TOPIC).blockIfQueueFull(true)
                    .maxPendingMessages(2_000).create();
                producers.add(producer);
                final int index = p;
                final Thread thread = new Thread(() -> publish(index, producer, publishing), "crashloop-publisher-" + p);
                publishers.add(thread);
                thread.start();
            }

            int recoveryKills = 0;
            final MagnetarClient c = client;
            for (int kill = 1; kill <= kills; kill++)
            {
                final boolean duringRecovery = kill > 1 && 0 == random.nextInt(5);
                final long loadMs;
                if (duringRecovery)
                {
                    loadMs = random.nextInt(Math.min(maxLoadMs, 500) + 1);
                    recoveryKills++;
                }
                else
                {
                    awaitLoad(c, consumer);
                    loadMs = random.nextInt(maxLoadMs + 1);
                }
                Thread.sleep(loadMs); // the random instant
                final long confirmedBefore = confirmed();
                broker.kill();
                log(String.format("kill %d/%d after %d ms%s: confirmed %d, delivered %d, sessions %d",
                    kill, kills, loadMs, duringRecovery ? " (during recovery)" : "", confirmedBefore,
                    deliveredDistinct(), c.sessionsEstablished()));
                broker = startBroker(dataDir, udpPort);
            }

            // after the last restart: load once more, then stop and settle every publish
            awaitLoad(c, consumer);
            publishing.set(false);
            for (final Thread thread : publishers)
            {
                thread.join(STEP_TIMEOUT_MS);
                if (thread.isAlive())
                {
                    throw new AssertionError(thread.getName() + " did not stop");
                }
            }
            for (final Producer producer : producers)
            {
                producer.flush();
            }
            awaitCondition(() -> settled() == sent.get(), () -> "every publish confirmed or failed (" + settled() +
                " of " + sent.get() + ")");

            // drain: every confirmed id delivered, then nothing outstanding
            final long drainStartNs = System.nanoTime();
            waitUntil(() -> lost(null) == 0, STEP_TIMEOUT_MS);
            final List<String> lostExamples = new ArrayList<>();
            final long lost = lost(lostExamples);
            log("drained in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drainStartNs) + " ms, lost " + lost);

            long afterGracefulRestart = -1;
            if (0 == lost)
            {
                awaitCondition(() -> idle(c), () -> "subscription backlog 0 and inFlight 0: " + stats(c));
                final long deliveriesBefore = deliveries();
                final long sessionsBefore = c.sessionsEstablished();
                final int exit = broker.terminate(STEP_TIMEOUT_MS);
                if (0 != exit)
                {
                    throw new AssertionError("graceful stop exited " + exit + ":\n" + String.join("\n", broker.lines()));
                }
                final long startCountBefore = lastStartCount;
                broker = startBroker(dataDir, udpPort);
                if (lastStartCount != startCountBefore + 1)
                {
                    throw new AssertionError("startCount " + lastStartCount + " after a graceful stop of run " +
                        startCountBefore);
                }
                awaitCondition(() -> c.sessionsEstablished() > sessionsBefore && consumer.isConnected(),
                    () -> "client back after the graceful restart");
                final SubscriptionStats afterRestart = stats(c);
                if (0 != afterRestart.backlog() || 0 != afterRestart.inFlight())
                {
                    throw new AssertionError("acked messages are owed again after a graceful restart: " + afterRestart);
                }
                // a sentinel behind anything that could still come: once it is delivered, count what came besides
                producers.get(0).send("sentinel");
                awaitCondition(() -> sentinelDeliveries() > 0, () -> "the sentinel delivered");
                afterGracefulRestart = deliveries() - deliveriesBefore - sentinelDeliveries();
                awaitCondition(() -> idle(c), () -> "sentinel acked: " + stats(c));
                final int exitAgain = broker.terminate(STEP_TIMEOUT_MS);
                if (0 != exitAgain)
                {
                    throw new AssertionError("graceful stop exited " + exitAgain);
                }
            }

            synchronized (this)
            {
                final Result result = new Result(durability, seed, kills, recoveryKills, sent.get(), confirmed, failed,
                    deliveries - sentinelDeliveries, deliveredDistinct, duplicates, redeliveries, countNotIncreasing,
                    unconfirmedDelivered(), lost, lostExamples, afterGracefulRestart, replayedEntries, slowStarts, maxStartMs,
                    maxReplayMs, repeatedStartCounts,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
                log(result.summary() + " at " + Instant.now() + ", load average " + loadAverage());
                return result;
            }
        }
        catch (final Throwable ex)
        {
            if (!brokers.isEmpty())
            {
                final BrokerProcess last = brokers.get(brokers.size() - 1);
                log("failed: " + ex + "; the last broker (pid " + last.pid() + ", " +
                    (last.process().isAlive() ? "alive" : "exited " + last.process().exitValue()) + ") logged:\n" +
                    String.join("\n", last.lines()));
            }
            throw ex;
        }
        finally
        {
            publishing.set(false);
            CloseHelper.quietClose(client);
            for (final Thread thread : publishers)
            {
                thread.join(10_000);
            }
            brokers.forEach(BrokerProcess::close);
            BrokerProcess.deleteRecursively(dataDir.toFile());
            BrokerProcess.deleteRecursively(new File(brokerAeronDir));
            BrokerProcess.deleteRecursively(new File(clientAeronDir));
        }
    }

    private BrokerProcess startBroker(final Path dataDir, final int udpPort)
    {
        // frequent snapshots (each rolls the journal and deletes old cycles), so kills also land in those
        final List<String> jvmFlags = 0 == snapshotEntries ? List.of() :
            List.of("-Dmagnetar.snapshot.interval.entries=" + snapshotEntries);
        final long startNs = System.nanoTime();
        final BrokerProcess broker = BrokerProcess.start(
            jvmFlags,
            "--data-dir", dataDir.toString(),
            "--durability", durability,
            "--aeron-dir", brokerAeronDir,
            "--udp-channel", "aeron:udp?endpoint=localhost:" + udpPort,
            "--ipc-term-length", "1m",
            "--udp-term-length", "1m",
            "--http-port", "0",
            // the client adopts these from Connected: it notices a killed broker within 2 s
            "--heartbeat-interval-ms", "250",
            "--session-timeout-ms", "2000");
        brokers.add(broker);
        starts++;
        final String ready = broker.awaitLog("\"event\":\"ready\"", START_TIMEOUT_MS);
        if (!ready.contains("\"durability\":\"" + durability))
        {
            throw new AssertionError("expected " + durability + " mode: " + ready);
        }
        final long startCount = longField(ready, "startCount");
        // NodeStarted is journaled through the ring like any command: a kill before it is written (nothing of that
        // run was acknowledged then) leaves the count where it was
        if (startCount == lastStartCount)
        {
            repeatedStartCounts++;
            log("start " + starts + ": startCount " + startCount + " again (the run before was killed before its " +
                "NodeStarted was journaled)");
        }
        else if (startCount != lastStartCount + 1)
        {
            throw new AssertionError("startCount " + startCount + " after " + lastStartCount + ": " + ready);
        }
        lastStartCount = startCount;
        final String replayed = broker.awaitLog("\"event\":\"journal.replayed\"", START_TIMEOUT_MS);
        final long entries = longField(replayed, "entries");
        final long replayMs = longField(replayed, "ms");
        replayedEntries += entries;
        maxReplayMs = Math.max(maxReplayMs, replayMs);
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        maxStartMs = Math.max(maxStartMs, tookMs);
        log("start " + starts + ": ready in " + tookMs + " ms, startCount " + startCount + ", replayed " + entries +
            " journal entries in " + replayMs + " ms");
        if (tookMs > SLOW_MS)
        {
            slowStarts++;
            log("slow start, its log:\n" + String.join("\n", broker.lines()));
        }
        return broker;
    }

    private static long longField(final String jsonLine, final String name)
    {
        final int at = jsonLine.indexOf("\"" + name + "\":");
        if (at < 0)
        {
            throw new AssertionError("no " + name + " in " + jsonLine);
        }
        int end = at + name.length() + 3;
        while (end < jsonLine.length() && (Character.isDigit(jsonLine.charAt(end)) || '-' == jsonLine.charAt(end)))
        {
            end++;
        }
        return Long.parseLong(jsonLine.substring(at + name.length() + 3, end));
    }

    /**
     * Wait until the client is connected, its consumer attached, and publishes are being confirmed again.
     */
    private void awaitLoad(final MagnetarClient client, final Consumer consumer) throws InterruptedException
    {
        awaitCondition(() -> client.isConnected() && consumer.isConnected(), () -> "client reconnected");
        final long confirmedNow = confirmed();
        final long startNs = System.nanoTime();
        awaitCondition(() -> confirmed() > confirmedNow, () -> "publishes confirmed after the restart");
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        if (tookMs > SLOW_MS)
        {
            log("slow: the first confirmation after the restart took " + tookMs + " ms");
        }
    }

    private void publish(final int producerIndex, final Producer producer, final AtomicBoolean publishing)
    {
        final long periodNs = TimeUnit.SECONDS.toNanos(1) * PRODUCERS / rate;
        long nextNs = System.nanoTime();
        int seq = 0;
        while (publishing.get())
        {
            final int s = seq++;
            final String key = "p" + producerIndex + "-" + s;
            sent.incrementAndGet();
            try
            {
                producer.sendAsync(key).whenComplete((id, ex) -> onSettled(producerIndex, s, null == ex));
            }
            catch (final RuntimeException ex)
            {
                onSettled(producerIndex, s, false);
            }
            nextNs += periodNs;
            final long nowNs = System.nanoTime();
            if (nextNs - nowNs > 0)
            {
                LockSupport.parkNanos(nextNs - nowNs);
            }
            else if (nowNs - nextNs > TimeUnit.MILLISECONDS.toNanos(100))
            {
                nextNs = nowNs; // blocked while the broker was down: resume the rate, no burst
            }
        }
    }

    private synchronized void onSettled(final int producer, final int seq, final boolean ok)
    {
        if (ok)
        {
            confirmedSeqs[producer].set(seq);
            confirmed++;
        }
        else
        {
            failedSeqs[producer].set(seq);
            failed++;
        }
    }

    private synchronized void onDelivery(final Message message)
    {
        deliveries++;
        final String key = message.key();
        if ("sentinel".equals(key))
        {
            sentinelDeliveries++;
            return;
        }
        final int dash = key.indexOf('-');
        final int producer = Integer.parseInt(key, 1, dash, 10);
        final int seq = Integer.parseInt(key, dash + 1, key.length(), 10);
        if (deliveredSeqs[producer].get(seq))
        {
            duplicates++;
        }
        else
        {
            deliveredSeqs[producer].set(seq);
            deliveredDistinct++;
        }
        final MessageId id = message.id();
        if (id.entry() >= 1L << 48)
        {
            throw new IllegalStateException("entry beyond 48 bits: " + id);
        }
        // entries are unique per partition across ledgers (ENGINE.md), so (partition, entry) names the message
        final long packed = ((long)id.partition() << 48) | id.entry();
        final long previousCount = lastDeliveryCount.put(packed, message.deliveryCount());
        if (-1 != previousCount)
        {
            redeliveries++;
            if (message.deliveryCount() <= previousCount)
            {
                countNotIncreasing++;
                log("redelivery of " + id + " (" + key + ") with deliveryCount " + message.deliveryCount() +
                    " after " + previousCount);
            }
        }
    }

    private synchronized long confirmed()
    {
        return confirmed;
    }

    private synchronized long settled()
    {
        return confirmed + failed;
    }

    private synchronized long deliveries()
    {
        return deliveries;
    }

    private synchronized long sentinelDeliveries()
    {
        return sentinelDeliveries;
    }

    private synchronized long deliveredDistinct()
    {
        return deliveredDistinct;
    }

    /**
     * @param examples where to put a few lost keys, or null.
     * @return confirmed keys not delivered (yet).
     */
    private synchronized long lost(final List<String> examples)
    {
        long lost = 0;
        for (int p = 0; p < PRODUCERS; p++)
        {
            final BitSet missing = (BitSet)confirmedSeqs[p].clone();
            missing.andNot(deliveredSeqs[p]);
            lost += missing.cardinality();
            if (null != examples)
            {
                for (int s = missing.nextSetBit(0); s >= 0 && examples.size() < EXAMPLES; s = missing.nextSetBit(s + 1))
                {
                    examples.add("p" + p + "-" + s);
                }
            }
        }
        return lost;
    }

    private synchronized long unconfirmedDelivered()
    {
        long count = 0;
        for (int p = 0; p < PRODUCERS; p++)
        {
            final BitSet extra = (BitSet)deliveredSeqs[p].clone();
            extra.andNot(confirmedSeqs[p]);
            count += extra.cardinality();
        }
        return count;
    }

    private static SubscriptionStats stats(final MagnetarClient client)
    {
        final TopicStats topic = client.admin().describeTopic(TOPIC);
        final SubscriptionStats stats = topic.subscription(SUBSCRIPTION);
        if (null == stats)
        {
            throw new AssertionError("subscription " + SUBSCRIPTION + " missing: " + topic);
        }
        return stats;
    }

    private static boolean idle(final MagnetarClient client)
    {
        final SubscriptionStats stats = stats(client);
        return 0 == stats.backlog() && 0 == stats.inFlight();
    }

    private static String loadAverage()
    {
        try
        {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        }
        catch (final Exception ex)
        {
            return "unknown";
        }
    }

    private static void awaitCondition(final BooleanSupplier condition, final Supplier<String> what)
        throws InterruptedException
    {
        if (!waitUntil(condition, STEP_TIMEOUT_MS))
        {
            throw new AssertionError("timed out after " + STEP_TIMEOUT_MS + " ms waiting for " + what.get());
        }
    }

    private static boolean waitUntil(final BooleanSupplier condition, final long timeoutMs) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    private static void log(final String line)
    {
        final String stamped = Instant.now() + " " + line;
        System.out.println(stamped);
        // surefire shows a test's output only once it ends: a long run can also follow this file as it goes
        final String logFile = System.getProperty("magnetar.crashloop.logFile");
        if (null != logFile && !logFile.isBlank())
        {
            try
            {
                Files.writeString(Path.of(logFile), stamped + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot write " + logFile, ex);
            }
        }
    }
}
