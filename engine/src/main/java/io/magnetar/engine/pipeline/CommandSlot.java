package io.magnetar.engine.pipeline;

import io.magnetar.engine.PublishKeyHashes;
import io.magnetar.engine.journal.JournalEntryFormat;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;

/**
 * One preallocated ring entry. Its buffer holds a journal record ({@link JournalEntryFormat}): the
 * JournalEntry header followed by the command frame at {@link JournalEntryFormat#COMMAND_OFFSET}.
 * <p>
 * <b>Off-heap.</b> The slot's own buffer is direct memory, so that the journal appends a record with one
 * {@code memcpy} into the mapped file (Chronicle copies a heap {@code byte[]} with a Java loop of 8-byte puts) and
 * checksums it in place. It grows (by at least half, on the producer thread, in {@link #prepare}) when a record does
 * not fit, up to {@link #maxDirectCapacity()}, and keeps its size. A record larger than that goes into a heap buffer
 * of its own, dropped once the command is applied ({@link #releaseLargeBuffer()}), so the ring pins at most
 * {@code ringSize x max(MAX_RETAINED_CAPACITY, slotCapacity)} bytes of direct memory (256 MiB for the default
 * 16,384 slots, reached only if every slot once held a ~16 KiB command), plus the buffers a slot outgrew, less than
 * twice that in all and freed by the garbage collector. That is direct memory, limited by
 * {@code -XX:MaxDirectMemorySize} (by default as large as the heap): a node started with a small heap and a large ring
 * needs the limit raised (exhausting it fails the pipeline, as exhausting the heap did when the slots were on it).
 * <p>
 * Written by the sequencer, then read by the handlers; valid only while a handler owns the sequence (a handler must
 * not keep the buffer, or anything wrapping it, after it returns).
 */
public final class CommandSlot
{
    /**
     * The largest direct buffer a slot keeps (unless the slot capacity is larger): a record above it is held in a
     * heap buffer of its own, dropped once applied (a 1,000-message publish is ~150 KB; 16,384 slots each keeping one
     * would pin ~2.4 GB).
     */
    static final int MAX_RETAINED_CAPACITY = 16 * 1024;

    /**
     * The most key hashes a slot computes for one publish (4 KiB of ints); a larger batch carries none and the engine
     * hashes its keys itself. Bounds what the ring retains for them at ringSize x 4 KiB (64 MiB at 16,384 slots if
     * every slot once held a publish of over 512 messages).
     */
    static final int MAX_KEY_HASHES = 1024;
    private static final int MIN_KEY_HASHES = 16;

    /** the buffer holding the current record: {@link #direct}, or a heap buffer for one record too large for it. */
    MutableDirectBuffer buffer;
    private UnsafeBuffer direct;
    private final int maxDirectCapacity;
    int length;
    long sessionId;
    long timestampMs;
    int templateId;
    /** set by the journal handler: the entry's journal index, or -1 for a query (not journaled). */
    long journalIndex = -1;
    /**
     * The sequencer's key hashes of a {@code Publish} ({@link PublishKeyHashes}), the first {@link #keyHashCount}
     * entries; allocated at the first publish, grown to the largest batch seen up to {@link #MAX_KEY_HASHES}.
     */
    int[] keyHashes;
    /** how many of {@link #keyHashes} belong to the current command; 0 for none. */
    int keyHashCount;

    CommandSlot(final int initialCapacity)
    {
        maxDirectCapacity = Math.max(initialCapacity, MAX_RETAINED_CAPACITY);
        direct = allocateDirect(initialCapacity);
        buffer = direct;
    }

    /**
     * Producer only, before writing a record: make {@link #buffer} able to hold {@code recordLength} bytes (and forget
     * the last command's key hashes).
     * Allocates only when the slot's direct buffer grows (at most a few times per slot) or the record is larger than
     * {@link #maxDirectCapacity()}.
     *
     * @param recordLength header and command, bytes.
     * @return the buffer to write the record into (also {@link #buffer}).
     */
    MutableDirectBuffer prepare(final int recordLength)
    {
        keyHashCount = 0;
        if (recordLength > direct.capacity())
        {
            if (recordLength > maxDirectCapacity)
            {
                buffer = new UnsafeBuffer(new byte[recordLength]);
                return buffer;
            }
            final int grown = Math.max(recordLength, direct.capacity() + (direct.capacity() >> 1));
            direct = allocateDirect(Math.min(maxDirectCapacity, align(grown, 1024)));
        }
        buffer = direct;

        return buffer;
    }

    /**
     * Producer only, after the command frame is in {@link #buffer}: compute the key hashes of a {@code Publish}
     * (nothing for any other command, or one the sequencer cannot read, or a batch over {@link #MAX_KEY_HASHES}).
     * Allocates only when the slot meets a larger batch than before.
     *
     * @return how many hashes were computed (also {@link #keyHashCount}).
     */
    int computeKeyHashes(final int commandLength, final PublishKeyHashes reader)
    {
        keyHashCount = 0;
        final int count = reader.count(buffer, JournalEntryFormat.COMMAND_OFFSET, commandLength);
        if (count == PublishKeyHashes.NONE || count > MAX_KEY_HASHES)
        {
            return 0;
        }
        if (null == keyHashes || keyHashes.length < count)
        {
            keyHashes = new int[Math.max(MIN_KEY_HASHES, Integer.highestOneBit(count - 1) << 1)];
        }
        final int computed = reader.compute(buffer, JournalEntryFormat.COMMAND_OFFSET, commandLength, keyHashes);
        keyHashCount = computed == PublishKeyHashes.NONE ? 0 : computed;

        return keyHashCount;
    }

    /**
     * Called by the last handler after the slot's command is applied (the producer reuses the slot only after
     * that handler's sequence has passed it, which orders this write before its next use): a heap buffer that held
     * one large record is dropped; the direct buffer stays.
     */
    void releaseLargeBuffer()
    {
        buffer = direct;
    }

    /**
     * @return the capacity of the slot's direct buffer now.
     */
    int directCapacity()
    {
        return direct.capacity();
    }

    /**
     * @return the largest direct buffer this slot grows to; larger records are held on the heap.
     */
    int maxDirectCapacity()
    {
        return maxDirectCapacity;
    }

    /**
     * @return the buffer holding the record (header at 0, command at {@link JournalEntryFormat#COMMAND_OFFSET}).
     */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return offset of the command frame in {@link #buffer()}.
     */
    public int commandOffset()
    {
        return JournalEntryFormat.COMMAND_OFFSET;
    }

    /**
     * @return length of the command frame.
     */
    public int commandLength()
    {
        return length;
    }

    /**
     * @return length of the whole journal record: header and command.
     */
    public int recordLength()
    {
        return JournalEntryFormat.HEADER_LENGTH + length;
    }

    /**
     * @return the session the command came from (0 for internal commands).
     */
    public long sessionId()
    {
        return sessionId;
    }

    /**
     * @return the time the sequencer stamped.
     */
    public long timestampMs()
    {
        return timestampMs;
    }

    /**
     * @return the journal index the command was appended at (valid once journaled), or -1 for a query.
     */
    public long journalIndex()
    {
        return journalIndex;
    }

    /**
     * @return the command's SBE template id, or -1 when the frame is shorter than a message header.
     */
    public int templateId()
    {
        return templateId;
    }

    private static UnsafeBuffer allocateDirect(final int capacity)
    {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(capacity));
    }

    private static int align(final int value, final int alignment)
    {
        return (value + alignment - 1) & -alignment;
    }
}
