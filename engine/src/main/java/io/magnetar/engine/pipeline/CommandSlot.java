package io.magnetar.engine.pipeline;

import io.magnetar.engine.journal.JournalEntryFormat;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

/**
 * One preallocated ring entry. Its buffer holds a journal record ({@link JournalEntryFormat}): the
 * JournalEntry header followed by the command frame at {@link JournalEntryFormat#COMMAND_OFFSET}. The buffer
 * grows when a command does not fit and keeps its size.
 * <p>
 * Written by the sequencer, then read by the handlers; valid only while a handler owns the sequence.
 */
public final class CommandSlot
{
    /**
     * A slot whose buffer grew past this while holding a large command gets a fresh small buffer once that command
     * is applied, so the ring retains at most ringSize x this many bytes however large the commands were (a
     * 1,000-message publish is ~150 KB; 16,384 slots each keeping one would pin ~2.4 GB).
     */
    static final int MAX_RETAINED_CAPACITY = 16 * 1024;

    ExpandableArrayBuffer buffer;
    private final int initialCapacity;
    int length;
    long sessionId;
    long timestampMs;
    int templateId;
    /** set by the journal handler: the entry's journal index, or -1 for a query (not journaled). */
    long journalIndex = -1;

    CommandSlot(final int initialCapacity)
    {
        this.initialCapacity = initialCapacity;
        buffer = new ExpandableArrayBuffer(initialCapacity);
    }

    /**
     * Called by the last handler after the slot's command is applied (the producer reuses the slot only after
     * that handler's sequence has passed it, which orders this write before its next use).
     */
    void releaseLargeBuffer()
    {
        if (buffer.capacity() > MAX_RETAINED_CAPACITY)
        {
            buffer = new ExpandableArrayBuffer(initialCapacity);
        }
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
}
