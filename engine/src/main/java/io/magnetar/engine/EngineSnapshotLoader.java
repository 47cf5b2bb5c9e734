package io.magnetar.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;

import io.magnetar.codecs.snapshot.BooleanType;
import io.magnetar.codecs.snapshot.ConsumerRecordDecoder;
import io.magnetar.codecs.snapshot.DeliveryListKind;
import io.magnetar.codecs.snapshot.DeliveryListRecordDecoder;
import io.magnetar.codecs.snapshot.MessageHeaderDecoder;
import io.magnetar.codecs.snapshot.MessageRecordDecoder;
import io.magnetar.codecs.snapshot.SnapshotBeginDecoder;
import io.magnetar.codecs.snapshot.SnapshotEndDecoder;
import io.magnetar.codecs.snapshot.SubscriptionRecordDecoder;
import io.magnetar.codecs.snapshot.TopicRecordDecoder;
import io.magnetar.codecs.SubscriptionType;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Reads {@code magnetar-snapshot} records into new engine objects, checks them, and only then hands them to the
 * {@link Engine} ({@link Engine#restoreFromSnapshot}): a snapshot that is incomplete or inconsistent throws
 * {@link SnapshotLoadException} and leaves the engine as it was. Key states and hash rings are rebuilt from the
 * deliveries and consumers. One use per instance.
 */
final class EngineSnapshotLoader implements SnapshotSink
{
    private static final int RANK_BEGIN = 0;
    private static final int RANK_TOPIC = 1;
    private static final int RANK_SUBSCRIPTION = 2;
    private static final int RANK_CONSUMER = 3;
    private static final int RANK_MESSAGE = 4;
    private static final int RANK_LIST = 5;
    private static final int RANK_END = 6;
    private static final int MAX_PARTITIONS = 4096;
    private static final long MAX_MESSAGES_PER_PARTITION = 1L << 29;

    private final Engine engine;
    private final EngineConfig config;
    private final UnsafeBuffer record = new UnsafeBuffer(0, 0);
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final SnapshotBeginDecoder beginDecoder = new SnapshotBeginDecoder();
    private final SnapshotEndDecoder endDecoder = new SnapshotEndDecoder();
    private final TopicRecordDecoder topicDecoder = new TopicRecordDecoder();
    private final SubscriptionRecordDecoder subscriptionDecoder = new SubscriptionRecordDecoder();
    private final ConsumerRecordDecoder consumerDecoder = new ConsumerRecordDecoder();
    private final MessageRecordDecoder messageDecoder = new MessageRecordDecoder();
    private final DeliveryListRecordDecoder listDecoder = new DeliveryListRecordDecoder();
    private final SnapshotChecksum checksum = new SnapshotChecksum();

    private int rank = -1;
    private long records;
    private boolean ended;

    // SnapshotBegin
    private long journalIndex;
    private long nowMs;
    private int nextTopicId;
    private long nextConsumerId;
    private long nextLedgerId;
    private long nextSequence;
    private long startCount;
    private long nextDeadlineMs;
    private long expectedLiveMessages;
    private long expectedLiveBytes;
    private int expectedTopics;
    private int expectedSubscriptions;
    private int expectedConsumers;
    private long expectedDeliveries;

    // staged state
    private final ArrayList<Topic> topics = new ArrayList<>();
    private final Int2ObjectHashMap<long[]> expectedPartitionMessages = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<Topic> topicsById = new Int2ObjectHashMap<>();
    private final HashMap<String, Topic> topicsByName = new HashMap<>();
    private final ArrayList<Subscription> subscriptions = new ArrayList<>();
    private final ArrayList<Consumer> consumers = new ArrayList<>();
    private final Long2ObjectHashMap<Consumer> consumersById = new Long2ObjectHashMap<>();
    /** by id and era: ledgers other than the partitions' current ones that the snapshot's messages name. */
    private final Long2ObjectHashMap<Long2ObjectHashMap<Ledger>> olderLedgers = new Long2ObjectHashMap<>();
    private int[] recordedOutstanding = new int[16];
    private final Staged<Message> messages = new Staged<>();
    /** the messages' records: the engine takes this slab once the snapshot is checked, its own stays untouched. */
    private final DataSlab slab = new DataSlab();
    private final Staged<Delivery> deliveries = new Staged<>();
    /** deliveries put in a state list (pending, delayed, outstanding, multicast pending): each one must be. */
    private long listedDeliveries;
    /** deliveries bound to a consumer: each must be in that consumer's owned list. */
    private long boundDeliveries;
    /**
     * Ordinals of the deliveries met in owned lists, so that each is met once (the engine's deliveries keep no mark of
     * it): a bit per delivery, for the time of the load.
     */
    private BitSet ownedListed;
    private long ownedListedCount;
    private long liveMessages;
    private long liveBytes;

    EngineSnapshotLoader(final Engine engine, final EngineConfig config)
    {
        this.engine = engine;
        this.config = config;
    }

    void load(final SnapshotSource source)
    {
        try
        {
            source.readRecords(this);
        }
        catch (final SnapshotLoadException ex)
        {
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            throw new SnapshotLoadException("snapshot record " + records + " is malformed: " + ex, ex);
        }
        if (!ended)
        {
            throw new SnapshotLoadException(rank < 0 ? "snapshot is empty" :
                "snapshot ends after " + records + " records without SnapshotEnd (incomplete)");
        }
        finish();
    }

    public void onRecord(final DirectBuffer buffer, final int offset, final int length)
    {
        if (ended)
        {
            throw new SnapshotLoadException("record after SnapshotEnd");
        }
        if (length < MessageHeaderDecoder.ENCODED_LENGTH)
        {
            throw new SnapshotLoadException("record " + records + " of " + length + " bytes is shorter than an SBE header");
        }
        record.wrap(buffer, offset, length);
        header.wrap(record, 0);
        final int schemaId = header.schemaId();
        final int version = header.version();
        final int templateId = header.templateId();
        final int blockLength = header.blockLength();
        if (schemaId != MessageHeaderDecoder.SCHEMA_ID)
        {
            throw new SnapshotLoadException("record " + records + " has schemaId " + schemaId + ", not the snapshot schema " +
                MessageHeaderDecoder.SCHEMA_ID);
        }
        if (version > MessageHeaderDecoder.SCHEMA_VERSION)
        {
            throw new SnapshotLoadException("record " + records + " has schema version " + version + ", newer than " +
                MessageHeaderDecoder.SCHEMA_VERSION);
        }

        final int recordRank = rank(templateId);
        if (recordRank < 0)
        {
            throw new SnapshotLoadException("record " + records + " has unknown templateId " + templateId);
        }
        if (rank < 0 ? recordRank != RANK_BEGIN : recordRank < rank || recordRank == RANK_BEGIN)
        {
            throw new SnapshotLoadException("record " + records + " (templateId " + templateId + ") is out of order");
        }
        rank = recordRank;

        final int bodyOffset = MessageHeaderDecoder.ENCODED_LENGTH;
        switch (templateId)
        {
            case SnapshotBeginDecoder.TEMPLATE_ID:
                onBegin(beginDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case TopicRecordDecoder.TEMPLATE_ID:
                onTopic(topicDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case SubscriptionRecordDecoder.TEMPLATE_ID:
                onSubscription(subscriptionDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case ConsumerRecordDecoder.TEMPLATE_ID:
                onConsumer(consumerDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case MessageRecordDecoder.TEMPLATE_ID:
                onMessage(messageDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case DeliveryListRecordDecoder.TEMPLATE_ID:
                onList(listDecoder.wrap(record, bodyOffset, blockLength, version));
                break;
            case SnapshotEndDecoder.TEMPLATE_ID:
                // the checksum covers every record but this one: its layout must be exact
                if (blockLength != SnapshotEndDecoder.BLOCK_LENGTH || version != SnapshotEndDecoder.SCHEMA_VERSION ||
                    length != MessageHeaderDecoder.ENCODED_LENGTH + SnapshotEndDecoder.BLOCK_LENGTH)
                {
                    throw new SnapshotLoadException("SnapshotEnd is not laid out as one");
                }
                onEnd(endDecoder.wrap(record, bodyOffset, blockLength, version));
                return;
            default:
                break;
        }
        checksum.update(buffer, offset, length);
        records++;
    }

    private static int rank(final int templateId)
    {
        switch (templateId)
        {
            case SnapshotBeginDecoder.TEMPLATE_ID:
                return RANK_BEGIN;
            case TopicRecordDecoder.TEMPLATE_ID:
                return RANK_TOPIC;
            case SubscriptionRecordDecoder.TEMPLATE_ID:
                return RANK_SUBSCRIPTION;
            case ConsumerRecordDecoder.TEMPLATE_ID:
                return RANK_CONSUMER;
            case MessageRecordDecoder.TEMPLATE_ID:
                return RANK_MESSAGE;
            case DeliveryListRecordDecoder.TEMPLATE_ID:
                return RANK_LIST;
            case SnapshotEndDecoder.TEMPLATE_ID:
                return RANK_END;
            default:
                return -1;
        }
    }

    private void onBegin(final SnapshotBeginDecoder d)
    {
        journalIndex = d.journalIndex();
        d.timestampMs();
        nowMs = d.nowMs();
        nextTopicId = d.nextTopicId();
        nextConsumerId = d.nextConsumerId();
        nextLedgerId = d.nextLedgerId();
        nextSequence = d.nextSequence();
        startCount = d.startCount();
        nextDeadlineMs = d.nextDeadlineMs();
        expectedLiveMessages = d.liveMessages();
        expectedLiveBytes = d.liveBytes();
        expectedTopics = d.topics();
        expectedSubscriptions = d.subscriptions();
        expectedConsumers = d.consumers();
        expectedDeliveries = d.deliveries();
    }

    private void onTopic(final TopicRecordDecoder d)
    {
        final int id = d.topicId();
        final TopicRecordDecoder.PartitionsDecoder partitions = d.partitions();
        final int count = partitions.count();
        if (count < 1 || count > MAX_PARTITIONS)
        {
            throw new SnapshotLoadException("topic " + id + " has " + count + " partitions");
        }
        final boolean[] owned = new boolean[count];
        final long[] ledger = new long[count]; // ids; each becomes the partition's current Ledger below
        final long[] nextEntry = new long[count];
        final long[] messages = new long[count];
        for (int p = 0; p < count; p++)
        {
            partitions.next();
            owned[p] = partitions.owned() == BooleanType.TRUE;
            ledger[p] = partitions.ledger();
            nextEntry[p] = partitions.nextEntry();
            messages[p] = partitions.messages();
            if (messages[p] < 0 || messages[p] > MAX_MESSAGES_PER_PARTITION)
            {
                throw new SnapshotLoadException("topic " + id + " partition " + p + " has " + messages[p] + " messages");
            }
        }
        final String name = d.name();
        if (topicsById.containsKey(id) || topicsByName.containsKey(name))
        {
            throw new SnapshotLoadException("topic " + id + " '" + name + "' appears twice");
        }
        final Topic topic = new Topic(id, name, count);
        System.arraycopy(owned, 0, topic.owned, 0, count);
        for (int p = 0; p < count; p++)
        {
            topic.ledgers[p] = new Ledger(topic, p, ledger[p], Ledger.era(nowMs));
        }
        System.arraycopy(nextEntry, 0, topic.nextEntry, 0, count);
        expectedPartitionMessages.put(id, messages);
        topics.add(topic);
        topicsById.put(id, topic);
        topicsByName.put(name, topic);
    }

    private void onSubscription(final SubscriptionRecordDecoder d)
    {
        final Topic topic = topic(d.topicId());
        final SubscriptionType type = SubscriptionType.get(d.subscriptionTypeRaw());
        if (type == SubscriptionType.NULL_VAL)
        {
            throw new SnapshotLoadException("subscription of topic " + topic.id + " has type " + d.subscriptionTypeRaw());
        }
        final long ackTimeoutMs = d.ackTimeoutMs();
        final long nackDelayMs = d.nackDelayMs();
        final int maxDeliveries = d.maxDeliveries();
        final int maxInFlightPerKey = d.maxInFlightPerKey();
        final int roundRobin = d.roundRobin();
        final long redeliveries = d.redeliveries();
        final long deadLettered = d.deadLettered();
        final String name = d.name();
        if (topic.subscription(name) != null)
        {
            throw new SnapshotLoadException("subscription '" + name + "' of topic '" + topic.name + "' appears twice");
        }
        if (maxDeliveries < 0 || maxDeliveries > Delivery.MAX_DELIVERY_COUNT)
        {
            throw new SnapshotLoadException("subscription '" + name + "' of topic '" + topic.name + "' has maxDeliveries " +
                maxDeliveries);
        }
        final Subscription s = new Subscription(topic, name, type, ackTimeoutMs, nackDelayMs, maxDeliveries, maxInFlightPerKey);
        s.roundRobin = roundRobin;
        s.redeliveries = redeliveries;
        s.deadLettered = deadLettered;
        topic.subscriptions.add(s);
        subscriptions.add(s);
    }

    private void onConsumer(final ConsumerRecordDecoder d)
    {
        final long id = d.consumerId();
        final long sessionId = d.sessionId();
        final Subscription subscription = subscription(d.subscriptionOrdinal());
        final int permits = d.permits();
        final int outstanding = d.outstanding();
        final String name = d.name();
        if (id <= 0 || consumersById.containsKey(id))
        {
            throw new SnapshotLoadException("consumer " + id + " is invalid or appears twice");
        }
        final Consumer c = new Consumer(id, sessionId, name, subscription, permits, config.maxDeliveriesPerEvent);
        if (consumers.size() == recordedOutstanding.length)
        {
            recordedOutstanding = Arrays.copyOf(recordedOutstanding, recordedOutstanding.length * 2);
        }
        recordedOutstanding[consumers.size()] = outstanding;
        consumers.add(c);
        consumersById.put(id, c);
        subscription.consumers.add(c);
    }

    private void onMessage(final MessageRecordDecoder d)
    {
        final Topic topic = topic(d.topicId());
        final int partition = d.partition();
        if (partition < 0 || partition >= topic.partitionCount)
        {
            throw new SnapshotLoadException("message in partition " + partition + " of topic '" + topic.name + "' (" +
                topic.partitionCount + " partitions)");
        }
        final Message m = new Message(); // its record, of the exact length, comes with the data below
        final long publishTimeMs = d.publishTimeMs();
        m.ledger = ledger(topic, partition, d.ledger(), publishTimeMs);
        m.publishTimeLow = (int)publishTimeMs;
        m.entry = d.entry();
        m.sequence = d.sequence();
        m.keyHash = d.keyHash();
        final int keyOffset = d.keyOffset();
        final int keyLength = d.keyLength();
        final int attributeCount = d.attributeCount();
        final int payloadBytes = d.payloadBytes();
        // a message has at most maxAttributes of its own plus one per dead-letter hop: more, and dead-lettering it could
        // overflow the record's attribute count in the middle of a command
        if (keyLength < 1 || keyLength > 0xFFFF || attributeCount < 0 ||
            attributeCount > config.maxAttributes + EngineConfig.MAX_DEAD_LETTER_HOPS)
        {
            throw new SnapshotLoadException("message " + id(m) + ": a key of " + keyLength + " bytes, " + attributeCount +
                " attributes");
        }

        final MessageRecordDecoder.DeliveriesDecoder group = d.deliveries();
        final int count = group.count();
        if (count < 1)
        {
            throw new SnapshotLoadException("message " + id(m) + " of topic '" + topic.name + "' has no delivery");
        }
        Delivery last = null;
        for (int i = 0; i < count; i++)
        {
            group.next();
            final Subscription subscription = subscription(group.subscriptionOrdinal());
            final short state = group.stateRaw();
            final int timesSent = group.deliveryCount();
            final long dueMs = group.dueMs();
            final long consumerId = group.consumerId();
            if (subscription.topic != topic)
            {
                throw new SnapshotLoadException("message " + id(m) + " of topic '" + topic.name + "' has a delivery for '" +
                    subscription.name + "' of topic '" + subscription.topic.name + "'");
            }
            if (state != Delivery.PENDING && state != Delivery.DELAYED && state != Delivery.OUTSTANDING)
            {
                throw new SnapshotLoadException("message " + id(m) + " has a delivery in state " + state);
            }
            if (timesSent < 0 || timesSent > Delivery.MAX_DELIVERY_COUNT)
            {
                throw new SnapshotLoadException("message " + id(m) + " has a delivery sent " + timesSent + " times");
            }
            if (state == Delivery.DELAYED && consumerId == 0 && subscription.type == SubscriptionType.MULTICAST)
            {
                // a nacked multicast copy stays bound to its consumer: unbound, it would be fanned out again
                throw new SnapshotLoadException("message " + id(m) + " has a delayed copy of multicast '" +
                    subscription.name + "' bound to no consumer");
            }
            Consumer consumer = null;
            if (consumerId != 0)
            {
                consumer = consumersById.get(consumerId);
                if (consumer == null || consumer.subscription != subscription)
                {
                    throw new SnapshotLoadException("message " + id(m) + " has a delivery bound to consumer " + consumerId +
                        ", which is not a consumer of '" + subscription.name + "'");
                }
                // only multicast copies stay bound when not outstanding; a delivery's pending list follows from it
                if (state != Delivery.OUTSTANDING && subscription.type != SubscriptionType.MULTICAST)
                {
                    throw new SnapshotLoadException("message " + id(m) + " has a delivery of '" + subscription.name +
                        "' in state " + state + " bound to consumer " + consumerId);
                }
            }

            // the first is the message's own delivery, the others are chained after it (Delivery)
            final Delivery delivery;
            if (last == null)
            {
                delivery = m;
            }
            else
            {
                final ExtraDelivery extra = new ExtraDelivery();
                extra.message = m;
                last.nextOfMessage = extra;
                delivery = extra;
            }
            delivery.owner = consumer != null ? consumer : subscription;   // checked above: a consumer of it
            if (consumer != null)
            {
                boundDeliveries++;
            }
            delivery.setState((byte)state);
            delivery.setDeliveryCount(timesSent);
            delivery.dueMs = dueMs;
            last = delivery;
            deliveries.add(delivery);
        }

        // the message keeps neither keyOffset nor payloadBytes but derives them from the data's length: the record's
        // must be those
        final int length = d.dataLength();
        if (keyOffset < 0 || keyOffset + keyLength != length)
        {
            throw new SnapshotLoadException("message " + id(m) + ": key at " + keyOffset + " of " + keyLength +
                " bytes does not end its " + length + " bytes of data");
        }
        if (payloadBytes < 0 || payloadBytes != length - 4 * attributeCount)
        {
            throw new SnapshotLoadException("message " + id(m) + ": " + payloadBytes + " payload bytes in " + length +
                " bytes of data with " + attributeCount + " attributes");
        }
        final int h = slab.allocate(length, keyLength, attributeCount);
        m.dataHandle = h;
        d.getData(slab.page(h), DataSlab.dataOffset(h), length);

        messages.add(m); // indexed in finish()
        liveMessages++;
        liveBytes += payloadBytes;
    }

    private static String id(final Message m)
    {
        return m.partition() + ":" + m.ledgerId() + ":" + m.entry;
    }

    /**
     * The ledger object of a snapshot's message: the partition's current one for a message of its ledger published in
     * the snapshot's era ({@link Ledger}), which is nearly every message; the messages of another ledger or era share
     * one object per ledger and era, as in the engine that wrote the snapshot.
     */
    private Ledger ledger(final Topic topic, final int partition, final long id, final long publishTimeMs)
    {
        final Ledger current = topic.ledgers[partition];
        final long era = Ledger.era(publishTimeMs);
        if (current.id == id && current.eraMs == era)
        {
            return current;
        }
        Long2ObjectHashMap<Ledger> eras = olderLedgers.get(id);
        if (null == eras)
        {
            eras = new Long2ObjectHashMap<>();
            olderLedgers.put(id, eras);
        }
        Ledger older = eras.get(era);
        if (null == older)
        {
            older = new Ledger(topic, partition, id, era);
            eras.put(era, older);
        }
        else if (older.topic != topic || older.partition != partition)
        {
            throw new SnapshotLoadException("ledger " + id + " holds messages of partition " + older.partition +
                " of topic '" + older.topic.name + "' and of partition " + partition + " of topic '" + topic.name + "'");
        }
        return older;
    }

    private void onList(final DeliveryListRecordDecoder d)
    {
        final DeliveryListKind kind = d.kind();
        final long owner = d.owner();
        final DeliveryListRecordDecoder.DeliveriesDecoder group = d.deliveries();
        final int count = group.count();
        switch (kind)
        {
            case SUBSCRIPTION_PENDING:
            case SUBSCRIPTION_DELAYED:
            case SUBSCRIPTION_OUTSTANDING:
            {
                if (owner < 0 || owner >= subscriptions.size())
                {
                    throw new SnapshotLoadException(kind + " list of subscription #" + owner + ", which does not exist");
                }
                final Subscription s = subscriptions.get((int)owner);
                final DeliveryList list = kind == DeliveryListKind.SUBSCRIPTION_PENDING ? s.pending :
                    kind == DeliveryListKind.SUBSCRIPTION_DELAYED ? s.delayed : s.outstanding;
                final byte state = kind == DeliveryListKind.SUBSCRIPTION_PENDING ? Delivery.PENDING :
                    kind == DeliveryListKind.SUBSCRIPTION_DELAYED ? Delivery.DELAYED : Delivery.OUTSTANDING;
                for (int i = 0; i < count; i++)
                {
                    final Delivery x = delivery(group.next().ordinal(), kind, owner);
                    if (x.subscription() != s || x.state() != state || x.inList())
                    {
                        throw new SnapshotLoadException(kind + " list of '" + s.name + "' holds a delivery of '" +
                            x.subscription().name + "' in state " + x.state() + (x.inList() ? " already in a list" : ""));
                    }
                    if (kind == DeliveryListKind.SUBSCRIPTION_PENDING && s.type == SubscriptionType.MULTICAST &&
                        x.consumer() != null)
                    {
                        throw new SnapshotLoadException("pending list of multicast '" + s.name + "' holds a copy of a consumer");
                    }
                    if (state == Delivery.OUTSTANDING)
                    {
                        check(x.consumer() != null, "an outstanding delivery has no consumer");
                        x.consumer().outstanding++;
                    }
                    list.append(x);
                    listedDeliveries++;
                }
                break;
            }
            case CONSUMER_MULTICAST_PENDING:
            case CONSUMER_OWNED:
            {
                final Consumer c = consumersById.get(owner);
                if (c == null)
                {
                    throw new SnapshotLoadException(kind + " list of consumer " + owner + ", which does not exist");
                }
                for (int i = 0; i < count; i++)
                {
                    final int ordinal = group.next().ordinal();
                    final Delivery x = delivery(ordinal, kind, owner);
                    if (x.consumer() != c)
                    {
                        throw new SnapshotLoadException(kind + " list of consumer " + owner + " holds a delivery of " +
                            (x.consumer() == null ? "no consumer" : "consumer " + x.consumer().id));
                    }
                    if (kind == DeliveryListKind.CONSUMER_OWNED)
                    {
                        // any order: the engine keeps a count, not a list (old snapshots have the order of binding)
                        if (ownedListed == null)
                        {
                            ownedListed = new BitSet(deliveries.size());
                        }
                        if (ownedListed.get(ordinal))
                        {
                            throw new SnapshotLoadException("consumer " + owner + " owns a delivery twice");
                        }
                        ownedListed.set(ordinal);
                        ownedListedCount++;
                        c.ownedCount++;
                    }
                    else
                    {
                        if (x.state() != Delivery.PENDING || x.inList() ||
                            c.subscription.type != SubscriptionType.MULTICAST)
                        {
                            throw new SnapshotLoadException("multicast pending list of consumer " + owner +
                                " holds a delivery in state " + x.state());
                        }
                        c.multicastPending.append(x);
                        listedDeliveries++;
                    }
                }
                break;
            }
            default:
                throw new SnapshotLoadException("list of unknown kind " + d.kindRaw());
        }
    }

    private Delivery delivery(final int ordinal, final DeliveryListKind kind, final long owner)
    {
        if (ordinal < 0 || ordinal >= deliveries.size())
        {
            throw new SnapshotLoadException(kind + " list of " + owner + " refers to delivery #" + ordinal + " of " +
                deliveries.size());
        }
        return deliveries.get(ordinal);
    }

    private void onEnd(final SnapshotEndDecoder d)
    {
        final long endIndex = d.journalIndex();
        final long recordCount = d.recordCount();
        final int expectedChecksum = d.checksum();
        if (endIndex != journalIndex)
        {
            throw new SnapshotLoadException("SnapshotEnd is for journal index " + endIndex + ", SnapshotBegin for " +
                journalIndex);
        }
        if (recordCount != records)
        {
            throw new SnapshotLoadException("SnapshotEnd counts " + recordCount + " records, " + records + " were read");
        }
        if (expectedChecksum != checksum.value())
        {
            throw new SnapshotLoadException("checksum mismatch: SnapshotEnd has " + Integer.toHexString(expectedChecksum) +
                ", the records give " + Integer.toHexString(checksum.value()));
        }
        ended = true;
    }

    private Topic topic(final int id)
    {
        final Topic topic = topicsById.get(id);
        if (topic == null)
        {
            throw new SnapshotLoadException("reference to topic " + id + ", which is not in the snapshot");
        }
        return topic;
    }

    private Subscription subscription(final int ordinal)
    {
        if (ordinal < 0 || ordinal >= subscriptions.size())
        {
            throw new SnapshotLoadException("reference to subscription #" + ordinal + " of " + subscriptions.size());
        }
        return subscriptions.get(ordinal);
    }

    /**
     * Everything read and checksummed: check the whole, rebuild what is derived, hand it to the engine.
     */
    private void finish()
    {
        check(topics.size() == expectedTopics, "topics: " + topics.size() + " read, SnapshotBegin says " + expectedTopics);
        check(subscriptions.size() == expectedSubscriptions,
            "subscriptions: " + subscriptions.size() + " read, SnapshotBegin says " + expectedSubscriptions);
        check(consumers.size() == expectedConsumers,
            "consumers: " + consumers.size() + " read, SnapshotBegin says " + expectedConsumers);
        check(deliveries.size() == expectedDeliveries,
            "deliveries: " + deliveries.size() + " read, SnapshotBegin says " + expectedDeliveries);
        check(liveMessages == expectedLiveMessages,
            "live messages: " + liveMessages + " read, SnapshotBegin says " + expectedLiveMessages);
        check(liveBytes == expectedLiveBytes, "live bytes: " + liveBytes + " read, SnapshotBegin says " + expectedLiveBytes);

        // The messages go into their partitions' indexes here, in one run, not one by one as they are read. With the
        // hash-map index of before, each store of a young message into a large old array dirtied a card that G1's
        // refinement threads rescanned over and over while the reading went on (a third of the process's CPU in a
        // fresh JVM, docs/BENCHMARKS.md). MessageIndex pages are small and allocated as the index fills, so the run below
        // mostly stores into young pages; the taker writes each partition's messages in entry order, so every one
        // lands in a page (MessageIndex sends an entry below its first page to its overflow).
        for (int i = 0, n = messages.size(); i < n; i++)
        {
            final Message m = messages.get(i);
            if (m.topic().messages[m.partition()].put(m.entry, m) != null)
            {
                throw new SnapshotLoadException("message " + id(m) + " of topic '" + m.topic().name + "' appears twice");
            }
        }
        for (int i = 0, n = topics.size(); i < n; i++)
        {
            final Topic topic = topics.get(i);
            final long[] expected = expectedPartitionMessages.get(topic.id);
            for (int p = 0; p < topic.partitionCount; p++)
            {
                topic.messages[p].trim();
                check(topic.messages[p].size() == expected[p], "topic '" + topic.name + "' partition " + p + ": " +
                    topic.messages[p].size() + " messages read, its record says " + expected[p]);
            }
        }

        // a delivery enters a state list at most once (the list records check it), so all are in one if the count is
        // full; consumers' outstanding counts were taken from the outstanding lists
        if (listedDeliveries != deliveries.size())
        {
            for (int i = 0, n = deliveries.size(); i < n; i++)
            {
                final Delivery d = deliveries.get(i);
                if (!d.inList())
                {
                    final Message m = d.message();
                    throw new SnapshotLoadException("the delivery of " + id(m) +
                        " for '" + d.subscription().name + "' is in no list");
                }
            }
        }
        // each delivery in an owned list is bound to that consumer and is there once, so with as many as are bound, every
        // bound delivery is in its consumer's list and each consumer's count is right
        ownedListed = null;
        check(ownedListedCount == boundDeliveries, "owned lists hold " + ownedListedCount + " deliveries, " +
            boundDeliveries + " are bound to consumers");
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            final Consumer c = consumers.get(i);
            check(c.outstanding == recordedOutstanding[i],
                "consumer " + c.id + " has " + c.outstanding + " outstanding deliveries, the snapshot says " +
                recordedOutstanding[i]);
        }

        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription s = subscriptions.get(i);
            if (s.type != SubscriptionType.KEY_SHARED)
            {
                continue;
            }
            s.ring.rebuild(s.consumers);
            s.recountKeySharedOwners();   // derived: the scan cursor starts at the head
            for (Delivery d = s.outstanding.head; d != null; d = d.next)
            {
                final KeyState ks = keyState(s, d.message().keyHash);
                if (ks.outstanding > 0 && ks.holder != d.consumer())
                {
                    throw new SnapshotLoadException("key hash " + d.message().keyHash + " of '" + s.name +
                        "' is outstanding on consumers " + ks.holder.id + " and " + d.consumer().id);
                }
                ks.holder = d.consumer();
                ks.outstanding++;
            }
            for (Delivery d = s.delayed.head; d != null; d = d.next)
            {
                keyState(s, d.message().keyHash).delayed++;
            }
        }

        engine.restoreFromSnapshot(
            nowMs, nextTopicId, nextConsumerId, nextLedgerId, nextSequence, startCount, nextDeadlineMs,
            liveMessages, liveBytes, topics, topicsById, topicsByName, subscriptions, consumers, consumersById, slab);
    }

    private static KeyState keyState(final Subscription s, final int keyHash)
    {
        KeyState ks = s.keys.get(keyHash);
        if (ks == null)
        {
            ks = new KeyState();
            ks.keyHash = keyHash;
            s.keys.put(keyHash, ks);
        }
        return ks;
    }

    private static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new SnapshotLoadException(message);
        }
    }

    /**
     * @return the journal index of the snapshot loaded (after {@link #load}).
     */
    long journalIndex()
    {
        return journalIndex;
    }

    /**
     * Objects kept in reading order until {@link #finish()}: list records refer to deliveries by ordinal, and the
     * messages are indexed at the end. In chunks, not one array grown by doubling: a chunk is small enough to be
     * allocated young and is filled at once, so a store into it costs the collector nothing, where an array of
     * millions of references sits in an old (humongous) region from the start and every store into it dirtied a card
     * for G1's refinement to scan.
     */
    private static final class Staged<T>
    {
        private static final int CHUNK_SHIFT = 12;
        private static final int CHUNK = 1 << CHUNK_SHIFT;
        private static final int CHUNK_MASK = CHUNK - 1;

        private Object[][] chunks = new Object[16][];
        private int size;

        void add(final T value)
        {
            final int chunk = size >>> CHUNK_SHIFT;
            if (chunk == chunks.length)
            {
                chunks = Arrays.copyOf(chunks, chunk * 2);
            }
            Object[] values = chunks[chunk];
            if (values == null)
            {
                values = new Object[CHUNK];
                chunks[chunk] = values;
            }
            values[size & CHUNK_MASK] = value;
            size++;
        }

        @SuppressWarnings("unchecked")
        T get(final int index)
        {
            return (T)chunks[index >>> CHUNK_SHIFT][index & CHUNK_MASK];
        }

        int size()
        {
            return size;
        }
    }
}
