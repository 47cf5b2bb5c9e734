package io.magnetar.bench.load;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.pulsar.client.api.BatcherBuilder;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.SubscriptionType;

/**
 * The Apache Pulsar side of the side-by-side benchmark: the same workload as the Magnetar load tool
 * ({@link LoadTool}), through Pulsar's own Java client (or its REST producer), measured and verified by the same
 * {@link LoadRunner} and {@link LoadStats}: the message's key is the load tool's key, its payload the bytes of the
 * load tool's one attribute (publisher, sequence, intended and actual send time), every message acknowledged
 * individually ({@code acknowledgeAsync(message)}). Writes a {@link ResultFile} and prints a summary.
 * <pre>
 * java -cp 'bench/pulsar/driver/target/lib/*:bench/pulsar/driver/target/pulsar-driver.jar' \
 *   io.magnetar.bench.load.PulsarDriver --service-url pulsar://127.0.0.1:6650 --http-url http://127.0.0.1:8080 \
 *   --partitions 16 --subscription-type shared --consumers 2 --batching true --duration 20 --result-file r.properties
 * </pre>
 * Subscription types: {@code shared}, {@code key_shared} (batching on uses Pulsar's key-based batcher, as key_shared
 * requires), {@code fanout}: one subscription per consumer (Pulsar's equivalent of a Magnetar multicast group).
 * Exit status 0 when verified, 1 when not, 2 on bad options.
 */
public final class PulsarDriver
{
    private static final Pattern BACKLOG = Pattern.compile("\"msgBacklog\"\\s*:\\s*(\\d+)");
    private static final Pattern UNACKED = Pattern.compile("\"unackedMessages\"\\s*:\\s*(\\d+)");
    private static final Pattern PUBLISHED_ID = Pattern.compile("\"messageId\"\\s*:\\s*\"[^\"]+\"");
    private static final Pattern ERROR_CODE = Pattern.compile("\"errorCode\"\\s*:\\s*(-?\\d+)");

    final Map<String, String> options = new LinkedHashMap<>();

    private PulsarDriver()
    {
        options.put("service-url", "pulsar://127.0.0.1:6650");
        options.put("http-url", "http://127.0.0.1:8080");
        options.put("mode", "native");
        options.put("topic", "load-" + Long.toHexString(System.nanoTime() & 0xffffffL));
        options.put("partitions", "1");
        options.put("subscription", "load");
        options.put("subscription-type", "shared");
        options.put("producers", "1");
        options.put("consumers", "1");
        options.put("keys", "1000");
        options.put("key-bytes", "16");
        options.put("attribute-bytes", "64");
        options.put("rate", "max");
        options.put("max-outstanding", "100000");
        options.put("warmup", "5");
        options.put("duration", "20");
        options.put("drain-timeout", "30");
        options.put("batching", "false");
        options.put("batch-max-messages", "1000");
        options.put("batch-delay-us", "1000");
        options.put("max-pending", "10000");
        options.put("receiver-queue-size", "1000");
        options.put("rest-publishers", "16");
        options.put("rest-batch", "1");
        options.put("watch-pid", "0");
        options.put("result-file", "");
        options.put("progress", "true");
    }

    public static void main(final String[] args)
    {
        final PulsarDriver driver = new PulsarDriver();
        try
        {
            for (int i = 0; i < args.length; i++)
            {
                final String arg = args[i];
                if (!arg.startsWith("--"))
                {
                    throw new IllegalArgumentException("unexpected argument '" + arg + "' (options are --name value)");
                }
                final int eq = arg.indexOf('=');
                final String name = eq > 0 ? arg.substring(2, eq) : arg.substring(2);
                if (!driver.options.containsKey(name))
                {
                    throw new IllegalArgumentException("unknown option --" + name + "; known: " + driver.options.keySet());
                }
                if (eq < 0 && i + 1 >= args.length)
                {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                driver.options.put(name, eq > 0 ? arg.substring(eq + 1) : args[++i]);
            }
            driver.check();
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("pulsar driver: " + ex.getMessage());
            System.exit(2);
            return;
        }
        try
        {
            final LoadResult result = driver.run(System.out);
            System.out.flush();
            System.exit(result.verified() ? 0 : 1);
        }
        catch (final Exception ex)
        {
            System.err.println("pulsar driver: run failed: " + ex);
            ex.printStackTrace();
            System.exit(1);
        }
    }

    String get(final String name)
    {
        return options.get(name);
    }

    int integer(final String name)
    {
        try
        {
            return Integer.parseInt(get(name).trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--" + name + " must be an integer: " + get(name));
        }
    }

    double decimal(final String name)
    {
        try
        {
            return Double.parseDouble(get(name).trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--" + name + " must be a number: " + get(name));
        }
    }

    boolean rest()
    {
        return "rest".equals(get("mode"));
    }

    long rate()
    {
        return "max".equals(get("rate")) ? 0 : (long)decimal("rate");
    }

    String subscriptionType()
    {
        return get("subscription-type");
    }

    private void check()
    {
        if (!List.of("native", "rest").contains(get("mode")))
        {
            throw new IllegalArgumentException("--mode must be native or rest: " + get("mode"));
        }
        if (!List.of("shared", "key_shared", "fanout").contains(subscriptionType()))
        {
            throw new IllegalArgumentException("--subscription-type must be shared, key_shared or fanout: " + subscriptionType());
        }
        for (final String name : List.of("partitions", "producers", "keys", "batch-max-messages", "max-pending",
            "receiver-queue-size", "rest-publishers", "rest-batch"))
        {
            if (integer(name) < 1)
            {
                throw new IllegalArgumentException("--" + name + " must be positive: " + get(name));
            }
        }
        if (integer("consumers") < 0 || decimal("duration") <= 0 || decimal("warmup") < 0 || rate() < 0)
        {
            throw new IllegalArgumentException("negative --consumers, --warmup or --rate, or --duration not positive");
        }
        if (rest() && integer("consumers") > 0)
        {
            throw new IllegalArgumentException("--mode rest publishes only: --consumers 0");
        }
        if (rest() && rate() > 0)
        {
            throw new IllegalArgumentException("--mode rest runs at max rate (concurrency --rest-publishers)");
        }
        integer("key-bytes");
        integer("attribute-bytes");
        decimal("watch-pid");
        decimal("drain-timeout");
        decimal("max-outstanding");
    }

    LoadResult run(final PrintStream out) throws Exception
    {
        final int consumers = integer("consumers");
        final boolean fanout = "fanout".equals(subscriptionType());
        final int groups = 0 == consumers ? 0 : fanout ? consumers : 1;
        final int publishers = rest() ? integer("rest-publishers") : integer("producers");
        final LoadStats stats = new LoadStats(publishers, groups, integer("keys"), integer("key-bytes"),
            "key_shared".equals(subscriptionType()) && consumers > 0, rate() > 0);
        final LoadResult result = new LoadResult();
        result.groups = groups;
        result.description = describe();
        out.println("pulsar driver: " + result.description);

        final Workload workload = rest() ? new RestPublish(this, stats) : new NativeClient(this, stats);
        try
        {
            workload.setUp();
            final LoadRunner.Settings settings = new LoadRunner.Settings();
            settings.warmupSeconds = decimal("warmup");
            settings.durationSeconds = decimal("duration");
            settings.drainTimeoutSeconds = decimal("drain-timeout");
            settings.consumers = consumers;
            settings.watchPid = (long)decimal("watch-pid");
            settings.progress = Boolean.parseBoolean(get("progress"));
            LoadRunner.execute(workload, stats, result, settings, out);
        }
        finally
        {
            workload.close();
        }
        LoadRunner.collectErrors(stats, result);
        if (!get("result-file").isEmpty())
        {
            ResultFile.write(result, rate() > 0, Path.of(get("result-file")));
        }
        out.print(LoadRunner.summary(result, rate() > 0));
        return result;
    }

    private String describe()
    {
        final StringBuilder text = new StringBuilder("Apache Pulsar ");
        if (rest())
        {
            text.append("REST producer (POST /topics/persistent/public/default/").append(get("topic")).append("), ")
                .append(get("rest-publishers")).append(" concurrent publisher(s) posting ").append(get("rest-batch"))
                .append(" message(s) per request, no consumers");
        }
        else
        {
            text.append("Java client ").append(get("service-url")).append(", topic persistent://public/default/")
                .append(get("topic")).append(" (").append(get("partitions")).append(" partition(s)), ")
                .append(subscriptionType()).append(", ").append(get("producers")).append(" producer(s), ")
                .append(get("consumers")).append(" consumer(s), batching ")
                .append(Boolean.parseBoolean(get("batching")) ? "on (≤ " + get("batch-max-messages") + " messages / " +
                    get("batch-delay-us") + " µs)" : "off")
                .append(", ≤ ").append(get("max-pending")).append(" pending per producer, receiver queue ")
                .append(get("receiver-queue-size")).append(", individual acks (client default grouping)");
        }
        text.append(", ").append(get("keys")).append(" keys of ").append(get("key-bytes")).append(" bytes, ")
            .append(get("attribute-bytes")).append("-byte payload, ")
            .append(rate() > 0 ? String.format(Locale.ROOT, "fixed rate %,d msg/s", rate()) : "max rate");
        return text.toString();
    }

    String topicPath()
    {
        return "persistent/public/default/" + get("topic");
    }

    // ============================================================================================= HTTP helpers

    static final HttpClient HTTP = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();

    HttpResponse<String> http(final String method, final String path, final String body) throws Exception
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(get("http-url") + path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .method(method, null == body ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static long sum(final Pattern pattern, final String text)
    {
        long total = 0;
        final Matcher matcher = pattern.matcher(text);
        while (matcher.find())
        {
            total += Long.parseLong(matcher.group(1));
        }
        return total;
    }

    static void awaitUntil(final long intendedNs)
    {
        long remaining;
        while ((remaining = intendedNs - System.nanoTime()) > 0)
        {
            if (remaining > 200_000)
            {
                LockSupport.parkNanos(remaining - 150_000);
            }
            else
            {
                Thread.yield();
            }
        }
    }

    // ============================================================================================= native client

    /**
     * Producers ({@code sendAsync}, one thread each) and consumers (a listener that records and acknowledges each
     * message individually) on two {@link PulsarClient}s, as the load tool uses one Magnetar client for each side.
     */
    static final class NativeClient implements Workload
    {
        private final PulsarDriver driver;
        private final LoadStats stats;
        private final List<Producer<byte[]>> producers = new ArrayList<>();
        private final List<Consumer<byte[]>> consumers = new ArrayList<>();
        private final List<Thread> threads = new ArrayList<>();
        private PulsarClient producerClient;
        private PulsarClient consumerClient;

        NativeClient(final PulsarDriver driver, final LoadStats stats)
        {
            this.driver = driver;
            this.stats = stats;
        }

        public void setUp() throws Exception
        {
            final int partitions = driver.integer("partitions");
            final String topic = "persistent://public/default/" + driver.get("topic");
            if (partitions > 1)
            {
                final HttpResponse<String> created = driver.http("PUT", "/admin/v2/" + driver.topicPath() + "/partitions",
                    Integer.toString(partitions));
                if (created.statusCode() / 100 != 2)
                {
                    throw new IllegalStateException("creating " + topic + " with " + partitions + " partitions: HTTP " +
                        created.statusCode() + " " + created.body());
                }
            }
            final int consumerCount = driver.integer("consumers");
            producerClient = PulsarClient.builder().serviceUrl(driver.get("service-url")).build();
            consumerClient = consumerCount > 0 ?
                PulsarClient.builder().serviceUrl(driver.get("service-url")).listenerThreads(consumerCount).build() : null;
            final String type = driver.subscriptionType();
            for (int i = 0; i < consumerCount; i++)
            {
                final boolean fanout = "fanout".equals(type);
                final int group = fanout ? i : 0;
                consumers.add(consumerClient.newConsumer(Schema.BYTES)
                    .topic(topic)
                    .subscriptionName(fanout ? driver.get("subscription") + "-" + i : driver.get("subscription"))
                    .subscriptionType("key_shared".equals(type) ? SubscriptionType.Key_Shared : SubscriptionType.Shared)
                    .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
                    .consumerName("load-consumer-" + i)
                    .receiverQueueSize(driver.integer("receiver-queue-size"))
                    .messageListener((consumer, message) -> received(consumer, message, group))
                    .subscribe());
            }
            final boolean batching = Boolean.parseBoolean(driver.get("batching"));
            for (int p = 0; p < driver.integer("producers"); p++)
            {
                producers.add(producerClient.newProducer(Schema.BYTES)
                    .topic(topic)
                    .enableBatching(batching)
                    .batchingMaxMessages(driver.integer("batch-max-messages"))
                    .batchingMaxPublishDelay(Math.max(1, driver.integer("batch-delay-us")), TimeUnit.MICROSECONDS)
                    .batchingMaxBytes(128 * 1024)
                    .batcherBuilder("key_shared".equals(type) ? BatcherBuilder.KEY_BASED : BatcherBuilder.DEFAULT)
                    .maxPendingMessages(driver.integer("max-pending"))
                    .blockIfQueueFull(true)
                    .sendTimeout(60, TimeUnit.SECONDS)
                    .create());
            }
        }

        private void received(final Consumer<byte[]> consumer, final Message<byte[]> message, final int group)
        {
            final long nowNs = System.nanoTime();
            // a decoder per message: a partitioned topic's consumer may call its listener from several listener threads
            final Payload.Decoded decoded = new Payload.Decoded();
            final boolean ours = decoded.decode(new String(message.getData(), StandardCharsets.ISO_8859_1));
            stats.onDelivered(group, ours ? decoded : null, message.getKey(), message.getRedeliveryCount() + 1, nowNs);
            consumer.acknowledgeAsync(message);
            stats.acked.increment();
        }

        public void start(final long startNs, final long endNs)
        {
            final int publishers = producers.size();
            final long rate = driver.rate();
            final double intervalNs = rate > 0 ? 1e9 * publishers / rate : 0;
            for (int p = 0; p < publishers; p++)
            {
                final int publisher = p;
                final Producer<byte[]> producer = producers.get(p);
                final long offsetNs = (long)(intervalNs * p / publishers);
                final Thread thread = new Thread(
                    () -> publish(publisher, producer, startNs + offsetNs, endNs, intervalNs), "load-producer-" + p);
                thread.setDaemon(true);
                threads.add(thread);
            }
            threads.forEach(Thread::start);
        }

        private void publish(final int publisher, final Producer<byte[]> producer, final long startNs, final long endNs,
            final double intervalNs)
        {
            final Payload payload = new Payload(driver.integer("attribute-bytes"));
            final long maxOutstanding = (long)driver.decimal("max-outstanding");
            final boolean fixedRate = intervalNs > 0;
            awaitUntil(startNs);
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
                        awaitUntil(intendedNs);
                        sentNs = System.nanoTime();
                    }
                    else
                    {
                        if (0 == (seq & 63))
                        {
                            stats.awaitOutstandingBelow(maxOutstanding);
                        }
                        intendedNs = System.nanoTime();
                        if (intendedNs - endNs >= 0)
                        {
                            break;
                        }
                        sentNs = intendedNs;
                    }
                    final byte[] value = payload.encode(publisher, seq, intendedNs, sentNs).getBytes(StandardCharsets.ISO_8859_1);
                    final CompletableFuture<MessageId> future = producer.newMessage()
                        .key(stats.key(publisher, seq))
                        .value(value)
                        .sendAsync();
                    stats.onSent(intendedNs, sentNs, 1);
                    final long s = seq;
                    future.whenComplete((id, error) ->
                    {
                        if (null == error)
                        {
                            stats.onConfirmed(publisher, s, 1, intendedNs, sentNs, System.nanoTime());
                        }
                        else
                        {
                            stats.onPublishFailed(1, error.toString());
                        }
                    });
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
            for (final Producer<byte[]> producer : producers)
            {
                producer.flushAsync();
            }
            return stats.awaitAnswered(deadlineNs);
        }

        /**
         * Pulsar's own figures for the topic's subscriptions: {@code msgBacklog} summed over them, and every
         * {@code unackedMessages} counter in the stats (subscription and consumer level) summed: both 0 when done.
         */
        public long[] brokerSubscriptionStats()
        {
            if (consumers.isEmpty())
            {
                return null;
            }
            try
            {
                final String path = "/admin/v2/" + driver.topicPath() +
                    (driver.integer("partitions") > 1 ? "/partitioned-stats?perPartition=false" : "/stats");
                final HttpResponse<String> stats = driver.http("GET", path, null);
                if (200 != stats.statusCode())
                {
                    return null;
                }
                return new long[]{ sum(BACKLOG, stats.body()), sum(UNACKED, stats.body()) };
            }
            catch (final Exception ex)
            {
                return null;
            }
        }

        public void close()
        {
            for (final Consumer<byte[]> consumer : consumers)
            {
                try
                {
                    consumer.close();
                }
                catch (final PulsarClientException ex)
                {
                    stats.error("closing a consumer: " + ex, 1);
                }
            }
            for (final Producer<byte[]> producer : producers)
            {
                try
                {
                    producer.close();
                }
                catch (final PulsarClientException ex)
                {
                    stats.error("closing a producer: " + ex, 1);
                }
            }
            for (final PulsarClient client : new PulsarClient[]{ consumerClient, producerClient })
            {
                if (null != client)
                {
                    try
                    {
                        client.close();
                    }
                    catch (final PulsarClientException ex)
                    {
                        stats.error("closing the client: " + ex, 1);
                    }
                }
            }
        }
    }

    // ============================================================================================= REST producer

    /**
     * Pulsar's REST producer: {@code --rest-publishers} threads each POST {@code --rest-batch} messages
     * ({@code {"messages":[{"key":..,"payload":..}]}}) to {@code /topics/persistent/public/default/TOPIC} and wait for
     * the answer; a message counts as confirmed when the answer gives it a {@code messageId} with {@code errorCode} 0.
     * The same HTTP client ({@code java.net.http}, HTTP/1.1) as the load tool's REST mode.
     */
    static final class RestPublish implements Workload
    {
        private final PulsarDriver driver;
        private final LoadStats stats;
        private final List<Thread> threads = new ArrayList<>();

        RestPublish(final PulsarDriver driver, final LoadStats stats)
        {
            this.driver = driver;
            this.stats = stats;
        }

        public void setUp() throws Exception
        {
            // the REST producer publishes to existing topics only: create it, and its schema with a first message
            final HttpResponse<String> created = driver.http("PUT", "/admin/v2/" + driver.topicPath(), null);
            if (created.statusCode() / 100 != 2)
            {
                throw new IllegalStateException("creating the topic: HTTP " + created.statusCode() + " " + created.body());
            }
            final HttpResponse<String> first = driver.http("POST", "/topics/" + driver.topicPath(),
                "{\"messages\":[{\"key\":\"setup\",\"payload\":\"setup\"}]}");
            if (200 != first.statusCode())
            {
                throw new IllegalStateException("REST producer: HTTP " + first.statusCode() + " " + first.body());
            }
        }

        public void start(final long startNs, final long endNs)
        {
            for (int p = 0; p < driver.integer("rest-publishers"); p++)
            {
                final int publisher = p;
                final Thread thread = new Thread(() -> publish(publisher, startNs, endNs), "rest-publisher-" + p);
                thread.setDaemon(true);
                threads.add(thread);
            }
            threads.forEach(Thread::start);
        }

        private void publish(final int publisher, final long startNs, final long endNs)
        {
            final Payload payload = new Payload(driver.integer("attribute-bytes"));
            final int batch = driver.integer("rest-batch");
            awaitUntil(startNs);
            long seq = 0;
            while (System.nanoTime() - endNs < 0)
            {
                final long sentNs = System.nanoTime();
                final StringBuilder body = new StringBuilder(64 + batch * 128).append("{\"messages\":[");
                for (int i = 0; i < batch; i++)
                {
                    body.append(i > 0 ? "," : "").append("{\"key\":\"").append(stats.key(publisher, seq + i))
                        .append("\",\"payload\":\"").append(payload.encode(publisher, seq + i, sentNs, sentNs)).append("\"}");
                }
                body.append("]}");
                stats.onSent(sentNs, sentNs, batch);
                stats.httpRequests.increment();
                try
                {
                    final HttpResponse<String> answer = driver.http("POST", "/topics/" + driver.topicPath(), body.toString());
                    final long nowNs = System.nanoTime();
                    final String text = answer.body();
                    int ids = 0;
                    final Matcher idMatcher = PUBLISHED_ID.matcher(text);
                    while (idMatcher.find())
                    {
                        ids++;
                    }
                    boolean errors = false;
                    final Matcher codes = ERROR_CODE.matcher(text);
                    while (codes.find())
                    {
                        errors |= !"0".equals(codes.group(1));
                    }
                    if (200 == answer.statusCode() && ids == batch && !errors)
                    {
                        stats.onConfirmed(publisher, seq, batch, sentNs, sentNs, nowNs);
                    }
                    else
                    {
                        stats.onPublishFailed(batch, "HTTP " + answer.statusCode() + " " + text);
                    }
                }
                catch (final Exception ex)
                {
                    stats.onPublishFailed(batch, ex.toString());
                }
                seq += batch;
            }
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
            return true;
        }

        public long[] brokerSubscriptionStats()
        {
            return null;
        }

        public void close()
        {
        }
    }
}
