package io.magnetar.transport;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.magnetar.codecs.HeartbeatEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.CommandTypes;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import io.magnetar.transport.fixture.RawSession;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded fuzzing of the ingress channel (SPEC 3, issue 3 acceptance): after a proper Connect, one Aeron publication
 * sends at least 100,000 random, mutated and truncated frames, unknown template ids, wrong schema ids and versions,
 * internal and event templates, while a second, well-behaved session publishes, consumes and acknowledges on the
 * other channel. The broker must not fail, the good session must get every receipt and every message it published,
 * and the fuzzing session must get an error for each frame the transport rejects.
 * <p>
 * {@code -Dmagnetar.fuzz.seed=N} and {@code -Dmagnetar.fuzz.frames=N} reproduce or lengthen a run.
 */
@Timeout(120)
class IngressFuzzTest
{
    private static final long T = 20_000;
    private static final long SEED = Long.getLong("magnetar.fuzz.seed", 0x5EED_F00DL);
    private static final int FRAMES = Integer.getInteger("magnetar.fuzz.frames", 100_000);

    @Test
    void malformedFramesOverIpcNeverHurtAGoodSessionOverUdp()
    {
        run(false);
    }

    @Test
    void malformedFramesOverUdpNeverHurtAGoodSessionOverIpc()
    {
        run(true);
    }

    private void run(final boolean fuzzOverUdp)
    {
        final int frames = fuzzOverUdp ? Math.max(20_000, FRAMES / 5) : FRAMES;
        try (TransportHarness harness = new TransportHarness((ctx) -> {}))
        {
            final RawSession fuzz = fuzzOverUdp ? harness.udpSession("fuzzer") : harness.ipcSession("fuzzer");
            final RawSession good = fuzzOverUdp ? harness.ipcSession("good") : harness.udpSession("good");
            try
            {
                final long fuzzId = fuzz.connect(T);
                good.connect(T);

                final int fuzzTopicId = fuzz.createTopic("fz-topic", 2, T);
                final long fuzzConsumerId = fuzz.subscribe("fz-topic", "fz-sub", SubscriptionType.SHARED, 100, T)
                    .consumerId();
                final int goodTopicId = good.createTopic("good-orders", 4, T);
                final long goodConsumerId = good.subscribe("good-orders", "good-sub", SubscriptionType.SHARED, 1_000, T)
                    .consumerId();

                final AtomicBoolean fuzzing = new AtomicBoolean(true);
                final CompletableFuture<GoodResult> goodRun = CompletableFuture.supplyAsync(
                    () -> runGoodSession(good, goodTopicId, goodConsumerId, fuzzing));

                final Fuzzer fuzzer = new Fuzzer(new Random(SEED), fuzzId, fuzzTopicId, fuzzConsumerId,
                    harness.ctx.maxCommandLength());
                int expectedRejects = 0;
                for (int i = 0; i < frames; i++)
                {
                    final int length = fuzzer.next();
                    if (fuzzer.transportRejects(length))
                    {
                        expectedRejects++;
                    }
                    fuzz.send(fuzzer.frame, 0, length, T);
                    fuzz.poll();
                    assertFalse(goodRun.isDone() && goodRun.isCompletedExceptionally(), "good session failed");
                }
                fuzzing.set(false);

                final GoodResult result = goodRun.get(60, TimeUnit.SECONDS);
                final int rejects = expectedRejects;
                fuzz.await(() -> harness.counters.framesRejected.get() == rejects, T,
                    "transport rejects " + rejects + " (seed " + SEED + "), counted " +
                    harness.counters.framesRejected.get() + " " + harness.counters.snapshot() + " fuzz: " +
                    fuzz.sessionEvents(RawSession.SessionEnded.class) + " good: " +
                    good.sessionEvents(RawSession.SessionEnded.class));
                fuzz.await(() -> fuzz.recorder().errors().size() >= rejects, T, "fuzzer errors");

                assertTrue(harness.errors().isEmpty(), () -> "agent errors: " + harness.errors());
                assertFalse(harness.pipeline.isFailed(), "pipeline failed");
                assertFalse(harness.runner.isClosed(), "ingress agent stopped");
                assertTrue(harness.registry.isOpen(fuzzId), "the fuzzing session survives its own bad input");
                assertTrue(fuzz.sessionEvents(RawSession.SessionEnded.class).isEmpty());

                assertTrue(result.errors.isEmpty(), () -> "good session got errors: " + result.errors);
                assertTrue(good.sessionEvents(RawSession.SessionEnded.class).isEmpty());
                assertTrue(result.receipted.size() >= 1_000, "good messages confirmed: " + result.receipted.size());
                assertEquals(result.receipted, result.deliveredGood, "every confirmed good message was delivered");

                System.out.printf("fuzz seed=%x frames=%d transportRejects=%d fuzzErrors=%d goodMessages=%d %s%n",
                    SEED, frames, rejects, fuzz.recorder().errors().size(), result.receipted.size(),
                    harness.counters.snapshot());
            }
            catch (final Exception ex)
            {
                throw new AssertionError("seed " + Long.toHexString(SEED) + ": " + ex, ex);
            }
            finally
            {
                fuzz.close();
                good.close();
            }
        }
    }

    private record GoodResult(Set<String> receipted, Set<String> deliveredGood, List<Event.CommandError> errors)
    {
    }

    /**
     * Publishes batches of 10 messages keyed {@code good-N}, acknowledges whatever it receives, until the fuzzer is
     * done and at least 1,000 messages are confirmed; then waits for every confirmed one to be delivered.
     */
    private static GoodResult runGoodSession(
        final RawSession good, final int topicId, final long consumerId, final AtomicBoolean fuzzing)
    {
        final Set<String> receipted = new HashSet<>();
        final Set<String> deliveredGood = new HashSet<>();
        final List<Event.CommandError> errors = new ArrayList<>();
        final Map<Long, List<String>> pendingBatches = new java.util.HashMap<>();
        int nextKey = 0;
        int deliveriesSeen = 0;
        int receiptsSeen = 0;
        final long deadline = System.currentTimeMillis() + 90_000;

        while (fuzzing.get() || receipted.size() < 1_000 || !pendingBatches.isEmpty() ||
            !deliveredGood.containsAll(receipted))
        {
            if (System.currentTimeMillis() > deadline)
            {
                throw new IllegalStateException("good session stuck: receipted=" + receipted.size() +
                    " delivered=" + deliveredGood.size() + " pending=" + pendingBatches.size());
            }

            if ((fuzzing.get() || receipted.size() < 1_000) && pendingBatches.size() < 8)
            {
                final List<Msg> batch = new ArrayList<>();
                final List<String> keys = new ArrayList<>();
                for (int i = 0; i < 10; i++)
                {
                    final String key = "good-" + nextKey++;
                    keys.add(key);
                    batch.add(Msg.of(key, "n", Integer.toString(nextKey)));
                }
                pendingBatches.put(good.publishAsync(topicId, batch, T), keys);
            }

            good.poll();
            final List<Event.PublishReceipt> receipts = good.recorder().ofType(Event.PublishReceipt.class);
            for (; receiptsSeen < receipts.size(); receiptsSeen++)
            {
                final List<String> keys = pendingBatches.remove(receipts.get(receiptsSeen).correlationId());
                if (null != keys)
                {
                    receipted.addAll(keys);
                }
            }

            final List<Event.Delivery> deliveries = good.recorder().deliveries();
            if (deliveriesSeen < deliveries.size())
            {
                final List<MessageId> ids = new ArrayList<>();
                for (; deliveriesSeen < deliveries.size(); deliveriesSeen++)
                {
                    final Event.Delivery delivery = deliveries.get(deliveriesSeen);
                    ids.add(delivery.id());
                    if (delivery.key().startsWith("good-"))
                    {
                        deliveredGood.add(delivery.key());
                    }
                }
                good.sendCommand(good.commands().ack(good.nextCorrelationId(), consumerId, ids), T);
            }
            errors.addAll(good.recorder().errors());
            good.recorder().clear();
            deliveriesSeen = 0;
            receiptsSeen = 0;
            Thread.yield();
        }

        return new GoodResult(receipted, deliveredGood, errors);
    }

    /**
     * Generates frames from seeds (every client command, session and internal commands, events) by truncation, byte
     * flips, header field replacement, extension with garbage, or pure random bytes, and classifies each frame the
     * way the transport must: rejected by the transport, or passed to the engine.
     */
    static final class Fuzzer
    {
        final ExpandableArrayBuffer frame = new ExpandableArrayBuffer(4096);
        private final Random random;
        private final long sessionId;
        private final int maxCommandLength;
        private final List<byte[]> seeds = new ArrayList<>();

        Fuzzer(final Random random, final long sessionId, final int topicId, final long consumerId, final int maxCommandLength)
        {
            this.random = random;
            this.sessionId = sessionId;
            this.maxCommandLength = maxCommandLength;

            final CommandEncoder c = new CommandEncoder();
            final MessageId id = new MessageId(0, 1, 0);
            seeds.add(c.copy(c.publish(1, topicId, Msg.of("fz-k", "a", "b"), Msg.of("fz-k2"))));
            seeds.add(c.copy(c.publish(2, topicId, Msg.of("fz-k3", "attr", "x".repeat(40)))));
            seeds.add(c.copy(c.subscribe(3, "fz-topic", "fz-sub", SubscriptionType.SHARED, 10, "fz-c",
                SubscriptionOptions.DEFAULTS)));
            seeds.add(c.copy(c.flow(consumerId, 50)));
            seeds.add(c.copy(c.ack(4, consumerId, id, new MessageId(1, 1, 3))));
            seeds.add(c.copy(c.nack(5, consumerId, id)));
            seeds.add(c.copy(c.closeConsumer(6, consumerId + 1000)));
            seeds.add(c.copy(c.createTopic(7, "fz-new", 3)));
            seeds.add(c.copy(c.deleteTopic(8, "fz-gone")));
            seeds.add(c.copy(c.createSubscription(9, "fz-topic", "fz-s2", SubscriptionType.KEY_SHARED, 1000L, 10L, 3, 1)));
            seeds.add(c.copy(c.deleteSubscription(10, "fz-topic", "fz-s3")));
            seeds.add(c.copy(c.describeTopic(11, "fz-topic")));
            seeds.add(c.copy(c.listTopics(12)));
            seeds.add(c.copy(c.tick(1L)));
            seeds.add(c.copy(c.sessionClosed(sessionId)));
            seeds.add(c.copy(c.nodeStarted(9)));
            final ExpandableArrayBuffer b = new ExpandableArrayBuffer(64);
            final HeartbeatEncoder heartbeat = new HeartbeatEncoder()
                .wrapAndApplyHeader(b, 0, new MessageHeaderEncoder()).sessionId(sessionId);
            final byte[] heartbeatBytes = new byte[MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength()];
            b.getBytes(0, heartbeatBytes);
            seeds.add(heartbeatBytes);
        }

        /**
         * @return the length of the next frame, written to {@link #frame} at 0.
         */
        int next()
        {
            final int length;
            final byte[] seed = seeds.get(random.nextInt(seeds.size()));
            switch (random.nextInt(7))
            {
                case 0: // random bytes
                {
                    length = random.nextInt(200);
                    for (int i = 0; i < length; i++)
                    {
                        frame.putByte(i, (byte)random.nextInt());
                    }
                    break;
                }
                case 1: // truncated
                {
                    length = random.nextInt(seed.length);
                    frame.putBytes(0, seed, 0, length);
                    break;
                }
                case 2: // byte flips
                {
                    length = seed.length;
                    frame.putBytes(0, seed);
                    final int flips = 1 + random.nextInt(8);
                    for (int i = 0; i < flips; i++)
                    {
                        frame.putByte(random.nextInt(length), (byte)random.nextInt());
                    }
                    break;
                }
                case 3: // one header field replaced
                {
                    length = seed.length;
                    frame.putBytes(0, seed);
                    frame.putShort(2 * random.nextInt(4), (short)(random.nextBoolean() ?
                        random.nextInt(65536) : random.nextInt(128)), java.nio.ByteOrder.LITTLE_ENDIAN);
                    break;
                }
                case 4: // extended with garbage
                {
                    final int extra = 1 + random.nextInt(100);
                    length = seed.length + extra;
                    frame.putBytes(0, seed);
                    for (int i = seed.length; i < length; i++)
                    {
                        frame.putByte(i, (byte)random.nextInt());
                    }
                    break;
                }
                case 5: // a block length that lies
                {
                    length = seed.length;
                    frame.putBytes(0, seed);
                    frame.putShort(0, (short)random.nextInt(65536), java.nio.ByteOrder.LITTLE_ENDIAN);
                    break;
                }
                default: // intact seed
                {
                    length = seed.length;
                    frame.putBytes(0, seed);
                    break;
                }
            }

            // never a well-formed Connect or Disconnect for this session: those legitimately end the session
            if (length >= 8 && schemaId() == 1 && templateId() == 1)
            {
                frame.putShort(2, (short)0, java.nio.ByteOrder.LITTLE_ENDIAN);
            }
            if (length >= 16 && schemaId() == 1 && templateId() == 3 && frame.getLong(8) == sessionId)
            {
                frame.putLong(8, ~sessionId);
            }
            return length;
        }

        private int templateId()
        {
            return frame.getShort(2, java.nio.ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        }

        private int schemaId()
        {
            return frame.getShort(4, java.nio.ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        }

        /**
         * @return true if the transport must answer this frame itself with CommandError (not pass it to the engine,
         * not accept it as a heartbeat).
         */
        boolean transportRejects(final int length)
        {
            if (length < 8)
            {
                return true;
            }
            final int blockLength = frame.getShort(0, java.nio.ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final int templateId = templateId();
            final int version = frame.getShort(6, java.nio.ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            if (schemaId() != 1 || version > MessageHeaderEncoder.SCHEMA_VERSION)
            {
                return true;
            }
            if (CommandTypes.isClientCommand(templateId))
            {
                return length > maxCommandLength;
            }
            if (templateId == 2 || templateId == 3)
            {
                return blockLength < 8 || 8 + blockLength > length || frame.getLong(8) != sessionId;
            }
            return true;
        }
    }
}
