package io.magnetar.engine;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.engine.fixture.RandomPublishFrames;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublishKeyHashesTest
{
    private final Random random = new Random(20261128);
    private final RandomPublishFrames frames = new RandomPublishFrames(random);
    private final UnsafeBuffer direct = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));

    @Test
    void everyKeyOfAWellFormedPublishIsHashedAsTheEngineDoes()
    {
        final int[] hashes = new int[64];
        for (int i = 0; i < 5_000; i++)
        {
            final byte[] frame = frames.wellFormed(i, 1 + random.nextInt(10), 64, random.nextBoolean());
            final int[] expected = RandomPublishFrames.decodedKeyHashes(new UnsafeBuffer(frame), 0, frame.length);
            assertNotNull(expected);

            Arrays.fill(hashes, -1);
            assertEquals(expected.length, new PublishKeyHashes().count(new UnsafeBuffer(frame), 0, frame.length));
            assertEquals(expected.length, new PublishKeyHashes().compute(new UnsafeBuffer(frame), 0, frame.length, hashes));
            assertArrayEquals(expected, Arrays.copyOf(hashes, expected.length), "heap, frame " + i);

            final int offset = 32 + random.nextInt(100);
            direct.putBytes(offset, frame);
            Arrays.fill(hashes, -1);
            assertEquals(expected.length, new PublishKeyHashes().compute(direct, offset, frame.length, hashes));
            assertArrayEquals(expected, Arrays.copyOf(hashes, expected.length), "off heap, frame " + i);
        }
    }

    @Test
    void aDamagedFrameGetsNoHashesOrExactlyTheOnesTheDecoderReads()
    {
        final int[] hashes = new int[128];
        int hashed = 0;
        int none = 0;
        for (int i = 0; i < 20_000; i++)
        {
            final byte[] frame = frames.damaged(frames.wellFormed(i, 1, 20, random.nextBoolean()));
            final int offset = random.nextInt(64);
            direct.setMemory(0, offset + frame.length + 64, (byte)random.nextInt(256)); // garbage around the frame
            direct.putBytes(offset, frame);

            final int computed = new PublishKeyHashes().compute(direct, offset, frame.length, hashes);
            if (computed == PublishKeyHashes.NONE)
            {
                none++;
                continue;
            }
            hashed++;
            final int[] expected = RandomPublishFrames.decodedKeyHashes(direct, offset, frame.length);
            assertNotNull(expected, () -> "hashed a frame the decoder cannot read: " + Arrays.toString(frame));
            assertEquals(expected.length, computed);
            assertArrayEquals(expected, Arrays.copyOf(hashes, computed));
        }
        assertTrue(hashed > 1000 && none > 1000, "both outcomes exercised: hashed " + hashed + ", none " + none);
    }

    @Test
    void anythingButAPublishOfTheCurrentSchemaGetsNone()
    {
        final byte[] frame = frames.wellFormed(1, 1, 5, true);
        final int count = new PublishKeyHashes().count(new UnsafeBuffer(frame), 0, frame.length);
        assertTrue(count >= 1);

        assertEquals(PublishKeyHashes.NONE, compute(with(frame, MessageHeaderDecoder.templateIdEncodingOffset(), 11)));
        assertEquals(PublishKeyHashes.NONE, compute(with(frame, MessageHeaderDecoder.schemaIdEncodingOffset(), 2)));
        assertEquals(PublishKeyHashes.NONE, compute(with(frame, MessageHeaderDecoder.versionEncodingOffset(), 0)));
        assertEquals(PublishKeyHashes.NONE,
            compute(with(frame, MessageHeaderDecoder.versionEncodingOffset(), PublishDecoder.SCHEMA_VERSION + 1)));
        assertEquals(PublishKeyHashes.NONE, compute(with(frame, MessageHeaderDecoder.blockLengthEncodingOffset(),
            PublishDecoder.BLOCK_LENGTH + 8)));
        final int countOffset = MessageHeaderDecoder.ENCODED_LENGTH + PublishDecoder.BLOCK_LENGTH + 2;
        assertEquals(PublishKeyHashes.NONE, compute(with(frame, countOffset, 0)), "an empty batch");
        for (int length = 0; length < frame.length; length++)
        {
            assertEquals(PublishKeyHashes.NONE, new PublishKeyHashes().compute(new UnsafeBuffer(frame), 0, length, new int[8]),
                "truncated to " + length);
        }
        assertEquals(PublishKeyHashes.NONE,
            new PublishKeyHashes().compute(new UnsafeBuffer(frame), 0, frame.length, new int[count - 1]), "too few slots");
        assertEquals(count, new PublishKeyHashes().compute(new UnsafeBuffer(frame), 0, frame.length, new int[count]));
    }

    private static int compute(final byte[] frame)
    {
        return new PublishKeyHashes().compute(new UnsafeBuffer(frame), 0, frame.length, new int[64]);
    }

    private static byte[] with(final byte[] frame, final int offset, final int u16)
    {
        final byte[] copy = frame.clone();
        new UnsafeBuffer(copy).putShort(offset, (short)u16, LITTLE_ENDIAN);
        return copy;
    }
}
