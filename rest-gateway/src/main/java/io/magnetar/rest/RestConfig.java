package io.magnetar.rest;

/**
 * Configuration of a {@link RestGateway}: where it listens and the limits it enforces before a request reaches the
 * broker. Mutable until given to {@link RestGateway#start}, which calls {@link #conclude()}.
 * <p>
 * The message limits ({@link #maxKeyBytes} ...) mirror the broker's (engine defaults, SPEC section 1) so that a REST
 * publish batch is checked as a whole before any of it is sent: set them to the broker's values when the broker is
 * configured with others. The broker stays authoritative and checks again.
 */
public final class RestConfig
{
    String host = "127.0.0.1";
    int port = 8080;
    long maxBodyBytes = 16L * 1024 * 1024;
    int maxJsonDepth = 32;
    int maxPublishBatch = 10_000;
    int maxAckBatch = 10_000;
    int maxKeyBytes = 256;
    int maxAttributes = 32;
    int maxAttributeNameBytes = 64;
    int maxAttributeValueBytes = 1024;
    int maxAttributesBytes = 4096;
    int defaultPermits = 1000;
    int maxPermits = 10_000;
    int maxConsumers = 10_000;
    long defaultLeaseMs = 30_000;
    long minLeaseMs = 100;
    long maxLeaseMs = 3_600_000;
    int defaultFetchMax = 100;
    int maxFetch = 10_000;
    long defaultWaitMs = 1000;
    long maxWaitMs = 60_000;
    long housekeepingIntervalMs = 100;
    long detachedGraceMs = 5_000;
    long healthTimeoutMs = 2_000;
    long metricsTimeoutMs = 2_000;
    int maxMetricsTopics = 1000;
    long metricsCacheMs = 1_000;
    int producerMaxPendingMessages = 200_000;
    int producerBatchMaxMessages = 1000;
    int workerThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
    int maxRequestThreads = 200;
    boolean concluded;

    /**
     * @param host address to bind (default {@code 127.0.0.1}; {@code 0.0.0.0} for every interface).
     * @return this.
     */
    public RestConfig host(final String host)
    {
        this.host = host;
        return this;
    }

    /**
     * @param port TCP port (default 8080; 0 = any free port, see {@link RestGateway#port()}).
     * @return this.
     */
    public RestConfig port(final int port)
    {
        this.port = port;
        return this;
    }

    /**
     * @param bytes largest request body accepted (default 16 MiB); larger bodies get 413 INVALID_ARGUMENT.
     * @return this.
     */
    public RestConfig maxBodyBytes(final long bytes)
    {
        this.maxBodyBytes = bytes;
        return this;
    }

    /**
     * @param depth deepest JSON nesting accepted (default 32; the API needs 4).
     * @return this.
     */
    public RestConfig maxJsonDepth(final int depth)
    {
        this.maxJsonDepth = depth;
        return this;
    }

    /**
     * @param messages most messages per publish request (default 10,000, the engine's batch limit).
     * @return this.
     */
    public RestConfig maxPublishBatch(final int messages)
    {
        this.maxPublishBatch = messages;
        return this;
    }

    /**
     * @param ids most ids per ack or nack request (default 10,000).
     * @return this.
     */
    public RestConfig maxAckBatch(final int ids)
    {
        this.maxAckBatch = ids;
        return this;
    }

    public RestConfig maxKeyBytes(final int bytes)
    {
        this.maxKeyBytes = bytes;
        return this;
    }

    public RestConfig maxAttributes(final int attributes)
    {
        this.maxAttributes = attributes;
        return this;
    }

    public RestConfig maxAttributeNameBytes(final int bytes)
    {
        this.maxAttributeNameBytes = bytes;
        return this;
    }

    public RestConfig maxAttributeValueBytes(final int bytes)
    {
        this.maxAttributeValueBytes = bytes;
        return this;
    }

    public RestConfig maxAttributesBytes(final int bytes)
    {
        this.maxAttributesBytes = bytes;
        return this;
    }

    /**
     * @param permits permit window of a REST consumer that names none (default 1000).
     * @return this.
     */
    public RestConfig defaultPermits(final int permits)
    {
        this.defaultPermits = permits;
        return this;
    }

    /**
     * @param permits largest permit window of a REST consumer (default 10,000): the gateway buffers up to that many
     *                messages per consumer.
     * @return this.
     */
    public RestConfig maxPermits(final int permits)
    {
        this.maxPermits = permits;
        return this;
    }

    /**
     * @param consumers most REST consumers at once (default 10,000).
     * @return this.
     */
    public RestConfig maxConsumers(final int consumers)
    {
        this.maxConsumers = consumers;
        return this;
    }

    public RestConfig defaultLeaseMs(final long ms)
    {
        this.defaultLeaseMs = ms;
        return this;
    }

    public RestConfig minLeaseMs(final long ms)
    {
        this.minLeaseMs = ms;
        return this;
    }

    public RestConfig maxLeaseMs(final long ms)
    {
        this.maxLeaseMs = ms;
        return this;
    }

    public RestConfig defaultFetchMax(final int max)
    {
        this.defaultFetchMax = max;
        return this;
    }

    public RestConfig maxFetch(final int max)
    {
        this.maxFetch = max;
        return this;
    }

    public RestConfig defaultWaitMs(final long ms)
    {
        this.defaultWaitMs = ms;
        return this;
    }

    public RestConfig maxWaitMs(final long ms)
    {
        this.maxWaitMs = ms;
        return this;
    }

    /**
     * @param ms how often lapsed leases are looked for (default 100 ms): a lease ends at most this late.
     * @return this.
     */
    public RestConfig housekeepingIntervalMs(final long ms)
    {
        this.housekeepingIntervalMs = ms;
        return this;
    }

    /**
     * @param ms a REST consumer whose native consumer stays detached this long while the client is connected is
     *           taken as closed by the broker (its subscription or topic was deleted by someone else).
     * @return this.
     */
    public RestConfig detachedGraceMs(final long ms)
    {
        this.detachedGraceMs = ms;
        return this;
    }

    public RestConfig healthTimeoutMs(final long ms)
    {
        this.healthTimeoutMs = ms;
        return this;
    }

    public RestConfig metricsTimeoutMs(final long ms)
    {
        this.metricsTimeoutMs = ms;
        return this;
    }

    /**
     * @param topics most topics whose subscription stats a scrape of /metrics asks the broker for (default 1000).
     * @return this.
     */
    public RestConfig maxMetricsTopics(final int topics)
    {
        this.maxMetricsTopics = topics;
        return this;
    }

    /**
     * @param ms how long the broker's topic stats asked for by one scrape of /metrics serve the next scrapes (default
     *           1,000; 0 asks the broker at every scrape). Scrapes arriving together always share one round of
     *           queries.
     * @return this.
     */
    public RestConfig metricsCacheMs(final long ms)
    {
        this.metricsCacheMs = ms;
        return this;
    }

    /**
     * @param messages most messages the gateway has sent to one topic and not yet seen journaled (default 200,000);
     *                 past that a publish gets 503 UNAVAILABLE.
     * @return this.
     */
    public RestConfig producerMaxPendingMessages(final int messages)
    {
        this.producerMaxPendingMessages = messages;
        return this;
    }

    public RestConfig producerBatchMaxMessages(final int messages)
    {
        this.producerBatchMaxMessages = messages;
        return this;
    }

    /**
     * @param threads threads that encode responses once the broker has answered (default: cores, at least 2).
     * @return this.
     */
    public RestConfig workerThreads(final int threads)
    {
        this.workerThreads = threads;
        return this;
    }

    /**
     * @param threads most Jetty threads (default 200). Requests never wait for the broker on these threads, so a few
     *                dozen carry any number of parked long polls.
     * @return this.
     */
    public RestConfig maxRequestThreads(final int threads)
    {
        this.maxRequestThreads = threads;
        return this;
    }

    public String host()
    {
        return host;
    }

    public int port()
    {
        return port;
    }

    public long maxBodyBytes()
    {
        return maxBodyBytes;
    }

    public int maxPublishBatch()
    {
        return maxPublishBatch;
    }

    public int maxAckBatch()
    {
        return maxAckBatch;
    }

    /**
     * Validate.
     *
     * @return this.
     * @throws IllegalArgumentException naming the first bad value.
     */
    public RestConfig conclude()
    {
        require(null != host && !host.isBlank(), "host is required");
        require(port >= 0 && port <= 65535, "port must be 0..65535");
        require(maxBodyBytes >= 1024 && maxBodyBytes <= Integer.MAX_VALUE - 16, "maxBodyBytes must be 1 KiB..2 GiB");
        require(maxJsonDepth >= 4 && maxJsonDepth <= 1000, "maxJsonDepth must be 4..1000");
        require(maxPublishBatch >= 1 && maxPublishBatch <= 65535, "maxPublishBatch must be 1..65535");
        require(maxAckBatch >= 1 && maxAckBatch <= 65535, "maxAckBatch must be 1..65535");
        require(maxKeyBytes >= 1 && maxAttributes >= 0 && maxAttributeNameBytes >= 1 && maxAttributeValueBytes >= 0 &&
            maxAttributesBytes >= 0, "message limits must be positive");
        require(maxPermits >= 1 && defaultPermits >= 1 && defaultPermits <= maxPermits, "permits: 1 <= default <= max");
        require(maxConsumers >= 1, "maxConsumers must be positive");
        require(minLeaseMs >= 1 && minLeaseMs <= defaultLeaseMs && defaultLeaseMs <= maxLeaseMs,
            "leases: 1 <= min <= default <= max");
        require(maxFetch >= 1 && defaultFetchMax >= 1 && defaultFetchMax <= maxFetch, "fetch: 1 <= default <= max");
        require(defaultWaitMs >= 0 && defaultWaitMs <= maxWaitMs, "waitMs: 0 <= default <= max");
        require(housekeepingIntervalMs >= 1, "housekeepingIntervalMs must be positive");
        require(detachedGraceMs >= 1, "detachedGraceMs must be positive");
        require(healthTimeoutMs >= 1 && metricsTimeoutMs >= 1, "timeouts must be positive");
        require(maxMetricsTopics >= 0, "maxMetricsTopics must not be negative");
        require(metricsCacheMs >= 0, "metricsCacheMs must not be negative");
        require(producerMaxPendingMessages >= maxPublishBatch, "producerMaxPendingMessages must be >= maxPublishBatch");
        require(producerBatchMaxMessages >= 1 && producerBatchMaxMessages <= 10_000, "producerBatchMaxMessages must be 1..10000");
        require(workerThreads >= 1, "workerThreads must be positive");
        require(maxRequestThreads >= 8, "maxRequestThreads must be at least 8 (Jetty's acceptors and selectors need some)");
        concluded = true;
        return this;
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException("RestConfig: " + message);
        }
    }

    public String toString()
    {
        return "RestConfig{host=" + host + ", port=" + port + ", maxBodyBytes=" + maxBodyBytes +
            ", maxPublishBatch=" + maxPublishBatch + ", maxAckBatch=" + maxAckBatch + ", maxPermits=" + maxPermits +
            ", maxConsumers=" + maxConsumers + ", defaultLeaseMs=" + defaultLeaseMs + '}';
    }
}
