package io.magnetar.engine.pipeline;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.CommandHandler;
import org.agrona.DirectBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * A command handler that records what it is given (and whether egress was muted at the time), echoes every
 * command as an "event" through its egress, and lets a test hook in before recording (to block or throw).
 */
final class RecordingCommandHandler implements CommandHandler
{
    /**
     * Runs on the applying thread before a command is recorded.
     */
    @FunctionalInterface
    interface Hook
    {
        void onCommand(Command command) throws Exception;
    }

    record Command(long sessionId, long timestampMs, int templateId, byte[] frame, boolean muted, String thread)
    {
    }

    final MutableEventListener egress = new MutableEventListener();
    private final List<Command> commands = new ArrayList<>();
    volatile long nextDeadlineMs = Long.MAX_VALUE;
    volatile Hook hook;

    public void onCommand(
        final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] frame = new byte[length];
        buffer.getBytes(offset, frame);
        final int templateId = length >= MessageHeaderDecoder.ENCODED_LENGTH ?
            new MessageHeaderDecoder().wrap(buffer, offset).templateId() : -1;
        final Command command = new Command(
            sessionId, timestampMs, templateId, frame, egress.isMuted(), Thread.currentThread().getName());

        final Hook hook = this.hook;
        if (null != hook)
        {
            try
            {
                hook.onCommand(command);
            }
            catch (final RuntimeException ex)
            {
                throw ex;
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException(ex);
            }
        }

        synchronized (commands)
        {
            commands.add(command);
        }
        egress.onEvent(sessionId, buffer, offset, length);
    }

    public long nextDeadlineMs()
    {
        return nextDeadlineMs;
    }

    List<Command> commands()
    {
        synchronized (commands)
        {
            return new ArrayList<>(commands);
        }
    }

    int count()
    {
        synchronized (commands)
        {
            return commands.size();
        }
    }
}
