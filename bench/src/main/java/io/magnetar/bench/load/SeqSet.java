package io.magnetar.bench.load;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A set of non-negative sequence numbers, safe for concurrent {@link #add}: a bitmap in lazily allocated chunks of
 * 4 Mi bits (512 KiB), so 60 M messages of one producer take 7.5 MB.
 */
final class SeqSet
{
    private static final int CHUNK_SHIFT = 22;
    private static final int WORDS_PER_CHUNK = (1 << CHUNK_SHIFT) >>> 6;
    private static final int MAX_CHUNKS = 1 << 12;

    private final AtomicReferenceArray<AtomicLongArray> chunks = new AtomicReferenceArray<>(MAX_CHUNKS);

    /**
     * @return true if {@code seq} was not in the set.
     */
    boolean add(final long seq)
    {
        final AtomicLongArray chunk = chunk((int)(seq >>> CHUNK_SHIFT), true);
        final int word = (int)((seq >>> 6) & (WORDS_PER_CHUNK - 1));
        final long bit = 1L << (seq & 63);
        long current;
        do
        {
            current = chunk.get(word);
            if (0 != (current & bit))
            {
                return false;
            }
        }
        while (!chunk.compareAndSet(word, current, current | bit));
        return true;
    }

    boolean contains(final long seq)
    {
        final AtomicLongArray chunk = chunk((int)(seq >>> CHUNK_SHIFT), false);
        return null != chunk && 0 != (chunk.get((int)((seq >>> 6) & (WORDS_PER_CHUNK - 1))) & (1L << (seq & 63)));
    }

    long cardinality()
    {
        long count = 0;
        for (int c = 0; c < MAX_CHUNKS; c++)
        {
            final AtomicLongArray chunk = chunks.get(c);
            if (null != chunk)
            {
                for (int w = 0; w < WORDS_PER_CHUNK; w++)
                {
                    count += Long.bitCount(chunk.get(w));
                }
            }
        }
        return count;
    }

    /**
     * @return how many members of this set are not in {@code other}.
     */
    long countNotIn(final SeqSet other)
    {
        long count = 0;
        for (int c = 0; c < MAX_CHUNKS; c++)
        {
            final AtomicLongArray chunk = chunks.get(c);
            if (null != chunk)
            {
                final AtomicLongArray otherChunk = other.chunks.get(c);
                for (int w = 0; w < WORDS_PER_CHUNK; w++)
                {
                    final long bits = chunk.get(w);
                    count += Long.bitCount(null == otherChunk ? bits : bits & ~otherChunk.get(w));
                }
            }
        }
        return count;
    }

    /**
     * @return the smallest member of this set not in {@code other}, or -1.
     */
    long firstNotIn(final SeqSet other)
    {
        for (int c = 0; c < MAX_CHUNKS; c++)
        {
            final AtomicLongArray chunk = chunks.get(c);
            if (null != chunk)
            {
                final AtomicLongArray otherChunk = other.chunks.get(c);
                for (int w = 0; w < WORDS_PER_CHUNK; w++)
                {
                    final long bits = null == otherChunk ? chunk.get(w) : chunk.get(w) & ~otherChunk.get(w);
                    if (0 != bits)
                    {
                        return ((long)c << CHUNK_SHIFT) + ((long)w << 6) + Long.numberOfTrailingZeros(bits);
                    }
                }
            }
        }
        return -1;
    }

    private AtomicLongArray chunk(final int index, final boolean create)
    {
        if (index >= MAX_CHUNKS)
        {
            throw new IllegalStateException("sequence beyond " + ((long)MAX_CHUNKS << CHUNK_SHIFT));
        }
        AtomicLongArray chunk = chunks.get(index);
        if (null == chunk && create)
        {
            chunks.compareAndSet(index, null, new AtomicLongArray(WORDS_PER_CHUNK));
            chunk = chunks.get(index);
        }
        return chunk;
    }
}
