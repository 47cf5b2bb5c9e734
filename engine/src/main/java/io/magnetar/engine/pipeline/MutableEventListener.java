package io.magnetar.engine.pipeline;

import io.magnetar.engine.EventListener;
import org.agrona.DirectBuffer;

/**
 * An {@link EventListener} that forwards to a delegate which can be swapped: give it to the engine, and the
 * pipeline sets the delegate to {@link EventListener#MUTED} while it replays the journal and to the real
 * egress once replay is done.
 */
public final class MutableEventListener implements EventListener
{
    private volatile EventListener delegate;

    /**
     * A listener that starts muted.
     */
    public MutableEventListener()
    {
        this(EventListener.MUTED);
    }

    /**
     * @param delegate to forward to initially.
     */
    public MutableEventListener(final EventListener delegate)
    {
        this.delegate = requireNonNull(delegate);
    }

    /**
     * {@inheritDoc}
     */
    public void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        delegate.onEvent(sessionId, buffer, offset, length);
    }

    /**
     * @param delegate to forward to from now on.
     */
    public void delegate(final EventListener delegate)
    {
        this.delegate = requireNonNull(delegate);
    }

    /**
     * @return the current delegate.
     */
    public EventListener delegate()
    {
        return delegate;
    }

    /**
     * @return true while events are dropped.
     */
    public boolean isMuted()
    {
        return delegate == EventListener.MUTED;
    }

    private static EventListener requireNonNull(final EventListener delegate)
    {
        if (null == delegate)
        {
            throw new NullPointerException("delegate");
        }

        return delegate;
    }
}
