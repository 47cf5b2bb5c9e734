package io.magnetar.client;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.exceptions.AeronException;
import io.aeron.exceptions.TimeoutException;
import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.codecs.TopicListDecoder;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * The client's one agent: owns the Aeron client (its conductor runs here, invoker mode), the ingress publication
 * and the response subscription; connects (Connect/Connected), polls events, batches publishes and acks, sends
 * heartbeats, detects a lost broker (no frame for the session timeout, publication not connected, response image
 * gone, SessionEnded, a changed nodeStartCount, a dead or replaced media driver) and reconnects with backoff,
 * re-attaching consumers and re-sending publishes that have no receipt.
 * <p>
 * Application threads reach it only through {@link #submit(Runnable)} and the producers' and consumers' queues;
 * every Aeron call happens on this thread. Futures and listeners are handed to {@link Callbacks}.
 */
final class ClientAgent implements Agent, ResponseListener
{
    enum State
    {
        /** Waiting before the next connection attempt. */
        BACKOFF,
        /** Publication and subscription requested from the driver. */
        AWAIT_RESOURCES,
        /** Waiting for the broker to subscribe to our publication. */
        AWAIT_PUBLICATION,
        /** Connect sent, waiting for Connected. */
        AWAIT_CONNECTED,
        CONNECTED,
        /** Flushing acks and sending Disconnect. */
        CLOSING,
        CLOSED
    }

    private static final System.Logger LOGGER = System.getLogger("io.magnetar.client");
    private static final long NULL_VALUE = -1;
    private static final int FRAGMENT_LIMIT = 32;
    private static final long SLOW_TICK_NS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long DRIVER_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long CLOSE_LINGER_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long DEFAULT_HEARTBEAT_INTERVAL_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long DEFAULT_SESSION_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private final ClientConfig config;
    private final Callbacks callbacks;
    private final String aeronDirectory;
    private final NanoClock clock = SystemNanoClock.INSTANCE;
    private final IngressProxy ingress = new IngressProxy();
    private final FragmentAssembler assembler = new FragmentAssembler(new ResponseAdapter(this));
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final ArrayList<Producer> producers = new ArrayList<>();
    private final ArrayList<Consumer> consumers = new ArrayList<>();
    private final Long2ObjectHashMap<Consumer> consumersById = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<PublishBatch> batches = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<PendingRequest> requests = new Long2ObjectHashMap<>();
    private final ArrayDeque<PendingRequest> unsent = new ArrayDeque<>();
    private final CompletableFuture<Void> firstConnected = new CompletableFuture<>();

    private Aeron aeron;
    private AgentInvoker aeronInvoker;
    private Object cncFileKey;
    private boolean driverLost;
    private long publicationRegistrationId = NULL_VALUE;
    private long subscriptionRegistrationId = NULL_VALUE;
    private ExclusivePublication publication;
    private Subscription subscription;
    private int responseStreamId;
    private String resolvedResponseChannel;

    private State state = State.BACKOFF;
    private long stateDeadlineNs;
    private long retryAtNs;
    private long backoffNs;
    private long connectCorrelationId = NULL_VALUE;
    private long sessionId = NULL_VALUE;
    private long nodeStartCount = NULL_VALUE;
    private long heartbeatIntervalNs = DEFAULT_HEARTBEAT_INTERVAL_NS;
    private long sessionTimeoutNs = DEFAULT_SESSION_TIMEOUT_NS;
    private long lastReceivedNs;
    private long lastSentNs;
    private long nextSlowTickNs;
    private long nextDriverCheckNs;
    private long nextCorrelationId = 1;
    private String lastFailure = "not connected yet";
    private String pendingLossReason;
    private CompletableFuture<Void> closeDone;
    private long closeDeadlineNs;

    private volatile boolean agentClosed;
    private volatile boolean connected;
    private volatile long currentSessionId = NULL_VALUE;
    private volatile long sessionsEstablished;
    private volatile int maxFrameLength = 1024 * 1024;
    private volatile long unknownFrames;

    ClientAgent(final ClientConfig config, final Callbacks callbacks, final String aeronDirectory)
    {
        this.config = config;
        this.callbacks = callbacks;
        this.aeronDirectory = aeronDirectory;
    }

    public String roleName()
    {
        return config.clientName + "-agent";
    }

    // ================================================================= application threads

    /**
     * Run {@code command} on the agent thread.
     *
     * @return false if the agent is closed (the command will never run).
     */
    boolean submit(final Runnable command)
    {
        if (agentClosed)
        {
            return false;
        }
        commands.offer(command);
        return !agentClosed || !commands.remove(command);
    }

    CompletableFuture<Void> firstConnected()
    {
        return firstConnected;
    }

    boolean isConnected()
    {
        return connected;
    }

    long sessionId()
    {
        return currentSessionId;
    }

    long sessionsEstablished()
    {
        return sessionsEstablished;
    }

    int maxFrameLength()
    {
        return maxFrameLength;
    }

    long unknownFrames()
    {
        return unknownFrames;
    }

    String lastFailure()
    {
        return lastFailure;
    }

    // ================================================================= duty cycle

    public void onStart()
    {
        final long nowNs = clock.nanoTime();
        retryAtNs = nowNs;
        nextSlowTickNs = nowNs;
    }

    public int doWork()
    {
        final long nowNs = clock.nanoTime();
        int work = 0;
        if (null != aeronInvoker && !aeron.isClosed())
        {
            work += aeronInvoker.invoke();
        }
        work += drainCommands();

        switch (state)
        {
            case CONNECTED:
                work += connectedWork(nowNs);
                break;

            case CLOSING:
                work += closingWork(nowNs);
                break;

            case CLOSED:
                break;

            default:
                work += connectWork(nowNs);
                break;
        }

        if (nowNs - nextSlowTickNs >= 0)
        {
            nextSlowTickNs = nowNs + SLOW_TICK_NS;
            work += slowTick(nowNs);
        }
        return work;
    }

    public void onClose()
    {
        agentClosed = true;
        connected = false;
        state = State.CLOSED;
        drainCommands();
        final MagnetarException closed = new MagnetarException.AlreadyClosedException("client is closed");
        failRequests(closed);
        for (final Producer producer : producers)
        {
            producer.failAll(closed);
        }
        producers.clear();
        for (final Consumer consumer : consumers)
        {
            consumer.onClosed(closed);
        }
        consumers.clear();
        consumersById.clear();
        if (!firstConnected.isDone())
        {
            firstConnected.completeExceptionally(closed);
        }
        closeAeron();
    }

    private int drainCommands()
    {
        int work = 0;
        Runnable command;
        while (null != (command = commands.poll()))
        {
            try
            {
                command.run();
            }
            catch (final Throwable ex)
            {
                callbacks.onError(ex);
            }
            work++;
        }
        return work;
    }

    // ================================================================= connecting

    private int connectWork(final long nowNs)
    {
        try
        {
            if (State.BACKOFF != state && nowNs - nextDriverCheckNs >= 0)
            {
                // a driver that died or was replaced never answers: give up on this attempt at once
                nextDriverCheckNs = nowNs + DRIVER_CHECK_INTERVAL_NS;
                if (driverLost || null == aeron || aeron.isClosed() || driverReplaced())
                {
                    driverLost = true;
                    attemptFailed(nowNs, "the media driver is gone or was replaced");
                    return 1;
                }
            }

            switch (state)
            {
                case BACKOFF:
                    if (nowNs - retryAtNs >= 0)
                    {
                        startAttempt(nowNs);
                        return 1;
                    }
                    return 0;

                case AWAIT_RESOURCES:
                    return awaitResources(nowNs);

                case AWAIT_PUBLICATION:
                    if (publication.isConnected())
                    {
                        connectCorrelationId = nextCorrelationId++;
                        final int length = ingress.encodeConnect(
                            connectCorrelationId, responseStreamId, resolvedResponseChannel, config.clientName);
                        if (ingress.offer(length))
                        {
                            lastSentNs = nowNs;
                            state = State.AWAIT_CONNECTED;
                            return 1;
                        }
                    }
                    if (nowNs - stateDeadlineNs >= 0)
                    {
                        attemptFailed(nowNs, "the broker did not subscribe to " + config.ingressChannel + " stream " +
                            config.ingressStreamId + " within the connect timeout");
                    }
                    return 0;

                case AWAIT_CONNECTED:
                {
                    final int fragments = subscription.poll(assembler, FRAGMENT_LIMIT);
                    if (State.AWAIT_CONNECTED == state && nowNs - stateDeadlineNs >= 0)
                    {
                        attemptFailed(nowNs, "no Connected answer within the connect timeout");
                    }
                    return fragments;
                }

                default:
                    return 0;
            }
        }
        catch (final RuntimeException ex)
        {
            if (ex instanceof TimeoutException || (ex instanceof AeronException && null != aeron && aeron.isClosed()))
            {
                driverLost = true;
            }
            attemptFailed(nowNs, ex.toString());
            return 1;
        }
    }

    private void startAttempt(final long nowNs)
    {
        stateDeadlineNs = nowNs + config.connectTimeoutNs;
        if (null == aeron || aeron.isClosed() || driverLost || driverReplaced())
        {
            closeAeron();
            if (!openAeron())
            {
                attemptFailed(nowNs, "no active media driver in " + aeronDirectory);
                return;
            }
        }
        responseStreamId = ClientConfig.MIN_RESPONSE_STREAM_ID +
            ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE - ClientConfig.MIN_RESPONSE_STREAM_ID);
        publicationRegistrationId = aeron.asyncAddExclusivePublication(config.ingressChannel, config.ingressStreamId);
        subscriptionRegistrationId = aeron.asyncAddSubscription(config.responseChannel, responseStreamId);
        state = State.AWAIT_RESOURCES;
    }

    private int awaitResources(final long nowNs)
    {
        if (null == publication)
        {
            publication = aeron.getExclusivePublication(publicationRegistrationId);
        }
        if (null == subscription)
        {
            subscription = aeron.getSubscription(subscriptionRegistrationId);
        }
        if (null != publication && null != subscription)
        {
            resolvedResponseChannel = config.udpResponse() ?
                subscription.tryResolveChannelEndpointPort() : config.responseChannel;
            if (null != resolvedResponseChannel)
            {
                ingress.publication(publication);
                maxFrameLength = publication.maxMessageLength();
                state = State.AWAIT_PUBLICATION;
                return 1;
            }
        }
        if (nowNs - stateDeadlineNs >= 0)
        {
            driverLost = true;
            attemptFailed(nowNs, "the media driver did not create the publication and subscription in time");
        }
        return 0;
    }

    private void attemptFailed(final long nowNs, final String reason)
    {
        lastFailure = reason;
        closeSessionResources();
        backoffNs = 0 == backoffNs ? config.reconnectBackoffMinNs : Math.min(2 * backoffNs, config.reconnectBackoffMaxNs);
        retryAtNs = nowNs + backoffNs;
        state = State.BACKOFF;
        LOGGER.log(System.Logger.Level.DEBUG, () -> config.clientName + ": connection attempt failed: " + reason);
    }

    private boolean openAeron()
    {
        driverLost = false;
        if (!CommonContext.isDriverActive(new File(aeronDirectory), config.driverTimeoutMs, (message) -> {}))
        {
            return false;
        }
        try
        {
            final Aeron.Context context = new Aeron.Context()
                .aeronDirectoryName(aeronDirectory)
                .clientName(config.clientName)
                .useConductorAgentInvoker(true)
                .driverTimeoutMs(config.driverTimeoutMs)
                .errorHandler(this::onAeronError);
            aeron = Aeron.connect(context);
            aeronInvoker = aeron.conductorAgentInvoker();
            cncFileKey = fileKey(aeron.context().cncFile());
            return true;
        }
        catch (final RuntimeException ex)
        {
            lastFailure = ex.toString();
            closeAeron();
            return false;
        }
    }

    private void onAeronError(final Throwable throwable)
    {
        if (throwable instanceof TimeoutException)
        {
            // DriverTimeoutException, ClientTimeoutException: this Aeron client is finished, make a new one
            driverLost = true;
            LOGGER.log(System.Logger.Level.DEBUG, () -> config.clientName + ": " + throwable);
        }
        else
        {
            callbacks.onError(throwable);
        }
    }

    private boolean driverReplaced()
    {
        if (config.embeddedMediaDriver || null == aeron)
        {
            return false;
        }
        final Object key = fileKey(aeron.context().cncFile());
        return null == key || !key.equals(cncFileKey);
    }

    private static Object fileKey(final File file)
    {
        try
        {
            final BasicFileAttributes attributes = Files.readAttributes(file.toPath(), BasicFileAttributes.class);
            final Object key = attributes.fileKey();
            return null != key ? key : attributes.creationTime();
        }
        catch (final IOException ex)
        {
            return null;
        }
    }

    private void closeSessionResources()
    {
        ingress.publication(null);
        connected = false;
        currentSessionId = NULL_VALUE;
        if (null != aeron && !aeron.isClosed() && !driverLost)
        {
            try
            {
                if (null != publication)
                {
                    publication.close();
                }
                else if (NULL_VALUE != publicationRegistrationId)
                {
                    aeron.asyncRemovePublication(publicationRegistrationId);
                }
                if (null != subscription)
                {
                    subscription.close();
                }
                else if (NULL_VALUE != subscriptionRegistrationId)
                {
                    aeron.asyncRemoveSubscription(subscriptionRegistrationId);
                }
            }
            catch (final RuntimeException ex)
            {
                driverLost = true;
            }
        }
        publication = null;
        subscription = null;
        publicationRegistrationId = NULL_VALUE;
        subscriptionRegistrationId = NULL_VALUE;
        if (driverLost)
        {
            closeAeron();
        }
    }

    private void closeAeron()
    {
        ingress.publication(null);
        publication = null;
        subscription = null;
        publicationRegistrationId = NULL_VALUE;
        subscriptionRegistrationId = NULL_VALUE;
        if (null != aeron)
        {
            try
            {
                aeron.close();
            }
            catch (final RuntimeException ex)
            {
                LOGGER.log(System.Logger.Level.DEBUG, () -> config.clientName + ": closing Aeron: " + ex);
            }
        }
        aeron = null;
        aeronInvoker = null;
        cncFileKey = null;
    }

    // ================================================================= connected

    private int connectedWork(final long nowNs)
    {
        int work = subscription.poll(assembler, FRAGMENT_LIMIT);
        if (null != pendingLossReason)
        {
            // decided inside the poll; the subscription is closed only now, outside its own poll
            final String reason = pendingLossReason;
            pendingLossReason = null;
            sessionLost(nowNs, reason);
            return work + 1;
        }
        if (work > 0)
        {
            lastReceivedNs = nowNs;
        }
        work += sendRequests(nowNs);
        for (int i = 0, size = producers.size(); i < size; i++)
        {
            work += producers.get(i).doWork(nowNs);
        }
        for (int i = 0, size = consumers.size(); i < size; i++)
        {
            work += consumers.get(i).sendAcks(nowNs, false);
        }
        if (nowNs - lastSentNs >= heartbeatIntervalNs && ingress.offer(ingress.encodeHeartbeat(sessionId)))
        {
            lastSentNs = nowNs;
            work++;
        }
        if (ingress.isNotConnected())
        {
            sessionLost(nowNs, "the ingress publication is not connected");
        }
        return work;
    }

    private int sendRequests(final long nowNs)
    {
        int work = 0;
        PendingRequest request;
        while (null != (request = unsent.peekFirst()))
        {
            final long correlationId = nextCorrelationId++;
            final int length;
            try
            {
                length = request.encode(ingress, correlationId);
            }
            catch (final RuntimeException ex)
            {
                // e.g. a name longer than the wire carries: this request can never be sent
                unsent.pollFirst();
                request.onError(new MagnetarException.InvalidArgumentException("cannot encode the request: " + ex));
                continue;
            }
            if (!ingress.offer(length))
            {
                break;
            }
            lastSentNs = nowNs;
            unsent.pollFirst();
            request.correlationId = correlationId;
            requests.put(correlationId, request);
            work++;
        }
        return work;
    }

    boolean sendPublish(final PublishBatch batch, final long nowNs)
    {
        final long correlationId = nextCorrelationId++;
        if (!ingress.offer(ingress.encodePublish(correlationId, batch.producer.topicId, batch)))
        {
            return false;
        }
        lastSentNs = nowNs;
        batch.correlationId = correlationId;
        batches.put(correlationId, batch);
        return true;
    }

    boolean sendAcks(final long consumerId, final AckBuffer ids, final boolean negative, final long nowNs)
    {
        final long correlationId = nextCorrelationId++;
        final int length = negative ?
            ingress.encodeNack(correlationId, consumerId, ids) : ingress.encodeAck(correlationId, consumerId, ids);
        if (!ingress.offer(length))
        {
            return false;
        }
        lastSentNs = nowNs;
        return true;
    }

    void forgetBatch(final PublishBatch batch)
    {
        batches.remove(batch.correlationId);
    }

    private int slowTick(final long nowNs)
    {
        int work = 0;
        if (State.CONNECTED == state)
        {
            String lost = null;
            if (nowNs - lastReceivedNs > sessionTimeoutNs)
            {
                lost = "no frame from the broker for " + TimeUnit.NANOSECONDS.toMillis(nowNs - lastReceivedNs) + " ms";
            }
            else if (!publication.isConnected())
            {
                lost = "the ingress publication is not connected";
            }
            else if (0 == subscription.imageCount())
            {
                lost = "the broker's response publication is gone";
            }
            else if (driverLost || aeron.isClosed())
            {
                lost = "the media driver is gone";
                driverLost = true;
            }
            else if (nowNs - nextDriverCheckNs >= 0)
            {
                nextDriverCheckNs = nowNs + DRIVER_CHECK_INTERVAL_NS;
                if (driverReplaced())
                {
                    lost = "the media driver was replaced";
                    driverLost = true;
                }
            }
            if (null != lost)
            {
                sessionLost(nowNs, lost);
                work++;
            }
        }
        work += checkTimeouts(nowNs);
        return work;
    }

    private int checkTimeouts(final long nowNs)
    {
        int work = 0;
        if (!unsent.isEmpty())
        {
            final Iterator<PendingRequest> unsentIterator = unsent.iterator();
            while (unsentIterator.hasNext())
            {
                final PendingRequest request = unsentIterator.next();
                if (nowNs - request.deadlineNs >= 0)
                {
                    unsentIterator.remove();
                    timedOut(request);
                    work++;
                }
            }
        }
        if (!requests.isEmpty())
        {
            final Long2ObjectHashMap<PendingRequest>.ValueIterator iterator = requests.values().iterator();
            while (iterator.hasNext())
            {
                final PendingRequest request = iterator.next();
                if (nowNs - request.deadlineNs >= 0)
                {
                    iterator.remove();
                    timedOut(request);
                    work++;
                }
            }
        }
        for (int i = 0, size = producers.size(); i < size; i++)
        {
            producers.get(i).checkTimeouts(nowNs);
        }
        return work;
    }

    private void timedOut(final PendingRequest request)
    {
        if (request instanceof PendingRequest.Subscribe)
        {
            final Consumer consumer = ((PendingRequest.Subscribe)request).consumer;
            if (consumer.attachFuture.isDone() && !consumer.closeRequested)
            {
                // a re-attach after a reconnect: keep trying for as long as the consumer is open
                consumer.attaching = false;
                if (State.CONNECTED == state)
                {
                    requestAttach(consumer);
                }
                return;
            }
        }
        request.onError(new MagnetarException.TimeoutException(
            "no answer within the operation timeout of " + TimeUnit.NANOSECONDS.toMillis(config.operationTimeoutNs) +
            " ms (" + (connected ? "connected" : "not connected: " + lastFailure) + ")"));
    }

    private void sessionLost(final long nowNs, final String reason)
    {
        lastFailure = reason;
        pendingLossReason = null;
        LOGGER.log(System.Logger.Level.INFO,
            () -> config.clientName + ": session " + sessionId + " lost (" + reason + "), reconnecting");

        final ArrayList<PendingRequest> resend = new ArrayList<>();
        for (final PendingRequest request : requests.values())
        {
            if (request.onSessionLost())
            {
                resend.add(request);
            }
        }
        requests.clear();
        resend.sort((a, b) -> Long.compare(a.correlationId, b.correlationId));
        for (int i = resend.size() - 1; i >= 0; i--)
        {
            unsent.addFirst(resend.get(i));
        }
        unsent.removeIf((request) -> request instanceof PendingRequest.Subscribe);

        batches.clear();
        for (final Producer producer : producers)
        {
            producer.onSessionLost();
        }
        consumersById.clear();
        for (final Consumer consumer : consumers)
        {
            consumer.onSessionLost();
        }

        closeSessionResources();
        sessionId = NULL_VALUE;
        backoffNs = 0;
        retryAtNs = nowNs + config.reconnectBackoffMinNs;
        state = State.BACKOFF;
    }

    // ================================================================= commands from the application

    void enqueue(final PendingRequest request)
    {
        if (State.CLOSING == state || State.CLOSED == state)
        {
            request.onError(new MagnetarException.AlreadyClosedException("client is closed"));
            return;
        }
        unsent.addLast(request);
    }

    void addProducer(final Producer producer)
    {
        producers.add(producer);
    }

    void removeProducer(final Producer producer)
    {
        producers.remove(producer);
        producer.failAll(new MagnetarException.AlreadyClosedException("producer of '" + producer.topic() + "' is closed"));
    }

    void addConsumer(final Consumer consumer)
    {
        if (State.CLOSING == state || State.CLOSED == state)
        {
            consumer.onClosed(new MagnetarException.AlreadyClosedException("client is closed"));
            return;
        }
        consumers.add(consumer);
        requestAttach(consumer);
    }

    private void requestAttach(final Consumer consumer)
    {
        if (!consumer.attaching && !consumer.closeRequested)
        {
            consumer.attaching = true;
            final long deadlineNs = clock.nanoTime() + config.operationTimeoutNs;
            unsent.addLast(new PendingRequest.Subscribe(deadlineNs, this, consumer));
        }
    }

    void closeConsumer(final Consumer consumer)
    {
        consumer.closeRequested = true;
        if (State.CONNECTED == state && Consumer.NULL_ID != consumer.consumerId)
        {
            final long nowNs = clock.nanoTime();
            consumer.sendAcks(nowNs, true);
            consumersById.remove(consumer.consumerId);
            unsent.addLast(new PendingRequest.CloseConsumer(
                nowNs + config.operationTimeoutNs, this, consumer, consumer.consumerId));
        }
        else if (!consumer.attaching)
        {
            onConsumerCloseDone(consumer, null);
        }
        // else: attaching; closed when ConsumerAttached (or its failure) arrives
    }

    void onConsumerCloseDone(final Consumer consumer, final MagnetarException error)
    {
        if (null == consumer)
        {
            return;
        }
        consumers.remove(consumer);
        if (Consumer.NULL_ID != consumer.consumerId)
        {
            consumersById.remove(consumer.consumerId);
        }
        if (null != error)
        {
            callbacks.onError(error);
        }
        consumer.onClosed(null);
    }

    void onConsumerAttached(
        final PendingRequest.Subscribe request,
        final long consumerId,
        final int topicId,
        final int partitions,
        final SubscriptionType type)
    {
        final Consumer consumer = request.consumer;
        consumer.onAttached(consumerId);
        consumersById.put(consumerId, consumer);
        if (consumer.closeRequested)
        {
            closeConsumer(consumer);
            return;
        }
        if (!consumer.attachFuture.isDone())
        {
            callbacks.complete(consumer.attachFuture, consumer);
        }
    }

    void onSubscribeFailed(final PendingRequest.Subscribe request, final MagnetarException error)
    {
        final Consumer consumer = request.consumer;
        consumer.attaching = false;
        consumers.remove(consumer);
        if (consumer.attachFuture.isDone())
        {
            LOGGER.log(System.Logger.Level.WARNING,
                () -> config.clientName + ": could not re-attach " + consumer + ": " + error.getMessage());
            callbacks.onError(error);
        }
        consumer.onClosed(error);
    }

    void beginClose(final CompletableFuture<Void> done)
    {
        closeDone = done;
        closeDeadlineNs = clock.nanoTime() + CLOSE_LINGER_NS;
        if (State.CONNECTED == state)
        {
            state = State.CLOSING;
        }
        else
        {
            state = State.CLOSED;
            done.complete(null);
        }
    }

    private int closingWork(final long nowNs)
    {
        int work = subscription.poll(assembler, FRAGMENT_LIMIT);
        boolean pending = false;
        for (int i = 0, size = consumers.size(); i < size; i++)
        {
            final Consumer consumer = consumers.get(i);
            work += consumer.sendAcks(nowNs, true);
            pending |= consumer.hasPendingAcks();
        }
        final boolean expired = nowNs - closeDeadlineNs >= 0;
        if ((!pending || expired) && (ingress.offer(ingress.encodeDisconnect(sessionId)) || expired ||
            ingress.isNotConnected()))
        {
            state = State.CLOSED;
            connected = false;
            closeDone.complete(null);
            work++;
        }
        return work;
    }

    private void failRequests(final MagnetarException error)
    {
        for (final PendingRequest request : requests.values())
        {
            request.onError(error);
        }
        requests.clear();
        PendingRequest request;
        while (null != (request = unsent.pollFirst()))
        {
            request.onError(error);
        }
    }

    // ================================================================= events from the broker

    public void onConnected(
        final long correlationId,
        final long sessionId,
        final int protocolVersion,
        final long heartbeatIntervalMs,
        final long sessionTimeoutMs,
        final long nodeStartCount)
    {
        if (State.AWAIT_CONNECTED != state || correlationId != connectCorrelationId)
        {
            return;
        }
        final long nowNs = clock.nanoTime();
        final boolean reconnect = sessionsEstablished > 0;
        final boolean restarted = NULL_VALUE != this.nodeStartCount && this.nodeStartCount != nodeStartCount;
        this.sessionId = sessionId;
        this.nodeStartCount = nodeStartCount;
        this.heartbeatIntervalNs = heartbeatIntervalMs > 0 ?
            TimeUnit.MILLISECONDS.toNanos(heartbeatIntervalMs) : DEFAULT_HEARTBEAT_INTERVAL_NS;
        this.sessionTimeoutNs = sessionTimeoutMs > 0 ?
            TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs) : DEFAULT_SESSION_TIMEOUT_NS;
        lastReceivedNs = nowNs;
        lastSentNs = nowNs;
        nextDriverCheckNs = nowNs + DRIVER_CHECK_INTERVAL_NS;
        backoffNs = 0;
        state = State.CONNECTED;
        currentSessionId = sessionId;
        sessionsEstablished++;
        connected = true;

        // re-attach every open consumer before anything else queued
        for (int i = consumers.size() - 1; i >= 0; i--)
        {
            final Consumer consumer = consumers.get(i);
            if (!consumer.closeRequested && !consumer.attaching)
            {
                consumer.attaching = true;
                unsent.addFirst(new PendingRequest.Subscribe(nowNs + config.operationTimeoutNs, this, consumer));
            }
        }

        if (reconnect)
        {
            LOGGER.log(System.Logger.Level.INFO, () -> config.clientName + ": reconnected, session " + sessionId +
                (restarted ? " (broker restarted, start count " + nodeStartCount + ")" : ""));
        }
        firstConnected.complete(null);
    }

    public void onSessionEnded(final long sessionId, final ErrorCode code, final String message)
    {
        if (sessionId == this.sessionId && (State.CONNECTED == state || State.CLOSING == state))
        {
            if (State.CLOSING == state)
            {
                state = State.CLOSED;
                closeDone.complete(null);
                return;
            }
            loseSessionAfterPoll("the broker ended the session: " + code + " " + message);
        }
    }

    public void onBrokerHeartbeat(final long sessionId, final long nodeStartCount)
    {
        if (State.CONNECTED == state && nodeStartCount != this.nodeStartCount)
        {
            loseSessionAfterPoll("the broker restarted (start count " + nodeStartCount + ")");
        }
    }

    private void loseSessionAfterPoll(final String reason)
    {
        if (null == pendingLossReason)
        {
            pendingLossReason = reason;
        }
    }

    public void onCommandError(
        final long correlationId, final ErrorCode code, final int commandTemplateId, final String message)
    {
        final MagnetarException error = MagnetarException.of(code, message);
        final PublishBatch batch = batches.remove(correlationId);
        if (null != batch)
        {
            batch.producer.onBatchError(batch, error);
            return;
        }
        final PendingRequest request = requests.remove(correlationId);
        if (null != request)
        {
            request.onError(error);
            return;
        }
        // acks and flow have no request to fail: a late ack of a closed consumer, or an engine complaint
        if (ErrorCode.CONSUMER_NOT_FOUND != code)
        {
            LOGGER.log(System.Logger.Level.DEBUG,
                () -> config.clientName + ": error for command " + commandTemplateId + ": " + error.getMessage());
        }
    }

    public void onPublishReceipt(final long correlationId, final int topicId, final PublishReceiptDecoder.IdsDecoder ids)
    {
        final PublishBatch batch = batches.remove(correlationId);
        if (null == batch)
        {
            return;
        }
        final int count = ids.count();
        if (count != batch.count)
        {
            batch.producer.onBatchError(batch, new MagnetarException.InternalException(
                "receipt with " + count + " ids for a batch of " + batch.count));
            return;
        }
        // each id goes into its message as primitives; the callback thread makes the MessageId it completes with
        try
        {
            PendingMessage message = batch.first;
            for (int i = 0; i < count; i++)
            {
                ids.next();
                final int partition = ids.partition();
                final long ledger = ids.ledger();
                final long entry = ids.entry();
                if (partition < 0 || ledger < 0 || entry < 0)
                {
                    throw new IllegalArgumentException("negative component in " + partition + ":" + ledger + ":" + entry);
                }
                message.partition = partition;
                message.ledger = ledger;
                message.entry = entry;
                message = message.next;
            }
        }
        catch (final RuntimeException ex)
        {
            batch.producer.onBatchError(batch, new MagnetarException.InternalException("malformed receipt: " + ex));
            return;
        }
        batch.producer.onReceipt(batch);
    }

    public void onDeliveries(final long consumerId, final DeliveriesDecoder deliveries)
    {
        final Consumer consumer = consumersById.get(consumerId);
        if (null != consumer)
        {
            consumer.onDeliveries(deliveries);
        }
    }

    public void onConsumerAttached(
        final long correlationId, final long consumerId, final int topicId, final int partitions, final SubscriptionType type)
    {
        final PendingRequest request = requests.remove(correlationId);
        if (null != request)
        {
            request.onConsumerAttached(consumerId, topicId, partitions, type);
        }
        else if (State.CONNECTED == state)
        {
            // its subscribe timed out here: do not leave a consumer attached that nobody reads
            unsent.addLast(new PendingRequest.CloseConsumer(
                clock.nanoTime() + config.operationTimeoutNs, this, null, consumerId));
        }
    }

    public void onAckReceipt(final long correlationId, final long consumerId, final int done, final int unknown)
    {
    }

    public void onAdminResult(final long correlationId, final AdminOutcome outcome)
    {
        final PendingRequest request = requests.remove(correlationId);
        if (null != request)
        {
            request.onAdminResult(outcome);
        }
    }

    public void onTopicDescription(final TopicDescriptionDecoder decoder)
    {
        final PendingRequest request = requests.remove(decoder.correlationId());
        if (null != request)
        {
            request.onTopicDescription(decoder);
        }
    }

    public void onTopicList(final TopicListDecoder decoder)
    {
        final PendingRequest request = requests.remove(decoder.correlationId());
        if (null != request)
        {
            request.onTopicList(decoder);
        }
    }

    public void onConsumerClosed(final long consumerId, final ErrorCode code, final String message)
    {
        final Consumer consumer = consumersById.remove(consumerId);
        if (null != consumer)
        {
            consumers.remove(consumer);
            final MagnetarException error = MagnetarException.of(code, "the broker closed the consumer: " + message);
            callbacks.onError(error);
            consumer.onClosed(error);
        }
    }

    public void onUnknownFrame(final int schemaId, final int templateId, final int length)
    {
        unknownFrames++;
        LOGGER.log(System.Logger.Level.DEBUG, () -> config.clientName + ": dropped a frame (schema " + schemaId +
            ", template " + templateId + ", " + length + " bytes)");
    }
}
