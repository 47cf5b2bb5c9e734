package io.magnetar.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.LongStream;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshot/restore equality on the seeded command streams of {@link RandomizedEngineTest} (every subscription type,
 * nacks, timeouts, dead letters, detaches, restarts, topic and subscription deletion, backlog limits): the stream is
 * replayed into an engine A; at random points A is snapshotted and the records loaded into a fresh engine B. Then B
 * must have A's {@link Engine#stateHash()}, and from there on B must answer every command with exactly A's events
 * (compared command by command, queries included — but for TopicDescription's traffic counters, which count one
 * engine instance's run and are not snapshotted) and end in A's state. Each restored engine is snapshotted again
 * and restored once more (a snapshot of a restored engine is as good as the original's).
 * <p>
 * {@code -Dmagnetar.seed=N} runs one seed; {@code magnetar.snapshot.seeds} (default 12) and
 * {@code magnetar.snapshot.steps} (default 1500) size the run.
 */
class SnapshotEqualityTest
{
    static LongStream seeds()
    {
        final String single = System.getProperty("magnetar.seed");
        if (null != single)
        {
            return LongStream.of(Long.parseLong(single));
        }
        return LongStream.rangeClosed(1, Integer.getInteger("magnetar.snapshot.seeds", 12));
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void restoredEngineBehavesAsTheOriginal(final long seed)
    {
        final RandomRun run = new RandomRun(seed, Integer.getInteger("magnetar.snapshot.steps", 1500), false);
        assertNull(run.execute(), "the random run itself must pass");
        final int frames = run.frameLog.size();
        final SplittableRandom random = new SplittableRandom(seed * 7919 + 1);
        final TreeSet<Integer> points = new TreeSet<>();
        points.add(0);
        points.add(frames - 1);
        while (points.size() < 8)
        {
            points.add(random.nextInt(frames));
        }

        final Stepper stepper = new Stepper(seed, run.config, points);
        run.frameLog.replay(stepper, true);
        stepper.finish();
        assertEquals(run.engine.stateHash(), stepper.original.stateHash(), "replaying the run reproduces it");
        System.out.println("seed " + seed + ": " + frames + " commands, snapshots at " + points + ", records " +
            stepper.recordCounts + ", live messages " + stepper.liveAtPoints);
    }

    /**
     * Applies each command to the original and to every engine restored so far, comparing their events per command.
     */
    private static final class Stepper implements CommandHandler
    {
        final long seed;
        final EngineConfig config;
        final TreeSet<Integer> points;
        final FrameHasher originalEvents = new FrameHasher();
        final Engine original;
        final List<Engine> restored = new ArrayList<>();
        final List<FrameHasher> restoredEvents = new ArrayList<>();
        final List<Integer> recordCounts = new ArrayList<>();
        final List<Long> liveAtPoints = new ArrayList<>();
        int frame;

        Stepper(final long seed, final EngineConfig config, final TreeSet<Integer> points)
        {
            this.seed = seed;
            this.config = config;
            this.points = points;
            this.original = new Engine(config, originalEvents);
        }

        public void onCommand(
            final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
        {
            originalEvents.begin();
            original.onCommand(sessionId, timestampMs, buffer, offset, length);
            final long expected = originalEvents.end();
            for (int i = 0; i < restored.size(); i++)
            {
                final FrameHasher events = restoredEvents.get(i);
                events.begin();
                restored.get(i).onCommand(sessionId, timestampMs, buffer, offset, length);
                final long actual = events.end();
                if (actual != expected)
                {
                    throw new AssertionError("seed " + seed + ": engine restored at command " + points.toArray()[i] +
                        " answers command " + frame + " with other events (" + events.lastFrames + " frames vs " +
                        originalEvents.lastFrames + ")");
                }
            }
            if (frame % 101 == 0)
            {
                checkStates();
            }
            if (points.contains(frame))
            {
                snapshotAndRestore(timestampMs);
            }
            frame++;
        }

        public long nextDeadlineMs()
        {
            return original.nextDeadlineMs();
        }

        void snapshotAndRestore(final long timestampMs)
        {
            final List<byte[]> records = snapshot(original, frame, timestampMs);
            final FrameHasher events = new FrameHasher();
            final Engine copy = new Engine(config, events);
            copy.loadSnapshot(sink -> replay(records, sink));
            assertEquals(original.stateHash(), copy.stateHash(), () -> "seed " + seed + ": stateHash after restore at " + frame);
            assertEquals(original.nextDeadlineMs(), copy.nextDeadlineMs());
            assertEquals(original.liveMessages(), copy.liveMessages());
            assertEquals(original.liveBytes(), copy.liveBytes());
            assertEquals(original.nowMs(), copy.nowMs());

            final List<byte[]> again = snapshot(copy, frame, timestampMs);
            assertEquals(records.size(), again.size(), "a restored engine writes as many records");
            final Engine copyOfCopy = new Engine(config, EventListener.MUTED);
            copyOfCopy.loadSnapshot(sink -> replay(again, sink));
            assertEquals(original.stateHash(), copyOfCopy.stateHash(), "snapshot of a restored engine");

            restored.add(copy);
            restoredEvents.add(events);
            recordCounts.add(records.size());
            liveAtPoints.add(original.liveMessages());
        }

        void checkStates()
        {
            final long hash = original.stateHash();
            for (int i = 0; i < restored.size(); i++)
            {
                final int index = i;
                assertEquals(hash, restored.get(i).stateHash(),
                    () -> "seed " + seed + ": engine restored at " + points.toArray()[index] + " differs at " + frame);
            }
        }

        void finish()
        {
            checkStates();
            assertTrue(restored.size() == points.size(), "every point was snapshotted");
        }
    }

    static List<byte[]> snapshot(final Engine engine, final long journalIndex, final long timestampMs)
    {
        final List<byte[]> records = new ArrayList<>();
        engine.takeSnapshot(journalIndex, timestampMs, (buffer, offset, length) ->
        {
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            records.add(copy);
        });
        return records;
    }

    static void replay(final List<byte[]> records, final io.magnetar.engine.SnapshotSink sink)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[0]);
        for (final byte[] record : records)
        {
            buffer.wrap(record);
            sink.onRecord(buffer, 0, record.length);
        }
    }

    /**
     * Folds the events of one command into a hash (session and bytes of each frame, in order).
     */
    static final class FrameHasher implements EventListener
    {
        private long hash;
        private int frames;
        int lastFrames;

        void begin()
        {
            hash = 17;
            frames = 0;
        }

        long end()
        {
            lastFrames = frames;
            return hash * 31 + frames;
        }

        private final MessageHeaderDecoder header = new MessageHeaderDecoder();
        private final TopicDescriptionDecoder description = new TopicDescriptionDecoder();

        public void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
        {
            header.wrap(buffer, offset);
            if (header.templateId() == TopicDescriptionDecoder.TEMPLATE_ID)
            {
                hashDescription(sessionId, buffer, offset);
                return;
            }
            long h = hash * 31 + sessionId;
            for (int i = 0; i < length; i++)
            {
                h = h * 31 + buffer.getByte(offset + i);
            }
            hash = h ^ (h >>> 29);
            frames++;
        }

        /**
         * Everything of a TopicDescription but its traffic counters: they count what this engine instance applied
         * since NodeStarted, are not in snapshots (docs/ENGINE.md), so a restored engine starts them at 0.
         */
        private void hashDescription(final long sessionId, final DirectBuffer buffer, final int offset)
        {
            final TopicDescriptionDecoder d = description.wrap(buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH,
                header.blockLength(), header.version());
            long h = hash * 31 + sessionId;
            h = h * 31 + d.correlationId();
            h = h * 31 + d.topicId();
            h = h * 31 + d.partitions();
            for (final TopicDescriptionDecoder.SubscriptionsDecoder s : d.subscriptions())
            {
                h = h * 31 + s.subscriptionTypeRaw();
                h = h * 31 + s.backlog();
                h = h * 31 + s.inFlight();
                h = h * 31 + s.consumers();
                h = h * 31 + s.redeliveries();
                h = h * 31 + s.deadLettered();
                h = h * 31 + s.ackTimeoutMs();
                h = h * 31 + s.nackDelayMs();
                h = h * 31 + s.maxDeliveries();
                h = h * 31 + s.maxInFlightPerKey();
                h = h * 31 + s.name().hashCode();
            }
            h = h * 31 + d.topicName().hashCode();
            hash = h ^ (h >>> 29);
            frames++;
        }
    }
}
