package io.magnetar.client;

import java.io.File;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * A connection to a Magnetar broker over Aeron, shaped like Pulsar's {@code PulsarClient}:
 * <pre>{@code
 * try (MagnetarClient client = MagnetarClient.builder().ingressChannel("aeron:ipc").build())
 * {
 *     client.admin().createTopic("orders", 4);
 *     Producer producer = client.newProducer().topic("orders").create();
 *     MessageId id = producer.send("customer-42", Map.of("ref", "s3://bucket/order-1"));
 *     Consumer consumer = client.newConsumer().topic("orders").subscription("billing")
 *         .subscriptionType(SubscriptionType.KEY_SHARED).subscribe();
 *     Message message = consumer.receive();
 *     consumer.acknowledge(message);
 * }
 * }</pre>
 * Thread safe. One client agent thread does all the I/O (see the package documentation); close the client to
 * stop it.
 */
public final class MagnetarClient implements AutoCloseable
{
    private final ClientConfig config;
    private final Callbacks callbacks;
    private final MediaDriver driver;
    private final String aeronDirectory;
    private final ClientAgent agent;
    private final AgentRunner runner;
    private final Admin admin;
    private final CopyOnWriteArrayList<Producer> producers = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong consumerCount = new AtomicLong();

    /**
     * @return a builder with the defaults of docs/PROTOCOL.md.
     */
    public static ClientBuilder builder()
    {
        return new ClientBuilder();
    }

    private MagnetarClient(final ClientConfig config)
    {
        this.config = config;
        this.callbacks = new Callbacks(config);
        MediaDriver driver = null;
        try
        {
            if (config.embeddedMediaDriver)
            {
                final String directory = config.aeronDirectoryGiven ? config.aeronDirectory :
                    config.aeronDirectory + "-" + config.clientName + "-" +
                    Integer.toHexString(ThreadLocalRandom.current().nextInt());
                if (CommonContext.isDriverActive(new File(directory), config.driverTimeoutMs, (message) -> {}))
                {
                    throw new IllegalStateException("a media driver is already active in " + directory +
                        "; use it (embeddedMediaDriver(false)) or give the embedded driver its own directory");
                }
                driver = MediaDriver.launch(new MediaDriver.Context()
                    .aeronDirectoryName(directory)
                    .dirDeleteOnStart(false)
                    .dirDeleteOnShutdown(true)
                    .threadingMode(ThreadingMode.SHARED)
                    .sharedIdleStrategy(new BackoffIdleStrategy(100, 10, 1_000L, 1_000_000L))
                    .driverTimeoutMs(config.driverTimeoutMs));
                this.aeronDirectory = driver.aeronDirectoryName();
            }
            else
            {
                this.aeronDirectory = config.aeronDirectory;
            }
            this.driver = driver;
            this.agent = new ClientAgent(config, callbacks, aeronDirectory);
            this.runner = new AgentRunner(config.idleStrategy.get(), callbacks.errorHandler(), null, agent);
            AgentRunner.startOnThread(runner, (runnable) ->
            {
                final Thread thread = new Thread(runnable, config.clientName + "-agent");
                thread.setDaemon(true);
                return thread;
            });
            this.admin = new Admin(this);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(driver);
            callbacks.close();
            throw ex;
        }
    }

    static MagnetarClient connect(final ClientConfig config)
    {
        final MagnetarClient client = new MagnetarClient(config);
        try
        {
            client.agent.firstConnected().get(config.operationTimeoutNs, TimeUnit.NANOSECONDS);
            return client;
        }
        catch (final java.util.concurrent.TimeoutException | ExecutionException ex)
        {
            final String failure = client.agent.lastFailure();
            client.close();
            throw new MagnetarException.UnavailableException("could not connect to the broker at " +
                config.ingressChannel + " stream " + config.ingressStreamId + " (Aeron directory " +
                client.aeronDirectory + ") within " + TimeUnit.NANOSECONDS.toMillis(config.operationTimeoutNs) +
                " ms: " + failure, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            client.close();
            throw new MagnetarException.UnavailableException("interrupted while connecting", ex);
        }
    }

    /**
     * @return a builder for a producer of one topic.
     */
    public ProducerBuilder newProducer()
    {
        return new ProducerBuilder(this);
    }

    /**
     * @return a builder for a consumer of one subscription.
     */
    public ConsumerBuilder newConsumer()
    {
        return new ConsumerBuilder(this);
    }

    /**
     * @return topic and subscription administration over this client's session.
     */
    public Admin admin()
    {
        return admin;
    }

    /**
     * @return true while a session with the broker is up (false while reconnecting).
     */
    public boolean isConnected()
    {
        return agent.isConnected();
    }

    /**
     * @return the current session's id, or -1 while not connected.
     */
    public long sessionId()
    {
        return agent.sessionId();
    }

    /**
     * @return how many sessions this client has established: 1 after build, +1 per reconnect.
     */
    public long sessionsEstablished()
    {
        return agent.sessionsEstablished();
    }

    /**
     * @return the Aeron directory of the media driver the client uses (its own when embedded).
     */
    public String aeronDirectory()
    {
        return aeronDirectory;
    }

    /**
     * @return this client's name (sent in Connect, used in thread names).
     */
    public String clientName()
    {
        return config.clientName;
    }

    /**
     * Close producers (waiting for their pending messages, at most the operation timeout), send pending acks, end
     * the session, stop the agent and, if embedded, the media driver. Idempotent.
     */
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        final long deadlineNs = System.nanoTime() + config.operationTimeoutNs;
        for (final Producer producer : producers)
        {
            producer.closeAsync();
        }
        for (final Producer producer : producers)
        {
            awaitQuietly(producer.closeAsync(), deadlineNs - System.nanoTime());
        }
        final CompletableFuture<Void> done = new CompletableFuture<>();
        if (agent.submit(() -> agent.beginClose(done)))
        {
            awaitQuietly(done, Math.min(TimeUnit.SECONDS.toNanos(2), Math.max(0, deadlineNs - System.nanoTime())));
        }
        CloseHelper.quietClose(runner);
        CloseHelper.quietClose(driver);
        callbacks.close();
    }

    public String toString()
    {
        return "MagnetarClient{" + config.clientName + ", ingress=" + config.ingressChannel + " stream " +
            config.ingressStreamId + ", connected=" + isConnected() + ", session=" + sessionId() + '}';
    }

    // ================================================================= package

    Callbacks callbacks()
    {
        return callbacks;
    }

    long deadlineNs()
    {
        return System.nanoTime() + config.operationTimeoutNs;
    }

    void submit(final PendingRequest request)
    {
        if (closed.get() || !agent.submit(() -> agent.enqueue(request)))
        {
            request.onError(new MagnetarException.AlreadyClosedException("client is closed"));
        }
    }

    CompletableFuture<Producer> createProducer(final ProducerBuilder builder)
    {
        final PendingRequest.DescribeTopic describe = new PendingRequest.DescribeTopic(deadlineNs(), callbacks, builder.topic);
        submit(describe);
        return describe.future.thenApply((stats) ->
        {
            final Producer producer = new Producer(
                agent, callbacks, builder, stats, agent.maxFrameLength(), config.operationTimeoutNs);
            if (closed.get() || !agent.submit(() -> agent.addProducer(producer)))
            {
                throw new MagnetarException.AlreadyClosedException("client is closed");
            }
            producers.add(producer);
            producer.closeFuture().whenComplete((ignore, error) -> producers.remove(producer));
            return producer;
        });
    }

    /**
     * Attach a consumer (see {@link ConsumerBuilder#subscribeAsync()}).
     */
    CompletableFuture<Consumer> subscribe(final ConsumerBuilder builder)
    {
        if (null == builder.consumerName)
        {
            builder.consumerName = config.clientName + "-" + consumerCount.incrementAndGet();
        }
        final Consumer consumer = new Consumer(agent, callbacks, builder, config.operationTimeoutNs);
        if (closed.get() || !agent.submit(() -> agent.addConsumer(consumer)))
        {
            consumer.onClosed(new MagnetarException.AlreadyClosedException("client is closed"));
        }
        return consumer.attachFuture;
    }

    <T> T awaitOperation(final CompletableFuture<T> future)
    {
        return await(future, config.operationTimeoutNs + TimeUnit.SECONDS.toNanos(1));
    }

    /**
     * Wait for a future; its failure is thrown as the {@link MagnetarException} it carries.
     *
     * @param timeoutNs at most this long; 0 = no limit.
     */
    static <T> T await(final CompletableFuture<T> future, final long timeoutNs)
    {
        try
        {
            return timeoutNs > 0 ? future.get(timeoutNs, TimeUnit.NANOSECONDS) : future.get();
        }
        catch (final ExecutionException ex)
        {
            throw MagnetarException.unwrap(ex);
        }
        catch (final java.util.concurrent.TimeoutException ex)
        {
            throw new MagnetarException.TimeoutException("no result within " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms");
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new MagnetarException.InternalException("interrupted", ex);
        }
    }

    private static void awaitQuietly(final CompletableFuture<?> future, final long timeoutNs)
    {
        try
        {
            future.get(Math.max(1, timeoutNs), TimeUnit.NANOSECONDS);
        }
        catch (final Exception ex)
        {
            if (ex instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
