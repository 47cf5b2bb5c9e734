package io.magnetar.engine;

import java.util.ArrayList;

import io.magnetar.codecs.SubscriptionType;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * A subscription of one topic and its delivery state.
 */
final class Subscription
{
    final Topic topic;
    final String name;
    final SubscriptionType type;
    final long ackTimeoutMs;
    final long nackDelayMs;
    final int maxDeliveries;
    final int maxInFlightPerKey;
    final String deadLetterTopic;

    final ArrayList<Consumer> consumers = new ArrayList<>();
    /** shared, key_shared: deliveries waiting to be sent; multicast: messages not yet assigned to any consumer. */
    final DeliveryList pending = new DeliveryList();
    /** nacked deliveries in order of their due time. */
    final DeliveryList delayed = new DeliveryList();
    /** sent, unacked deliveries in order of their ack deadline. */
    final DeliveryList outstanding = new DeliveryList();

    /** key_shared only. */
    final HashRing ring = new HashRing();
    final Int2ObjectHashMap<KeyState> keys = new Int2ObjectHashMap<>();

    int roundRobin;
    boolean dirty;

    // key_shared dispatch scan cursor: derived state (not snapshotted, not in the state hash; at the head after a
    // load). The prefix = the first scanSkipped pending deliveries, up to and including scanAfter (null: empty prefix,
    // the cursor is at the head): each was examined by a dispatch pass and found ineligible. Invariant between
    // commands: unless scanStale, every delivery of the prefix is ineligible in the current state. Events that can
    // make one eligible set scanStale; each consumer's keySharedSkipped counts the prefix deliveries of its keys.
    // See Engine.dispatchKeyShared.
    Delivery scanAfter;
    int scanSkipped;
    boolean scanStale;

    // part of the state (snapshotted, hashed): SPEC's per-subscription stats
    long redeliveries;
    long deadLettered;
    // traffic counters since the node started (zeroed by NodeStarted; not in snapshots or the state hash)
    /** deliveries, redeliveries included. */
    long delivered;
    /** deliveries acknowledged. */
    long acked;
    /** outstanding deliveries negatively acknowledged. */
    long nacked;

    Subscription(
        final Topic topic,
        final String name,
        final SubscriptionType type,
        final long ackTimeoutMs,
        final long nackDelayMs,
        final int maxDeliveries,
        final int maxInFlightPerKey)
    {
        this.topic = topic;
        this.name = name;
        this.type = type;
        this.ackTimeoutMs = ackTimeoutMs;
        this.nackDelayMs = nackDelayMs;
        this.maxDeliveries = maxDeliveries;
        this.maxInFlightPerKey = maxInFlightPerKey;
        this.deadLetterTopic = topic.name + "." + name + ".dlq";
    }

    boolean sameOptions(final long ackTimeoutMs, final long nackDelayMs, final int maxDeliveries, final int maxInFlightPerKey)
    {
        return this.ackTimeoutMs == ackTimeoutMs && this.nackDelayMs == nackDelayMs &&
            this.maxDeliveries == maxDeliveries && this.maxInFlightPerKey == maxInFlightPerKey;
    }

    void resetCounters()
    {
        delivered = 0;
        acked = 0;
        nacked = 0;
    }

    /**
     * key_shared, after the ring changed (or a load): recount every consumer's pending deliveries and prefix
     * deliveries (owners changed), and mark the prefix stale. O(pending): one ring lookup per pending delivery.
     */
    void recountKeySharedOwners()
    {
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            final Consumer c = consumers.get(i);
            c.keySharedPending = 0;
            c.keySharedSkipped = 0;
        }
        scanStale = true;
        if (consumers.isEmpty())
        {
            scanAfter = null;
            scanSkipped = 0;
            return;
        }
        int position = 0;
        for (Delivery d = pending.head; d != null; d = d.next)
        {
            final Consumer owner = ring.owner(d.message().keyHash);
            owner.keySharedPending++;
            if (position++ < scanSkipped)
            {
                owner.keySharedSkipped++;
            }
        }
    }

    long nextDueMs()
    {
        long due = Long.MAX_VALUE;
        if (ackTimeoutMs > 0 && outstanding.head != null)
        {
            due = outstanding.head.dueMs;
        }
        if (delayed.head != null)
        {
            due = Math.min(due, delayed.head.dueMs);
        }
        return due;
    }

    long backlog()
    {
        long backlog = pending.size + delayed.size;
        if (type == SubscriptionType.MULTICAST)
        {
            for (int i = 0, n = consumers.size(); i < n; i++)
            {
                backlog += consumers.get(i).multicastPending.size;
            }
        }
        return backlog;
    }
}
