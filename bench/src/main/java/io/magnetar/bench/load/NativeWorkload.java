package io.magnetar.bench.load;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import io.magnetar.client.ClientBuilder;
import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.MessageListener;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.SubscriptionType;
import io.magnetar.client.TopicStats;
import io.magnetar.engine.pipeline.PipelineContext;

/**
 * The native mode: {@code MagnetarClient} producers ({@code sendAsync} with one attribute, one thread per producer)
 * and consumers (a {@link MessageListener} that records and individually acknowledges each message).
 */
final class NativeWorkload implements Workload
{
    private final LoadOptions options;
    private final LoadStats stats;
    private final String aeronDir;
    private final String ingressChannel;
    private final List<MagnetarClient> producerClients = new ArrayList<>();
    private final List<MagnetarClient> consumerClients = new ArrayList<>();
    private final List<Producer> producers = new ArrayList<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private MagnetarClient adminClient;

    NativeWorkload(final LoadOptions options, final LoadStats stats, final String aeronDir, final String ingressChannel)
    {
        this.options = options;
        this.stats = stats;
        this.aeronDir = aeronDir;
        this.ingressChannel = ingressChannel;
    }

    private MagnetarClient client(final String name)
    {
        final ClientBuilder builder = MagnetarClient.builder()
            .clientName(name)
            .ingressChannel(ingressChannel)
            .ingressStreamId(options.ingressStreamId)
            .operationTimeout(Duration.ofSeconds(30));
        if (options.clientEmbeddedDriver)
        {
            builder.embeddedMediaDriver(true);
        }
        else if (null != aeronDir)
        {
            builder.aeronDirectory(aeronDir);
        }
        if (null != options.responseChannel)
        {
            builder.responseChannel(options.responseChannel);
        }
        if (null != options.clientIdle)
        {
            final String idle = options.clientIdle;
            PipelineContext.Configuration.newIdleStrategy(idle); // fail early on a bad name
            builder.idleStrategy(() -> PipelineContext.Configuration.newIdleStrategy(idle));
        }
        if (options.inlineCallbacks)
        {
            builder.callbackExecutor(Runnable::run).listenerExecutor(Runnable::run);
        }
        return builder.build();
    }

    public void setUp()
    {
        final int producerClientCount = options.singleClient ? 1 : Math.min(options.producerClients, options.producers);
        for (int i = 0; i < producerClientCount; i++)
        {
            producerClients.add(client("load-" + (options.singleClient ? "client" : "producers-" + i)));
        }
        if (options.singleClient)
        {
            consumerClients.addAll(producerClients);
        }
        else
        {
            final int consumerClientCount = Math.min(options.consumerClients, options.consumers);
            for (int i = 0; i < consumerClientCount; i++)
            {
                consumerClients.add(client("load-consumers-" + i));
            }
        }
        adminClient = producerClients.get(0);

        if (!adminClient.admin().createTopic(options.topic, options.partitions))
        {
            final TopicStats existing = adminClient.admin().describeTopic(options.topic);
            if (existing.partitions() != options.partitions)
            {
                throw new IllegalStateException("topic " + options.topic + " exists with " + existing.partitions() +
                    " partitions, not " + options.partitions);
            }
        }

        for (int i = 0; i < options.consumers; i++)
        {
            final MagnetarClient client = consumerClients.get(i % consumerClients.size());
            final int group = SubscriptionType.MULTICAST == options.subscriptionType ? i : 0;
            consumers.add(client.newConsumer()
                .topic(options.topic)
                .subscription(options.subscription)
                .subscriptionType(options.subscriptionType)
                .consumerName("load-consumer-" + i)
                .receiverQueueSize(options.receiverQueueSize)
                .acknowledgmentGroupSize(options.ackGroupSize)
                .acknowledgmentGroupTime(Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(options.ackGroupUs)))
                .messageListener(new Listener(stats, group))
                .subscribe());
        }

        for (int p = 0; p < options.producers; p++)
        {
            final MagnetarClient client = producerClients.get(p % producerClients.size());
            producers.add(client.newProducer()
                .topic(options.topic)
                .batchingMaxMessages(options.batchMaxMessages)
                .batchingMaxPublishDelay(Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(options.batchDelayUs)))
                .batchingMaxBytes(options.batchMaxBytes)
                .maxPendingMessages(options.maxPending)
                .blockIfQueueFull(true)
                .create());
        }
    }

    public void start(final long startNs, final long endNs)
    {
        final int publishers = producers.size();
        final double intervalNs = options.fixedRate() ? 1e9 * publishers / options.rate : 0;
        for (int p = 0; p < publishers; p++)
        {
            final int publisher = p;
            final Producer producer = producers.get(p);
            final long offsetNs = (long)(intervalNs * p / publishers);
            final Thread thread = new Thread(
                () -> publish(publisher, producer, startNs + offsetNs, endNs, intervalNs), "load-producer-" + p);
            thread.setDaemon(true);
            threads.add(thread);
        }
        threads.forEach(Thread::start);
    }

    private void publish(final int publisher, final Producer producer, final long startNs, final long endNs, final double intervalNs)
    {
        final Payload payload = new Payload(options.attributeBytes);
        final boolean fixedRate = intervalNs > 0;
        final LoadOptions.Pacing pacing = options.pacing;
        Pacer.awaitUntil(LoadOptions.Pacing.HYBRID, startNs);
        try
        {
            for (long seq = 0; ; seq++)
            {
                final long intendedNs;
                final long sentNs;
                if (fixedRate)
                {
                    intendedNs = startNs + (long)(seq * intervalNs);
                    if (intendedNs - endNs >= 0)
                    {
                        break;
                    }
                    Pacer.awaitUntil(pacing, intendedNs);
                    sentNs = System.nanoTime();
                }
                else
                {
                    if (0 == (seq & 63))
                    {
                        stats.awaitOutstandingBelow(options.maxOutstanding);
                    }
                    intendedNs = System.nanoTime();
                    if (intendedNs - endNs >= 0)
                    {
                        break;
                    }
                    sentNs = intendedNs;
                }
                final CompletableFuture<MessageId> future = producer.sendAsync(
                    stats.key(publisher, seq), Map.of(Payload.NAME, payload.encode(publisher, seq, intendedNs, sentNs)));
                stats.onSent(intendedNs, sentNs, 1);
                future.whenComplete(new Completion(stats, publisher, seq, intendedNs, sentNs));
            }
        }
        catch (final RuntimeException ex)
        {
            stats.error("producer " + publisher + " stopped: " + ex, 1);
        }
        producer.flushAsync();
    }

    public boolean awaitPublished(final long deadlineNs) throws InterruptedException
    {
        for (final Thread thread : threads)
        {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime())));
            if (thread.isAlive())
            {
                return false;
            }
        }
        for (final Producer producer : producers)
        {
            producer.flushAsync();
        }
        return stats.awaitAnswered(deadlineNs);
    }

    public long[] brokerSubscriptionStats()
    {
        if (options.consumers < 1)
        {
            return null;
        }
        final SubscriptionStats subscription = adminClient.admin().describeTopic(options.topic).subscription(options.subscription);
        return null == subscription ? null : new long[]{ subscription.backlog(), subscription.inFlight() };
    }

    public void close()
    {
        for (final Consumer consumer : consumers)
        {
            try
            {
                consumer.close();
            }
            catch (final RuntimeException ex)
            {
                stats.error("closing " + consumer + ": " + ex, 1);
            }
        }
        for (final Producer producer : producers)
        {
            try
            {
                producer.close();
            }
            catch (final RuntimeException ex)
            {
                stats.error("closing " + producer + ": " + ex, 1);
            }
        }
        if (options.deleteTopic && null != adminClient)
        {
            try
            {
                adminClient.admin().deleteTopic(options.topic);
            }
            catch (final RuntimeException ex)
            {
                stats.error("deleting topic " + options.topic + ": " + ex, 1);
            }
        }
        for (final MagnetarClient client : consumerClients)
        {
            client.close();
        }
        for (final MagnetarClient client : producerClients)
        {
            client.close();
        }
    }

    /**
     * Records a receipt (or failure) of one message.
     */
    private static final class Completion implements BiConsumer<MessageId, Throwable>
    {
        private final LoadStats stats;
        private final int publisher;
        private final long seq;
        private final long intendedNs;
        private final long sentNs;

        Completion(final LoadStats stats, final int publisher, final long seq, final long intendedNs, final long sentNs)
        {
            this.stats = stats;
            this.publisher = publisher;
            this.seq = seq;
            this.intendedNs = intendedNs;
            this.sentNs = sentNs;
        }

        public void accept(final MessageId id, final Throwable error)
        {
            if (null == error)
            {
                stats.onConfirmed(publisher, seq, 1, intendedNs, sentNs, System.nanoTime());
            }
            else
            {
                stats.onPublishFailed(1, error.toString());
            }
        }
    }

    /**
     * Records each delivery and acknowledges it individually. The client calls one consumer's listener one message
     * at a time, so the decoder is not shared between threads.
     */
    private static final class Listener implements MessageListener
    {
        private final LoadStats stats;
        private final int group;
        private final Payload.Decoded decoded = new Payload.Decoded();

        Listener(final LoadStats stats, final int group)
        {
            this.stats = stats;
            this.group = group;
        }

        public void received(final Consumer consumer, final Message message)
        {
            final long nowNs = System.nanoTime();
            final boolean ours = decoded.decode(message.attributes().get(Payload.NAME));
            stats.onDelivered(group, ours ? decoded : null, message.key(), message.deliveryCount(), nowNs);
            consumer.acknowledge(message);
            stats.acked.increment();
        }
    }
}
