package io.magnetar.engine;

import java.util.IdentityHashMap;
import java.util.List;

import io.magnetar.codecs.snapshot.BooleanType;
import io.magnetar.codecs.snapshot.ConsumerRecordEncoder;
import io.magnetar.codecs.snapshot.DeliveryListKind;
import io.magnetar.codecs.snapshot.DeliveryListRecordEncoder;
import io.magnetar.codecs.snapshot.DeliveryState;
import io.magnetar.codecs.snapshot.MessageHeaderEncoder;
import io.magnetar.codecs.snapshot.MessageRecordEncoder;
import io.magnetar.codecs.snapshot.SnapshotBeginEncoder;
import io.magnetar.codecs.snapshot.SnapshotEndEncoder;
import io.magnetar.codecs.snapshot.SubscriptionRecordEncoder;
import io.magnetar.codecs.snapshot.SubscriptionType;
import io.magnetar.codecs.snapshot.TopicRecordEncoder;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.LongObjConsumer;
import org.agrona.collections.Object2IntHashMap;

/**
 * Writes an {@link Engine}'s state as {@code magnetar-snapshot} records (see the schema's comment for the
 * record order and how records refer to each other). Runs on the engine thread between commands; changes
 * nothing. Memory beyond the records, for the time of the call: a map from each live delivery to its ordinal, and the
 * ordinals of the deliveries bound to each consumer (its {@code CONSUMER_OWNED} list, which the engine does not keep:
 * collected while the state lists are written).
 */
final class EngineSnapshotTaker
{
    /** Most deliveries in one DeliveryListRecord (an SBE group counts up to 65535). */
    static final int LIST_CHUNK = 16 * 1024;
    private static final int MAX_GROUP = 65535;

    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64 * 1024);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final SnapshotBeginEncoder beginEncoder = new SnapshotBeginEncoder();
    private final SnapshotEndEncoder endEncoder = new SnapshotEndEncoder();
    private final TopicRecordEncoder topicEncoder = new TopicRecordEncoder();
    private final SubscriptionRecordEncoder subscriptionEncoder = new SubscriptionRecordEncoder();
    private final ConsumerRecordEncoder consumerEncoder = new ConsumerRecordEncoder();
    private final MessageRecordEncoder messageEncoder = new MessageRecordEncoder();
    private final DeliveryListRecordEncoder listEncoder = new DeliveryListRecordEncoder();
    private final SnapshotChecksum checksum = new SnapshotChecksum();
    private final LongObjConsumer<Message> messageWriter = (entry, m) -> writeMessage(m);

    private SnapshotSink sink;
    /** the engine's message data, for the time of a {@link #take}. */
    private DataSlab slab;
    private long records;
    private Object2IntHashMap<Subscription> subscriptionOrdinals;
    private Object2IntHashMap<Delivery> deliveryOrdinals;
    private int nextDeliveryOrdinal;
    /** consumer -> ordinals of the deliveries bound to it, in the order the state lists were written. */
    private IdentityHashMap<Consumer, IntArrayList> owned;

    void take(final Engine engine, final long journalIndex, final long timestampMs, final SnapshotSink sink)
    {
        this.sink = sink;
        this.slab = engine.dataSlab();
        records = 0;
        checksum.reset();
        nextDeliveryOrdinal = 0;
        try
        {
            write(engine, journalIndex, timestampMs);
        }
        finally
        {
            this.sink = null;
            this.slab = null;
            subscriptionOrdinals = null;
            deliveryOrdinals = null;
            owned = null;
        }
    }

    private void write(final Engine engine, final long journalIndex, final long timestampMs)
    {
        final List<Topic> topics = engine.snapshotTopics();
        final List<Subscription> subscriptions = engine.snapshotSubscriptions();
        final List<Consumer> consumers = engine.snapshotConsumers();

        long deliveries = 0;
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription s = subscriptions.get(i);
            deliveries += s.pending.size + s.delayed.size + s.outstanding.size;
        }
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            deliveries += consumers.get(i).multicastPending.size;
        }
        if (deliveries > Integer.MAX_VALUE - 1)
        {
            throw new IllegalStateException("too many deliveries for one snapshot: " + deliveries);
        }

        beginEncoder.wrapAndApplyHeader(buffer, 0, header)
            .journalIndex(journalIndex)
            .timestampMs(timestampMs)
            .nowMs(engine.nowMs())
            .nextTopicId(engine.snapshotNextTopicId())
            .nextConsumerId(engine.snapshotNextConsumerId())
            .nextLedgerId(engine.snapshotNextLedgerId())
            .nextSequence(engine.snapshotNextSequence())
            .startCount(engine.snapshotStartCount())
            .nextDeadlineMs(engine.nextDeadlineMs())
            .liveMessages(engine.liveMessages())
            .liveBytes(engine.liveBytes())
            .topics(topics.size())
            .subscriptions(subscriptions.size())
            .consumers(consumers.size())
            .deliveries(deliveries);
        emit(beginEncoder.encodedLength());

        for (int i = 0, n = topics.size(); i < n; i++)
        {
            writeTopic(topics.get(i));
        }

        subscriptionOrdinals = new Object2IntHashMap<>(Math.max(8, subscriptions.size() * 2), 0.65f, -1);
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription s = subscriptions.get(i);
            subscriptionOrdinals.put(s, i);
            writeSubscription(s);
        }

        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            writeConsumer(consumers.get(i));
        }

        // Every live message once, with its deliveries, partition by partition in entry order: the loader then fills
        // each partition's MessageIndex in ascending order, so every message lands in a page (one below the first put
        // would go to the index's overflow, at up to 48 B instead of 4 B until acked).
        deliveryOrdinals = new Object2IntHashMap<>((int)Math.max(8, Math.min(Integer.MAX_VALUE / 2, deliveries * 2)), 0.65f, -1);
        long messages = 0;
        for (int i = 0, n = topics.size(); i < n; i++)
        {
            final Topic topic = topics.get(i);
            for (int p = 0; p < topic.partitionCount; p++)
            {
                topic.messages[p].forEach(messageWriter);
                messages += topic.messages[p].size();
            }
        }
        if (messages != engine.liveMessages() || nextDeliveryOrdinal != deliveries)
        {
            throw new IllegalStateException("inconsistent state: " + engine.liveMessages() + " live messages, " + messages +
                " found through the delivery lists; " + deliveries + " deliveries in lists, " + nextDeliveryOrdinal +
                " in messages");
        }

        // A consumer's CONSUMER_OWNED list (the deliveries bound to it) is collected from the state lists as they are
        // written: its subscription's delayed copies (multicast), then its outstanding deliveries, then its multicast
        // pending copies, each in list order. The loader takes any order (snapshots of before had the order of binding).
        owned = new IdentityHashMap<>();
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription s = subscriptions.get(i);
            writeList(DeliveryListKind.SUBSCRIPTION_PENDING, i, s.pending.head);
            writeList(DeliveryListKind.SUBSCRIPTION_DELAYED, i, s.delayed.head);
            writeList(DeliveryListKind.SUBSCRIPTION_OUTSTANDING, i, s.outstanding.head);
        }
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            final Consumer c = consumers.get(i);
            writeList(DeliveryListKind.CONSUMER_MULTICAST_PENDING, c.id, c.multicastPending.head);
            final IntArrayList ordinals = owned.remove(c);
            final int count = ordinals == null ? 0 : ordinals.size();
            if (count != c.ownedCount)
            {
                throw new IllegalStateException("inconsistent state: consumer " + c.id + " counts " + c.ownedCount +
                    " deliveries bound to it, the lists hold " + count);
            }
            if (ordinals != null)
            {
                writeOwned(c.id, ordinals);
            }
        }
        if (!owned.isEmpty())
        {
            throw new IllegalStateException("inconsistent state: deliveries bound to consumers that are not attached");
        }

        final long count = records;
        final int crc = checksum.value();
        endEncoder.wrapAndApplyHeader(buffer, 0, header)
            .journalIndex(journalIndex)
            .recordCount(count)
            .checksum(crc);
        emit(endEncoder.encodedLength());
    }

    private void writeTopic(final Topic topic)
    {
        final TopicRecordEncoder.PartitionsEncoder partitions = topicEncoder.wrapAndApplyHeader(buffer, 0, header)
            .topicId(topic.id)
            .partitionsCount(topic.partitionCount);
        for (int p = 0; p < topic.partitionCount; p++)
        {
            partitions.next()
                .owned(topic.owned[p] ? BooleanType.TRUE : BooleanType.FALSE)
                .ledger(topic.ledgers[p].id)
                .nextEntry(topic.nextEntry[p])
                .messages(topic.messages[p].size());
        }
        topicEncoder.name(topic.name);
        emit(topicEncoder.encodedLength());
    }

    private void writeSubscription(final Subscription s)
    {
        subscriptionEncoder.wrapAndApplyHeader(buffer, 0, header)
            .topicId(s.topic.id)
            .subscriptionType(SubscriptionType.get((short)s.type.value()))
            .ackTimeoutMs(s.ackTimeoutMs)
            .nackDelayMs(s.nackDelayMs)
            .maxDeliveries(s.maxDeliveries)
            .maxInFlightPerKey(s.maxInFlightPerKey)
            .roundRobin(s.roundRobin)
            .redeliveries(s.redeliveries)
            .deadLettered(s.deadLettered)
            .name(s.name);
        emit(subscriptionEncoder.encodedLength());
    }

    private void writeConsumer(final Consumer c)
    {
        consumerEncoder.wrapAndApplyHeader(buffer, 0, header)
            .consumerId(c.id)
            .sessionId(c.sessionId)
            .subscriptionOrdinal(subscriptionOrdinals.getValue(c.subscription))
            .permits(c.permits)
            .outstanding(c.outstanding)
            .name(c.name);
        emit(consumerEncoder.encodedLength());
    }

    private void writeMessage(final Message m)
    {
        final int deliveries = m.deliveries();
        final int data = m.dataHandle;
        if (deliveries > MAX_GROUP)
        {
            throw new IllegalStateException("message " + m.partition() + ":" + m.ledgerId() + ":" + m.entry + " has " +
                deliveries + " deliveries, more than a snapshot record holds (" + MAX_GROUP + ")");
        }
        final MessageRecordEncoder.DeliveriesEncoder group = messageEncoder.wrapAndApplyHeader(buffer, 0, header)
            .topicId(m.topic().id)
            .partition(m.partition())
            .ledger(m.ledgerId())
            .entry(m.entry)
            .sequence(m.sequence)
            .publishTimeMs(m.publishTimeMs())
            .keyHash(m.keyHash)
            .keyOffset(slab.keyOffset(data))
            .keyLength(slab.keyLength(data))
            .attributeCount(slab.attributeCount(data))
            .payloadBytes(slab.payloadBytes(data))
            .deliveriesCount(deliveries);
        for (Delivery d = m.firstDelivery(); d != null; d = d.nextOfMessage)
        {
            group.next()
                .subscriptionOrdinal(subscriptionOrdinals.getValue(d.subscription()))
                .state(DeliveryState.get(d.state()))
                .deliveryCount(d.deliveryCount())
                .dueMs(d.dueMs)
                .consumerId(d.consumer() == null ? 0 : d.consumer().id);
            deliveryOrdinals.put(d, nextDeliveryOrdinal++);
        }
        messageEncoder.putData(slab.page(data), DataSlab.dataOffset(data), slab.dataLength(data));
        emit(messageEncoder.encodedLength());
    }

    /**
     * Write a state list, and note each of its deliveries that is bound to a consumer in that consumer's owned list.
     */
    private void writeList(final DeliveryListKind kind, final long owner, final Delivery head)
    {
        Delivery d = head;
        while (d != null)
        {
            int n = 0;
            for (Delivery x = d; x != null && n < LIST_CHUNK; x = x.next)
            {
                n++;
            }
            final DeliveryListRecordEncoder.DeliveriesEncoder group = listEncoder.wrapAndApplyHeader(buffer, 0, header)
                .kind(kind)
                .owner(owner)
                .deliveriesCount(n);
            for (int i = 0; i < n; i++)
            {
                final int ordinal = deliveryOrdinals.getValue(d);
                if (ordinal < 0)
                {
                    throw new IllegalStateException(kind + " list of " + owner + " holds a delivery of no live message");
                }
                group.next().ordinal(ordinal);
                final Consumer consumer = d.consumer();
                if (consumer != null)
                {
                    owned.computeIfAbsent(consumer, (c) -> new IntArrayList()).addInt(ordinal);
                }
                d = d.next;
            }
            emit(listEncoder.encodedLength());
        }
    }

    private void writeOwned(final long consumerId, final IntArrayList ordinals)
    {
        final int size = ordinals.size();
        for (int from = 0; from < size; from += LIST_CHUNK)
        {
            final int n = Math.min(LIST_CHUNK, size - from);
            final DeliveryListRecordEncoder.DeliveriesEncoder group = listEncoder.wrapAndApplyHeader(buffer, 0, header)
                .kind(DeliveryListKind.CONSUMER_OWNED)
                .owner(consumerId)
                .deliveriesCount(n);
            for (int i = 0; i < n; i++)
            {
                group.next().ordinal(ordinals.getInt(from + i));
            }
            emit(listEncoder.encodedLength());
        }
    }

    private void emit(final int encodedLength)
    {
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + encodedLength;
        checksum.update(buffer, 0, length);
        records++;
        sink.onRecord(buffer, 0, length);
    }
}
