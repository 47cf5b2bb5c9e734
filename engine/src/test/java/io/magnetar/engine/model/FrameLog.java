package io.magnetar.engine.model;

import java.util.ArrayList;
import java.util.List;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.CommandTypes;
import io.magnetar.engine.EventListener;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Passes commands through to a handler and keeps a copy of each (session, timestamp, frame), so the same stream
 * can be replayed into a fresh engine; also a listener decorator that folds every event frame into a hash.
 */
final class FrameLog implements CommandHandler
{
    record Frame(long sessionId, long timestampMs, byte[] bytes, boolean query)
    {
    }

    private final CommandHandler target;
    private final List<Frame> frames = new ArrayList<>();
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();

    FrameLog(final CommandHandler target)
    {
        this.target = target;
    }

    @Override
    public void onCommand(
        final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        boolean query = false;
        if (length >= MessageHeaderDecoder.ENCODED_LENGTH)
        {
            header.wrap(buffer, offset);
            query = header.schemaId() == MessageHeaderDecoder.SCHEMA_ID && CommandTypes.isQuery(header.templateId());
        }
        frames.add(new Frame(sessionId, timestampMs, bytes, query));
        target.onCommand(sessionId, timestampMs, buffer, offset, length);
    }

    @Override
    public long nextDeadlineMs()
    {
        return target.nextDeadlineMs();
    }

    /**
     * Replays the logged frames (optionally without queries, as the journal holds them) into {@code handler}.
     */
    void replay(final CommandHandler handler, final boolean withQueries)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[0]);
        for (final Frame f : frames)
        {
            if (f.query() && !withQueries)
            {
                continue;
            }
            buffer.wrap(f.bytes());
            handler.onCommand(f.sessionId(), f.timestampMs(), buffer, 0, f.bytes().length);
        }
    }

    int size()
    {
        return frames.size();
    }

    /**
     * An event listener that folds (session, frame bytes) of every event into a 64-bit hash, then forwards.
     */
    static final class HashingListener implements EventListener
    {
        private final EventListener next;
        private long hash = 17;
        private long frames;

        HashingListener(final EventListener next)
        {
            this.next = next;
        }

        @Override
        public void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
        {
            long h = hash * 31 + sessionId;
            for (int i = 0; i < length; i++)
            {
                h = h * 31 + buffer.getByte(offset + i);
            }
            hash = h ^ (h >>> 29);
            frames++;
            next.onEvent(sessionId, buffer, offset, length);
        }

        long hash()
        {
            return hash;
        }

        long frames()
        {
            return frames;
        }
    }
}
