package io.magnetar.engine;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MessageIndex} against a {@link TreeMap} model on seeded random operation sequences, in phases that drive each
 * of its paths: a stream (tail inserts, acks of the oldest few), scattered survivors (1 % never removed), stuck
 * messages followed by huge gaps in the entries, the snapshot loader's inserts in any order (below the table, into
 * its holes, duplicates), and draining everything. After every operation: size, the operation's answer, lookups of
 * live, dead and never-seen entries, the ordered iteration, and the bounds the class promises on its pages and table.
 * <p>
 * Reproduce a failure with {@code -Dmagnetar.test.seed=<seed>} (also runs that seed only).
 */
class MessageIndexTest
{
    static LongStream seeds()
    {
        final Long seed = Long.getLong("magnetar.test.seed");
        return null != seed ? LongStream.of(seed) : LongStream.of(1, 2, 3, 4, 5, 6, 7, 42, 20261128);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void behavesLikeASortedMap(final long seed)
    {
        try
        {
            new Run(seed).run(60_000);
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("MessageIndexTest failed for seed " + seed +
                " (rerun with -Dmagnetar.test.seed=" + seed + ")", ex);
        }
    }

    @Test
    void oneStuckMessageDoesNotPinPagesNorStretchTheTable()
    {
        final MessageIndex index = new MessageIndex();
        final Message stuck = new Message();
        index.put(0, stuck);
        for (long e = 1; e < 3_000_000; e++)
        {
            index.put(e, new Message());
            if (e > 10)
            {
                assertTrue(index.remove(e - 10) != null || e - 10 == 0);
            }
        }
        assertSame(stuck, index.get(0));
        assertEquals(11, index.size());
        assertEquals(1, index.overflowSize(), "the stuck message moved to the overflow");
        assertTrue(index.presentPages() <= 2, index.presentPages() + " pages");
        // the stuck page waits out its grace (GRACE_OPS: 2,048 entries here) before it moves: a few pages, never more
        final int pagesInGrace = MessageIndex.GRACE_OPS / 2 / MessageIndex.PAGE_SIZE + 2;
        assertTrue(index.tableCapacity() <= 2 * pagesInGrace, "table of " + index.tableCapacity());
    }

    @Test
    void scatteredSurvivorsMoveToTheOverflow()
    {
        final MessageIndex index = new MessageIndex();
        final Random random = new Random(7);
        final List<Long> survivors = new ArrayList<>();
        for (long e = 0; e < 1_000_000; e++)
        {
            index.put(e, new Message());
            if (e >= 5_000)
            {
                final long old = e - 5_000;
                if (random.nextInt(100) == 0)
                {
                    survivors.add(old);
                }
                else
                {
                    index.remove(old);
                }
            }
        }
        assertEquals(survivors.size() + 5_000, index.size());
        // the pages of the last 5,000 entries and the grace, not one page per survivor
        assertTrue(index.presentPages() <= 5_000 / MessageIndex.PAGE_SIZE + 2 + MessageIndex.MAX_CANDIDATES,
            index.presentPages() + " pages");
        assertTrue(index.overflowSize() >= survivors.size() - MessageIndex.MAX_CANDIDATES * MessageIndex.SPARSE,
            index.overflowSize() + " in the overflow");
        for (final long e : survivors)
        {
            assertTrue(index.get(e) != null, "survivor " + e);
        }
    }

    @Test
    void loaderOrderRecoversPagesOrOverflowAndIteratesInOrder()
    {
        final MessageIndex index = new MessageIndex();
        final TreeMap<Long, Message> model = new TreeMap<>();
        // the snapshot writes a subscription's pending list (recent entries) before its outstanding one (older)
        for (long e = 50_000; e < 60_000; e++)
        {
            put(index, model, e);
        }
        for (long e = 0; e < 50_000; e += 3)
        {
            put(index, model, e);
        }
        index.trim();
        assertEquals(model.size(), index.size());
        assertIterationEquals(model, index);
        assertNull(index.put(1L << 40, new Message()), "far past the newest page");
        assertTrue(index.tableCapacity() <= 64, "table of " + index.tableCapacity());
        assertNull(index.get(1), "never inserted");
    }

    @Test
    void steadyStreamAllocatesNothing()
    {
        final MessageIndex index = new MessageIndex();
        final Message[] messages = new Message[5_000];
        for (int i = 0; i < messages.length; i++)
        {
            messages[i] = new Message();
        }
        long entry = 0;
        for (int i = 0; i < 200_000; i++)
        {
            index.put(entry, messages[(int)(entry % messages.length)]);
            if (entry >= 3_000)
            {
                index.remove((entry - 3_000) ^ 5);   // acks a little out of order
            }
            entry++;
        }
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long thread = Thread.currentThread().getId();
        final long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 1_000_000; i++)
        {
            index.put(entry, messages[(int)(entry % messages.length)]);
            index.remove((entry - 3_000) ^ 5);
            entry++;
        }
        final long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertTrue(allocated < 1_000, allocated + " bytes allocated for 1,000,000 inserts and removes");
        assertTrue(index.size() >= 2_992 && index.size() <= 3_008, "size " + index.size());
        assertEquals(0, index.overflowSize(), "nothing sparse");
    }

    private static void put(final MessageIndex index, final TreeMap<Long, Message> model, final long entry)
    {
        final Message m = new Message();
        assertSame(model.put(entry, m), index.put(entry, m), "put " + entry);
    }

    private static void assertIterationEquals(final TreeMap<Long, Message> model, final MessageIndex index)
    {
        final Iterator<Map.Entry<Long, Message>> expected = model.entrySet().iterator();
        final int[] n = {0};
        index.forEach((entry, m) ->
        {
            assertTrue(expected.hasNext(), "iteration yields more than the model's " + model.size());
            final Map.Entry<Long, Message> e = expected.next();
            assertEquals(e.getKey(), entry, "iteration order at position " + n[0]);
            assertSame(e.getValue(), m, "message of entry " + entry);
            n[0]++;
        });
        assertEquals(model.size(), n[0], "iteration count");
    }

    /**
     * One seeded sequence of phases.
     */
    private static final class Run
    {
        private final Random random;
        private final MessageIndex index = new MessageIndex();
        private final TreeMap<Long, Message> model = new TreeMap<>();
        private final HashSet<Long> dead = new HashSet<>();
        private final HashSet<Long> stuck = new HashSet<>();
        private long nextEntry;
        private int maxPresent;
        private int op;

        Run(final long seed)
        {
            random = new Random(seed);
            nextEntry = random.nextBoolean() ? 0 : random.nextLong() >> 12;
        }

        void run(final int ops)
        {
            while (op < ops)
            {
                final int phase = random.nextInt(5);
                final int length = 500 + random.nextInt(8_000);
                for (int i = 0; i < length && op < ops; i++, op++)
                {
                    switch (phase)
                    {
                        case 0 -> stream(1 + random.nextInt(3_000));
                        case 1 -> scattered();
                        case 2 -> stuckAndGaps();
                        case 3 -> loader();
                        default -> drain();
                    }
                    check();
                }
            }
        }

        private void stream(final int window)
        {
            if (model.size() < window || random.nextInt(2) == 0)
            {
                tailInsert();
            }
            else
            {
                removeNear(model.firstKey(), 64);
            }
        }

        private void scattered()
        {
            if (model.size() < 2_000 || random.nextInt(2) == 0)
            {
                final long entry = tailInsert();
                if (random.nextInt(100) == 0)
                {
                    stuck.add(entry);
                }
            }
            else
            {
                removeRandom(true);
            }
        }

        private void stuckAndGaps()
        {
            final int r = random.nextInt(100);
            if (r == 0)
            {
                nextEntry += 1L + random.nextInt(1 << 20);   // a gap of pages
            }
            else if (r == 1)
            {
                nextEntry += 1L << (20 + random.nextInt(20));   // a huge gap
            }
            else if (r < 50 || model.size() < 100)
            {
                final long entry = tailInsert();
                if (random.nextInt(500) == 0)
                {
                    stuck.add(entry);
                }
            }
            else
            {
                removeNear(model.firstKey(), 16);
            }
        }

        private void loader()
        {
            final int r = random.nextInt(10);
            if (r < 3)
            {
                tailInsert();
            }
            else if (r < 8)
            {
                // anywhere near the live range: below the table, into holes or present pages, over live ones
                final long low = model.isEmpty() ? nextEntry - 10_000 : model.firstKey() - 5_000;
                final long entry = low + (long)(random.nextDouble() * (nextEntry - low + 1));
                final Message m = new Message();
                assertSame(model.put(entry, m), index.put(entry, m), "put " + entry);
                dead.remove(entry);
                nextEntry = Math.max(nextEntry, entry + 1);
            }
            else if (r < 9)
            {
                removeRandom(false);
            }
            else
            {
                lookup(random.nextLong());
            }
        }

        private void drain()
        {
            if (model.isEmpty())
            {
                tailInsert();
            }
            else
            {
                removeRandom(false);
            }
        }

        private long tailInsert()
        {
            final long entry = nextEntry++;
            final Message m = new Message();
            assertNull(index.put(entry, m), "put " + entry);
            model.put(entry, m);
            dead.remove(entry);
            return entry;
        }

        private void removeNear(final long from, final int window)
        {
            final Long key = model.ceilingKey(from + random.nextInt(window));
            remove(key == null ? model.lastKey() : key, true);
        }

        private void removeRandom(final boolean spareStuck)
        {
            final long first = model.firstKey();
            final long last = model.lastKey();
            final long probe = first + (long)(random.nextDouble() * (last - first + 1));
            final Long key = model.ceilingKey(probe);
            remove(key == null ? last : key, spareStuck);
        }

        private void remove(final long entry, final boolean spareStuck)
        {
            if (spareStuck && stuck.contains(entry))
            {
                lookup(entry);
                return;
            }
            final Message expected = model.remove(entry);
            assertSame(expected, index.remove(entry), "remove " + entry);
            stuck.remove(entry);
            dead.add(entry);
            assertNull(index.remove(entry), "second remove of " + entry);
        }

        private void lookup(final long entry)
        {
            assertSame(model.get(entry), index.get(entry), "get " + entry);
        }

        private void check()
        {
            assertEquals(model.size(), index.size(), "size");
            if (!model.isEmpty())
            {
                final long first = model.firstKey();
                final long last = model.lastKey();
                final Long live = model.ceilingKey(first + (long)(random.nextDouble() * (last - first + 1)));
                lookup(live);
                lookup(first - 1 - random.nextInt(100_000));
                lookup(last + 1 + random.nextInt(100_000));
                lookup(first + (long)(random.nextDouble() * (last - first + 1)));
            }
            if (!dead.isEmpty() && random.nextInt(8) == 0)
            {
                final Iterator<Long> i = dead.iterator();
                lookup(i.next());
            }
            if (dead.size() > 100_000)
            {
                dead.clear();
            }
            if (model.size() <= 3_000 || op % 97 == 0)
            {
                assertIterationEquals(model, index);
            }

            maxPresent = Math.max(maxPresent, index.presentPages());
            final int paged = index.size() - index.overflowSize();
            assertTrue(index.presentPages() <= 1 + MessageIndex.MAX_CANDIDATES + paged / MessageIndex.SPARSE,
                index.presentPages() + " pages for " + paged + " messages in pages");
            assertTrue(index.tableCapacity() <= 2 * Math.max(MessageIndex.MIN_SPAN, 4 * (maxPresent + 1)),
                "table of " + index.tableCapacity() + " for at most " + maxPresent + " pages");
            assertTrue(index.pooledPages() <= MessageIndex.POOL_SIZE, "pool");
        }
    }
}
