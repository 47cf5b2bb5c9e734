package io.magnetar.rest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.ToIntFunction;

import io.magnetar.client.MagnetarClient;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.TopicInfo;
import io.magnetar.client.TopicStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What {@code GET /metrics} serves, in the Prometheus text format (version 0.0.4), from a registry of the gateway's
 * own (not the global default, so several gateways can share a JVM in tests):
 * <ul>
 *   <li>REST requests: {@code magnetar_rest_requests_total} and {@code magnetar_rest_request_duration_seconds}
 *       (histogram) by method, route template and status;</li>
 *   <li>REST traffic: messages published, delivered (handed to long polls), ids acked and nacked, by topic (and
 *       subscription); REST consumers, their buffered and handed-out messages, consumers closed by reason;</li>
 *   <li>the broker's view, asked with ListTopics and one DescribeTopic per topic (at most {@code maxMetricsTopics}
 *       topics, within {@code metricsTimeoutMs}, at most once per {@code metricsCacheMs}; concurrent scrapes share
 *       one round): per topic the engine's traffic counters (published, delivered, acked, nacked, redelivered,
 *       dead-lettered: every client, native and REST, since the node started), per subscription backlog,
 *       in-flight, consumers, delivered, acked, nacked, redeliveries, dead-lettered;</li>
 *   <li>the JVM: memory pools, GC, threads, classes, buffer pools (the Prometheus JVM instrumentation);</li>
 *   <li>whatever the process hosting the gateway registers in {@link #registry()}: the broker node registers its
 *       journal, ring, snapshot and transport gauges there when it embeds the gateway (a standalone gateway has
 *       none of them).</li>
 * </ul>
 */
final class GatewayMetrics
{
    private static final double[] LATENCY_BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests;
    private final Histogram latency;
    private final Counter published;
    private final Counter delivered;
    private final Counter acked;
    private final Counter nacked;
    private final Counter consumersClosed;
    private volatile List<TopicStats> engineStats = Collections.emptyList();
    private volatile boolean engineStatsFresh;
    private volatile int engineTopicsListed;
    private final Object refreshLock = new Object();
    private CompletableFuture<Void> refreshing;
    private long refreshedAtNs;

    GatewayMetrics()
    {
        requests = Counter.builder()
            .name("magnetar_rest_requests_total")
            .help("REST requests answered, by method, route template and HTTP status")
            .labelNames("method", "route", "status")
            .build();
        latency = Histogram.builder()
            .name("magnetar_rest_request_duration_seconds")
            .help("REST request latency from arrival to response (long polls include their wait)")
            .labelNames("method", "route", "status")
            .classicOnly()
            .classicUpperBounds(LATENCY_BUCKETS)
            .build();
        published = Counter.builder()
            .name("magnetar_rest_published_messages_total")
            .help("messages published through REST and journaled, by topic")
            .labelNames("topic")
            .build();
        delivered = Counter.builder()
            .name("magnetar_rest_delivered_messages_total")
            .help("messages handed to REST long polls, by topic and subscription")
            .labelNames("topic", "subscription")
            .build();
        acked = Counter.builder()
            .name("magnetar_rest_acked_ids_total")
            .help("message ids acknowledged through REST, by topic and subscription")
            .labelNames("topic", "subscription")
            .build();
        nacked = Counter.builder()
            .name("magnetar_rest_nacked_ids_total")
            .help("message ids negatively acknowledged through REST, by topic and subscription")
            .labelNames("topic", "subscription")
            .build();
        consumersClosed = Counter.builder()
            .name("magnetar_rest_consumers_closed_total")
            .help("REST consumers closed, by reason (deleted, lease, broker, shutdown, failed)")
            .labelNames("reason")
            .build();
        registry.register(requests);
        registry.register(latency);
        registry.register(published);
        registry.register(delivered);
        registry.register(acked);
        registry.register(nacked);
        registry.register(consumersClosed);
        registry.register(subscriptionGauge("magnetar_subscription_backlog",
            "messages not yet delivered (pending or waiting for redelivery), from the broker", SubscriptionStats::backlog));
        registry.register(subscriptionGauge("magnetar_subscription_in_flight",
            "messages delivered and not yet acknowledged, from the broker", SubscriptionStats::inFlight));
        registry.register(subscriptionGauge("magnetar_subscription_consumers",
            "attached consumers (native and REST), from the broker", SubscriptionStats::consumers));
        registry.register(subscriptionCounter("magnetar_subscription_redeliveries_total",
            "redeliveries so far (subscription state: survives a broker restart), from the broker",
            SubscriptionStats::redeliveries));
        registry.register(subscriptionCounter("magnetar_subscription_dead_lettered_total",
            "messages moved to the dead-letter topic so far (subscription state: survives a broker restart), from the broker",
            SubscriptionStats::deadLettered));
        registry.register(subscriptionCounter("magnetar_subscription_delivered_total",
            "deliveries since the broker started, redeliveries included, every client, from the broker",
            SubscriptionStats::delivered));
        registry.register(subscriptionCounter("magnetar_subscription_acked_total",
            "deliveries acknowledged since the broker started, every client, from the broker", SubscriptionStats::acked));
        registry.register(subscriptionCounter("magnetar_subscription_nacked_total",
            "outstanding deliveries negatively acknowledged since the broker started, every client, from the broker",
            SubscriptionStats::nacked));
        registry.register(topicCounter("magnetar_topic_published_messages_total",
            "messages stored into the topic since the broker started: publishes of every client, and dead-letter " +
            "copies into a .dlq topic; from the broker", TopicStats::published));
        registry.register(topicCounter("magnetar_topic_delivered_messages_total",
            "deliveries to consumers of every subscription since the broker started, redeliveries included; " +
            "from the broker", TopicStats::delivered));
        registry.register(topicCounter("magnetar_topic_acked_messages_total",
            "deliveries acknowledged since the broker started, every subscription; from the broker", TopicStats::acked));
        registry.register(topicCounter("magnetar_topic_nacked_messages_total",
            "outstanding deliveries negatively acknowledged since the broker started, every subscription; from the broker",
            TopicStats::nacked));
        registry.register(topicCounter("magnetar_topic_redelivered_messages_total",
            "deliveries that were redeliveries since the broker started, every subscription; from the broker",
            TopicStats::redelivered));
        registry.register(topicCounter("magnetar_topic_dead_lettered_messages_total",
            "messages moved to a dead-letter topic since the broker started, every subscription; from the broker",
            TopicStats::deadLettered));
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_topic_partitions")
            .help("partitions of each topic, from the broker")
            .labelNames("topic")
            .callback((callback) ->
            {
                for (final TopicStats topic : engineStats)
                {
                    callback.call(topic.partitions(), topic.name());
                }
            })
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_broker_stats_up")
            .help("1 if the last scrape got the broker's topic stats in time, else 0")
            .callback((callback) -> callback.call(engineStatsFresh ? 1 : 0))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_broker_stats_topics")
            .help("topics the broker listed at the last refresh (listed) and those whose stats are shown (described; " +
                "at most maxMetricsTopics)")
            .labelNames("state")
            .callback((callback) ->
            {
                callback.call(engineTopicsListed, "listed");
                callback.call(engineStats.size(), "described");
            })
            .build());
        JvmMetrics.builder().register(registry);
    }

    private GaugeWithCallback subscriptionGauge(
        final String name, final String help, final java.util.function.ToDoubleFunction<SubscriptionStats> value)
    {
        return GaugeWithCallback.builder()
            .name(name)
            .help(help)
            .labelNames("topic", "subscription", "type")
            .callback((callback) ->
            {
                for (final TopicStats topic : engineStats)
                {
                    for (final SubscriptionStats sub : topic.subscriptions())
                    {
                        callback.call(value.applyAsDouble(sub), topic.name(), sub.name(), Rest.typeName(sub.type()));
                    }
                }
            })
            .build();
    }

    private CounterWithCallback topicCounter(
        final String name, final String help, final java.util.function.ToDoubleFunction<TopicStats> value)
    {
        return CounterWithCallback.builder()
            .name(name)
            .help(help)
            .labelNames("topic")
            .callback((callback) ->
            {
                for (final TopicStats topic : engineStats)
                {
                    callback.call(value.applyAsDouble(topic), topic.name());
                }
            })
            .build();
    }

    private CounterWithCallback subscriptionCounter(
        final String name, final String help, final java.util.function.ToDoubleFunction<SubscriptionStats> value)
    {
        return CounterWithCallback.builder()
            .name(name)
            .help(help)
            .labelNames("topic", "subscription", "type")
            .callback((callback) ->
            {
                for (final TopicStats topic : engineStats)
                {
                    for (final SubscriptionStats sub : topic.subscriptions())
                    {
                        callback.call(value.applyAsDouble(sub), topic.name(), sub.name(), Rest.typeName(sub.type()));
                    }
                }
            })
            .build();
    }

    /**
     * Gauges read from the gateway's state at scrape time.
     */
    void gateway(
        final IntSupplier consumerCount,
        final ToIntFunction<Boolean> consumerMessages,
        final IntSupplier producerCount,
        final MagnetarClient client)
    {
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_consumers")
            .help("REST consumers attached")
            .callback((callback) -> callback.call(consumerCount.getAsInt()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_consumer_messages")
            .help("messages held for REST consumers: buffered (not yet polled) or handed_out (polled, not yet acked)")
            .labelNames("state")
            .callback((callback) ->
            {
                callback.call(consumerMessages.applyAsInt(Boolean.TRUE), "buffered");
                callback.call(consumerMessages.applyAsInt(Boolean.FALSE), "handed_out");
            })
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_producers")
            .help("native producers the gateway keeps (one per topic published to)")
            .callback((callback) -> callback.call(producerCount.getAsInt()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_rest_broker_connected")
            .help("1 while the gateway's session with the broker is up")
            .callback((callback) -> callback.call(client.isConnected() ? 1 : 0))
            .build());
    }

    void request(final String method, final String route, final int status, final double seconds)
    {
        final String statusText = Integer.toString(status);
        requests.labelValues(method, route, statusText).inc();
        latency.labelValues(method, route, statusText).observe(seconds);
    }

    void published(final String topic, final int messages)
    {
        published.labelValues(topic).inc(messages);
    }

    void delivered(final String topic, final String subscription, final int messages)
    {
        if (messages > 0)
        {
            delivered.labelValues(topic, subscription).inc(messages);
        }
    }

    void acked(final String topic, final String subscription, final int ids)
    {
        acked.labelValues(topic, subscription).inc(ids);
    }

    void nacked(final String topic, final String subscription, final int ids)
    {
        nacked.labelValues(topic, subscription).inc(ids);
    }

    void consumerClosed(final String reason)
    {
        final String category;
        if (reason.startsWith("lease"))
        {
            category = "lease";
        }
        else if (reason.startsWith("deleted"))
        {
            category = "deleted";
        }
        else if (reason.contains("closing"))
        {
            category = "shutdown";
        }
        else if (reason.contains("broker") || reason.contains("topic") || reason.contains("subscription"))
        {
            category = "broker";
        }
        else
        {
            category = "failed";
        }
        consumersClosed.labelValues(category).inc();
    }

    /**
     * @return the registry {@code GET /metrics} serves: a hosting process may register its own collectors.
     */
    PrometheusRegistry registry()
    {
        return registry;
    }

    /**
     * Ask the broker for the stats of (at most {@code maxTopics}) topics, for the engine series of the next scrape,
     * unless the last answer is younger than {@code cacheMs}; a scrape arriving while a round of queries is out
     * waits for that round instead of starting another.
     *
     * @return completes when refreshed or when the time is up (the series then show the previous answer and
     * {@code magnetar_rest_broker_stats_up} is 0).
     */
    CompletableFuture<Void> refreshEngineStats(
        final MagnetarClient client, final int maxTopics, final long timeoutMs, final long cacheMs)
    {
        if (0 == maxTopics)
        {
            return CompletableFuture.completedFuture(null);
        }
        synchronized (refreshLock)
        {
            if (null != refreshing && !refreshing.isDone())
            {
                return refreshing;
            }
            if (engineStatsFresh && System.nanoTime() - refreshedAtNs < TimeUnit.MILLISECONDS.toNanos(cacheMs))
            {
                return CompletableFuture.completedFuture(null);
            }
            final CompletableFuture<Void> round = queryEngineStats(client, maxTopics, timeoutMs);
            refreshing = round;
            return round;
        }
    }

    private CompletableFuture<Void> queryEngineStats(final MagnetarClient client, final int maxTopics, final long timeoutMs)
    {
        final CompletableFuture<List<TopicStats>> stats = client.admin().listTopicsAsync().thenCompose((topics) ->
        {
            engineTopicsListed = topics.size();
            final List<CompletableFuture<TopicStats>> described = new ArrayList<>();
            for (final TopicInfo topic : topics)
            {
                if (described.size() >= maxTopics)
                {
                    break;
                }
                described.add(client.admin().describeTopicAsync(topic.name())
                    .exceptionally((error) -> null)); // deleted in between
            }
            return CompletableFuture.allOf(described.toArray(new CompletableFuture<?>[0])).thenApply((ignore) ->
            {
                final List<TopicStats> result = new ArrayList<>(described.size());
                for (final CompletableFuture<TopicStats> future : described)
                {
                    final TopicStats topic = future.join();
                    if (null != topic)
                    {
                        result.add(topic);
                    }
                }
                return result;
            });
        });
        return stats.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((result, error) ->
        {
            if (null == error)
            {
                engineStats = result;
                engineStatsFresh = true;
                synchronized (refreshLock)
                {
                    refreshedAtNs = System.nanoTime();
                }
            }
            else
            {
                engineStatsFresh = false;
            }
            return null;
        });
    }

    String contentType()
    {
        return writer.getContentType();
    }

    byte[] scrape()
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try
        {
            writer.write(out, registry.scrape());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }
}
