package io.magnetar.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import com.google.common.hash.Hashing;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Pins SPEC 1's key to partition mapping to Apache Pulsar's Murmur3_32Hash scheme, which is Guava's
 * {@code murmur3_32_fixed} of the UTF-8 key, masked to 31 bits, modulo the partition count.
 */
class Murmur3Test
{
    @SuppressWarnings("deprecation")
    private static int guava(final byte[] bytes)
    {
        return Hashing.murmur3_32_fixed().hashBytes(bytes).asInt();
    }

    @Test
    void goldenVectors()
    {
        // (key, murmur3_32 seed 0, partition of 16) computed with Guava's murmur3_32_fixed; includes every tail length
        final Object[][] vectors = {
            {"", 0x00000000},
            {"a", 0x3c2569b2},
            {"ab", 0x9bbfd75f},
            {"abc", 0xb3dd93fa},
            {"abcd", 0x43ed676a},
            {"hello", 0x248bfa47},
            {"key-1", guava("key-1".getBytes(StandardCharsets.UTF_8))},
            {"ünïcødé", guava("ünïcødé".getBytes(StandardCharsets.UTF_8))},
        };
        for (final Object[] v : vectors)
        {
            final byte[] bytes = ((String)v[0]).getBytes(StandardCharsets.UTF_8);
            assertEquals((int)v[1], Murmur3.hash32(bytes, 0, bytes.length), "murmur3_32 of '" + v[0] + "'");
            assertEquals(guava(bytes), (int)v[1], "vector agrees with Guava for '" + v[0] + "'");
        }
    }

    @Test
    void agreesWithGuavaOnRandomBytesAndOffsets()
    {
        final SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 20_000; i++)
        {
            final byte[] bytes = new byte[random.nextInt(300)];
            for (int b = 0; b < bytes.length; b++)
            {
                bytes[b] = (byte)random.nextInt(256);
            }
            final int offset = bytes.length == 0 ? 0 : random.nextInt(bytes.length);
            final int length = bytes.length - offset;
            final byte[] slice = java.util.Arrays.copyOfRange(bytes, offset, offset + length);
            assertEquals(guava(slice), Murmur3.hash32(bytes, offset, length));
            final int partitions = 1 + random.nextInt(4096);
            assertEquals((guava(slice) & 0x7fffffff) % partitions,
                Murmur3.partition(Murmur3.keyHash(bytes, offset, length), partitions));
        }
    }

    @Test
    void bufferVariantAgreesWithTheArrayVariantOnAndOffHeap()
    {
        final SplittableRandom random = new SplittableRandom(7);
        final UnsafeBuffer direct = new UnsafeBuffer(ByteBuffer.allocateDirect(512));
        for (int i = 0; i < 20_000; i++)
        {
            final byte[] bytes = new byte[1 + random.nextInt(300)];
            for (int b = 0; b < bytes.length; b++)
            {
                bytes[b] = (byte)random.nextInt(256);
            }
            final int offset = random.nextInt(bytes.length);
            final int length = random.nextInt(bytes.length - offset + 1);
            final int expected = Murmur3.hash32(bytes, offset, length);
            assertEquals(expected, Murmur3.hash32(new UnsafeBuffer(bytes), offset, length), "heap buffer");
            direct.putBytes(100, bytes);
            assertEquals(expected, Murmur3.hash32(direct, 100 + offset, length), "direct buffer");
            assertEquals(Murmur3.keyHash(bytes, offset, length), Murmur3.keyHash(direct, 100 + offset, length));
        }
    }
}
