package io.magnetar.engine;

import java.util.Arrays;
import java.util.List;

/**
 * key_shared consistent hashing: {@link #POINTS_PER_CONSUMER} points per consumer, derived from the
 * consumer id alone, so the mapping is deterministic and a consumer joining or leaving moves only the
 * keys next to its points. Rebuilt (allocating) on consumer changes only.
 */
final class HashRing
{
    static final int POINTS_PER_CONSUMER = 64;

    private long[] points = new long[0];  // (hash << 32) | index into owners, sorted
    private Consumer[] owners = new Consumer[0];

    void rebuild(final List<Consumer> consumers)
    {
        final int n = consumers.size();
        owners = consumers.toArray(new Consumer[0]);
        points = new long[n * POINTS_PER_CONSUMER];
        int p = 0;
        for (int c = 0; c < n; c++)
        {
            final long id = owners[c].id;
            for (int i = 0; i < POINTS_PER_CONSUMER; i++)
            {
                final int hash = (int)(Murmur3.fmix64(id * POINTS_PER_CONSUMER + i) & 0x7fffffffL);
                points[p++] = ((long)hash << 32) | c;
            }
        }
        Arrays.sort(points);
    }

    /**
     * @return the consumer owning the key hash, or null if the ring is empty.
     */
    Consumer owner(final int keyHash)
    {
        final long[] points = this.points;
        if (points.length == 0)
        {
            return null;
        }
        // first point whose hash >= keyHash
        int low = 0;
        int high = points.length - 1;
        final long target = (long)keyHash << 32;
        if (points[high] < target)
        {
            return owners[(int)points[0]];
        }
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (points[mid] < target)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return owners[(int)points[low]];
    }
}
