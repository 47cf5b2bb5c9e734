package io.magnetar.engine;

import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * MurmurHash3 x86 32-bit, seed 0, over bytes: the function behind Apache Pulsar's {@code Murmur3_32Hash}
 * (Guava's {@code murmur3_32_fixed}). SPEC 1: {@code partition = (murmur3_32(utf8(key)) & 0x7fffffff) % partitions}.
 */
public final class Murmur3
{
    private static final int C1 = 0xcc9e2d51;
    private static final int C2 = 0x1b873593;

    private Murmur3()
    {
    }

    public static int hash32(final byte[] data, final int offset, final int length)
    {
        int h1 = 0;
        final int end = offset + (length & ~3);
        for (int i = offset; i < end; i += 4)
        {
            h1 = mixH1(h1, (data[i] & 0xff) | (data[i + 1] & 0xff) << 8 | (data[i + 2] & 0xff) << 16 | (data[i + 3] & 0xff) << 24);
        }
        int tail = 0;
        switch (length & 3)
        {
            case 3:
                tail ^= (data[end + 2] & 0xff) << 16;
                // fall through
            case 2:
                tail ^= (data[end + 1] & 0xff) << 8;
                // fall through
            case 1:
                tail ^= data[end] & 0xff;
                // fall through
            default:
                break;
        }
        return finish(h1, tail, length);
    }

    /**
     * {@link #hash32(byte[], int, int)} over bytes in a buffer (on or off heap): the same value for the same bytes.
     */
    public static int hash32(final DirectBuffer buffer, final int index, final int length)
    {
        int h1 = 0;
        final int end = index + (length & ~3);
        for (int i = index; i < end; i += 4)
        {
            h1 = mixH1(h1, buffer.getInt(i, LITTLE_ENDIAN));
        }
        int tail = 0;
        switch (length & 3)
        {
            case 3:
                tail ^= (buffer.getByte(end + 2) & 0xff) << 16;
                // fall through
            case 2:
                tail ^= (buffer.getByte(end + 1) & 0xff) << 8;
                // fall through
            case 1:
                tail ^= buffer.getByte(end) & 0xff;
                // fall through
            default:
                break;
        }
        return finish(h1, tail, length);
    }

    private static int mixK1(final int k1)
    {
        return Integer.rotateLeft(k1 * C1, 15) * C2;
    }

    private static int mixH1(final int h1, final int k1)
    {
        return Integer.rotateLeft(h1 ^ mixK1(k1), 13) * 5 + 0xe6546b64;
    }

    /**
     * The tail (the last {@code length & 3} bytes, little endian; 0 when there are none) and the finalisation.
     */
    private static int finish(final int h1, final int tail, final int length)
    {
        final int h = (length & 3) == 0 ? h1 : h1 ^ mixK1(tail);
        return fmix32(h ^ length);
    }

    /**
     * @return the non-negative key hash used for partitioning and key_shared affinity.
     */
    public static int keyHash(final byte[] data, final int offset, final int length)
    {
        return hash32(data, offset, length) & 0x7fffffff;
    }

    /**
     * @return {@link #keyHash(byte[], int, int)} of the key bytes at {@code index} in {@code buffer}.
     */
    public static int keyHash(final DirectBuffer buffer, final int index, final int length)
    {
        return hash32(buffer, index, length) & 0x7fffffff;
    }

    public static int partition(final int keyHash, final int partitions)
    {
        return keyHash % partitions;
    }

    public static int fmix32(final int value)
    {
        int h = value;
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    public static long fmix64(final long value)
    {
        long k = value;
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb93fe53e87ecL;
        k ^= k >>> 33;
        return k;
    }
}
