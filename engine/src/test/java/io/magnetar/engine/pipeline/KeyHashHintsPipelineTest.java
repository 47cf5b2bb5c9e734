package io.magnetar.engine.pipeline;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.RandomPublishFrames;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalEntryFormat;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.CachedEpochClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random and damaged publish frames through the sequencer: every key hash the sequencer hands the engine is
 * {@link io.magnetar.engine.Murmur3#keyHash} of the key the engine's decoder reads, a frame the decoder cannot read
 * (or a batch too large to hint) gets none, and the journal the live run leaves (which carries no hashes) replays to
 * the live engine's state.
 */
class KeyHashHintsPipelineTest
{
    @TempDir
    File dir;

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void sequencerHashesEveryKeyAsTheEngineWouldAndReplayReachesTheLiveState(final ThreadingMode mode)
    {
        final CachedEpochClock clock = new CachedEpochClock();
        clock.update(1_732_780_800_000L);
        final MutableEventListener egress = new MutableEventListener();
        final Engine live = new Engine(new EngineConfig(), egress);
        final Checker checker = new Checker(live);
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();
        final Pipeline pipeline = new Pipeline(new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(mode)
            .ringSize(64)
            .epochClock(clock)
            .commandHandler(checker)
            .egress(egress)
            .eventListener(EventListener.MUTED)
            .onFatal(fatal::add));

        final Random random = new Random(mode.ordinal() + 5);
        final RandomPublishFrames frames = new RandomPublishFrames(random);
        final CommandEncoder encoder = new CommandEncoder();
        int offered = 0;
        try
        {
            pipeline.start();
            final Sequencer sequencer = pipeline.sequencer();
            offer(sequencer, encoder.buffer(), encoder.createTopic(1, "t", 8));
            offer(sequencer, encoder.buffer(), encoder.subscribe(2, "t", "ks", SubscriptionType.KEY_SHARED, 100, "c1"));
            offer(sequencer, encoder.buffer(), encoder.subscribe(3, "t", "ks", SubscriptionType.KEY_SHARED, 100, "c2"));
            for (int i = 0; i < 3_000; i++)
            {
                final byte[] valid = frames.wellFormed(10 + i, 1, 1 + random.nextInt(50), random.nextInt(10) > 0);
                final byte[] frame = random.nextInt(4) == 0 ? frames.damaged(valid) : valid;
                offer(sequencer, new UnsafeBuffer(frame), frame.length);
                offered++;
                clock.advance(1);
            }

            // a batch too large to hint (and to keep in a slot's direct buffer): the engine hashes its keys itself
            final List<Msg> many = new ArrayList<>();
            for (int i = 0; i < CommandSlot.MAX_KEY_HASHES + 100; i++)
            {
                many.add(new Msg(String.format("key-%06d-padding", i), java.util.Map.of()));
            }
            final int length = encoder.publish(99_999, 1, many);
            assertTrue(JournalEntryFormat.HEADER_LENGTH + length > CommandSlot.MAX_RETAINED_CAPACITY);
            offer(sequencer, encoder.buffer(), length);
            offered++;
            // and an ordinary one after it, in a slot that held large ones before
            offer(sequencer, encoder.buffer(), encoder.publish(100_000, 1, new Msg("after", java.util.Map.of())));
            offered++;
        }
        finally
        {
            CloseHelper.close(pipeline);
        }

        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        assertEquals(List.of(), checker.failures);
        assertEquals(3 + offered, checker.fromSession, "every command applied");
        assertTrue(checker.hinted > 1000, "well-formed publishes carried hints: " + checker.hinted);
        assertTrue(checker.unreadable > 100, "damaged frames were offered: " + checker.unreadable);
        assertTrue(checker.unhintedReadable >= 1, "the oversized batch went without hints");
        assertTrue(live.liveMessages() > 1000, "the publishes were stored: " + live.liveMessages());
        assertEquals(0, pipeline.sequencer().keyHashFailures());

        final Engine replayed = new Engine(new EngineConfig(), EventListener.MUTED);
        final ReplayResult result;
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            result = journal.replay((sessionId, timestampMs, buffer, offset, length, index) ->
                replayed.onCommand(sessionId, timestampMs, buffer, offset, length));
        }
        assertTrue(result.isComplete(), result::toString);
        assertEquals(live.stateHash(), replayed.stateHash(), "replay (no hashes in the journal) reaches the live state");
        assertEquals(live.liveMessages(), replayed.liveMessages());
    }

    private static void offer(final Sequencer sequencer, final DirectBuffer buffer, final int length)
    {
        while (!sequencer.offer(1, buffer, 0, length))
        {
            Thread.onSpinWait();
        }
    }

    /**
     * Checks the hints of every publish against what the decoder reads, then applies it with them.
     */
    private static final class Checker implements CommandHandler
    {
        private final Engine engine;
        final List<String> failures = new CopyOnWriteArrayList<>();
        volatile int fromSession;
        volatile int hinted;
        volatile int unreadable;
        volatile int unhintedReadable;

        Checker(final Engine engine)
        {
            this.engine = engine;
        }

        public void onCommand(
            final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
        {
            failures.add("called without hints by the pipeline");
            engine.onCommand(sessionId, timestampMs, buffer, offset, length);
        }

        public void onCommand(
            final long sessionId,
            final long timestampMs,
            final DirectBuffer buffer,
            final int offset,
            final int length,
            final int[] keyHashes,
            final int keyHashCount)
        {
            final int templateId = length >= 8 ? buffer.getShort(offset + 2, java.nio.ByteOrder.LITTLE_ENDIAN) : -1;
            fromSession += sessionId == 1 ? 1 : 0;
            if (templateId == io.magnetar.codecs.PublishDecoder.TEMPLATE_ID)
            {
                final int[] expected = RandomPublishFrames.decodedKeyHashes(buffer, offset, length);
                if (null == expected)
                {
                    unreadable++;
                    if (keyHashCount != 0)
                    {
                        failures.add("hints for a frame the decoder cannot read: " + keyHashCount);
                    }
                }
                else if (keyHashCount == 0)
                {
                    unhintedReadable++;
                    if (expected.length > 0 && expected.length <= CommandSlot.MAX_KEY_HASHES)
                    {
                        failures.add("no hints for a readable publish of " + expected.length + " messages");
                    }
                }
                else
                {
                    hinted++;
                    if (keyHashCount != expected.length ||
                        !Arrays.equals(expected, Arrays.copyOf(keyHashes, keyHashCount)))
                    {
                        failures.add("hints " + Arrays.toString(Arrays.copyOf(keyHashes, keyHashCount)) +
                            " for keys hashing to " + Arrays.toString(expected));
                    }
                }
            }
            else if (keyHashCount != 0)
            {
                failures.add("hints for template " + templateId);
            }
            engine.onCommand(sessionId, timestampMs, buffer, offset, length, keyHashes, keyHashCount);
        }

        public long nextDeadlineMs()
        {
            return engine.nextDeadlineMs();
        }
    }

}
