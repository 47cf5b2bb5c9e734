package io.magnetar.engine.pipeline;

import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.Sequence;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.journal.JournalEntryFormat;

import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link ThreadingMode#DEDICATED}: the second handler, gated behind the {@link JournalHandler}, so it only
 * sees commands whose batch is journaled. Applies each command (and, after a {@code TakeSnapshot} marker, has the
 * {@link Snapshotter} write the snapshot, on this thread); at the end of each batch publishes the engine's next
 * deadline, then the applied sequence (in that order, for the {@link Sequencer}'s tick logic).
 */
final class EngineHandler implements EventHandler<CommandSlot>
{
    private final CommandHandler commandHandler;
    private final FailStopExceptionHandler failStop;
    private final Sequence appliedSequence;
    private final AtomicLong nextDeadlineMs;
    private final Snapshotter snapshotter;

    EngineHandler(
        final CommandHandler commandHandler,
        final Snapshotter snapshotter,
        final FailStopExceptionHandler failStop,
        final Sequence appliedSequence,
        final AtomicLong nextDeadlineMs)
    {
        this.commandHandler = commandHandler;
        this.snapshotter = snapshotter;
        this.failStop = failStop;
        this.appliedSequence = appliedSequence;
        this.nextDeadlineMs = nextDeadlineMs;
    }

    public void onEvent(final CommandSlot slot, final long sequence, final boolean endOfBatch)
    {
        if (failStop.isFailed())
        {
            return;
        }

        apply(commandHandler, snapshotter, slot);

        if (endOfBatch)
        {
            publish(commandHandler, nextDeadlineMs, appliedSequence, sequence);
        }
    }

    static void apply(final CommandHandler commandHandler, final Snapshotter snapshotter, final CommandSlot slot)
    {
        commandHandler.onCommand(
            slot.sessionId, slot.timestampMs, slot.buffer, JournalEntryFormat.COMMAND_OFFSET, slot.length,
            slot.keyHashes, slot.keyHashCount);
        if (null != snapshotter)
        {
            snapshotter.onApplied(slot);
        }
        slot.releaseLargeBuffer();
    }

    static void publish(
        final CommandHandler commandHandler,
        final AtomicLong nextDeadlineMs,
        final Sequence appliedSequence,
        final long sequence)
    {
        nextDeadlineMs.lazySet(commandHandler.nextDeadlineMs());
        appliedSequence.set(sequence);
    }
}
