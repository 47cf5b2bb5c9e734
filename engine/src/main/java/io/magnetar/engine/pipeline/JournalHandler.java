package io.magnetar.engine.pipeline;

import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.Sequence;
import io.magnetar.codecs.TakeSnapshotDecoder;
import io.magnetar.engine.CommandTypes;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalEntryFormat;

/**
 * {@link ThreadingMode#DEDICATED}: the first handler. Seals and appends every command that is not a query, noting
 * its journal index in the slot; rolls the journal to a new cycle file right before a {@code TakeSnapshot} marker
 * (so the snapshot's cycle starts with it and every cycle before can go once a later snapshot is durable). At the
 * end of each batch ends the journal batch (one sync under SYNC durability) and only then lets the Disruptor
 * release the batch to the engine handler behind it.
 */
final class JournalHandler implements EventHandler<CommandSlot>
{
    private final Journal journal;
    private final FailStopExceptionHandler failStop;
    private final Sequence journaledSequence;
    private final JournalEntryFormat format = new JournalEntryFormat();

    JournalHandler(final Journal journal, final FailStopExceptionHandler failStop, final Sequence journaledSequence)
    {
        this.journal = journal;
        this.failStop = failStop;
        this.journaledSequence = journaledSequence;
    }

    public void onEvent(final CommandSlot slot, final long sequence, final boolean endOfBatch)
    {
        if (failStop.isFailed())
        {
            return;
        }

        append(journal, format, slot);

        if (endOfBatch)
        {
            journal.endOfBatch();
            journaledSequence.set(sequence);
        }
    }

    static void append(final Journal journal, final JournalEntryFormat format, final CommandSlot slot)
    {
        if (CommandTypes.isQuery(slot.templateId))
        {
            slot.journalIndex = -1;
            return;
        }
        if (isTakeSnapshot(slot))
        {
            journal.roll();
        }
        format.sealChecksum(slot.buffer, 0, slot.length);
        slot.journalIndex = journal.append(slot.buffer, 0, JournalEntryFormat.HEADER_LENGTH + slot.length);
    }

    /**
     * @return true for the node's own {@code TakeSnapshot} marker.
     */
    static boolean isTakeSnapshot(final CommandSlot slot)
    {
        return slot.templateId == TakeSnapshotDecoder.TEMPLATE_ID && slot.sessionId == 0;
    }
}
