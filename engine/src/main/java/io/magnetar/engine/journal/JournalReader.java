package io.magnetar.engine.journal;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.queue.impl.RollingChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

import java.text.ParseException;

/**
 * Reads journal entries in order, verifies each one and hands intact ones to a {@link Handler}.
 * <p>
 * The first record that is not intact (malformed, torn or with a checksum mismatch) stops the reader for
 * good: it is never delivered, nor is anything after it. {@link #status()} and {@link #badIndex()} tell
 * what was found.
 * <p>
 * Ranges the journal's {@link JournalCuts} declare void are skipped as if they were not there.
 * <p>
 * {@link #replay} also notices an excerpt that Chronicle cannot read at all (a zeroed or damaged excerpt header reads
 * like the end of the journal): when the journal's last index is past where reading ended, that is reported as a
 * {@link ReplayResult.Status#MALFORMED} record at the index where reading ended.
 * <p>
 * Works on a live journal too: {@link #poll} returns 0 at the current end and picks up new entries on the
 * next call. Not thread safe; the underlying tailer is bound to the first thread that reads.
 */
public final class JournalReader implements AutoCloseable
{
    private static final int INITIAL_BUFFER_CAPACITY = 4096;

    /**
     * Receives intact journal entries.
     */
    @FunctionalInterface
    public interface Handler
    {
        /**
         * One intact entry. The buffer is only valid during the call.
         *
         * @param sessionId   the stamped session (0 for internal commands).
         * @param timestampMs the stamped time.
         * @param buffer      holding the command frame.
         * @param offset      of the command frame.
         * @param length      of the command frame.
         * @param index       the entry's journal index (a Chronicle Queue index: cycle and sequence).
         */
        void onEntry(long sessionId, long timestampMs, DirectBuffer buffer, int offset, int length, long index);
    }

    private final RollingChronicleQueue queue;
    private final RollCycle rollCycle;
    private final JournalCuts cuts;
    private final long fromIndex;
    private final JournalEntryFormat format = new JournalEntryFormat();
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(INITIAL_BUFFER_CAPACITY);
    private ExcerptTailer tailer;
    private long entries;
    private long lastGoodIndex = -1;
    private long badIndex = -1;
    private ReplayResult.Status status = ReplayResult.Status.COMPLETE;
    private String detail;
    private long skippedCuts;

    JournalReader(final RollingChronicleQueue queue, final JournalCuts cuts, final long fromIndex)
    {
        this.queue = queue;
        this.rollCycle = queue.rollCycle();
        this.cuts = cuts;
        this.fromIndex = fromIndex;
    }

    /**
     * Deliver up to {@code limit} entries that are available now.
     *
     * @param handler for the entries.
     * @param limit   most entries to deliver.
     * @return entries delivered; 0 at the current end of the journal or once stopped at a bad record.
     */
    public int poll(final Handler handler, final int limit)
    {
        if (isStopped())
        {
            return 0;
        }

        final ExcerptTailer tailer = tailer();
        int delivered = 0;
        while (delivered < limit)
        {
            if (!cuts.isEmpty() && !skipCut(tailer))
            {
                break;
            }

            final int length;
            final long index;
            try (DocumentContext dc = tailer.readingDocument())
            {
                if (!dc.isPresent())
                {
                    break;
                }

                index = dc.index();
                final Bytes<?> bytes = dc.wire().bytes();
                final long remaining = bytes.readRemaining();
                if (remaining > Integer.MAX_VALUE - 8)
                {
                    stop(ReplayResult.Status.MALFORMED, index, "document of " + remaining + " bytes");
                    break;
                }

                length = (int)remaining;
                buffer.checkLimit(length);
                bytes.read(buffer.byteArray(), 0, length);
            }
            catch (final RuntimeException ex)
            {
                stop(ReplayResult.Status.MALFORMED, tailer.index(), "Chronicle cannot read the excerpt: " + ex);
                break;
            }

            final JournalEntryFormat.Verdict verdict = format.decode(buffer, 0, length);
            if (verdict != JournalEntryFormat.Verdict.OK)
            {
                stop(
                    verdict == JournalEntryFormat.Verdict.CHECKSUM_MISMATCH ?
                        ReplayResult.Status.CHECKSUM_MISMATCH : ReplayResult.Status.MALFORMED,
                    index,
                    format.detail());
                break;
            }

            entries++;
            lastGoodIndex = index;
            delivered++;
            handler.onEntry(
                format.sessionId(),
                format.timestampMs(),
                buffer,
                format.commandOffset(),
                format.commandLength(),
                index);
        }

        return delivered;
    }

    /**
     * Deliver every entry up to the end of the journal (or up to the first bad record).
     *
     * @param handler for the entries.
     * @return what was found.
     */
    public ReplayResult replay(final Handler handler)
    {
        while (poll(handler, Integer.MAX_VALUE) > 0)
        {
        }

        long after = 0;
        if (isStopped())
        {
            final ExcerptTailer tailer = tailer();
            try
            {
                while (true)
                {
                    try (DocumentContext dc = tailer.readingDocument())
                    {
                        if (!dc.isPresent())
                        {
                            break;
                        }
                        after++;
                    }
                }
            }
            catch (final RuntimeException ex)
            {
                after = Math.max(after, 1); // unreadable beyond the bad record: assume intact records may follow
            }
            if (0 == after)
            {
                after = indexesAfter(badIndex); // Chronicle's own bookkeeping knows of more entries
            }
        }
        else
        {
            final long next = tailer().index();
            if (indexesAfter(next - 1) > 0)
            {
                stop(ReplayResult.Status.MALFORMED, next, "the excerpt at index 0x" + Long.toHexString(next) +
                    " cannot be read (zero or damaged excerpt header) but the journal's last index is 0x" +
                    Long.toHexString(queue.lastIndex()));
                after = indexesAfter(next);
            }
        }

        return new ReplayResult(entries, lastGoodIndex, status, badIndex, after, detail);
    }

    /**
     * @return how many times a void range ({@link JournalCuts}) was skipped.
     */
    public long skippedCuts()
    {
        return skippedCuts;
    }

    /**
     * @return true once a bad record was found.
     */
    public boolean isStopped()
    {
        return status != ReplayResult.Status.COMPLETE;
    }

    /**
     * @return {@link ReplayResult.Status#COMPLETE} while all records read so far were intact.
     */
    public ReplayResult.Status status()
    {
        return status;
    }

    /**
     * @return intact entries delivered so far.
     */
    public long entries()
    {
        return entries;
    }

    /**
     * @return index of the last entry delivered, or -1.
     */
    public long lastGoodIndex()
    {
        return lastGoodIndex;
    }

    /**
     * @return index of the bad record that stopped the reader, or -1.
     */
    public long badIndex()
    {
        return badIndex;
    }

    /**
     * @return why the reader stopped, or null.
     */
    public String detail()
    {
        return detail;
    }

    /**
     * Release the tailer. The journal itself stays open.
     */
    public void close()
    {
        if (null != tailer)
        {
            tailer.singleThreadedCheckReset();
            tailer.close();
            tailer = null;
        }
    }

    private ExcerptTailer tailer()
    {
        if (null == tailer)
        {
            tailer = queue.createTailer();
            if (fromIndex >= 0 && (null != cuts.cutCovering(fromIndex) || !tailer.moveToIndex(fromIndex)))
            {
                throw new IllegalArgumentException("index not in the journal: 0x" + Long.toHexString(fromIndex) +
                    (null != cuts.cutCovering(fromIndex) ? " (cut by recovery, see " + JournalCuts.FILE_NAME + ")" : ""));
            }
        }

        return tailer;
    }

    /**
     * If the tailer is in a void range, move it to the first entry after it.
     *
     * @return false if there is nothing after the void range yet.
     */
    private boolean skipCut(final ExcerptTailer tailer)
    {
        final JournalCuts.Cut cut = cuts.cutCovering(tailer.index());
        if (null == cut)
        {
            return true;
        }

        skippedCuts++;
        if (tailer.moveToIndex(cut.resumeIndex()))
        {
            return true;
        }
        final int resumeCycle = rollCycle.toCycle(cut.resumeIndex());
        try
        {
            for (int cycle = queue.nextCycle(resumeCycle - 1, TailerDirection.FORWARD); cycle >= resumeCycle;
                cycle = queue.nextCycle(cycle, TailerDirection.FORWARD))
            {
                if (tailer.moveToCycle(cycle))
                {
                    return true;
                }
            }
        }
        catch (final ParseException ex)
        {
            throw new IllegalStateException("cannot list the journal's cycles after a cut", ex);
        }
        return false;
    }

    /**
     * @return how many indexes the journal's last entry is after {@code index} by Chronicle's bookkeeping (exact within
     * a cycle, a lower bound across cycles), 0 if none or if the last entry is void.
     */
    private long indexesAfter(final long index)
    {
        final long last;
        try
        {
            last = queue.lastIndex();
        }
        catch (final RuntimeException ex)
        {
            return 0;
        }
        if (last <= index || null != cuts.cutCovering(last) || index < 0)
        {
            return 0;
        }
        return rollCycle.toCycle(last) == rollCycle.toCycle(index) ?
            last - index : rollCycle.toSequenceNumber(last) + 1; // at least the entries of the last cycle
    }

    private void stop(final ReplayResult.Status status, final long index, final String detail)
    {
        this.status = status;
        this.badIndex = index;
        this.detail = detail;
    }
}
