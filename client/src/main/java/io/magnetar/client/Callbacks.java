package io.magnetar.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.agrona.ErrorHandler;

/**
 * Where the agent hands user-visible work: futures are completed on the callback executor, listeners run on the
 * listener executor, never on the agent thread. Owns the two default single daemon threads when the application
 * gives no executors.
 */
final class Callbacks
{
    private static final System.Logger LOGGER = System.getLogger("io.magnetar.client");

    private final Executor futures;
    private final Executor listeners;
    private final ExecutorService ownedFutures;
    private final ExecutorService ownedListeners;
    private final ErrorHandler errorHandler;

    Callbacks(final ClientConfig config)
    {
        ownedFutures = null == config.callbackExecutor ? daemonThread(config.clientName + "-callbacks") : null;
        ownedListeners = null == config.listenerExecutor ? daemonThread(config.clientName + "-listener") : null;
        futures = null == ownedFutures ? config.callbackExecutor : ownedFutures;
        listeners = null == ownedListeners ? config.listenerExecutor : ownedListeners;
        errorHandler = null != config.errorHandler ? config.errorHandler :
            (throwable) -> LOGGER.log(System.Logger.Level.WARNING, "magnetar client error", throwable);
    }

    private static ExecutorService daemonThread(final String name)
    {
        return Executors.newSingleThreadExecutor(
            (runnable) ->
            {
                final Thread thread = new Thread(runnable, name);
                thread.setDaemon(true);
                return thread;
            });
    }

    ErrorHandler errorHandler()
    {
        return errorHandler;
    }

    void onError(final Throwable throwable)
    {
        try
        {
            errorHandler.onError(throwable);
        }
        catch (final Throwable ignore)
        {
            // an error handler that throws has nowhere left to report to
        }
    }

    <T> void complete(final CompletableFuture<T> future, final T value)
    {
        execute(() -> future.complete(value));
    }

    void fail(final CompletableFuture<?> future, final Throwable cause)
    {
        execute(() -> future.completeExceptionally(cause));
    }

    /**
     * Run a completion on the callback executor (inline if it refuses, e.g. after shutdown).
     */
    void execute(final Runnable task)
    {
        try
        {
            futures.execute(task);
        }
        catch (final RejectedExecutionException ex)
        {
            task.run();
        }
    }

    /**
     * Run a listener task on the listener executor.
     *
     * @return false if the executor refused it.
     */
    boolean executeListener(final Runnable task)
    {
        try
        {
            listeners.execute(task);
            return true;
        }
        catch (final RejectedExecutionException ex)
        {
            return false;
        }
    }

    /**
     * Stop the executors the client owns, after running what is queued (bounded wait).
     */
    void close()
    {
        shutdown(ownedFutures);
        shutdown(ownedListeners);
    }

    private static void shutdown(final ExecutorService executor)
    {
        if (null != executor)
        {
            executor.shutdown();
            try
            {
                if (!executor.awaitTermination(1, TimeUnit.SECONDS))
                {
                    executor.shutdownNow();
                }
            }
            catch (final InterruptedException ex)
            {
                executor.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
