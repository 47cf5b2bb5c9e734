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

    // key_shared dispatch scan cursor: derived state (not snapshotted, not in the state hash; null/0 after a load).
    // Invariant between commands: the first scanSkipped pending deliveries, up to and including scanAfter, were each
    // examined by dispatch and found ineligible, and nothing that could make one of them eligible has happened since
    // (Engine resets the cursor on every such event). scanAfter null = the cursor is at the head. See
    // Engine.dispatchKeyShared.
    Delivery scanAfter;
    int scanSkipped;
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
     * key_shared: forget the scan cursor (something may have made a delivery before it eligible).
     */
    void resetScan()
    {
        if (scanSkipped == 0)
        {
            return;   // then no consumer has skipped deliveries either
        }
        scanAfter = null;
        scanSkipped = 0;
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            consumers.get(i).keySharedSkipped = 0;
        }
    }

    /**
     * key_shared, after the ring changed (or a load): recount every consumer's pending deliveries and reset the scan
     * cursor. O(pending): one ring lookup per pending delivery.
     */
    void recountKeySharedOwners()
    {
        scanAfter = null;
        scanSkipped = 0;
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            final Consumer c = consumers.get(i);
            c.keySharedPending = 0;
            c.keySharedSkipped = 0;
        }
        if (consumers.isEmpty())
        {
            return;
        }
        for (Delivery d = pending.head; d != null; d = d.next)
        {
            ring.owner(d.message.keyHash).keySharedPending++;
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
