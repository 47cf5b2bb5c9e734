package io.magnetar.bench.load;

/**
 * One way of driving the broker (native client, REST): set up the topic, subscription and consumers, publish from
 * {@code startNs} until {@code endNs}, keep consuming until closed.
 */
interface Workload extends AutoCloseable
{
    /**
     * Create the topic and subscription, attach every consumer, create the producers: nothing is published yet.
     */
    void setUp() throws Exception;

    /**
     * Start the publishing threads: they publish from {@code startNs} and stop by themselves at {@code endNs}.
     */
    void start(long startNs, long endNs);

    /**
     * Wait until every publishing thread has stopped and every message handed to a producer is confirmed or failed.
     *
     * @return true if that happened before {@code deadlineNs}.
     */
    boolean awaitPublished(long deadlineNs) throws InterruptedException;

    /**
     * @return the subscription's {@code {backlog, inFlight}} as the broker reports them, or null if it cannot tell.
     */
    long[] brokerSubscriptionStats();

    /**
     * Stop consuming, detach the consumers, delete the topic if asked, release everything.
     */
    void close();
}
