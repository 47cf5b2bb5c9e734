package io.magnetar.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublishBatcherTest
{
    private static final long LINGER_NS = 1_000_000;

    private static PendingMessage message(final String key, final long enqueuedNs)
    {
        return PendingMessage.of(key, Map.of("ref", "s3://bucket/" + key), enqueuedNs);
    }

    @Test
    void isDueWhenFull()
    {
        final PublishBatcher batcher = new PublishBatcher(null, 3, LINGER_NS, 1 << 20);
        for (int i = 0; i < 3; i++)
        {
            assertFalse(batcher.isDue(0));
            final PendingMessage message = message("k" + i, 0);
            assertTrue(batcher.fits(message));
            batcher.add(message);
        }
        assertTrue(batcher.isDue(0));
        assertFalse(batcher.fits(message("k3", 0)));
        final PublishBatch batch = batcher.take();
        assertEquals(3, batch.count);
        assertEquals("k0", keyOf(batch.first));
        assertEquals("k1", keyOf(batch.first.next));
        assertEquals("k2", keyOf(batch.first.next.next));
        assertTrue(batcher.isEmpty());
        assertNull(batcher.take());
    }

    @Test
    void isDueWhenTheOldestMessageHasLingered()
    {
        final PublishBatcher batcher = new PublishBatcher(null, 100, LINGER_NS, 1 << 20);
        assertFalse(batcher.isDue(Long.MAX_VALUE));
        batcher.add(message("a", 10));
        batcher.add(message("b", 500_000));
        assertFalse(batcher.isDue(10 + LINGER_NS - 1));
        assertTrue(batcher.isDue(10 + LINGER_NS));
        assertEquals(10, batcher.oldestEnqueuedNs());
        assertEquals(2, batcher.take().count);
        assertEquals(Long.MAX_VALUE, batcher.oldestEnqueuedNs());
    }

    @Test
    void zeroLingerSendsAtOnce()
    {
        final PublishBatcher batcher = new PublishBatcher(null, 100, 0, 1 << 20);
        batcher.add(message("a", 42));
        assertTrue(batcher.isDue(42));
    }

    @Test
    void capsTheFrameByBytes()
    {
        final PendingMessage first = message("a", 0);
        final int maxBytes = PublishBatcher.FRAME_OVERHEAD + 2 * first.encodedLength;
        final PublishBatcher batcher = new PublishBatcher(null, 100, LINGER_NS, maxBytes);
        batcher.add(first);
        batcher.add(message("b", 0));
        assertFalse(batcher.fits(message("c", 0)));
        final PublishBatch batch = batcher.take();
        assertEquals(maxBytes, batch.encodedLength);
        assertTrue(batcher.fits(message("c", 0)));
    }

    @Test
    void aMessageBiggerThanAFrameNeverFits()
    {
        final PublishBatcher batcher = new PublishBatcher(null, 100, LINGER_NS, 1024);
        final PendingMessage huge = PendingMessage.of("k", Map.of("v", "x".repeat(2000)), 0);
        assertFalse(batcher.fitsAlone(huge));
        assertFalse(batcher.fits(huge));
        assertTrue(batcher.fitsAlone(message("k", 0)));
    }

    @Test
    void theBatchKeepsItsProducer()
    {
        final PublishBatcher batcher = new PublishBatcher(null, 2, LINGER_NS, 1 << 20);
        batcher.add(message("a", 0));
        assertSame(null, batcher.take().producer);
    }

    @Test
    void pendingMessageRejectsWhatTheWireCannotCarry()
    {
        final PendingMessage noKey = PendingMessage.of("", Map.of(), 0);
        assertEquals(ErrorCode.INVALID_ARGUMENT, MagnetarException.unwrap(assertThrowsCompletion(noKey)).code());
        assertNull(noKey.data);

        assertTrue(PendingMessage.of(null, null, 0).isCompletedExceptionally());
        assertTrue(PendingMessage.of("k".repeat(70_000), null, 0).isCompletedExceptionally());

        final java.util.HashMap<String, String> nullValue = new java.util.HashMap<>();
        nullValue.put("a", null);
        final PendingMessage badAttribute = PendingMessage.of("k", nullValue, 0);
        assertEquals(ErrorCode.INVALID_ARGUMENT, MagnetarException.unwrap(assertThrowsCompletion(badAttribute)).code());
    }

    @Test
    void encodedLengthCountsUtf8Bytes()
    {
        final PendingMessage message = PendingMessage.of("é", Map.of("ñ", "ü"), 0);
        // entry: attributes group header 4 + (2 + 2) + (2 + 2) + key length 2 + key 2
        assertEquals(4 + 4 + 4 + 2 + 2, message.encodedLength);
        assertEquals(message.encodedLength, message.data.length);
    }

    @Test
    void encodesUtf8LikeTheJdk()
    {
        // ASCII, two-, three- and four-byte characters, and unpaired surrogates (the JDK writes '?' for those)
        final String[] texts = {
            "plain", "é ñ", "€ 中文", "emoji \uD83D\uDE00 end", "lone \uD83D high", "lone \uDE00 low", "end \uD83D",
            "x".repeat(PendingMessage.LOOP_ENCODE_MAX_CHARS), "y".repeat(PendingMessage.LOOP_ENCODE_MAX_CHARS + 1),
            "ü€\uD83D\uDE00".repeat(40) + "\uDE00" };   // the last two: past the char loop, the JDK's encoder
        for (final String text : texts)
        {
            final PendingMessage message = PendingMessage.of(text, Map.of(text, text), 0);
            final byte[] expected = text.getBytes(StandardCharsets.UTF_8);
            assertEquals(4 + 3 * (2 + expected.length), message.data.length, text);
            final int keyAt = message.data.length - expected.length;
            assertArrayEquals(expected, Arrays.copyOfRange(message.data, keyAt, message.data.length), text);
            assertArrayEquals(expected, Arrays.copyOfRange(message.data, 4 + 2, 4 + 2 + expected.length), text);
        }
    }

    private static String keyOf(final PendingMessage message)
    {
        final byte[] data = message.data;
        final int attributes = (data[2] & 0xFF) | ((data[3] & 0xFF) << 8);
        int position = 4;
        for (int i = 0; i < 2 * attributes; i++)
        {
            position += 2 + ((data[position] & 0xFF) | ((data[position + 1] & 0xFF) << 8));
        }
        return new String(data, position + 2, data.length - position - 2, StandardCharsets.UTF_8);
    }

    private static Throwable assertThrowsCompletion(final CompletableFuture<?> future)
    {
        assertTrue(future.isCompletedExceptionally());
        try
        {
            future.join();
            throw new AssertionError("not failed");
        }
        catch (final java.util.concurrent.CompletionException ex)
        {
            return ex;
        }
    }
}
