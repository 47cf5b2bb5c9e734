package io.magnetar.engine;

import java.util.Arrays;

import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongObjConsumer;

/**
 * The live messages of one partition by entry: what an ack's id is looked up in. Replaces a
 * {@code Long2ObjectHashMap<Message>}, whose hashing, probing and compaction on remove were ~13 % of the pipeline
 * thread and whose slots cost ~25 B per live message (docs/BENCHMARKS.md).
 * <p>
 * Entries are assigned {@code nextEntry++} per partition and never reused, so the live ones are dense and
 * increasing: publishes insert at the tail, acks remove in any order. <b>Dense part</b>: pages of
 * {@value #PAGE_SIZE} {@code Message} slots, page {@code q} holding entries {@code [q << 8, (q + 1) << 8)}, in a
 * circular table ({@code q & mask}) covering the pages from the oldest present one to the newest. Lookup and
 * removal are an index and a shift; a page that empties goes back to a small pool (so the steady state allocates
 * nothing) and the table's head moves past empty slots.
 * <p>
 * <b>Sparse part</b>: scattered survivors (1 % never acked, or one stuck message followed by billions of entries) must
 * not pin whole pages nor stretch the table. A page that is not the newest and holds fewer than
 * {@code PAGE_SIZE / 8} messages moves them into a {@link Long2ObjectHashMap} overflow and is freed. It does so only
 * after a grace of {@value #GRACE_OPS} operations (puts and removes) from the moment it fell below: a page usually
 * drains in order within that grace, and moving its last messages to the overflow would only be extra hashing.
 * At most {@value #MAX_CANDIDATES} pages wait out their grace; one more moves the oldest at once. The table spans at most
 * {@code max(16, 4 x present pages)} pages: an insert past that moves the oldest pages to the overflow. Inserts
 * into a page that is absent (below the table or a hole in it, which only the snapshot loader does) go to the
 * overflow too, so a present page never has messages in the overflow, and a lookup that falls in a present page
 * never probes the overflow.
 * <p>
 * <b>Memory</b> (compressed references, 4 B each), per live message: 4 B in a full page (plus 0.1 B of page header
 * and table slot); at worst 32.5 B in a page that is neither the newest nor waiting out its grace (1,040 B for 32
 * messages); at worst 48 B in the overflow (8-byte key and 4-byte value slots, shrunk when less than a quarter full,
 * above 256 slots). The table: 8 B per slot, spanning at most {@code max(16, 4 x present pages)} when a page is added.
 * Besides, per partition, whatever the live count: the newest page and {@value #POOL_SIZE} pooled ones (3 KiB: what
 * an idle partition keeps), at worst {@value #MAX_CANDIDATES} pages waiting out their grace (32 KiB) and the
 * overflow's 256 slots (3 KiB). Uncompressed references double the page figures.
 * <p>
 * <b>Page size</b>: 2^8 slots. 2^8, 2^10 and 2^12 cost the same CPU (a put, a lookup and a remove: 12-15 ns on this
 * machine, in a micro benchmark of 16 partitions with 10,000 and 200,000 live messages, against 25 ns for the hash map
 * with 10,000), so the smallest page that keeps header and table negligible wins: it bounds what an idle partition
 * keeps (3 KiB instead of 12 KiB at 2^10) and the pages in grace.
 * <p>
 * Iteration ({@link #forEach}) is in entry order. Single-threaded, like the engine.
 */
final class MessageIndex
{
    static final int PAGE_SHIFT = 8;
    static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGE_MASK = PAGE_SIZE - 1;
    /** a page that is not the newest with fewer messages than this moves them to the overflow. */
    static final int SPARSE = PAGE_SIZE / 8;
    static final int GRACE_OPS = 4096;
    static final int MAX_CANDIDATES = 32;
    static final int POOL_SIZE = 2;
    static final int MIN_SPAN = 16;
    private static final int MIN_TABLE = 4;
    private static final int MIN_OVERFLOW_CAPACITY = 256;
    private static final long[] NO_ENTRIES = new long[0];

    /** page table, slot {@code q & (pages.length - 1)} for page {@code q}; slots outside the span are null. */
    private Message[][] pages = new Message[MIN_TABLE][];
    private int[] counts = new int[MIN_TABLE];
    /** first page of the span (the oldest present page); meaningless while {@code span == 0}. */
    private long headPage;
    /** pages from {@code headPage} to the newest page, which is always present while the span is not empty. */
    private int span;
    private int presentPages;
    private int size;

    private final Message[][] pool = new Message[POOL_SIZE][];
    private int pooled;

    /** null until a message first goes there. */
    private Long2ObjectHashMap<Message> overflow;

    /** pages that fell below {@link #SPARSE}, oldest first, and the operation count at which they move. */
    private long[] candidatePages;
    private long[] candidateDue;
    private int candidateHead;
    private int candidates;
    private long ops;

    int size()
    {
        return size;
    }

    Message get(final long entry)
    {
        final long q = entry >> PAGE_SHIFT;
        final long d = q - headPage;
        if (d >= 0 && d < span)
        {
            final Message[] page = pages[(int)q & (pages.length - 1)];
            if (page != null)
            {
                return page[(int)entry & PAGE_MASK];
            }
        }
        return overflow == null || overflow.isEmpty() ? null : overflow.get(entry);
    }

    /**
     * @return the message this replaced, or null.
     */
    Message put(final long entry, final Message m)
    {
        if (m == null)
        {
            throw new NullPointerException("message");
        }
        settle();
        final long q = entry >> PAGE_SHIFT;
        final long d = q - headPage;
        if (span == 0 || d >= span)
        {
            appendPage(q);
        }
        else if (d < 0)
        {
            return putOverflow(entry, m);
        }
        final int slot = (int)q & (pages.length - 1);
        final Message[] page = pages[slot];
        if (page == null)
        {
            return putOverflow(entry, m);
        }
        final int i = (int)entry & PAGE_MASK;
        final Message previous = page[i];
        page[i] = m;
        if (previous == null)
        {
            counts[slot]++;
            size++;
        }
        return previous;
    }

    /**
     * @return the message removed, or null if there was none.
     */
    Message remove(final long entry)
    {
        settle();
        final long q = entry >> PAGE_SHIFT;
        final long d = q - headPage;
        if (d >= 0 && d < span)
        {
            final int slot = (int)q & (pages.length - 1);
            final Message[] page = pages[slot];
            if (page != null)
            {
                final int i = (int)entry & PAGE_MASK;
                final Message previous = page[i];
                if (previous == null)
                {
                    return null;
                }
                page[i] = null;
                size--;
                final int count = --counts[slot];
                if (d != span - 1)
                {
                    if (count == 0)
                    {
                        freePage(q, slot);
                    }
                    else if (count == SPARSE - 1)
                    {
                        addCandidate(q);
                    }
                }
                return previous;
            }
        }
        if (overflow == null || overflow.isEmpty())
        {
            return null;
        }
        final Message previous = overflow.remove(entry);
        if (previous != null)
        {
            size--;
            final int capacity = overflow.capacity();
            if (capacity > MIN_OVERFLOW_CAPACITY && overflow.size() < capacity >>> 2)
            {
                overflow.compact();
            }
        }
        return previous;
    }

    /**
     * Every message in entry order. Allocates (the overflow's entries are sorted): for the state hash, not for the
     * steady state.
     */
    void forEach(final LongObjConsumer<Message> action)
    {
        long[] sparse = NO_ENTRIES;
        int sparseCount = 0;
        if (overflow != null && !overflow.isEmpty())
        {
            final long[] keys = new long[overflow.size()];
            final int[] n = {0};
            overflow.forEachLong((entry, m) -> keys[n[0]++] = entry);
            Arrays.sort(keys);
            sparse = keys;
            sparseCount = keys.length;
        }
        int k = 0;
        for (int p = 0; p < span; p++)
        {
            final long q = headPage + p;
            final Message[] page = pages[(int)q & (pages.length - 1)];
            if (page == null)
            {
                continue;
            }
            final long base = q << PAGE_SHIFT;
            for (int i = 0; i < PAGE_SIZE; i++)
            {
                final Message m = page[i];
                if (m != null)
                {
                    final long entry = base + i;
                    for (; k < sparseCount && sparse[k] < entry; k++)
                    {
                        action.accept(sparse[k], overflow.get(sparse[k]));
                    }
                    action.accept(entry, m);
                }
            }
        }
        for (; k < sparseCount; k++)
        {
            action.accept(sparse[k], overflow.get(sparse[k]));
        }
    }

    /**
     * Moves every sparse page to the overflow now, without waiting for its grace: the snapshot loader calls this
     * when it has inserted everything (recovery inserts, it does not remove, so nothing else would).
     */
    void trim()
    {
        while (candidates != 0)
        {
            moveFirstCandidate();
        }
    }

    // test hooks: the shape of the index, for the property test

    int presentPages()
    {
        return presentPages;
    }

    int span()
    {
        return span;
    }

    int overflowSize()
    {
        return overflow == null ? 0 : overflow.size();
    }

    int pooledPages()
    {
        return pooled;
    }

    int tableCapacity()
    {
        return pages.length;
    }

    // =====================================================================================================

    private Message putOverflow(final long entry, final Message m)
    {
        if (overflow == null)
        {
            overflow = new Long2ObjectHashMap<>();
        }
        final Message previous = overflow.put(entry, m);
        if (previous == null)
        {
            size++;
        }
        return previous;
    }

    /**
     * Makes page {@code q}, past the newest (or the first page), the newest: the previous newest becomes an ordinary
     * page (freed if empty, a candidate if sparse), and the span stays within {@code max(MIN_SPAN, 4 x present)}.
     */
    private void appendPage(final long q)
    {
        if (span != 0)
        {
            final long tail = headPage + span - 1;
            final int tailSlot = (int)tail & (pages.length - 1);
            final int count = counts[tailSlot];
            if (count == 0)
            {
                freePage(tail, tailSlot);
            }
            else if (count < SPARSE)
            {
                addCandidate(tail);
            }
            while (span != 0 && q - headPage >= Math.max(MIN_SPAN, 4L * (presentPages + 1)))
            {
                movePage(headPage, (int)headPage & (pages.length - 1));
            }
        }
        if (span == 0)
        {
            headPage = q;
        }
        final int newSpan = (int)(q - headPage) + 1;
        if (newSpan > pages.length || (pages.length > MIN_TABLE && newSpan < pages.length >>> 3))
        {
            resize(newSpan);
        }
        span = newSpan;
        final Message[] page = pooled != 0 ? pool[--pooled] : new Message[PAGE_SIZE];
        pool[pooled] = null;
        pages[(int)q & (pages.length - 1)] = page;
        presentPages++;
    }

    private void resize(final int newSpan)
    {
        final int capacity = Math.max(MIN_TABLE, Integer.highestOneBit(newSpan - 1) << 1);
        final Message[][] newPages = new Message[capacity][];
        final int[] newCounts = new int[capacity];
        for (int p = 0; p < span; p++)
        {
            final long q = headPage + p;
            final int from = (int)q & (pages.length - 1);
            final int to = (int)q & (capacity - 1);
            newPages[to] = pages[from];
            newCounts[to] = counts[from];
        }
        pages = newPages;
        counts = newCounts;
    }

    /**
     * Page {@code q} is empty: back to the pool (its slots are all null already), and the head moves past empty slots.
     */
    private void freePage(final long q, final int slot)
    {
        final Message[] page = pages[slot];
        pages[slot] = null;
        counts[slot] = 0;
        presentPages--;
        if (pooled < POOL_SIZE)
        {
            pool[pooled++] = page;
        }
        if (q == headPage)
        {
            while (span != 0 && pages[(int)headPage & (pages.length - 1)] == null)
            {
                headPage++;
                span--;
            }
        }
    }

    /**
     * Moves page {@code q}'s messages to the overflow and frees it.
     */
    private void movePage(final long q, final int slot)
    {
        final Message[] page = pages[slot];
        if (overflow == null)
        {
            overflow = new Long2ObjectHashMap<>();
        }
        final long base = q << PAGE_SHIFT;
        for (int i = 0; i < PAGE_SIZE; i++)
        {
            final Message m = page[i];
            if (m != null)
            {
                overflow.put(base + i, m);
                page[i] = null;
            }
        }
        freePage(q, slot);
    }

    private void addCandidate(final long q)
    {
        if (candidatePages == null)
        {
            candidatePages = new long[MAX_CANDIDATES];
            candidateDue = new long[MAX_CANDIDATES];
        }
        if (candidates == MAX_CANDIDATES)
        {
            moveFirstCandidate();
        }
        final int i = (candidateHead + candidates++) & (MAX_CANDIDATES - 1);
        candidatePages[i] = q;
        candidateDue[i] = ops + GRACE_OPS;
    }

    /**
     * Counts the operation; moves the candidates whose grace is over.
     */
    private void settle()
    {
        ops++;
        while (candidates != 0 && candidateDue[candidateHead] <= ops)
        {
            moveFirstCandidate();
        }
    }

    private void moveFirstCandidate()
    {
        final long q = candidatePages[candidateHead];
        candidateHead = (candidateHead + 1) & (MAX_CANDIDATES - 1);
        candidates--;
        final long d = q - headPage;
        if (d >= 0 && d < span - 1)
        {
            final int slot = (int)q & (pages.length - 1);
            if (pages[slot] != null && counts[slot] < SPARSE)
            {
                movePage(q, slot);
            }
        }
    }
}
