package io.magnetar.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The data of the live messages (attributes and key), as records in on-heap pages sorted by size class, instead of one
 * {@code byte[]} per message: the array's 16-byte header, its alignment slack and the message's length fields and
 * array reference (12 B) give way to one {@code int} handle in the message and an 8-byte record header here.
 * <p>
 * <b>Record</b>: {@code [u32 dataLength][u16 keyLength][u16 attributeCount]} then the data as a publish carries it:
 * each attribute as {@code [u16 nameLength][name][u16 valueLength][value]}, then the key (little endian). Read it at
 * {@link #page}{@code (h)} from {@link #dataOffset}{@code (h)}.
 * <p>
 * <b>Size classes</b>: slots of 16 to 1,024 bytes in steps of 8, then each ~1/32 larger than the one before (rounded up
 * to 8) up to {@value #LARGEST_SLOT} bytes: a record wastes at most 7 B to rounding up to 1 KiB, at most ~3 % above
 * (~1.6 % on average: 16 B for a 1 KiB record, 64 B for 4 KiB, where an exact array's header and padding cost ~20 B).
 * Coarser steps above 256 B (1/8) wasted 34-166 B a record between 256 B and 4 KiB. Each class in use holds at least
 * one page, and at most one empty spare: ~260 classes, so at worst ~33 MiB of partly used pages for an engine whose
 * records spread over every size.
 * A page holds as many slots of its class as fit in {@value #PAGE_BYTES} bytes (so no page is a G1 humongous object,
 * and growth allocates a new page, never copies records). A record larger than the largest class gets an exact array
 * of its own, a page of one record.
 * <p>
 * <b>Handle</b>: {@code page << 13 | offset >>> 3}: a page number (any class, shared numbering) in the high 19 bits and
 * the record's offset in 8-byte units in the low 13 (pages are at most 64 KiB, slots multiples of 8). Reading a record
 * is a shift and a mask, without looking up its class. Page numbers go up to {@value #MAX_PAGES} ({@code -1}, which
 * would be the next one, is {@link #NONE}): at least 16 GiB of pages (each holds at least 32 KiB, most ~64 KiB), past
 * what a broker's heap holds, but it is a bound on pages, not records, so {@link #canAllocate} is what a publish checks
 * (a page pinned by a single record still takes a number).
 * <p>
 * <b>Free slots</b>: each page threads a free list through its free slots (the next free offset in the slot's first 4
 * bytes, {@code 0xFFFF} in its attribute-count field: a live record has at most {@value #MAX_ATTRIBUTE_COUNT}, which
 * catches a double free) and counts its live records; each class keeps a stack of its pages with free slots and live
 * records, and allocates from the top one. A page that empties becomes its class's spare, used only when no other page
 * has room, or is released (the array dropped, its number reused) if the class has a spare already. So each class
 * keeps at most one empty page, the memory of a burst comes back once its records are freed (the engine's pool of
 * {@code Message} objects, by contrast, keeps its high-water mark), and a steady state of allocate and free allocates
 * nothing even when a class's live count swings across a page boundary: releasing an emptied page whenever another page
 * had room, and allocating a new one on the way back up, made a churn of mixed sizes allocate a page every ~30,000
 * records ({@code DataSlabTest}).
 * <p>
 * <b>No compaction</b>: records never move, so nothing points back from a record to its message and no handle is ever
 * updated. The cost is fragmentation: a page stays as long as one record in it lives (scattered survivors of a drained
 * burst pin their pages until they are freed; their free slots are reused by new records of the class meanwhile).
 * <p>
 * Pure and single-threaded, like the engine.
 */
final class DataSlab
{
    // little-endian views of the pages: one load or store each (C2 on JDK 17 does not merge byte-wise accesses), the
    // order the record's attribute lengths have on the wire and in snapshots, which copy the data as it is
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    /** the handle of no record. */
    static final int NONE = -1;
    /** bytes before a record's data: {@code [u32 dataLength][u16 keyLength][u16 attributeCount]}. */
    static final int HEADER = 8;
    /** a page's size at most; a record of more (header included) gets its own exact array. */
    static final int PAGE_BYTES = 64 * 1024;
    static final int LARGEST_SLOT = PAGE_BYTES;
    /** a record's attribute count at most: {@value #FREE_MARK} marks a free slot. */
    static final int MAX_ATTRIBUTE_COUNT = 0xFFFE;
    private static final int FREE_MARK = 0xFFFF;
    private static final int OFFSET_BITS = 13;
    private static final int OFFSET_MASK = (1 << OFFSET_BITS) - 1;
    /** page numbers are 0 .. MAX_PAGES - 1: page MAX_PAGES would hold handle -1, which is {@link #NONE}. */
    static final int MAX_PAGES = (1 << (32 - OFFSET_BITS)) - 1;

    /** the slot size of each class, increasing. */
    private static final int[] SLOT_SIZES = slotSizes();
    private static final int CLASSES = SLOT_SIZES.length;
    /** the class number of a page that holds one large record. */
    private static final int LARGE = CLASSES;
    /** the class of a record of {@code size} bytes (header included) at {@code (size + 7) >>> 3}. */
    private static final short[] CLASS_BY_UNITS = classByUnits();

    private final int maxPages;

    // per page number
    private byte[][] pages = new byte[16][];
    private int[] pageClass = new int[16];
    /** offset of the first free slot, -1 if none. */
    private int[] freeHead = new int[16];
    private int[] liveInPage = new int[16];
    /** where the page is in its class's stack of pages with free slots, -1 if it is not there. */
    private int[] availIndex = new int[16];
    /** page numbers handed out so far; those of released pages are on the stack below. */
    private int pageCount;
    private int[] freePageNumbers = new int[16];
    private int freePageNumberCount;

    // per class: the pages with free slots and live records, and one empty page kept (-1 if none)
    private final int[][] avail = new int[CLASSES][];
    private final int[] availCount = new int[CLASSES];
    private final int[] spare = new int[CLASSES];

    private long records;

    DataSlab()
    {
        this(MAX_PAGES);
    }

    /**
     * @param maxPages how many page numbers to hand out at most ({@link #MAX_PAGES}; tests pass fewer to reach it).
     */
    DataSlab(final int maxPages)
    {
        if (maxPages < 1 || maxPages > MAX_PAGES)
        {
            throw new IllegalArgumentException("maxPages must be 1.." + MAX_PAGES + ": " + maxPages);
        }
        this.maxPages = maxPages;
        for (int c = 0; c < CLASSES; c++)
        {
            avail[c] = new int[4];
            spare[c] = -1;
        }
    }

    /**
     * Slot sizes: 16 to 1,024 in steps of 8 (records up to 1 KiB waste at most 7 B), then + 1/32 rounded up to 8,
     * the last {@link #LARGEST_SLOT}.
     */
    private static int[] slotSizes()
    {
        final int[] sizes = new int[512];
        int n = 0;
        for (int size = 16; size <= 1024; size += 8)
        {
            sizes[n++] = size;
        }
        int size = 1024;
        while (size < LARGEST_SLOT)
        {
            size = Math.min(LARGEST_SLOT, (size + (size >>> 5) + 7) & ~7);
            sizes[n++] = size;
        }
        return Arrays.copyOf(sizes, n);
    }

    private static short[] classByUnits()
    {
        final short[] table = new short[(LARGEST_SLOT >>> 3) + 1];
        int c = 0;
        for (int units = 0; units < table.length; units++)
        {
            while (SLOT_SIZES[c] < units << 3)
            {
                c++;
            }
            table[units] = (short)c;
        }
        return table;
    }

    /**
     * The slot size a record of {@code dataLength} bytes of data takes, its header included; for a large record the
     * exact size of its array.
     */
    static int slotSize(final int dataLength)
    {
        final long size = HEADER + (long)dataLength;
        return size > LARGEST_SLOT ? (int)size : SLOT_SIZES[CLASS_BY_UNITS[(int)(size + 7) >>> 3]];
    }

    /**
     * Number of size classes (large records aside): for tests and documentation.
     */
    static int classes()
    {
        return CLASSES;
    }

    /**
     * Whether {@code count} more records can be allocated whatever their sizes: each needs at most one new page.
     */
    boolean canAllocate(final int count)
    {
        return maxPages - pagesInUse() >= count;
    }

    /**
     * A new record with its header written and its {@code dataLength} bytes of data for the caller to write, at
     * {@link #page}{@code (h)} from {@link #dataOffset}{@code (h)}.
     *
     * @throws IllegalStateException if all page numbers are in use (see {@link #canAllocate}).
     */
    int allocate(final int dataLength, final int keyLength, final int attributeCount)
    {
        if (dataLength < 0 || keyLength < 0 || keyLength > 0xFFFF || keyLength > dataLength ||
            attributeCount < 0 || attributeCount > MAX_ATTRIBUTE_COUNT)
        {
            throw new IllegalArgumentException("a record of " + dataLength + " bytes with a key of " + keyLength +
                " bytes and " + attributeCount + " attributes");
        }
        final long size = HEADER + (long)dataLength;
        final int p;
        final int offset;
        if (size > LARGEST_SLOT)
        {
            p = takePageNumber();
            pages[p] = new byte[(int)size];
            pageClass[p] = LARGE;
            freeHead[p] = -1;
            liveInPage[p] = 1;
            availIndex[p] = -1;
            offset = 0;
        }
        else
        {
            final int c = CLASS_BY_UNITS[(int)(size + 7) >>> 3];
            if (availCount[c] > 0)
            {
                p = avail[c][availCount[c] - 1];
            }
            else if (spare[c] >= 0)
            {
                p = spare[c];
                spare[c] = -1;
                pushAvail(c, p);
            }
            else
            {
                p = newPage(c);
            }
            offset = freeHead[p];
            final byte[] page = pages[p];
            freeHead[p] = getInt(page, offset);
            liveInPage[p]++;
            if (freeHead[p] < 0)
            {
                removeAvail(c, p);
            }
        }
        final byte[] page = pages[p];
        putInt(page, offset, dataLength);
        putU16(page, offset + 4, keyLength);
        putU16(page, offset + 6, attributeCount);
        records++;
        return p << OFFSET_BITS | offset >>> 3;
    }

    /**
     * Sets a record's key length: a publish allocates the record before it reaches the key in the frame.
     */
    void setKeyLength(final int handle, final int keyLength)
    {
        final int offset = (handle & OFFSET_MASK) << 3;
        final byte[] page = page(handle);
        if (keyLength < 0 || keyLength > 0xFFFF || keyLength > getInt(page, offset))
        {
            throw new IllegalArgumentException("a key of " + keyLength + " bytes in a record of " + getInt(page, offset));
        }
        putU16(page, offset + 4, keyLength);
    }

    /**
     * Frees a record: its slot goes back to its page's free list, a large record's array is dropped.
     *
     * @throws IllegalStateException if {@code handle} is not a live record (a double free, {@link #NONE}).
     */
    void free(final int handle)
    {
        final int p = handle >>> OFFSET_BITS;
        final int offset = (handle & OFFSET_MASK) << 3;
        final byte[] page = p < pageCount ? pages[p] : null;
        if (page == null)
        {
            throw new IllegalStateException("free of record " + handle + ": page " + p + " holds no records");
        }
        final int c = pageClass[p];
        if (c == LARGE)
        {
            if (offset != 0)
            {
                throw new IllegalStateException("free of record " + handle + ": not the start of a record");
            }
            pages[p] = null;
            liveInPage[p] = 0;
            releasePageNumber(p);
            records--;
            return;
        }
        if (offset >= page.length || offset % SLOT_SIZES[c] != 0 || getU16(page, offset + 6) == FREE_MARK)
        {
            throw new IllegalStateException("free of record " + handle + ": not a live record (freed twice?)");
        }
        putInt(page, offset, freeHead[p]);
        putU16(page, offset + 6, FREE_MARK);
        freeHead[p] = offset;
        records--;
        if (availIndex[p] < 0)
        {
            pushAvail(c, p);
        }
        if (--liveInPage[p] == 0)
        {
            // the class's spare if it has none, released otherwise: at most one empty page per class stays
            removeAvail(c, p);
            if (spare[c] < 0)
            {
                spare[c] = p;
            }
            else
            {
                pages[p] = null;
                releasePageNumber(p);
            }
        }
    }

    /** the page that holds the record. */
    byte[] page(final int handle)
    {
        return pages[handle >>> OFFSET_BITS];
    }

    /** where the record's data starts in its {@link #page}. */
    static int dataOffset(final int handle)
    {
        return ((handle & OFFSET_MASK) << 3) + HEADER;
    }

    int dataLength(final int handle)
    {
        return getInt(page(handle), (handle & OFFSET_MASK) << 3);
    }

    int keyLength(final int handle)
    {
        return getU16(page(handle), ((handle & OFFSET_MASK) << 3) + 4);
    }

    int attributeCount(final int handle)
    {
        return getU16(page(handle), ((handle & OFFSET_MASK) << 3) + 6);
    }

    /**
     * Where the key starts in the data: it ends the data.
     */
    int keyOffset(final int handle)
    {
        return dataLength(handle) - keyLength(handle);
    }

    /**
     * Payload bytes counted against the backlog: key + attribute names and values, that is the data without the two
     * u16 length prefixes of each attribute.
     */
    int payloadBytes(final int handle)
    {
        return dataLength(handle) - 4 * attributeCount(handle);
    }

    /** live records. */
    long records()
    {
        return records;
    }

    /** page numbers in use: pages of slots and large records' arrays. */
    int pagesInUse()
    {
        return pageCount - freePageNumberCount;
    }

    private int newPage(final int c)
    {
        final int p = takePageNumber();
        final int slotSize = SLOT_SIZES[c];
        final int slots = PAGE_BYTES / slotSize;
        final byte[] page = new byte[slots * slotSize];
        for (int i = 0, offset = 0; i < slots; i++, offset += slotSize)
        {
            putInt(page, offset, i + 1 < slots ? offset + slotSize : -1);
            putU16(page, offset + 6, FREE_MARK);
        }
        pages[p] = page;
        pageClass[p] = c;
        freeHead[p] = 0;
        liveInPage[p] = 0;
        availIndex[p] = -1;
        pushAvail(c, p);
        return p;
    }

    private int takePageNumber()
    {
        if (freePageNumberCount > 0)
        {
            return freePageNumbers[--freePageNumberCount];
        }
        if (pageCount == maxPages)
        {
            throw new IllegalStateException("data slab full: all " + maxPages + " page numbers are in use (" + records +
                " records); a handle holds a page number in 19 bits");
        }
        if (pageCount == pages.length)
        {
            final int capacity = (int)Math.min(maxPages, 2L * pages.length);
            pages = Arrays.copyOf(pages, capacity);
            pageClass = Arrays.copyOf(pageClass, capacity);
            freeHead = Arrays.copyOf(freeHead, capacity);
            liveInPage = Arrays.copyOf(liveInPage, capacity);
            availIndex = Arrays.copyOf(availIndex, capacity);
        }
        return pageCount++;
    }

    private void releasePageNumber(final int p)
    {
        if (freePageNumberCount == freePageNumbers.length)
        {
            freePageNumbers = Arrays.copyOf(freePageNumbers, freePageNumberCount << 1);
        }
        freePageNumbers[freePageNumberCount++] = p;
    }

    private void pushAvail(final int c, final int p)
    {
        int[] stack = avail[c];
        if (availCount[c] == stack.length)
        {
            stack = avail[c] = Arrays.copyOf(stack, stack.length << 1);
        }
        availIndex[p] = availCount[c];
        stack[availCount[c]++] = p;
    }

    private void removeAvail(final int c, final int p)
    {
        final int[] stack = avail[c];
        final int i = availIndex[p];
        final int last = stack[--availCount[c]];
        stack[i] = last;
        availIndex[last] = i;
        availIndex[p] = -1;
    }

    static int getU16(final byte[] page, final int index)
    {
        return (short)U16.get(page, index) & 0xFFFF;
    }

    static void putU16(final byte[] page, final int index, final int value)
    {
        U16.set(page, index, (short)value);
    }

    private static int getInt(final byte[] page, final int index)
    {
        return (int)I32.get(page, index);
    }

    private static void putInt(final byte[] page, final int index, final int value)
    {
        I32.set(page, index, value);
    }
}
