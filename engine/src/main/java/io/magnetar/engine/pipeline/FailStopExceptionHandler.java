package io.magnetar.engine.pipeline;

import com.lmax.disruptor.ExceptionHandler;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Fail-stop for the pipeline: the first exception from any handler records the cause, halts every handler
 * and calls {@code onFatal}. The Disruptor would otherwise skip the failed event and carry on, and an engine
 * that skipped a journaled command (or applied one that was not journaled) no longer matches its journal.
 * <p>
 * Handlers check {@link #isFailed()} before each event, which closes the window between the failure and the
 * halt reaching another handler thread: the flag is set before the Disruptor advances the failed handler's
 * sequence past the failed event.
 */
public final class FailStopExceptionHandler implements ExceptionHandler<CommandSlot>
{
    private final Runnable halt;
    private final Consumer<Throwable> onFatal;
    private final AtomicLong laterFailures = new AtomicLong();
    private volatile boolean failed;
    private volatile Throwable cause;
    private volatile long failedSequence = -1;

    /**
     * @param halt    stops every handler of the pipeline; must not block.
     * @param onFatal told of the first failure, on the failing handler's thread; must not block on the
     *                pipeline (e.g. must not join its threads).
     */
    public FailStopExceptionHandler(final Runnable halt, final Consumer<Throwable> onFatal)
    {
        this.halt = halt;
        this.onFatal = onFatal;
    }

    /**
     * {@inheritDoc}
     */
    public void handleEventException(final Throwable ex, final long sequence, final CommandSlot event)
    {
        fail(ex, sequence);
    }

    /**
     * {@inheritDoc}
     */
    public void handleOnStartException(final Throwable ex)
    {
        fail(ex, -1);
    }

    /**
     * {@inheritDoc}
     */
    public void handleOnShutdownException(final Throwable ex)
    {
        fail(ex, -1);
    }

    /**
     * Record a failure and stop the pipeline. Only the first failure is kept and reported to {@code onFatal};
     * later ones are counted.
     *
     * @param ex       what went wrong.
     * @param sequence ring sequence of the event being handled, or -1.
     */
    public void fail(final Throwable ex, final long sequence)
    {
        final boolean first;
        synchronized (this)
        {
            first = !failed;
            if (first)
            {
                cause = ex;
                failedSequence = sequence;
                failed = true;
            }
        }

        if (!first)
        {
            laterFailures.incrementAndGet();
            return;
        }

        try
        {
            halt.run();
        }
        finally
        {
            try
            {
                onFatal.accept(ex);
            }
            catch (final Throwable callbackFailure)
            {
                ex.addSuppressed(callbackFailure);
            }
        }
    }

    /**
     * @return true once a handler has failed.
     */
    public boolean isFailed()
    {
        return failed;
    }

    /**
     * @return the first failure, or null.
     */
    public Throwable cause()
    {
        return cause;
    }

    /**
     * @return ring sequence of the event whose handling failed first, or -1.
     */
    public long failedSequence()
    {
        return failedSequence;
    }

    /**
     * @return failures after the first one.
     */
    public long laterFailures()
    {
        return laterFailures.get();
    }
}
