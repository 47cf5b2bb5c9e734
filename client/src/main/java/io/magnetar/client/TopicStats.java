package io.magnetar.client;

import java.util.List;

/**
 * A topic and the state of each of its subscriptions, from {@link Admin#describeTopic(String)}.
 *
 * @param name          the topic's name.
 * @param topicId       the broker's id for it (what producers publish to).
 * @param partitions    its partition count.
 * @param subscriptions one entry per subscription.
 */
public record TopicStats(String name, int topicId, int partitions, List<SubscriptionStats> subscriptions)
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
