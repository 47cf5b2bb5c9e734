package io.magnetar.engine;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.RandomPublishFrames;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The producer's key hashes ({@link Engine#onCommand(long, long, DirectBuffer, int, int, int[], int)}) change where the
 * keys are hashed, never what the engine does: with the right hashes, with hints of the wrong count, an array too
 * short for the count it claims, negative values or none at all, the engine emits the same events and reaches the same
 * state as without hints (replay). And it does use them when their count fits (else the test of the other cases would
 * pass with hints ignored altogether).
 */
class EngineKeyHashHintsTest
{
    private static final long T0 = 1_732_780_800_000L;
    private static final int PARTITIONS = 8;

    private final Random random = new Random(11);
    private final RandomPublishFrames frames = new RandomPublishFrames(random);

    @Test
    void hintsOnlySaveWorkAndWrongOnesAreNeverUsed()
    {
        final Recorded plain = new Recorded();
        final Recorded hinted = new Recorded();
        final Recorded wrong = new Recorded();
        setUp(plain, hinted, wrong);

        final int[] hashes = new int[256];
        int publishes = 0;
        int hintedPublishes = 0;
        for (int i = 0; i < 2_000; i++)
        {
            final byte[] valid = frames.wellFormed(1000 + i, 1, 1 + random.nextInt(20), random.nextInt(10) > 0);
            final byte[] frame = random.nextInt(5) == 0 ? frames.damaged(valid) : valid;
            final UnsafeBuffer buffer = new UnsafeBuffer(frame);
            final int count = new PublishKeyHashes().compute(buffer, 0, frame.length, hashes);
            publishes++;
            hintedPublishes += count > 0 ? 1 : 0;

            plain.engine.onCommand(1, T0 + i, buffer, 0, frame.length);
            hinted.engine.onCommand(1, T0 + i, buffer, 0, frame.length, hashes.clone(), Math.max(0, count));
            wrongHints(wrong.engine, buffer, frame.length, count, T0 + i);

            final int at = i;
            final byte[] expected = plain.events();
            assertArrayEquals(expected, hinted.events(), () -> "events with the right hints, command " + at);
            assertArrayEquals(expected, wrong.events(), () -> "events with unusable hints, command " + at);
        }

        assertTrue(hintedPublishes > publishes / 2, "most publishes carried hints: " + hintedPublishes);
        assertTrue(plain.engine.liveMessages() > 1000, "publishes were stored: " + plain.engine.liveMessages());
        assertEquals(plain.engine.stateHash(), hinted.engine.stateHash());
        assertEquals(plain.engine.stateHash(), wrong.engine.stateHash());
    }

    @Test
    void hintsOfTheRightCountAreUsed()
    {
        final Recorded plain = new Recorded();
        final Recorded lied = new Recorded();
        setUp(plain, lied);

        final int[] hashes = new int[64];
        for (int i = 0; i < 100; i++)
        {
            final byte[] frame = frames.wellFormed(1000 + i, 1, 10, true);
            final UnsafeBuffer buffer = new UnsafeBuffer(frame);
            final int count = new PublishKeyHashes().compute(buffer, 0, frame.length, hashes);
            assertTrue(count > 0);
            for (int m = 0; m < count; m++)
            {
                // another partition for sure: a hash smaller than the partition count is its own partition
                hashes[m] = (hashes[m] % PARTITIONS + 1 + random.nextInt(PARTITIONS - 1)) % PARTITIONS;
            }
            plain.engine.onCommand(1, T0 + i, buffer, 0, frame.length);
            lied.engine.onCommand(1, T0 + i, buffer, 0, frame.length, hashes, count);
        }

        assertNotEquals(plain.engine.stateHash(), lied.engine.stateHash(),
            "a hint of the right count is trusted (the producer is this node's own sequencer)");
    }

    private void wrongHints(final Engine engine, final DirectBuffer buffer, final int length, final int count, final long now)
    {
        final int messages = Math.max(1, count);
        final int[] garbage = new int[messages + 8];
        for (int i = 0; i < garbage.length; i++)
        {
            garbage[i] = random.nextInt() & 0x7fffffff;
        }
        switch (random.nextInt(5))
        {
            case 0: // one too many
                engine.onCommand(1, now, buffer, 0, length, garbage, messages + 1);
                break;
            case 1: // one too few (none, for a single message)
                engine.onCommand(1, now, buffer, 0, length, garbage, messages - 1);
                break;
            case 2: // the right count but an array too short to hold it
                engine.onCommand(1, now, buffer, 0, length, Arrays.copyOf(garbage, messages - 1), messages);
                break;
            case 3: // the right count of negative values (never a key hash)
                final int[] negative = new int[messages];
                Arrays.fill(negative, -1 - random.nextInt(1000));
                engine.onCommand(1, now, buffer, 0, length, negative, messages);
                break;
            default: // a count and no array
                engine.onCommand(1, now, buffer, 0, length, null, messages);
                break;
        }
    }

    private static void setUp(final Recorded... engines)
    {
        final CommandEncoder encoder = new CommandEncoder();
        for (final Recorded r : engines)
        {
            int length = encoder.createTopic(1, "t", PARTITIONS);
            r.engine.onCommand(1, T0, encoder.buffer(), 0, length);
            length = encoder.subscribe(2, "t", "ks", SubscriptionType.KEY_SHARED, 1_000_000, "c1");
            r.engine.onCommand(1, T0, encoder.buffer(), 0, length);
            length = encoder.subscribe(3, "t", "ks", SubscriptionType.KEY_SHARED, 1_000_000, "c2");
            r.engine.onCommand(1, T0, encoder.buffer(), 0, length);
            length = encoder.subscribe(4, "t", "sh", SubscriptionType.SHARED, 5, "c3");
            r.engine.onCommand(1, T0, encoder.buffer(), 0, length);
            r.events();
        }
    }

    private static final class Recorded
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final Engine engine = new Engine(new EngineConfig(), (sessionId, buffer, offset, length) ->
        {
            final byte[] bytes = new byte[length];
            buffer.getBytes(offset, bytes);
            out.writeBytes(new byte[] {(byte)sessionId});
            out.writeBytes(bytes);
        });

        /**
         * @return the events since the last call, and forget them.
         */
        byte[] events()
        {
            final byte[] events = out.toByteArray();
            out.reset();
            return events;
        }
    }
}
