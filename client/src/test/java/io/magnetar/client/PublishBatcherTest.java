package io.magnetar.client;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

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
        return PendingMessage.of(key, Map.of("ref", "s3://bucket/" + key), new CompletableFuture<>(), enqueuedNs);
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
        assertEquals("k0", new String(batch.messages[0].key));
        assertEquals("k2", new String(batch.messages[2].key));
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
        final PendingMessage huge = PendingMessage.of(
            "k", Map.of("v", "x".repeat(2000)), new CompletableFuture<>(), 0);
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
        final CompletableFuture<MessageId> noKey = new CompletableFuture<>();
        assertNull(PendingMessage.of("", Map.of(), noKey, 0));
        assertEquals(ErrorCode.INVALID_ARGUMENT, MagnetarException.unwrap(
            assertThrowsCompletion(noKey)).code());

        final CompletableFuture<MessageId> nullKey = new CompletableFuture<>();
        assertNull(PendingMessage.of(null, null, nullKey, 0));
        assertTrue(nullKey.isCompletedExceptionally());

        final CompletableFuture<MessageId> longKey = new CompletableFuture<>();
        assertNull(PendingMessage.of("k".repeat(70_000), null, longKey, 0));
        assertTrue(longKey.isCompletedExceptionally());

        final java.util.HashMap<String, String> nullValue = new java.util.HashMap<>();
        nullValue.put("a", null);
        final CompletableFuture<MessageId> badAttribute = new CompletableFuture<>();
        assertNull(PendingMessage.of("k", nullValue, badAttribute, 0));
        assertTrue(badAttribute.isCompletedExceptionally());
    }

    @Test
    void encodedLengthCountsUtf8Bytes()
    {
        final PendingMessage message = PendingMessage.of("é", Map.of("ñ", "ü"), new CompletableFuture<>(), 0);
        // entry: attributes group header 4 + (2 + 2) + (2 + 2) + key length 2 + key 2
        assertEquals(4 + 4 + 4 + 2 + 2, message.encodedLength);
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
