package io.magnetar.engine.pipeline;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.EventRecorder;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The strongest check of "journal before effect": a seeded random stream of valid commands (topics,
 * subscriptions of every type, consumers, flow, publish batches, acks, nacks, ticks with advancing time,
 * closes) runs through a live pipeline and {@link Engine}; the journal it leaves, replayed into a fresh
 * engine, must give the same {@link Engine#stateHash()}.
 * <p>
 * Reproduce a failure with {@code -Dmagnetar.test.seed=<seed>} (also runs that seed only).
 */
class ReplayEqualityTest
{
    private static final String[] KEYS = { "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9" };

    @TempDir
    File dir;

    static LongStream seeds()
    {
        final Long seed = Long.getLong("magnetar.test.seed");
        return null != seed ? LongStream.of(seed) : LongStream.of(1, 2, 3, 42, 20261128);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void replayedJournalReachesTheLiveState(final long seed)
    {
        try
        {
            run(seed);
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("ReplayEqualityTest failed for seed " + seed +
                " (rerun with -Dmagnetar.test.seed=" + seed + ")", ex);
        }
    }

    private void run(final long seed)
    {
        final ThreadingMode mode = seed % 2 == 0 ? ThreadingMode.SHARED : ThreadingMode.DEDICATED;
        final CachedEpochClock clock = new CachedEpochClock();
        clock.update(1_732_780_800_000L);
        final EngineConfig config = new EngineConfig().conclude();
        final MutableEventListener egress = new MutableEventListener();
        final Engine live = new Engine(config, egress);
        final EventRecorder recorder = new EventRecorder();
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();

        final Pipeline pipeline = new Pipeline(new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(mode)
            .ringSize(256)
            .epochClock(clock)
            .commandHandler(live)
            .egress(egress)
            .eventListener(recorder)
            .onFatal(fatal::add));
        final Generator generator;
        try
        {
            pipeline.start();
            generator = new Generator(new Random(seed), pipeline, clock, recorder);
            for (int burst = 0; burst < 150; burst++)
            {
                generator.burst();
                assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
            }
        }
        finally
        {
            CloseHelper.close(pipeline);
        }

        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        assertTrue(generator.deliveries > 0 && generator.acks > 0 && generator.ticks() > 0,
            () -> "the stream exercised delivery, acks and ticks: " + generator);

        final long liveHash = live.stateHash();
        final Engine replayed = new Engine(new EngineConfig().conclude(), io.magnetar.engine.EventListener.MUTED);
        final ReplayResult result;
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            result = journal.replay((sessionId, timestampMs, buffer, offset, length, index) ->
                replayed.onCommand(sessionId, timestampMs, buffer, offset, length));
        }

        System.out.println("seed " + seed + " " + mode + ": " + generator + ", journal entries " + result.entries());
        assertTrue(result.isComplete(), result::toString);
        assertEquals(generator.journaled(), result.entries(), "every non-query command journaled once");
        assertEquals(liveHash, replayed.stateHash(), () -> "state hash after replay, seed " + seed + ", " + generator);
        assertEquals(live.nextDeadlineMs(), replayed.nextDeadlineMs());
        assertEquals(live.liveMessages(), replayed.liveMessages());
    }

    /**
     * Issues random but mostly valid commands, learning topic ids, consumer ids and delivered message ids from
     * the engine's events between bursts (when the pipeline is idle).
     */
    static final class Generator
    {
        private final Random random;
        private final Pipeline pipeline;
        private final Sequencer sequencer;
        private final CachedEpochClock clock;
        private final EventRecorder recorder;
        private final CommandEncoder encoder = new CommandEncoder();
        private final Map<String, Integer> topicIds = new LinkedHashMap<>();
        private final List<String> topics = new ArrayList<>();
        private final List<String[]> subscriptions = new ArrayList<>();
        private final List<Long> consumers = new ArrayList<>();
        private final Map<Long, Long> consumerSessions = new HashMap<>();
        private final Map<Long, List<MessageId>> delivered = new HashMap<>();
        private long correlationId;
        private long offered;
        private long queries;
        private long deliveries;
        private long acks;

        Generator(
            final Random random, final Pipeline pipeline, final CachedEpochClock clock, final EventRecorder recorder)
        {
            this.random = random;
            this.pipeline = pipeline;
            this.sequencer = pipeline.sequencer();
            this.clock = clock;
            this.recorder = recorder;
        }

        void burst()
        {
            final int commands = 1 + random.nextInt(12);
            for (int i = 0; i < commands; i++)
            {
                command();
                if (random.nextInt(4) == 0)
                {
                    clock.advance(random.nextInt(400));
                }
                sequencer.doWork();
            }
            awaitIdle();
            learn();
        }

        long journaled()
        {
            // + the NodeStarted of the start, + any TakeSnapshot marker (a snapshot on close journals nothing)
            return offered - queries + sequencer.ticks() + sequencer.snapshotMarkers() + 1;
        }

        long ticks()
        {
            return sequencer.ticks();
        }

        private void command()
        {
            final int dice = random.nextInt(100);
            if (topics.isEmpty() || (dice < 4 && topics.size() < 4))
            {
                final String topic = "topic-" + topics.size();
                topics.add(topic);
                offer(1, encoder.createTopic(++correlationId, topic, 1 + random.nextInt(4)));
                query(encoder.listTopics(++correlationId));
            }
            else if (subscriptions.isEmpty() || dice < 8)
            {
                final String topic = pick(topics);
                final SubscriptionType type = SubscriptionType.get((short)random.nextInt(3));
                final String subscription = "sub-" + type.name().toLowerCase() + "-" + random.nextInt(2);
                subscriptions.add(new String[]{ topic, subscription, type.name() });
                offer(1, encoder.createSubscription(++correlationId, topic, subscription, type, options(type)));
            }
            else if (consumers.size() < 2 && dice < 30 || dice < 14)
            {
                final String[] subscription = pick(subscriptions);
                final long session = 1 + random.nextInt(4);
                offer(session, encoder.subscribe(
                    ++correlationId,
                    subscription[0],
                    subscription[1],
                    SubscriptionType.valueOf(subscription[2]),
                    1 + random.nextInt(20),
                    "consumer-" + correlationId));
            }
            else if (dice < 45)
            {
                final Integer topicId = topicIds.get(pick(topics));
                final int count = 1 + random.nextInt(8);
                final List<Msg> messages = new ArrayList<>(count);
                for (int i = 0; i < count; i++)
                {
                    messages.add(random.nextBoolean() ?
                        Msg.of(pick(KEYS)) : Msg.of(pick(KEYS), "ref", "s3://bucket/" + random.nextInt(1000)));
                }
                final int id = null == topicId ? 999 : topicId;
                offer(1 + random.nextInt(4), encoder.publish(++correlationId, id, messages));
            }
            else if (dice < 70)
            {
                ackOrNack(true);
            }
            else if (dice < 78)
            {
                ackOrNack(false);
            }
            else if (dice < 86)
            {
                final long consumerId = pickConsumer();
                offer(sessionOf(consumerId), encoder.flow(consumerId, 1 + random.nextInt(50)));
            }
            else if (dice < 89)
            {
                final long consumerId = pickConsumer();
                offer(sessionOf(consumerId), encoder.closeConsumer(++correlationId, consumerId));
                consumers.remove(Long.valueOf(consumerId));
            }
            else if (dice < 90)
            {
                final long session = 1 + random.nextInt(4);
                awaitOffer(() -> sequencer.offerSessionClosed(session));
                offered++;
                consumers.removeIf((id) -> consumerSessions.get(id) == session);
            }
            else if (dice < 95)
            {
                query(random.nextBoolean() ?
                    encoder.describeTopic(++correlationId, pick(topics)) : encoder.listTopics(++correlationId));
            }
            else
            {
                clock.advance(500 + random.nextInt(3000));
            }
        }

        private void ackOrNack(final boolean ack)
        {
            final long consumerId = pickConsumer();
            final List<MessageId> ids = delivered.computeIfAbsent(consumerId, (id) -> new ArrayList<>());
            final List<MessageId> chosen = new ArrayList<>();
            final int count = ids.isEmpty() ? 1 : 1 + random.nextInt(Math.min(5, ids.size()));
            for (int i = 0; i < count; i++)
            {
                chosen.add(ids.isEmpty() || random.nextInt(10) == 0 ?
                    new MessageId(random.nextInt(4), 1, random.nextInt(50)) : pick(ids));
            }
            final long session = sessionOf(consumerId);
            if (ack)
            {
                acks++;
                ids.removeAll(chosen);
                offer(session, encoder.ack(++correlationId, consumerId, chosen));
            }
            else
            {
                offer(session, encoder.nack(++correlationId, consumerId, chosen));
            }
        }

        private SubscriptionOptions options(final SubscriptionType type)
        {
            return new SubscriptionOptions(
                random.nextBoolean() ? null : (long)(random.nextInt(3) * 1000),
                random.nextBoolean() ? null : (long)(random.nextInt(3) * 300),
                random.nextInt(3) == 0 ? 3 : null,
                type == SubscriptionType.KEY_SHARED && random.nextBoolean() ? 1 + random.nextInt(2) : null);
        }

        private void query(final int length)
        {
            queries++;
            offer(1, length);
        }

        private void offer(final long sessionId, final int length)
        {
            awaitOffer(() -> sequencer.offer(sessionId, encoder.buffer(), 0, length));
            offered++;
        }

        private void awaitOffer(final java.util.function.BooleanSupplier offer)
        {
            Await.until(offer, "offer accepted");
        }

        private void awaitIdle()
        {
            while (true)
            {
                Await.until(() -> pipeline.isFailed() || pipeline.appliedSequence() == pipeline.publishedSequence(),
                    "pipeline idle");
                if (pipeline.isFailed() || sequencer.doWork() == 0)
                {
                    return;
                }
            }
        }

        private void learn()
        {
            for (final Event event : recorder.drain().all())
            {
                if (event instanceof Event.TopicList list)
                {
                    for (final Event.TopicInfo info : list.topics())
                    {
                        topicIds.put(info.name(), info.topicId());
                    }
                }
                else if (event instanceof Event.ConsumerAttached attached)
                {
                    consumers.add(attached.consumerId());
                    consumerSessions.put(attached.consumerId(), attached.sessionId());
                }
                else if (event instanceof Event.Delivery delivery)
                {
                    deliveries++;
                    delivered.computeIfAbsent(delivery.consumerId(), (id) -> new ArrayList<>()).add(delivery.id());
                }
                else if (event instanceof Event.ConsumerClosed closed)
                {
                    consumers.remove(Long.valueOf(closed.consumerId()));
                }
            }
        }

        private long pickConsumer()
        {
            // with no consumer attached, an unknown id: its commands are answered with errors, which is fine
            return consumers.isEmpty() ? 999_999L : pick(consumers);
        }

        private long sessionOf(final long consumerId)
        {
            return consumerSessions.getOrDefault(consumerId, 1L);
        }

        private <T> T pick(final List<T> list)
        {
            return list.get(random.nextInt(list.size()));
        }

        private <T> T pick(final T[] array)
        {
            return array[random.nextInt(array.length)];
        }

        public String toString()
        {
            return "Generator{offered=" + offered + ", queries=" + queries + ", ticks=" + sequencer.ticks() +
                ", deliveries=" + deliveries + ", acks=" + acks + ", topics=" + topicIds +
                ", consumers=" + consumers.size() + ", t=" + clock.time() + "}";
        }
    }
}
