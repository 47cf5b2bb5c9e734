package io.magnetar.engine;

import java.util.ArrayList;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * A topic: fixed partitions, each with its ledger, next entry and stored messages; its subscriptions.
 */
final class Topic
{
    final int id;
    final String name;
    final int partitionCount;
    final boolean[] owned;
    final long[] ledger;
    final long[] nextEntry;
    final Long2ObjectHashMap<Message>[] messages;
    final ArrayList<Subscription> subscriptions = new ArrayList<>();

    @SuppressWarnings("unchecked")
    Topic(final int id, final String name, final int partitionCount)
    {
        this.id = id;
        this.name = name;
        this.partitionCount = partitionCount;
        this.owned = new boolean[partitionCount];
        this.ledger = new long[partitionCount];
        this.nextEntry = new long[partitionCount];
        this.messages = new Long2ObjectHashMap[partitionCount];
        for (int p = 0; p < partitionCount; p++)
        {
            messages[p] = new Long2ObjectHashMap<>();
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
