package io.magnetar.engine;

import java.util.ArrayList;

/**
 * A topic: fixed partitions, each with its current ledger, next entry and stored messages; its subscriptions.
 */
final class Topic
{
    final int id;
    final String name;
    final int partitionCount;
    final boolean[] owned;
    /** each partition's current ledger, which the messages stored now refer to. */
    final Ledger[] ledgers;
    final long[] nextEntry;
    final MessageIndex[] messages;
    final ArrayList<Subscription> subscriptions = new ArrayList<>();

    // Traffic counters since the node started (zeroed by NodeStarted; not in snapshots or the state hash): they
    // feed TopicDescription and so the metrics, and change nothing the engine decides.
    /** messages stored into the topic: publishes, and dead-letter copies when this is a .dlq topic. */
    long published;
    /** deliveries to consumers of every subscription, redeliveries included. */
    long delivered;
    /** deliveries acknowledged, every subscription. */
    long acked;
    /** outstanding deliveries negatively acknowledged, every subscription. */
    long nacked;
    /** deliveries that were redeliveries, every subscription. */
    long redelivered;
    /** messages moved to a dead-letter topic, every subscription. */
    long deadLettered;

    Topic(final int id, final String name, final int partitionCount)
    {
        this.id = id;
        this.name = name;
        this.partitionCount = partitionCount;
        this.owned = new boolean[partitionCount];
        this.ledgers = new Ledger[partitionCount];
        this.nextEntry = new long[partitionCount];
        this.messages = new MessageIndex[partitionCount];
        for (int p = 0; p < partitionCount; p++)
        {
            messages[p] = new MessageIndex();
        }
    }

    /**
     * NodeStarted: the counters count this run only.
     */
    void resetCounters()
    {
        published = 0;
        delivered = 0;
        acked = 0;
        nacked = 0;
        redelivered = 0;
        deadLettered = 0;
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            subscriptions.get(i).resetCounters();
        }
    }

    Subscription subscription(final String name)
    {
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription s = subscriptions.get(i);
            if (s.name.equals(name))
            {
                return s;
            }
        }
        return null;
    }
}
