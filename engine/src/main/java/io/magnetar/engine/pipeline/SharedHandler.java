package io.magnetar.engine.pipeline;

import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalEntryFormat;

import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link ThreadingMode#SHARED}: journal and engine on one thread. Appends each command as it arrives; at the
 * end of the batch ends the journal batch (one sync under SYNC durability), then applies every command of
 * the batch in order (writing a snapshot after a {@code TakeSnapshot} marker). The batch's slots are still
 * owned by this handler: the Disruptor releases them only when the last event of the batch returns.
 */
final class SharedHandler implements EventHandler<CommandSlot>
{
    private final RingBuffer<CommandSlot> ringBuffer;
    private final Journal journal;
    private final CommandHandler commandHandler;
    private final FailStopExceptionHandler failStop;
    private final Sequence journaledSequence;
    private final Sequence appliedSequence;
    private final AtomicLong nextDeadlineMs;
    private final Snapshotter snapshotter;
    private final JournalEntryFormat format = new JournalEntryFormat();
    private long batchStart = -1;

    SharedHandler(
        final RingBuffer<CommandSlot> ringBuffer,
        final Journal journal,
        final CommandHandler commandHandler,
        final Snapshotter snapshotter,
        final FailStopExceptionHandler failStop,
        final Sequence journaledSequence,
        final Sequence appliedSequence,
        final AtomicLong nextDeadlineMs)
    {
        this.ringBuffer = ringBuffer;
        this.journal = journal;
        this.commandHandler = commandHandler;
        this.snapshotter = snapshotter;
        this.failStop = failStop;
        this.journaledSequence = journaledSequence;
        this.appliedSequence = appliedSequence;
        this.nextDeadlineMs = nextDeadlineMs;
    }

    public void onEvent(final CommandSlot slot, final long sequence, final boolean endOfBatch)
    {
        if (failStop.isFailed())
        {
            return;
        }

        if (batchStart < 0)
        {
            batchStart = sequence;
        }

        JournalHandler.append(journal, format, slot);

        if (endOfBatch)
        {
            final long first = batchStart;
            batchStart = -1;

            journal.endOfBatch();
            journaledSequence.set(sequence);

            for (long s = first; s <= sequence; s++)
            {
                EngineHandler.apply(commandHandler, snapshotter, ringBuffer.get(s));
            }

            EngineHandler.publish(commandHandler, nextDeadlineMs, appliedSequence, sequence);
        }
    }
}
