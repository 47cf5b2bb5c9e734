package io.magnetar.engine.pipeline;

import io.magnetar.codecs.AckReceiptDecoder;
import io.magnetar.codecs.CommandErrorDecoder;
import io.magnetar.codecs.ConsumerAttachedDecoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.journal.Durability;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.File;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5, "scattered acks" (the ack-hole failure of Apache Pulsar, whose cursor persists only a bounded number of
 * individually-acked ranges, so after a restart acked messages in the holes come back): through the real pipeline
 * and its Chronicle journal, publish 2,000,000 messages on 4 partitions to one shared subscription, and ack a seeded
 * random 99% of them in random batches (1..1,000 ids) picked at random from everything delivered and not yet acked,
 * so the acks arrive in scattered order, never as a contiguous range. The 1% (20,000) stay outstanding. Stop, start a
 * fresh pipeline on the same directory and attach a new consumer: it receives exactly those 20,000 (same id, key and
 * attribute), each with {@code deliveryCount} 2 (SPEC 2.8: it continues from the journaled value, docs/ENGINE.md),
 * and not one acked message. Acking them and restarting once more leaves nothing live.
 * <p>
 * Two ways of recovering: {@link Recovery#SNAPSHOT_PLUS_TAIL} snapshots every 2 MiB of journal while running (so
 * journal cycles are deleted and a full replay is impossible) and stops without a snapshot on close, so the restart
 * loads the latest snapshot and replays the tail after it; {@link Recovery#JOURNAL_ONLY} has snapshots off and
 * replays the whole journal (about 4 million entries' worth of publishes and acks). {@code -Dmagnetar.test.seed=N}
 * picks another random choice; {@code -Dmagnetar.scattered.messages=N} another count (a multiple of 100,000).
 */
class ScatteredAckRecoveryTest
{
    private static final int PARTITIONS = 4;
    private static final int PUBLISH_BATCH = 1000;
    private static final int ROUND = 20 * PUBLISH_BATCH;
    /** Delivered-and-unacked ids kept back between rounds, so acks mix messages of several rounds. */
    private static final int ACK_LAG = 15_000;
    private static final int PERMITS = 100_000;
    private static final long PUBLISHER_SESSION = 1;
    private static final long CONSUMER_SESSION = 2;

    enum Recovery
    {
        SNAPSHOT_PLUS_TAIL, JOURNAL_ONLY
    }

    @TempDir
    File dir;

    private final CachedEpochClock clock = new CachedEpochClock();
    private final CommandEncoder encoder = new CommandEncoder();
    private final List<Throwable> fatal = new CopyOnWriteArrayList<>();
    private long correlationId;

    @ParameterizedTest
    @EnumSource(Recovery.class)
    void exactlyTheUnackedOnePercentIsRedeliveredAfterARestart(final Recovery recovery)
    {
        final long seed = Long.getLong("magnetar.test.seed", 20261128L);
        final int messages = Integer.getInteger("magnetar.scattered.messages", 2_000_000);
        assertEquals(0, messages % ROUND, "message count must be a multiple of " + ROUND);
        final int unackedCount = messages / 100;
        clock.update(1_732_780_800_000L);
        final Random random = new Random(seed);

        // the seeded 1%: publish indexes that are never acked
        final BitSet unackedIndexes = new BitSet(messages);
        while (unackedIndexes.cardinality() < unackedCount)
        {
            unackedIndexes.set(random.nextInt(messages));
        }

        // --- first life: publish everything, ack the 99% in scattered order
        final Tracker first = new Tracker(unackedIndexes);
        final MutableEventListener egress = new MutableEventListener();
        final Engine engine = new Engine(new EngineConfig().conclude(), egress);
        final Pipeline pipeline = new Pipeline(context(recovery, engine, egress, first)
            .threadingMode(recovery == Recovery.SNAPSHOT_PLUS_TAIL ? ThreadingMode.DEDICATED : ThreadingMode.SHARED));
        final long startNs = System.nanoTime();
        try
        {
            pipeline.start();
            offer(pipeline, PUBLISHER_SESSION, encoder.createTopic(++correlationId, "orders", PARTITIONS));
            offer(pipeline, CONSUMER_SESSION, encoder.subscribe(
                ++correlationId, "orders", "workers", SubscriptionType.SHARED, PERMITS, "first-life"));
            awaitIdle(pipeline);
            final long consumerId = first.consumerId();
            final int topicId = first.topicId();

            final List<Msg> batch = new ArrayList<>(PUBLISH_BATCH);
            final LongArrayList toAck = new LongArrayList();
            int published = 0;
            while (published < messages)
            {
                for (int b = 0; b < ROUND / PUBLISH_BATCH; b++)
                {
                    batch.clear();
                    for (int i = 0; i < PUBLISH_BATCH; i++)
                    {
                        batch.add(message(published++));
                    }
                    offer(pipeline, PUBLISHER_SESSION, encoder.publish(++correlationId, topicId, batch));
                }
                awaitIdle(pipeline);
                first.drainDeliveredTo(toAck);
                ackScattered(pipeline, consumerId, toAck, published < messages ? ACK_LAG : 0, random);
            }
            awaitIdle(pipeline);

            assertEquals(0, first.anomalies(), first::describeAnomalies);
            assertEquals(messages, first.receipted(), "every message receipted");
            assertEquals(messages, first.firstDeliveries(), "every message delivered once, deliveryCount 1");
            assertEquals(unackedCount, first.heldBack(), "the 1% delivered and held back");
            assertEquals(messages - unackedCount, first.ackedDone(), "every ack of the 99% completed a message");
            assertEquals(0, first.ackedUnknown(), "no ack was of an unknown or completed id");
            assertEquals(unackedCount, engine.liveMessages(), "only the 1% is live");
            if (recovery == Recovery.SNAPSHOT_PLUS_TAIL)
            {
                assertTrue(pipeline.snapshotCount() >= 3, "snapshots while running: " + pipeline.snapshotCount());
                assertTrue(pipeline.journal().deletedCycleCount() > 0, "journal cycles deleted while running");
            }
        }
        finally
        {
            CloseHelper.close(pipeline);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        assertEquals(0, pipeline.snapshotFailures());
        final double firstLifeS = (System.nanoTime() - startNs) / 1e9;

        // --- second life: exactly the 1% comes back, each with deliveryCount 2
        final Tracker second = new Tracker(unackedIndexes);
        final MutableEventListener egress2 = new MutableEventListener();
        final Engine restarted = new Engine(new EngineConfig().conclude(), egress2);
        final Pipeline pipeline2 = new Pipeline(context(recovery, restarted, egress2, second));
        final long restartNs = System.nanoTime();
        final double recoveryMs;
        try
        {
            pipeline2.start();
            recoveryMs = (System.nanoTime() - restartNs) / 1e6;
            awaitIdle(pipeline2);
            if (recovery == Recovery.SNAPSHOT_PLUS_TAIL)
            {
                assertNotNull(pipeline2.recoveredSnapshot(), "recovered from a snapshot");
                assertTrue(pipeline2.replayResult().entries() > 0, "and a journal tail after it");
            }
            else
            {
                assertNull(pipeline2.recoveredSnapshot(), "no snapshot: the whole journal replayed");
                assertTrue(pipeline2.replayResult().entries() > 2L * messages / PUBLISH_BATCH,
                    "every publish and ack replayed: " + pipeline2.replayResult());
            }
            assertEquals(unackedCount, restarted.liveMessages(), "the 1% is live after recovery");

            offer(pipeline2, CONSUMER_SESSION, encoder.subscribe(
                ++correlationId, "orders", "workers", SubscriptionType.SHARED, PERMITS, "second-life"));
            Await.until(() -> second.redeliveredCount() >= unackedCount || second.anomalies() > 0,
                () -> "redeliveries: " + second.redeliveredCount() + " of " + unackedCount);
            assertEquals(0, second.anomalies(), second::describeAnomalies);
            awaitIdle(pipeline2);

            assertEquals(0, second.anomalies(), second::describeAnomalies);
            assertEquals(unackedCount, second.redeliveredCount(), "exactly the 1% redelivered, nothing else");
            final Long2LongHashMap redelivered = second.redelivered();
            assertEquals(first.heldBackIds(), redelivered.keySet(), "the redelivered ids are exactly the unacked ones");
            redelivered.forEach((id, deliveryCount) ->
                assertEquals(2, deliveryCount, () -> "deliveryCount of " + unpack(id)));
            assertEquals(0, second.wrongContent(), "redelivered with the key and attribute it was published with");

            // ack the 1% too (scattered as well): nothing stays live, and that survives another restart
            final LongArrayList rest = new LongArrayList();
            redelivered.keySet().forEach(rest::addLong);
            ackScattered(pipeline2, second.consumerId(), rest, 0, random);
            awaitIdle(pipeline2);
            assertEquals(0, second.anomalies(), second::describeAnomalies);
            assertEquals(unackedCount, second.ackedDone(), "the redelivered 1% acked");
            assertEquals(0, restarted.liveMessages());
        }
        finally
        {
            CloseHelper.close(pipeline2);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);

        final Engine third = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final MutableEventListener egress3 = new MutableEventListener();
        final Pipeline pipeline3 = new Pipeline(context(recovery, third, egress3, EventListener.MUTED));
        try
        {
            pipeline3.start();
            awaitIdle(pipeline3);
            assertEquals(0, third.liveMessages(), "acks after the restart are durable too");
        }
        finally
        {
            CloseHelper.close(pipeline3);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        System.out.printf("%s: %,d messages, %,d unacked; first life %.1f s (%d snapshots), restart %.0f ms%n",
            recovery, messages, unackedCount, firstLifeS, pipeline.snapshotCount(), recoveryMs);
    }

    /**
     * Acks random batches of ids picked at random from {@code delivered} (swap-remove) until at most {@code keep}
     * are left.
     */
    private void ackScattered(
        final Pipeline pipeline, final long consumerId, final LongArrayList delivered, final int keep, final Random random)
    {
        final List<MessageId> ids = new ArrayList<>(PUBLISH_BATCH);
        while (delivered.size() > keep)
        {
            final int count = Math.min(delivered.size() - keep, 1 + random.nextInt(PUBLISH_BATCH));
            ids.clear();
            for (int i = 0; i < count; i++)
            {
                ids.add(unpack(delivered.fastUnorderedRemove(random.nextInt(delivered.size()))));
            }
            offer(pipeline, CONSUMER_SESSION, encoder.ack(++correlationId, consumerId, ids));
        }
    }

    private static Msg message(final int index)
    {
        return Msg.of(keyOf(index), "ref", attributeOf(index));
    }

    private static String keyOf(final int index)
    {
        return "customer-" + (index % 997);
    }

    private static String attributeOf(final int index)
    {
        return "s3://bucket/object-" + index;
    }

    private PipelineContext context(
        final Recovery recovery, final Engine engine, final MutableEventListener egress, final EventListener events)
    {
        final boolean snapshots = recovery == Recovery.SNAPSHOT_PLUS_TAIL;
        return new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .ringSize(256)
            .epochClock(clock)
            .snapshotEnabled(snapshots)
            .snapshotIntervalEntries(0)
            .snapshotIntervalBytes(snapshots ? 2 * 1024 * 1024 : 0)
            .snapshotIntervalMs(0)
            .snapshotOnClose(false)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(events)
            .onFatal(fatal::add);
    }

    private void offer(final Pipeline pipeline, final long sessionId, final int length)
    {
        final Sequencer sequencer = pipeline.sequencer();
        final long deadline = System.nanoTime() + Await.TIMEOUT_MS * 1_000_000L;
        while (!sequencer.offer(sessionId, encoder.buffer(), 0, length))
        {
            if (pipeline.isFailed())
            {
                throw new AssertionError("pipeline failed", pipeline.failure());
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("offer not accepted within " + Await.TIMEOUT_MS + " ms");
            }
            sequencer.doWork();
            Thread.onSpinWait();
        }
        sequencer.doWork();
    }

    private static void awaitIdle(final Pipeline pipeline)
    {
        while (true)
        {
            Await.until(() -> pipeline.isFailed() || pipeline.appliedSequence() == pipeline.publishedSequence(),
                "pipeline idle");
            if (pipeline.isFailed())
            {
                throw new AssertionError("pipeline failed", pipeline.failure());
            }
            if (pipeline.sequencer().doWork() == 0)
            {
                return;
            }
        }
    }

    // ids as one long: partition (8 bits) | ledger (16 bits) | entry (40 bits)
    static long pack(final int partition, final long ledger, final long entry)
    {
        if (partition < 0 || partition > 0xFF || ledger < 0 || ledger > 0xFFFF || entry < 0 || entry >= 1L << 40)
        {
            throw new AssertionError("id out of the packed range: " + partition + ":" + ledger + ":" + entry);
        }
        return (long)partition << 56 | ledger << 40 | entry;
    }

    static MessageId unpack(final long packed)
    {
        return new MessageId((int)(packed >>> 56), (packed >>> 40) & 0xFFFF, packed & ((1L << 40) - 1));
    }

    /**
     * Events of one life, decoded on the engine thread without allocation per message (the test thread reads
     * them under the same lock): receipts number the published messages in order, first deliveries go to the
     * ack pool or, for the chosen 1%, are held back; redeliveries (deliveryCount &gt; 1) are recorded with their
     * count and checked against the content published at that index.
     */
    private static final class Tracker implements EventListener
    {
        private final MessageHeaderDecoder header = new MessageHeaderDecoder();
        private final PublishReceiptDecoder receipt = new PublishReceiptDecoder();
        private final DeliveriesDecoder deliveries = new DeliveriesDecoder();
        private final ConsumerAttachedDecoder attached = new ConsumerAttachedDecoder();
        private final AckReceiptDecoder ackReceipt = new AckReceiptDecoder();
        private final CommandErrorDecoder error = new CommandErrorDecoder();
        private final BitSet unackedIndexes;
        /** id -> publish index, of every message receipted in this life. */
        private final Long2LongHashMap indexOf = new Long2LongHashMap(-1);
        private final Long2LongHashMap heldBack = new Long2LongHashMap(-1);
        private final Long2LongHashMap redelivered = new Long2LongHashMap(-1);
        private final LongArrayList delivered = new LongArrayList();
        private final List<String> anomalies = new ArrayList<>();
        private long anomalyCount;
        private long consumerId = -1;
        private int topicId = -1;
        private long receipted;
        private long firstDeliveries;
        private long ackedDone;
        private long ackedUnknown;
        private long wrongContent;

        Tracker(final BitSet unackedIndexes)
        {
            this.unackedIndexes = unackedIndexes;
        }

        public synchronized void onEvent(
            final long sessionId, final DirectBuffer buffer, final int offset, final int length)
        {
            header.wrap(buffer, offset);
            final int body = offset + MessageHeaderDecoder.ENCODED_LENGTH;
            switch (header.templateId())
            {
                case PublishReceiptDecoder.TEMPLATE_ID ->
                {
                    receipt.wrap(buffer, body, header.blockLength(), header.version());
                    receipt.correlationId();
                    receipt.topicId();
                    for (final PublishReceiptDecoder.IdsDecoder id : receipt.ids())
                    {
                        indexOf.put(pack(id.partition(), id.ledger(), id.entry()), receipted++);
                    }
                }
                case DeliveriesDecoder.TEMPLATE_ID ->
                {
                    deliveries.wrap(buffer, body, header.blockLength(), header.version());
                    if (deliveries.consumerId() != consumerId)
                    {
                        anomaly("delivery to consumer " + deliveries.consumerId() + ", not " + consumerId);
                    }
                    for (final DeliveriesDecoder.MessagesDecoder m : deliveries.messages())
                    {
                        onDelivery(m);
                    }
                }
                case ConsumerAttachedDecoder.TEMPLATE_ID ->
                {
                    attached.wrap(buffer, body, header.blockLength(), header.version());
                    attached.correlationId();
                    consumerId = attached.consumerId();
                    topicId = attached.topicId();
                }
                case AckReceiptDecoder.TEMPLATE_ID ->
                {
                    ackReceipt.wrap(buffer, body, header.blockLength(), header.version());
                    ackReceipt.correlationId();
                    ackReceipt.consumerId();
                    ackedDone += ackReceipt.done();
                    ackedUnknown += ackReceipt.unknown();
                }
                case CommandErrorDecoder.TEMPLATE_ID ->
                {
                    error.wrap(buffer, body, header.blockLength(), header.version());
                    anomaly("CommandError to session " + sessionId + ": " + error.correlationId() + " " + error.code());
                }
                default ->
                {
                    // AdminResult, NodeStarted answers and the like: not what this test counts
                }
            }
        }

        private void onDelivery(final DeliveriesDecoder.MessagesDecoder m)
        {
            final long id = pack(m.partition(), m.ledger(), m.entry());
            m.publishTimeMs();
            final int deliveryCount = m.deliveryCount();
            String attribute = null;
            for (final DeliveriesDecoder.MessagesDecoder.AttributesDecoder a : m.attributes())
            {
                if (deliveryCount > 1)
                {
                    a.name();
                    attribute = a.value();
                }
                else
                {
                    a.skipName();
                    a.skipValue();
                }
            }
            if (deliveryCount == 1)
            {
                m.skipKey();
                firstDeliveries++;
                final long index = indexOf.get(id);
                if (index < 0)
                {
                    anomaly("deliveryCount 1 for an id not published in this life (a redelivery counts on): " + unpack(id));
                }
                else if (unackedIndexes.get((int)index))
                {
                    if (heldBack.put(id, index) != -1)
                    {
                        anomaly("delivered twice: " + unpack(id));
                    }
                }
                else
                {
                    delivered.addLong(id);
                }
            }
            else
            {
                final String key = m.key();
                if (redelivered.put(id, deliveryCount) != -1)
                {
                    anomaly("redelivered twice: " + unpack(id));
                }
                // an id is (partition, ledger, entry): the publish index is recovered from the attribute
                final int index = null == attribute ? -1 :
                    Integer.parseInt(attribute.substring(attribute.lastIndexOf('-') + 1));
                if (index < 0 || !unackedIndexes.get(index) || !keyOf(index).equals(key) ||
                    !attributeOf(index).equals(attribute))
                {
                    wrongContent++;
                }
            }
        }

        private void anomaly(final String what)
        {
            if (anomalyCount++ < 10)
            {
                anomalies.add(what);
            }
        }

        synchronized void drainDeliveredTo(final LongArrayList target)
        {
            for (int i = 0; i < delivered.size(); i++)
            {
                target.addLong(delivered.getLong(i));
            }
            delivered.clear();
        }

        synchronized long consumerId()
        {
            assertTrue(consumerId >= 0, "ConsumerAttached seen");
            return consumerId;
        }

        synchronized int topicId()
        {
            return topicId;
        }

        synchronized long receipted()
        {
            return receipted;
        }

        synchronized long firstDeliveries()
        {
            return firstDeliveries;
        }

        synchronized long heldBack()
        {
            return heldBack.size();
        }

        synchronized java.util.Set<Long> heldBackIds()
        {
            return new java.util.HashSet<>(heldBack.keySet());
        }

        synchronized long redeliveredCount()
        {
            return redelivered.size();
        }

        synchronized Long2LongHashMap redelivered()
        {
            final Long2LongHashMap copy = new Long2LongHashMap(-1);
            copy.putAll(redelivered);
            return copy;
        }

        synchronized long ackedDone()
        {
            return ackedDone;
        }

        synchronized long ackedUnknown()
        {
            return ackedUnknown;
        }

        synchronized long wrongContent()
        {
            return wrongContent;
        }

        synchronized long anomalies()
        {
            return anomalyCount;
        }

        synchronized String describeAnomalies()
        {
            return anomalyCount + " anomalies, first: " + anomalies;
        }
    }
}
