package io.magnetar.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import io.aeron.CommonContext;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Configures and connects a {@link MagnetarClient}; see {@link MagnetarClient#builder()}. Not thread safe.
 * Defaults follow docs/PROTOCOL.md: Aeron's default directory, ingress {@code aeron:ipc} stream 100, response
 * channel {@code aeron:ipc} (or {@code aeron:udp?endpoint=localhost:0} when the ingress is UDP).
 */
public final class ClientBuilder
{
    /** Spins, then yields, then parks from 1 µs up to 1 ms: polite on a 2-core machine, ~1 ms worst-case wake-up. */
    public static final Supplier<IdleStrategy> DEFAULT_IDLE_STRATEGY =
        () -> new BackoffIdleStrategy(100, 10, 1_000L, 1_000_000L);

    String aeronDirectory;
    String ingressChannel = "aeron:ipc";
    int ingressStreamId = 100;
    String responseChannel;
    boolean embeddedMediaDriver;
    Duration operationTimeout = Duration.ofSeconds(30);
    Duration connectTimeout = Duration.ofSeconds(5);
    Duration reconnectBackoffMin = Duration.ofMillis(20);
    Duration reconnectBackoffMax = Duration.ofSeconds(1);
    Duration driverTimeout = Duration.ofSeconds(10);
    Supplier<IdleStrategy> idleStrategy = DEFAULT_IDLE_STRATEGY;
    Executor callbackExecutor;
    Executor listenerExecutor;
    ErrorHandler errorHandler;
    String clientName;

    ClientBuilder()
    {
    }

    /**
     * @param directory the Aeron directory of the media driver to use (the broker's for IPC). With
     *                  {@link #embeddedMediaDriver(boolean)} the client launches its own driver there.
     *                  Default: Aeron's default ({@code aeron.dir}, else {@code /dev/shm/aeron-$USER}); with an
     *                  embedded driver, a unique directory beside it, deleted on close.
     * @return this.
     */
    public ClientBuilder aeronDirectory(final String directory)
    {
        this.aeronDirectory = directory;
        return this;
    }

    /**
     * @param channel the broker's ingress channel: {@code aeron:ipc} or {@code aeron:udp?endpoint=host:port}.
     * @return this.
     */
    public ClientBuilder ingressChannel(final String channel)
    {
        this.ingressChannel = Objects.requireNonNull(channel, "channel");
        return this;
    }

    /**
     * @param streamId the broker's ingress stream id (default 100).
     * @return this.
     */
    public ClientBuilder ingressStreamId(final int streamId)
    {
        this.ingressStreamId = streamId;
        return this;
    }

    /**
     * @param channel where the broker sends this client's events: {@code aeron:ipc}, or
     *                {@code aeron:udp?endpoint=<this host>:0} (the port is resolved before Connect). The client
     *                picks a random stream id (&gt;= 1,000,000) on each connection.
     * @return this.
     */
    public ClientBuilder responseChannel(final String channel)
    {
        this.responseChannel = channel;
        return this;
    }

    /**
     * @param embedded launch a media driver inside the client (shared threading mode, polite idle) instead of using
     *                 a driver that is already running. Needed for UDP from a host that runs no driver; not usable
     *                 with IPC.
     * @return this.
     */
    public ClientBuilder embeddedMediaDriver(final boolean embedded)
    {
        this.embeddedMediaDriver = embedded;
        return this;
    }

    /**
     * @param timeout how long {@link ClientBuilder#build()}, admin calls, subscribe and close wait for an answer;
     *                also the default send timeout of producers (default 30 s).
     * @return this.
     */
    public ClientBuilder operationTimeout(final Duration timeout)
    {
        this.operationTimeout = positive(timeout, "operationTimeout");
        return this;
    }

    /**
     * @param timeout how long one connection attempt may take: resources, publication connected, Connected
     *                answer (default 5 s).
     * @return this.
     */
    public ClientBuilder connectTimeout(final Duration timeout)
    {
        this.connectTimeout = positive(timeout, "connectTimeout");
        return this;
    }

    /**
     * @param min first delay before reconnecting after the session is lost (default 20 ms); doubles per failure.
     * @param max the longest delay (default 1 s).
     * @return this.
     */
    public ClientBuilder reconnectBackoff(final Duration min, final Duration max)
    {
        this.reconnectBackoffMin = positive(min, "min");
        this.reconnectBackoffMax = positive(max, "max");
        return this;
    }

    /**
     * @param timeout Aeron's driver timeout: a media driver silent that long is considered dead (default 10 s).
     * @return this.
     */
    public ClientBuilder driverTimeout(final Duration timeout)
    {
        this.driverTimeout = positive(timeout, "driverTimeout");
        return this;
    }

    /**
     * @param supplier the idle strategy of the client agent thread (default {@link #DEFAULT_IDLE_STRATEGY};
     *                 never busy-spin on a small machine).
     * @return this.
     */
    public ClientBuilder idleStrategy(final Supplier<IdleStrategy> supplier)
    {
        this.idleStrategy = Objects.requireNonNull(supplier, "supplier");
        return this;
    }

    /**
     * @param executor where futures are completed (and so where their dependent stages run). Default: one daemon
     *                 thread owned by the client. Never the agent thread.
     * @return this.
     */
    public ClientBuilder callbackExecutor(final Executor executor)
    {
        this.callbackExecutor = executor;
        return this;
    }

    /**
     * @param executor where message listeners run (one message at a time per consumer). Default: one daemon thread
     *                 owned by the client, separate from the callback executor so a listener may block on
     *                 {@link Producer#send} without deadlocking.
     * @return this.
     */
    public ClientBuilder listenerExecutor(final Executor executor)
    {
        this.listenerExecutor = executor;
        return this;
    }

    /**
     * @param handler receives errors that have no caller to go to (a listener that threw, an unexpected frame).
     *                Default: logged through {@link System.Logger}.
     * @return this.
     */
    public ClientBuilder errorHandler(final ErrorHandler handler)
    {
        this.errorHandler = handler;
        return this;
    }

    /**
     * @param name sent in Connect and used in thread names (default {@code magnetar-client-<random>}).
     * @return this.
     */
    public ClientBuilder clientName(final String name)
    {
        this.clientName = name;
        return this;
    }

    /**
     * Connect: start the client agent, connect to the broker and wait for the session (up to the operation timeout).
     *
     * @return the connected client.
     * @throws MagnetarException.UnavailableException if the broker cannot be reached in time.
     * @throws IllegalArgumentException if the configuration is inconsistent.
     */
    public MagnetarClient build()
    {
        return MagnetarClient.connect(new ClientConfig(this));
    }

    static Duration positive(final Duration duration, final String name)
    {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative() || duration.isZero())
        {
            throw new IllegalArgumentException(name + " must be positive: " + duration);
        }
        return duration;
    }

    static String defaultAeronDirectory()
    {
        return CommonContext.getAeronDirectoryName();
    }
}
