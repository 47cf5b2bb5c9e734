package io.magnetar.client;

import java.util.List;

/**
 * A topic and the state of each of its subscriptions, from {@link Admin#describeTopic(String)}.
 *
 * @param name          the topic's name.
 * @param topicId       the broker's id for it (what producers publish to).
 * @param partitions    its partition count.
 * @param subscriptions one entry per subscription.
 * @param published     messages stored into the topic since the node started: publishes, and dead-letter copies when
 *                      this is a {@code .dlq} topic.
 * @param delivered     deliveries to consumers since the node started, every subscription, redeliveries included.
 * @param acked         deliveries acknowledged since the node started, every subscription.
 * @param nacked        outstanding deliveries negatively acknowledged since the node started, every subscription.
 * @param redelivered   deliveries that were redeliveries since the node started, every subscription.
 * @param deadLettered  messages moved to a dead-letter topic since the node started, every subscription.
 *                      <p>
 *                      The six counters are counted by the broker's engine for every client (native and REST),
 *                      start at 0 when the node starts or the topic is created, and only grow; a broker speaking
 *                      protocol version 0 does not send them and they read 0.
 */
public record TopicStats(
    String name,
    int topicId,
    int partitions,
    List<SubscriptionStats> subscriptions,
    long published,
    long delivered,
    long acked,
    long nacked,
    long redelivered,
    long deadLettered)
{
    /**
     * @param subscription a subscription's name.
     * @return its stats, or null if the topic has no such subscription.
     */
    public SubscriptionStats subscription(final String subscription)
    {
        for (final SubscriptionStats stats : subscriptions)
        {
            if (stats.name().equals(subscription))
            {
                return stats;
            }
        }
        return null;
    }
}
