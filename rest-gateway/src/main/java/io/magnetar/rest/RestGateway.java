package io.magnetar.rest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.SubscriptionOptions;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.SubscriptionType;
import io.magnetar.client.TopicInfo;
import io.magnetar.client.TopicStats;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The REST API of SPEC section 5, served by Javalin 7 (Jetty 12), over one {@link MagnetarClient}: every REST call
 * becomes a native client call on the same Aeron session protocol and command stream as any Java client (as Artio's
 * libraries talk to its engine over Aeron IPC), so REST and native clients share one set of semantics.
 * <p>
 * No request thread waits for the broker: handlers validate, hand the call to the client (which never blocks the
 * caller) and return a future; the answer is encoded on a small worker pool when the broker replies. A long poll
 * with nothing to deliver parks a future, not a thread. See {@code rest-gateway/README.md} for the decisions.
 * <pre>{@code
 * try (RestGateway gateway = RestGateway.start(new RestConfig().port(8080), client)) { ... }
 * }</pre>
 * The gateway does not own the client: close the client after the gateway.
 */
public final class RestGateway implements AutoCloseable
{
    private static final System.Logger LOGGER = System.getLogger(RestGateway.class.getName());
    private static final String ROUTE_ATTRIBUTE = "magnetar.route";
    private static final String JSON = "application/json";
    private static final long DRAIN_LIMIT = 64L * 1024 * 1024;

    static final String TOPICS = "/admin/v1/topics";
    static final String TOPIC = "/admin/v1/topics/{topic}";
    static final String SUBSCRIPTION = "/admin/v1/topics/{topic}/subscriptions/{subscription}";
    static final String MESSAGES = "/v1/topics/{topic}/messages";
    static final String CONSUMERS = "/v1/topics/{topic}/subscriptions/{subscription}/consumers";
    static final String CONSUMER = "/v1/consumers/{consumerId}";
    static final String CONSUMER_MESSAGES = "/v1/consumers/{consumerId}/messages";
    static final String CONSUMER_ACKS = "/v1/consumers/{consumerId}/acks";
    static final String CONSUMER_NACKS = "/v1/consumers/{consumerId}/nacks";
    static final String METRICS = "/metrics";
    static final String HEALTH = "/health";
    static final String OPENAPI = "/openapi.json";

    private static final Set<String> TOPIC_FIELDS = Set.of("partitions");
    private static final Set<String> SUBSCRIPTION_FIELDS =
        Set.of("type", "ackTimeoutMs", "nackDelayMs", "maxDeliveries", "maxInFlightPerKey");
    private static final Set<String> CONSUMER_FIELDS = Set.of(
        "name", "type", "permits", "leaseMs", "ackTimeoutMs", "nackDelayMs", "maxDeliveries", "maxInFlightPerKey");
    private static final Set<String> PUBLISH_FIELDS = Set.of("messages");
    private static final Set<String> MESSAGE_FIELDS = Set.of("key", "attributes");
    private static final Set<String> IDS_FIELDS = Set.of("ids");

    private final RestConfig config;
    private final MagnetarClient client;
    private final Json json;
    private final GatewayMetrics metrics = new GatewayMetrics();
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService worker;
    private final Publisher publisher;
    private final RestConsumers consumers;
    private final byte[] openApi;
    private final List<String> routes = new ArrayList<>();
    private final Javalin app;

    /**
     * An answer: status and JSON body (null for none).
     */
    record Reply(int status, byte[] body, String contentType)
    {
        static Reply json(final int status, final byte[] body)
        {
            return new Reply(status, body, JSON);
        }
    }

    @FunctionalInterface
    private interface Action
    {
        CompletableFuture<Reply> handle(Context ctx);
    }

    /**
     * Start serving.
     *
     * @param config where to listen and the limits (concluded here).
     * @param client a connected client; the gateway uses it and does not close it.
     * @return the running gateway; {@link #port()} tells the bound port.
     */
    public static RestGateway start(final RestConfig config, final MagnetarClient client)
    {
        return new RestGateway(config, client);
    }

    private RestGateway(final RestConfig config, final MagnetarClient client)
    {
        this.config = config.concluded ? config : config.conclude();
        this.client = Objects.requireNonNull(client, "client");
        this.json = new Json(this.config);
        this.openApi = loadOpenApi();
        this.scheduler = new ScheduledThreadPoolExecutor(1, daemon("magnetar-rest-timer"));
        this.scheduler.setRemoveOnCancelPolicy(true);
        this.worker = Executors.newFixedThreadPool(this.config.workerThreads, daemon("magnetar-rest-worker"));
        this.publisher = new Publisher(client, this.config);
        this.consumers = new RestConsumers(client, this.config, scheduler, worker, metrics);
        metrics.gateway(
            consumers::size,
            (buffered) ->
            {
                int total = 0;
                for (final RestConsumer consumer : consumers.all())
                {
                    total += buffered ? consumer.buffered() : consumer.handedOut();
                }
                return total;
            },
            publisher::producerCount,
            client);

        Javalin started = null;
        try
        {
            started = Javalin.create(this::configure).start(this.config.host, this.config.port);
        }
        catch (final RuntimeException ex)
        {
            shutdownExecutors();
            throw ex;
        }
        this.app = started;
        LOGGER.log(System.Logger.Level.INFO, () -> "REST gateway listening on " + this.config.host + ":" + port());
    }

    private void configure(final JavalinConfig cfg)
    {
        cfg.startup.showJavalinBanner = false;
        cfg.startup.showOldJavalinVersionWarning = false;
        cfg.jsonMapper(new JavalinJackson(json.mapper, false));
        cfg.http.prefer405over404 = true;
        cfg.http.maxRequestSize = config.maxBodyBytes;
        cfg.http.defaultContentType = JSON;
        cfg.http.asyncTimeout = config.maxWaitMs + TimeUnit.MINUTES.toMillis(2);
        cfg.jetty.timeoutStatus = 503;
        final QueuedThreadPool threads = new QueuedThreadPool(config.maxRequestThreads, Math.min(8, config.maxRequestThreads));
        threads.setName("magnetar-rest-http");
        threads.setDaemon(true);
        cfg.jetty.threadPool = threads;
        cfg.jetty.modifyServer((server) -> server.setErrorHandler(new JettyErrors.Server(json)));
        cfg.jetty.modifyServletContextHandler((context) -> context.setErrorHandler(new JettyErrors.Context(json)));
        cfg.router.ignoreTrailingSlashes = true;

        route(cfg, HandlerType.PUT, TOPIC, this::createTopic);
        route(cfg, HandlerType.GET, TOPICS, this::listTopics);
        route(cfg, HandlerType.GET, TOPIC, this::describeTopic);
        route(cfg, HandlerType.DELETE, TOPIC, this::deleteTopic);
        route(cfg, HandlerType.PUT, SUBSCRIPTION, this::createSubscription);
        route(cfg, HandlerType.DELETE, SUBSCRIPTION, this::deleteSubscription);
        route(cfg, HandlerType.POST, MESSAGES, this::publish);
        route(cfg, HandlerType.POST, CONSUMERS, this::createConsumer);
        route(cfg, HandlerType.GET, CONSUMER_MESSAGES, this::fetch);
        route(cfg, HandlerType.POST, CONSUMER_ACKS, this::ack);
        route(cfg, HandlerType.POST, CONSUMER_NACKS, this::nack);
        route(cfg, HandlerType.DELETE, CONSUMER, this::deleteConsumer);
        route(cfg, HandlerType.GET, METRICS, this::scrape);
        route(cfg, HandlerType.GET, HEALTH, this::health);
        route(cfg, HandlerType.GET, OPENAPI,
            (ctx) -> CompletableFuture.completedFuture(Reply.json(200, openApi)));

        // Javalin's own answers (no route, wrong method, ...) get the SPEC error body too
        cfg.routes.exception(HttpResponseException.class, (ex, ctx) ->
        {
            final int status = ex.getStatus();
            final String code = 404 == status ? ErrorMapping.NOT_FOUND : 405 == status ? ErrorMapping.METHOD_NOT_ALLOWED :
                413 == status ? ErrorMapping.INVALID_ARGUMENT : status >= 500 ? ErrorMapping.INTERNAL : ErrorMapping.INVALID_ARGUMENT;
            final String message = 404 == status ? "no route for " + ctx.method().name() + " " + Json.clip(ctx.path(), 200) :
                405 == status ? "method " + ctx.method().name() + " is not allowed on " + Json.clip(ctx.path(), 200) :
                Json.clip(ex.getMessage(), 200);
            writeError(ctx, new ApiException(status, code, message));
        });
        cfg.routes.exception(Exception.class, (ex, ctx) ->
        {
            LOGGER.log(System.Logger.Level.WARNING, "unexpected failure in " + ctx.method() + " " + ctx.path(), ex);
            writeError(ctx, ErrorMapping.toApi(ex));
        });
        cfg.requestLogger.http((ctx, ms) ->
        {
            final Object route = ctx.attribute(ROUTE_ATTRIBUTE);
            metrics.request(ctx.method().name(), null == route ? "unmatched" : route.toString(), ctx.statusCode(), ms / 1000.0);
        });
    }

    private void route(final JavalinConfig cfg, final HandlerType method, final String path, final Action action)
    {
        routes.add(method.name() + " " + path);
        cfg.routes.addHttpHandler(method, path, (ctx) -> dispatch(ctx, path, action));
    }

    private void dispatch(final Context ctx, final String path, final Action action)
    {
        ctx.attribute(ROUTE_ATTRIBUTE, path);
        CompletableFuture<Reply> reply;
        try
        {
            reply = action.handle(ctx);
        }
        catch (final Throwable ex)
        {
            reply = CompletableFuture.failedFuture(ex);
        }
        if (reply.isDone())
        {
            write(ctx, reply);
            return;
        }
        final CompletableFuture<Reply> pending = reply;
        ctx.future(() -> pending.handleAsync((ignore, error) ->
        {
            write(ctx, pending);
            return null;
        }, worker));
    }

    private void write(final Context ctx, final CompletableFuture<Reply> done)
    {
        final Reply reply;
        try
        {
            reply = done.join();
        }
        catch (final RuntimeException ex)
        {
            final ApiException error = ErrorMapping.toApi(ex);
            if (500 == error.status)
            {
                LOGGER.log(System.Logger.Level.WARNING, "request failed: " + ctx.method() + " " + ctx.path(),
                    ErrorMapping.unwrap(ex));
            }
            writeError(ctx, error);
            return;
        }
        ctx.status(reply.status());
        if (null != reply.body())
        {
            ctx.contentType(reply.contentType());
            ctx.result(reply.body());
        }
        else
        {
            ctx.result(new byte[0]);
        }
    }

    private void writeError(final Context ctx, final ApiException error)
    {
        ctx.status(error.status);
        if (429 == error.status || 503 == error.status)
        {
            ctx.header("Retry-After", "1");
        }
        ctx.contentType(JSON);
        ctx.result(json.error(error.code, null == error.getMessage() ? error.code : error.getMessage()));
    }

    // =================================================================================================================
    // admin
    // =================================================================================================================

    private CompletableFuture<Reply> createTopic(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        final Json.Obj body = json.parseObject(readBody(ctx), false).allowOnly(TOPIC_FIELDS);
        final int partitions = (int)body.reqLong("partitions", 1, Integer.MAX_VALUE);
        return client.admin().createTopicAsync(topic, partitions).thenApply((created) ->
        {
            final ObjectNode reply = json.object().put("name", topic).put("partitions", partitions);
            return Reply.json(created ? 201 : 200, json.write(reply));
        });
    }

    private CompletableFuture<Reply> listTopics(final Context ctx)
    {
        return client.admin().listTopicsAsync().thenApply((topics) ->
        {
            final ObjectNode reply = json.object();
            final ArrayNode array = reply.putArray("topics");
            for (final TopicInfo topic : topics)
            {
                array.addObject().put("name", topic.name()).put("partitions", topic.partitions());
            }
            return Reply.json(200, json.write(reply));
        });
    }

    private CompletableFuture<Reply> describeTopic(final Context ctx)
    {
        return client.admin().describeTopicAsync(ctx.pathParam("topic")).thenApply((stats) ->
            Reply.json(200, json.write(describe(stats))));
    }

    private ObjectNode describe(final TopicStats stats)
    {
        final ObjectNode reply = json.object()
            .put("name", stats.name())
            .put("partitions", stats.partitions())
            .put("published", stats.published())
            .put("delivered", stats.delivered())
            .put("acked", stats.acked())
            .put("nacked", stats.nacked())
            .put("redelivered", stats.redelivered())
            .put("deadLettered", stats.deadLettered());
        final ArrayNode subscriptions = reply.putArray("subscriptions");
        for (final SubscriptionStats sub : stats.subscriptions())
        {
            subscriptions.addObject()
                .put("name", sub.name())
                .put("type", Rest.typeName(sub.type()))
                .put("backlog", sub.backlog())
                .put("inFlight", sub.inFlight())
                .put("consumers", sub.consumers())
                .put("redeliveries", sub.redeliveries())
                .put("deadLettered", sub.deadLettered())
                .put("delivered", sub.delivered())
                .put("acked", sub.acked())
                .put("nacked", sub.nacked())
                .put("ackTimeoutMs", sub.ackTimeoutMs())
                .put("nackDelayMs", sub.nackDelayMs())
                .put("maxDeliveries", sub.maxDeliveries())
                .put("maxInFlightPerKey", sub.maxInFlightPerKey());
        }
        return reply;
    }

    private CompletableFuture<Reply> deleteTopic(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        return client.admin().deleteTopicAsync(topic).thenApply((ignore) ->
        {
            publisher.forget(topic);
            consumers.closeFor(topic, null, "topic '" + topic + "' was deleted");
            return new Reply(204, null, null);
        });
    }

    private CompletableFuture<Reply> createSubscription(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        final String subscription = ctx.pathParam("subscription");
        final Json.Obj body = json.parseObject(readBody(ctx), false).allowOnly(SUBSCRIPTION_FIELDS);
        final SubscriptionType type = Rest.parseType("type", body.reqString("type"));
        final SubscriptionOptions options = options(body);
        return client.admin().createSubscriptionAsync(topic, subscription, type, options).thenApply((created) ->
        {
            final ObjectNode reply = json.object()
                .put("topic", topic).put("name", subscription).put("type", Rest.typeName(type));
            return Reply.json(created ? 201 : 200, json.write(reply));
        });
    }

    private static SubscriptionOptions options(final Json.Obj body)
    {
        SubscriptionOptions options = SubscriptionOptions.DEFAULTS;
        final long ackTimeoutMs = body.optLong("ackTimeoutMs", -1, 0, Long.MAX_VALUE / 1_000_000);
        if (ackTimeoutMs >= 0)
        {
            options = options.ackTimeout(Duration.ofMillis(ackTimeoutMs));
        }
        final long nackDelayMs = body.optLong("nackDelayMs", -1, 0, Long.MAX_VALUE / 1_000_000);
        if (nackDelayMs >= 0)
        {
            options = options.negativeAckRedeliveryDelay(Duration.ofMillis(nackDelayMs));
        }
        final long maxDeliveries = body.optLong("maxDeliveries", -1, 0, Integer.MAX_VALUE);
        if (maxDeliveries >= 0)
        {
            options = options.maxDeliveries((int)maxDeliveries);
        }
        final long maxInFlightPerKey = body.optLong("maxInFlightPerKey", -1, 0, Integer.MAX_VALUE);
        if (maxInFlightPerKey >= 0)
        {
            options = options.maxInFlightPerKey((int)maxInFlightPerKey);
        }
        return options;
    }

    private CompletableFuture<Reply> deleteSubscription(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        final String subscription = ctx.pathParam("subscription");
        return client.admin().deleteSubscriptionAsync(topic, subscription).thenApply((ignore) ->
        {
            consumers.closeFor(topic, subscription, "subscription '" + subscription + "' was deleted");
            return new Reply(204, null, null);
        });
    }

    // =================================================================================================================
    // publish
    // =================================================================================================================

    private CompletableFuture<Reply> publish(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        final Json.Obj body = json.parseObject(readBody(ctx), false).allowOnly(PUBLISH_FIELDS);
        final ArrayNode array = body.reqArray("messages");
        final int count = array.size();
        if (count < 1 || count > config.maxPublishBatch)
        {
            throw ApiException.invalid("messages: " + count + " messages is outside 1.." + config.maxPublishBatch +
                " per request");
        }
        final List<Publisher.Outgoing> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            messages.add(message(array.get(i), "messages[" + i + "]"));
        }
        return publisher.publish(topic, messages).thenApply((ids) ->
        {
            metrics.published(topic, ids.size());
            final byte[] reply = json.generate((generator) ->
            {
                generator.writeStartObject();
                generator.writeArrayFieldStart("ids");
                for (final MessageId id : ids)
                {
                    generator.writeString(id.toString());
                }
                generator.writeEndArray();
                generator.writeEndObject();
            });
            return Reply.json(200, reply);
        });
    }

    private Publisher.Outgoing message(final JsonNode node, final String path)
    {
        if (!node.isObject())
        {
            throw ApiException.invalid(path + ": expected an object, got " + Json.kind(node));
        }
        final Json.Obj message = new Json.Obj((ObjectNode)node, path + ".").allowOnly(MESSAGE_FIELDS);
        final String key = message.reqString("key");
        final int keyBytes = Json.utf8Length(key);
        if (keyBytes < 1 || keyBytes > config.maxKeyBytes)
        {
            throw ApiException.invalid(path + ".key: " + keyBytes + " bytes is outside 1.." + config.maxKeyBytes);
        }
        final ObjectNode attributes = message.optObject("attributes");
        if (null == attributes || attributes.isEmpty())
        {
            return new Publisher.Outgoing(key, Collections.emptyMap());
        }
        if (attributes.size() > config.maxAttributes)
        {
            throw ApiException.invalid(path + ".attributes: " + attributes.size() + " attributes exceed the limit of " +
                config.maxAttributes);
        }
        final Map<String, String> map = new LinkedHashMap<>(attributes.size() * 2);
        int total = 0;
        for (final Map.Entry<String, JsonNode> field : attributes.properties())
        {
            final String name = field.getKey();
            final String where = path + ".attributes." + Json.clip(name, Json.MAX_NAME_IN_MESSAGE);
            final int nameBytes = Json.utf8Length(name);
            if (nameBytes < 0)
            {
                throw ApiException.invalid(where + ": name is not valid Unicode (unpaired surrogate)");
            }
            if (nameBytes < 1 || nameBytes > config.maxAttributeNameBytes)
            {
                throw ApiException.invalid(where + ": name of " + nameBytes + " bytes is outside 1.." +
                    config.maxAttributeNameBytes);
            }
            final JsonNode value = field.getValue();
            if (!value.isTextual())
            {
                throw ApiException.invalid(where + ": expected a string, got " + Json.kind(value));
            }
            final int valueBytes = Json.utf8Length(value.textValue());
            if (valueBytes < 0)
            {
                throw ApiException.invalid(where + ": not valid Unicode (unpaired surrogate)");
            }
            if (valueBytes > config.maxAttributeValueBytes)
            {
                throw ApiException.invalid(where + ": value of " + valueBytes + " bytes exceeds the limit of " +
                    config.maxAttributeValueBytes);
            }
            total += nameBytes + valueBytes;
            map.put(name, value.textValue());
        }
        if (total > config.maxAttributesBytes)
        {
            throw ApiException.invalid(path + ".attributes: " + total + " bytes of names and values exceed the limit of " +
                config.maxAttributesBytes);
        }
        return new Publisher.Outgoing(key, map);
    }

    // =================================================================================================================
    // REST consumers
    // =================================================================================================================

    private CompletableFuture<Reply> createConsumer(final Context ctx)
    {
        final String topic = ctx.pathParam("topic");
        final String subscription = ctx.pathParam("subscription");
        final Json.Obj body = json.parseObject(readBody(ctx), true).allowOnly(CONSUMER_FIELDS);
        final String name = body.optString("name");
        if (null != name)
        {
            final int bytes = Json.utf8Length(name);
            if (bytes < 1 || bytes > 128)
            {
                throw ApiException.invalid("name: " + bytes + " bytes is outside 1..128");
            }
        }
        final String typeName = body.optString("type");
        final SubscriptionType type = null == typeName ? null : Rest.parseType("type", typeName);
        final int permits = (int)body.optLong("permits", config.defaultPermits, 1, config.maxPermits);
        final long leaseMs = body.optLong("leaseMs", config.defaultLeaseMs, config.minLeaseMs, config.maxLeaseMs);
        final SubscriptionOptions options = options(body);
        final RestConsumers.Registration registration =
            new RestConsumers.Registration(topic, subscription, name, type, permits, leaseMs, options);
        return consumers.create(registration).thenApply((consumer) ->
        {
            final ObjectNode reply = json.object()
                .put("consumerId", consumer.id)
                .put("permits", consumer.permits)
                .put("leaseMs", consumer.leaseMs);
            return Reply.json(201, json.write(reply));
        });
    }

    private CompletableFuture<Reply> fetch(final Context ctx)
    {
        final String id = ctx.pathParam("consumerId");
        final int max = (int)queryLong(ctx, "max", config.defaultFetchMax, 1, config.maxFetch);
        final long waitMs = queryLong(ctx, "waitMs", config.defaultWaitMs, 0, config.maxWaitMs);
        final RestConsumer consumer = consumers.get(id);
        return consumer.fetch(max, waitMs).thenApply((messages) -> Reply.json(200, json.generate((generator) ->
        {
            generator.writeStartObject();
            generator.writeArrayFieldStart("messages");
            for (final Message message : messages)
            {
                generator.writeStartObject();
                generator.writeStringField("id", message.id().toString());
                generator.writeStringField("topic", message.topic());
                generator.writeStringField("key", message.key());
                generator.writeObjectFieldStart("attributes");
                for (final Map.Entry<String, String> attribute : message.attributes().entrySet())
                {
                    generator.writeStringField(attribute.getKey(), attribute.getValue());
                }
                generator.writeEndObject();
                generator.writeNumberField("publishTime", message.publishTime());
                generator.writeNumberField("deliveryCount", message.deliveryCount());
                generator.writeEndObject();
            }
            generator.writeEndArray();
            generator.writeEndObject();
        })));
    }

    private static long queryLong(final Context ctx, final String name, final long absent, final long min, final long max)
    {
        final String text = ctx.queryParam(name);
        if (null == text)
        {
            return absent;
        }
        if (text.isEmpty() || text.length() > 18)
        {
            throw ApiException.invalid(name + ": '" + Json.clip(text, 40) + "' is not an integer in " + min + ".." + max);
        }
        long value = 0;
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (c < '0' || c > '9')
            {
                throw ApiException.invalid(name + ": '" + Json.clip(text, 40) + "' is not an integer in " + min + ".." + max);
            }
            value = value * 10 + (c - '0');
        }
        if (value < min || value > max)
        {
            throw ApiException.invalid(name + ": " + value + " is outside " + min + ".." + max);
        }
        return value;
    }

    private CompletableFuture<Reply> ack(final Context ctx)
    {
        final String id = ctx.pathParam("consumerId");
        final List<MessageId> ids = ids(ctx);
        final RestConsumer.Counts counts = consumers.ack(id, ids);
        final ObjectNode reply = json.object().put("acked", counts.done()).put("unknown", counts.unknown());
        return CompletableFuture.completedFuture(Reply.json(200, json.write(reply)));
    }

    private CompletableFuture<Reply> nack(final Context ctx)
    {
        final String id = ctx.pathParam("consumerId");
        final List<MessageId> ids = ids(ctx);
        final RestConsumer.Counts counts = consumers.nack(id, ids);
        final ObjectNode reply = json.object().put("nacked", counts.done()).put("unknown", counts.unknown());
        return CompletableFuture.completedFuture(Reply.json(200, json.write(reply)));
    }

    private List<MessageId> ids(final Context ctx)
    {
        final String consumerId = ctx.pathParam("consumerId");
        consumers.get(consumerId); // 404 before 400: an unknown consumer is the first thing to tell
        final Json.Obj body = json.parseObject(readBody(ctx), false).allowOnly(IDS_FIELDS);
        final ArrayNode array = body.reqArray("ids");
        if (array.size() > config.maxAckBatch)
        {
            throw ApiException.invalid("ids: " + array.size() + " ids exceed the limit of " + config.maxAckBatch +
                " per request");
        }
        final List<MessageId> ids = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++)
        {
            final JsonNode node = array.get(i);
            if (!node.isTextual())
            {
                throw ApiException.invalid("ids[" + i + "]: expected a string (p:l:e), got " + Json.kind(node));
            }
            try
            {
                ids.add(MessageId.parse(node.textValue()));
            }
            catch (final IllegalArgumentException ex)
            {
                throw ApiException.invalid("ids[" + i + "]: not a message id (p:l:e): '" +
                    Json.clip(node.textValue(), 40) + "'");
            }
        }
        return ids;
    }

    private CompletableFuture<Reply> deleteConsumer(final Context ctx)
    {
        return consumers.delete(ctx.pathParam("consumerId")).thenApply((ignore) -> new Reply(204, null, null));
    }

    // =================================================================================================================
    // operations
    // =================================================================================================================

    private CompletableFuture<Reply> scrape(final Context ctx)
    {
        return metrics.refreshEngineStats(client, config.maxMetricsTopics, config.metricsTimeoutMs, config.metricsCacheMs)
            .thenApply((ignore) -> new Reply(200, metrics.scrape(), metrics.contentType()));
    }

    private CompletableFuture<Reply> health(final Context ctx)
    {
        if (!client.isConnected())
        {
            return CompletableFuture.failedFuture(new ApiException(503, ErrorMapping.UNAVAILABLE,
                "no session with the broker (connecting or reconnecting)"));
        }
        final long startNs = System.nanoTime();
        return client.admin().listTopicsAsync()
            .orTimeout(config.healthTimeoutMs, TimeUnit.MILLISECONDS)
            .handle((topics, error) ->
            {
                if (null != error)
                {
                    final Throwable cause = ErrorMapping.unwrap(error);
                    throw new ApiException(503, ErrorMapping.UNAVAILABLE, "the broker did not answer a query within " +
                        config.healthTimeoutMs + " ms" + (cause instanceof java.util.concurrent.TimeoutException ? "" :
                        ": " + ErrorMapping.toApi(cause).getMessage()));
                }
                final ObjectNode reply = json.object()
                    .put("status", "UP")
                    .put("topics", topics.size())
                    .put("restConsumers", consumers.size())
                    .put("brokerRoundTripMicros", TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNs));
                return Reply.json(200, json.write(reply));
            });
    }

    // =================================================================================================================
    // plumbing
    // =================================================================================================================

    /**
     * Read the body, at most {@code maxBodyBytes}: larger is 413 INVALID_ARGUMENT (whether or not it declared its
     * length). Content-Type is not checked: every body is JSON.
     */
    private byte[] readBody(final Context ctx)
    {
        final long limit = config.maxBodyBytes;
        final long declared = ctx.req().getContentLengthLong();
        try (InputStream in = ctx.req().getInputStream())
        {
            if (declared > limit)
            {
                drain(in, declared);
                throw tooLarge(declared + " bytes");
            }
            final ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int)declared : 256);
            final byte[] chunk = new byte[8192];
            long total = 0;
            int read;
            while ((read = in.read(chunk)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    drain(in, Long.MAX_VALUE);
                    throw tooLarge("more than " + limit + " bytes");
                }
                out.write(chunk, 0, read);
            }
            return out.toByteArray();
        }
        catch (final IOException ex)
        {
            throw ApiException.invalid("body: could not be read: " + Json.clip(ex.getMessage(), 100));
        }
    }

    /**
     * Read and drop the rest of an over-large body (up to {@link #DRAIN_LIMIT}) so the client, still sending, gets
     * the 413 instead of a reset connection. Past that the connection is closed under it.
     */
    private static void drain(final InputStream in, final long declared) throws IOException
    {
        if (declared > DRAIN_LIMIT)
        {
            return;
        }
        final byte[] chunk = new byte[64 * 1024];
        long total = 0;
        int read;
        while (total < DRAIN_LIMIT && (read = in.read(chunk)) > 0)
        {
            total += read;
        }
    }

    private ApiException tooLarge(final String size)
    {
        return new ApiException(413, ErrorMapping.INVALID_ARGUMENT,
            "body: " + size + " exceeds the limit of " + config.maxBodyBytes + " bytes (maxBodyBytes)");
    }

    private static byte[] loadOpenApi()
    {
        try (InputStream in = RestGateway.class.getResourceAsStream("openapi.json"))
        {
            if (null == in)
            {
                throw new IllegalStateException("openapi.json is missing from the class path");
            }
            return in.readAllBytes();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(final String name)
    {
        final AtomicInteger count = new AtomicInteger();
        return (runnable) ->
        {
            final Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * @return the bound port (useful with port 0).
     */
    public int port()
    {
        return app.port();
    }

    /**
     * The registry {@code GET /metrics} serves. A process that hosts the gateway registers its own series here: the
     * broker node adds its journal, ring, snapshot and transport gauges (see {@code rest-gateway/README.md}); names
     * must not clash with the gateway's ({@code magnetar_rest_*}, {@code magnetar_topic_*},
     * {@code magnetar_subscription_*}, {@code jvm_*}).
     *
     * @return the gateway's Prometheus registry.
     */
    public io.prometheus.metrics.model.registry.PrometheusRegistry metricsRegistry()
    {
        return metrics.registry();
    }

    /**
     * @return the routes served, {@code "METHOD /path/{param}"}, in registration order.
     */
    public List<String> routes()
    {
        return Collections.unmodifiableList(routes);
    }

    /**
     * @return the configuration in force.
     */
    public RestConfig config()
    {
        return config;
    }

    RestConsumers consumers()
    {
        return consumers;
    }

    Javalin javalin()
    {
        return app;
    }

    /**
     * Stop serving: close the REST consumers (their messages go back to the broker for others), the producers,
     * the HTTP server and the gateway's threads. Does not close the client.
     */
    public void close()
    {
        try
        {
            app.stop();
        }
        finally
        {
            consumers.close();
            publisher.close();
            shutdownExecutors();
        }
    }

    private void shutdownExecutors()
    {
        scheduler.shutdownNow();
        worker.shutdown();
        try
        {
            worker.awaitTermination(2, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        worker.shutdownNow();
    }

    public String toString()
    {
        return "RestGateway{" + config.host + ":" + (null == app ? config.port : port()) + ", client=" + client + '}';
    }
}
