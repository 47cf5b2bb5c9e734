package io.magnetar.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.regex.Pattern;

import io.magnetar.codecs.AckDecoder;
import io.magnetar.codecs.AckReceiptEncoder;
import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.AdminResultEncoder;
import io.magnetar.codecs.CloseConsumerDecoder;
import io.magnetar.codecs.CommandErrorEncoder;
import io.magnetar.codecs.ConsumerAttachedEncoder;
import io.magnetar.codecs.ConsumerClosedEncoder;
import io.magnetar.codecs.CreateSubscriptionDecoder;
import io.magnetar.codecs.CreateTopicDecoder;
import io.magnetar.codecs.DeleteSubscriptionDecoder;
import io.magnetar.codecs.DeleteTopicDecoder;
import io.magnetar.codecs.DeliveriesEncoder;
import io.magnetar.codecs.DescribeTopicDecoder;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.FlowDecoder;
import io.magnetar.codecs.ListTopicsDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.NackDecoder;
import io.magnetar.codecs.NodeStartedDecoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.codecs.PublishReceiptEncoder;
import io.magnetar.codecs.SessionClosedDecoder;
import io.magnetar.codecs.SubscribeDecoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.codecs.TakeSnapshotDecoder;
import io.magnetar.codecs.TickDecoder;
import io.magnetar.codecs.TopicDescriptionEncoder;
import io.magnetar.codecs.TopicListEncoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The Magnetar engine: a pure, single-threaded state machine implementing SPEC sections 1 to 3.
 * <p>
 * Commands in ({@link #onCommand}), SBE events out ({@link EventListener}); no I/O, no clock, no threads,
 * no locks. Time is the timestamp the sequencer stamped on each command; timers (ack timeouts, nack
 * delays) fire when a command's time passes them, and {@link #nextDeadlineMs()} tells the sequencer when
 * to inject a {@code Tick}. Given the same commands, two engines reach the same {@link #stateHash()}.
 * <p>
 * Every command is decoded completely before it changes anything, so a malformed or invalid command is
 * answered with a {@code CommandError} and leaves the state untouched. Steady-state publish, dispatch and
 * ack allocate nothing: messages, deliveries and key states are pooled, collections are Agrona's.
 * See docs/ENGINE.md for the semantics decided where SPEC is silent.
 */
public final class Engine implements CommandHandler, Snapshottable
{
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final byte[] ORIGINAL_ID = "magnetar.original-id".getBytes(StandardCharsets.US_ASCII);
    private static final int INITIAL_LEDGER = 1;

    private final EngineConfig config;
    private EventListener listener;

    // ---------------------------------------------------------------- codecs
    private final UnsafeBuffer frame = new UnsafeBuffer(0, 0);
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final PublishDecoder publishDecoder = new PublishDecoder();
    private final SubscribeDecoder subscribeDecoder = new SubscribeDecoder();
    private final FlowDecoder flowDecoder = new FlowDecoder();
    private final AckDecoder ackDecoder = new AckDecoder();
    private final CloseConsumerDecoder closeConsumerDecoder = new CloseConsumerDecoder();
    private final CreateTopicDecoder createTopicDecoder = new CreateTopicDecoder();
    private final DeleteTopicDecoder deleteTopicDecoder = new DeleteTopicDecoder();
    private final CreateSubscriptionDecoder createSubscriptionDecoder = new CreateSubscriptionDecoder();
    private final DeleteSubscriptionDecoder deleteSubscriptionDecoder = new DeleteSubscriptionDecoder();
    private final DescribeTopicDecoder describeTopicDecoder = new DescribeTopicDecoder();
    private final ListTopicsDecoder listTopicsDecoder = new ListTopicsDecoder();
    private final TickDecoder tickDecoder = new TickDecoder();
    private final SessionClosedDecoder sessionClosedDecoder = new SessionClosedDecoder();
    private final NodeStartedDecoder nodeStartedDecoder = new NodeStartedDecoder();

    private final ExpandableArrayBuffer out = new ExpandableArrayBuffer(64 * 1024);
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final CommandErrorEncoder errorEncoder = new CommandErrorEncoder();
    private final PublishReceiptEncoder receiptEncoder = new PublishReceiptEncoder();
    private final DeliveriesEncoder deliveriesEncoder = new DeliveriesEncoder();
    private final ConsumerAttachedEncoder attachedEncoder = new ConsumerAttachedEncoder();
    private final AckReceiptEncoder ackReceiptEncoder = new AckReceiptEncoder();
    private final AdminResultEncoder adminResultEncoder = new AdminResultEncoder();
    private final TopicDescriptionEncoder topicDescriptionEncoder = new TopicDescriptionEncoder();
    private final TopicListEncoder topicListEncoder = new TopicListEncoder();
    private final ConsumerClosedEncoder consumerClosedEncoder = new ConsumerClosedEncoder();

    // ---------------------------------------------------------------- state
    private long nowMs;
    private int nextTopicId = 1;
    private long nextConsumerId = 1;
    private long nextLedgerId = INITIAL_LEDGER;
    private long nextSequence = 1;
    private long liveMessages;
    private long liveBytes;
    private long startCount;
    private long nextDeadlineMs = Long.MAX_VALUE;

    private final Int2ObjectHashMap<Topic> topicsById = new Int2ObjectHashMap<>();
    private final HashMap<String, Topic> topicsByName = new HashMap<>();
    private final ArrayList<Topic> topics = new ArrayList<>();
    private final Long2ObjectHashMap<Consumer> consumersById = new Long2ObjectHashMap<>();
    private final ArrayList<Consumer> consumers = new ArrayList<>();
    private final ArrayList<Subscription> subscriptions = new ArrayList<>();

    // ---------------------------------------------------------------- per-command scratch
    private final ArrayList<Subscription> dirty = new ArrayList<>();
    /** work counter (tests): pending key_shared deliveries examined by dispatch since the engine was made. */
    long keySharedExamined;
    /**
     * Tests only: dispatch key_shared by the full rescan from the head of the pending list on every pass (the
     * algorithm before the scan cursor), the oracle the cursor's outputs are compared with. Never set in production.
     */
    boolean keySharedFullRescan;
    private final ArrayList<Consumer> flushList = new ArrayList<>();
    private final int[] idPartitions;
    /**
     * The data length of each message of the publish being applied, measured while validating it: a message's record
     * is then allocated at its exact length before its bytes are read into it.
     */
    private final int[] publishDataLengths;
    private final long[] idLedgers;
    private final long[] idEntries;
    private final byte[] originalIdScratch = new byte[64];
    /**
     * The producer's key hashes for the command being applied ({@link #onCommand(long, long, DirectBuffer, int, int,
     * int[], int)}), null otherwise. Used by a publish only when their count is its message count.
     */
    private int[] keyHashHints;
    private int keyHashHintCount;

    // ---------------------------------------------------------------- pools
    /**
     * Free messages, an array stack rather than a link in each message (which a live message would carry for nothing):
     * it grows only past its largest size so far, so the steady state still allocates nothing.
     */
    private Message[] freeMessages = new Message[64];
    private int freeMessageCount;
    /**
     * The live messages' data (attributes and keys) and lengths, one record per message, not one array each. Replaced
     * (not refilled) by a snapshot load, whose loader builds its own until the snapshot is checked.
     */
    private DataSlab slab = new DataSlab();
    private ExtraDelivery freeDeliveries;
    private KeyState freeKeyStates;

    public Engine(final EngineConfig config, final EventListener listener)
    {
        this.config = config.conclude();
        this.listener = listener;
        this.idPartitions = new int[config.maxAckBatch];
        this.publishDataLengths = new int[config.maxPublishBatch];
        this.idLedgers = new long[config.maxAckBatch];
        this.idEntries = new long[config.maxAckBatch];
    }

    /**
     * Replace the listener, e.g. to mute egress during replay.
     */
    public void listener(final EventListener listener)
    {
        this.listener = listener;
    }

    public long nextDeadlineMs()
    {
        return nextDeadlineMs;
    }

    /**
     * @return messages stored (not yet completed by every subscription).
     */
    public long liveMessages()
    {
        return liveMessages;
    }

    /**
     * @return key and attribute bytes of the stored messages.
     */
    public long liveBytes()
    {
        return liveBytes;
    }

    /**
     * @return the engine's time: the latest timestamp of a state-changing command.
     */
    public long nowMs()
    {
        return nowMs;
    }

    // =====================================================================================================
    // command dispatch
    // =====================================================================================================

    /**
     * Apply a command with the producer's key hashes of a publish ({@link PublishKeyHashes}). They only save the
     * engine hashing the keys itself: they are used only if there is exactly one for each message of the publish (else
     * ignored, as is a negative one), the publish is validated as without them, and the state reached is the same as by
     * {@link #onCommand(long, long, DirectBuffer, int, int)}, which replay uses.
     */
    public void onCommand(
        final long sessionId,
        final long timestampMs,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int[] keyHashes,
        final int keyHashCount)
    {
        keyHashHints = keyHashCount > 0 && null != keyHashes && keyHashCount <= keyHashes.length ? keyHashes : null;
        keyHashHintCount = null == keyHashHints ? 0 : keyHashCount;
        try
        {
            onCommand(sessionId, timestampMs, buffer, offset, length);
        }
        finally
        {
            keyHashHints = null;
            keyHashHintCount = 0;
        }
    }

    public void onCommand(
        final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < MessageHeaderDecoder.ENCODED_LENGTH)
        {
            error(sessionId, 0, 0, ErrorCode.INVALID_ARGUMENT,
                "frame of " + length + " bytes is shorter than the " + MessageHeaderDecoder.ENCODED_LENGTH + "-byte SBE header");
            return;
        }

        frame.wrap(buffer, offset, length);
        headerDecoder.wrap(frame, 0);
        final int templateId = headerDecoder.templateId();
        final int schemaId = headerDecoder.schemaId();
        final int version = headerDecoder.version();
        final int blockLength = headerDecoder.blockLength();

        if (schemaId != MessageHeaderDecoder.SCHEMA_ID)
        {
            error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT,
                "schemaId " + schemaId + " is not the Magnetar protocol (" + MessageHeaderDecoder.SCHEMA_ID + ")");
            return;
        }
        if (version > MessageHeaderDecoder.SCHEMA_VERSION)
        {
            error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT,
                "schema version " + version + " is newer than this broker's " + MessageHeaderDecoder.SCHEMA_VERSION);
            return;
        }
        if (templateId >= CommandTypes.INTERNAL_MIN && templateId <= CommandTypes.INTERNAL_MAX && sessionId != 0)
        {
            error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT,
                "templateId " + templateId + " is internal to the broker and not accepted from a session");
            return;
        }

        if (CommandTypes.isQuery(templateId))
        {
            // Queries are not journaled, so they must neither move time nor fire timers.
            switch (templateId)
            {
                case DescribeTopicDecoder.TEMPLATE_ID:
                    onDescribeTopic(sessionId, blockLength, version);
                    break;
                case ListTopicsDecoder.TEMPLATE_ID:
                    onListTopics(sessionId, blockLength, version);
                    break;
                default:
                    break;
            }
            return;
        }

        if (templateId == TakeSnapshotDecoder.TEMPLATE_ID)
        {
            // A journaled snapshot marker (see "snapshots" below): no state change, not even the clock, so the
            // state after it is the state before it; the pipeline snapshots it once this returns.
            checkBlock(sessionId, templateId, blockLength, TakeSnapshotDecoder.BLOCK_LENGTH);
            return;
        }

        advanceTime(timestampMs);

        switch (templateId)
        {
            case PublishDecoder.TEMPLATE_ID:
                onPublish(sessionId, blockLength, version);
                break;
            case SubscribeDecoder.TEMPLATE_ID:
                onSubscribe(sessionId, blockLength, version);
                break;
            case FlowDecoder.TEMPLATE_ID:
                onFlow(sessionId, blockLength, version);
                break;
            case AckDecoder.TEMPLATE_ID:
            case NackDecoder.TEMPLATE_ID:
                onAckOrNack(sessionId, templateId, blockLength, version);
                break;
            case CloseConsumerDecoder.TEMPLATE_ID:
                onCloseConsumer(sessionId, blockLength, version);
                break;
            case CreateTopicDecoder.TEMPLATE_ID:
                onCreateTopic(sessionId, blockLength, version);
                break;
            case DeleteTopicDecoder.TEMPLATE_ID:
                onDeleteTopic(sessionId, blockLength, version);
                break;
            case CreateSubscriptionDecoder.TEMPLATE_ID:
                onCreateSubscription(sessionId, blockLength, version);
                break;
            case DeleteSubscriptionDecoder.TEMPLATE_ID:
                onDeleteSubscription(sessionId, blockLength, version);
                break;
            case TickDecoder.TEMPLATE_ID:
                if (checkBlock(sessionId, templateId, blockLength, TickDecoder.BLOCK_LENGTH))
                {
                    tickDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
                }
                break;
            case SessionClosedDecoder.TEMPLATE_ID:
                onSessionClosed(sessionId, blockLength, version);
                break;
            case NodeStartedDecoder.TEMPLATE_ID:
                onNodeStarted(sessionId, blockLength, version);
                break;
            default:
                error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT, "unknown templateId " + templateId);
                break;
        }

        dispatchDirty();
        flushBatches();
    }

    private boolean checkBlock(final long sessionId, final int templateId, final int blockLength, final int required)
    {
        if (blockLength < required || MessageHeaderDecoder.ENCODED_LENGTH + blockLength > frame.capacity())
        {
            error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT,
                "malformed frame: blockLength " + blockLength + " (need " + required + ") in a frame of " + frame.capacity() + " bytes");
            return false;
        }
        return true;
    }

    private void malformed(final long sessionId, final long correlationId, final int templateId, final RuntimeException ex)
    {
        error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
            "malformed frame for templateId " + templateId + ": " + ex.getClass().getSimpleName() +
            (ex.getMessage() != null ? " " + ex.getMessage() : ""));
    }

    private void advanceTime(final long timestampMs)
    {
        if (timestampMs > nowMs)
        {
            nowMs = timestampMs;
        }
        if (nowMs >= nextDeadlineMs)
        {
            processTimers();
        }
    }

    // =====================================================================================================
    // admin
    // =====================================================================================================

    private void onCreateTopic(final long sessionId, final int blockLength, final int version)
    {
        if (!checkBlock(sessionId, CreateTopicDecoder.TEMPLATE_ID, blockLength, CreateTopicDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final int partitions;
        final String name;
        try
        {
            final CreateTopicDecoder d = createTopicDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            partitions = d.partitions();
            name = d.topic();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, CreateTopicDecoder.TEMPLATE_ID, ex);
            return;
        }

        final int templateId = CreateTopicDecoder.TEMPLATE_ID;
        if (!validName(sessionId, correlationId, templateId, "topic", name))
        {
            return;
        }
        if (partitions < 1 || partitions > config.maxPartitions)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "partitions: " + partitions + " is outside 1.." + config.maxPartitions);
            return;
        }

        final Topic existing = topicsByName.get(name);
        if (existing != null)
        {
            if (existing.partitionCount == partitions)
            {
                adminResult(sessionId, correlationId, AdminOutcome.UNCHANGED);
            }
            else
            {
                error(sessionId, correlationId, templateId, ErrorCode.TOPIC_EXISTS,
                    "topic '" + name + "' exists with " + existing.partitionCount + " partitions, not " + partitions);
            }
            return;
        }

        createTopic(name, partitions);
        adminResult(sessionId, correlationId, AdminOutcome.CREATED);
    }

    private Topic createTopic(final String name, final int partitions)
    {
        final Topic topic = new Topic(nextTopicId++, name, partitions);
        for (int p = 0; p < partitions; p++)
        {
            topic.owned[p] = true;
            topic.ledgers[p] = new Ledger(topic, p, nextLedgerId++, Ledger.era(nowMs));
        }
        topicsById.put(topic.id, topic);
        topicsByName.put(name, topic);
        topics.add(topic);
        return topic;
    }

    private void onDeleteTopic(final long sessionId, final int blockLength, final int version)
    {
        if (!checkBlock(sessionId, DeleteTopicDecoder.TEMPLATE_ID, blockLength, DeleteTopicDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final String name;
        try
        {
            final DeleteTopicDecoder d = deleteTopicDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            name = d.topic();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, DeleteTopicDecoder.TEMPLATE_ID, ex);
            return;
        }

        final Topic topic = topicsByName.get(name);
        if (topic == null)
        {
            error(sessionId, correlationId, DeleteTopicDecoder.TEMPLATE_ID, ErrorCode.TOPIC_NOT_FOUND,
                "topic '" + name + "' does not exist");
            return;
        }

        while (!topic.subscriptions.isEmpty())
        {
            removeSubscription(topic.subscriptions.get(topic.subscriptions.size() - 1), "topic '" + name + "' was deleted");
        }
        topicsById.remove(topic.id);
        topicsByName.remove(name);
        topics.remove(topic);
        adminResult(sessionId, correlationId, AdminOutcome.DELETED);
    }

    private void onCreateSubscription(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = CreateSubscriptionDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, CreateSubscriptionDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final short typeRaw;
        final long ackTimeoutMs;
        final long nackDelayMs;
        final int maxDeliveries;
        final int maxInFlightPerKey;
        final String topicName;
        final String subscriptionName;
        try
        {
            final CreateSubscriptionDecoder d =
                createSubscriptionDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            typeRaw = d.subscriptionTypeRaw();
            ackTimeoutMs = d.ackTimeoutMs();
            nackDelayMs = d.nackDelayMs();
            maxDeliveries = d.maxDeliveries();
            maxInFlightPerKey = d.maxInFlightPerKey();
            topicName = d.topic();
            subscriptionName = d.subscription();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, templateId, ex);
            return;
        }

        final SubscriptionType type = subscriptionType(typeRaw);
        if (type == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "type: " + typeRaw + " is not one of shared, key_shared, multicast");
            return;
        }
        final Topic topic = topicsByName.get(topicName);
        if (topic == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.TOPIC_NOT_FOUND, "topic '" + topicName + "' does not exist");
            return;
        }

        final Subscription existing = topic.subscription(subscriptionName);
        if (existing == null)
        {
            final Subscription created = createSubscription(
                sessionId, correlationId, templateId, topic, subscriptionName, type,
                ackTimeoutMs, CreateSubscriptionDecoder.ackTimeoutMsNullValue(),
                nackDelayMs, CreateSubscriptionDecoder.nackDelayMsNullValue(),
                maxDeliveries, CreateSubscriptionDecoder.maxDeliveriesNullValue(),
                maxInFlightPerKey, CreateSubscriptionDecoder.maxInFlightPerKeyNullValue());
            if (created != null)
            {
                adminResult(sessionId, correlationId, AdminOutcome.CREATED);
            }
            return;
        }

        if (existing.type != type)
        {
            error(sessionId, correlationId, templateId, ErrorCode.SUBSCRIPTION_TYPE_CONFLICT,
                "subscription '" + subscriptionName + "' is " + typeName(existing.type) + ", not " + typeName(type));
            return;
        }
        final long ack = ackTimeoutMs == CreateSubscriptionDecoder.ackTimeoutMsNullValue() ? config.defaultAckTimeoutMs : ackTimeoutMs;
        final long nack = nackDelayMs == CreateSubscriptionDecoder.nackDelayMsNullValue() ? config.defaultNackDelayMs : nackDelayMs;
        final int maxDel = maxDeliveries == CreateSubscriptionDecoder.maxDeliveriesNullValue() ? 0 : maxDeliveries;
        final int maxKey = maxInFlightPerKey == CreateSubscriptionDecoder.maxInFlightPerKeyNullValue() ? 0 : maxInFlightPerKey;
        if (existing.sameOptions(ack, nack, maxDel, maxKey))
        {
            adminResult(sessionId, correlationId, AdminOutcome.UNCHANGED);
        }
        else
        {
            error(sessionId, correlationId, templateId, ErrorCode.SUBSCRIPTION_EXISTS,
                "subscription '" + subscriptionName + "' exists with other options (ackTimeoutMs=" + existing.ackTimeoutMs +
                ", nackDelayMs=" + existing.nackDelayMs + ", maxDeliveries=" + existing.maxDeliveries +
                ", maxInFlightPerKey=" + existing.maxInFlightPerKey + ")");
        }
    }

    /**
     * Validate options (null values mean defaults) and create; answers an error and returns null if invalid.
     */
    private Subscription createSubscription(
        final long sessionId,
        final long correlationId,
        final int templateId,
        final Topic topic,
        final String name,
        final SubscriptionType type,
        final long ackTimeoutMs,
        final long ackTimeoutNull,
        final long nackDelayMs,
        final long nackDelayNull,
        final int maxDeliveries,
        final int maxDeliveriesNull,
        final int maxInFlightPerKey,
        final int maxInFlightPerKeyNull)
    {
        if (!validName(sessionId, correlationId, templateId, "subscription", name))
        {
            return null;
        }
        final long ack = ackTimeoutMs == ackTimeoutNull ? config.defaultAckTimeoutMs : ackTimeoutMs;
        final long nack = nackDelayMs == nackDelayNull ? config.defaultNackDelayMs : nackDelayMs;
        final int maxDel = maxDeliveries == maxDeliveriesNull ? 0 : maxDeliveries;
        final int maxKey = maxInFlightPerKey == maxInFlightPerKeyNull ? 0 : maxInFlightPerKey;
        if (ack < 0 || ack > config.maxTimeoutMs)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "ackTimeoutMs: " + ack + " is outside 0.." + config.maxTimeoutMs);
            return null;
        }
        if (nack < 0 || nack > config.maxTimeoutMs)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "nackDelayMs: " + nack + " is outside 0.." + config.maxTimeoutMs);
            return null;
        }
        if (maxDel < 0 || maxDel > Delivery.MAX_DELIVERY_COUNT)
        {
            // a delivery counts up to MAX_DELIVERY_COUNT (Delivery): a larger limit could never be reached
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "maxDeliveries: " + maxDel + " is outside 0 (unlimited).." + Delivery.MAX_DELIVERY_COUNT);
            return null;
        }
        if (maxKey < 0)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "maxInFlightPerKey: " + maxKey + " must be 0 (unlimited) or more");
            return null;
        }
        if (maxKey > 0 && type != SubscriptionType.KEY_SHARED)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "maxInFlightPerKey: applies to key_shared subscriptions only, not " + typeName(type));
            return null;
        }
        if (maxDel > 0)
        {
            final String dlq = topic.name + "." + name + ".dlq";
            if (!NAME.matcher(dlq).matches())
            {
                error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                    "subscription: dead-letter topic name '" + dlq + "' would exceed " + config.maxTopicNameBytes +
                    " characters; shorten the topic or subscription name");
                return null;
            }
        }

        final Subscription subscription = new Subscription(topic, name, type, ack, nack, maxDel, maxKey);
        topic.subscriptions.add(subscription);
        subscriptions.add(subscription);
        return subscription;
    }

    private void onDeleteSubscription(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = DeleteSubscriptionDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, DeleteSubscriptionDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final String topicName;
        final String subscriptionName;
        try
        {
            final DeleteSubscriptionDecoder d =
                deleteSubscriptionDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            topicName = d.topic();
            subscriptionName = d.subscription();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, templateId, ex);
            return;
        }

        final Topic topic = topicsByName.get(topicName);
        if (topic == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.TOPIC_NOT_FOUND, "topic '" + topicName + "' does not exist");
            return;
        }
        final Subscription subscription = topic.subscription(subscriptionName);
        if (subscription == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.SUBSCRIPTION_NOT_FOUND,
                "subscription '" + subscriptionName + "' of topic '" + topicName + "' does not exist");
            return;
        }
        removeSubscription(subscription, "subscription '" + subscriptionName + "' was deleted");
        adminResult(sessionId, correlationId, AdminOutcome.DELETED);
    }

    private void removeSubscription(final Subscription subscription, final String reason)
    {
        // what is bound to consumers first (completing sends no event), so that dropping them finds nothing left: one
        // pass over each list rather than one per consumer (a consumer keeps no list of its own, see detach)
        completeAll(subscription.outstanding);
        completeAll(subscription.delayed);
        for (int i = 0, n = subscription.consumers.size(); i < n; i++)
        {
            completeAll(subscription.consumers.get(i).multicastPending);
        }
        while (!subscription.consumers.isEmpty())
        {
            final Consumer consumer = subscription.consumers.get(subscription.consumers.size() - 1);
            consumerClosed(consumer, reason);
            dropConsumer(consumer);
        }
        completeAll(subscription.pending);
        subscription.topic.subscriptions.remove(subscription);
        subscriptions.remove(subscription);
        dirty.remove(subscription);
        subscription.dirty = false;
    }

    private void completeAll(final DeliveryList list)
    {
        Delivery d;
        while ((d = list.head) != null)
        {
            complete(d);
        }
    }

    // =====================================================================================================
    // consumers
    // =====================================================================================================

    private void onSubscribe(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = SubscribeDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, SubscribeDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final short typeRaw;
        final int permits;
        final long ackTimeoutMs;
        final long nackDelayMs;
        final int maxDeliveries;
        final int maxInFlightPerKey;
        final String topicName;
        final String subscriptionName;
        final String consumerName;
        try
        {
            final SubscribeDecoder d = subscribeDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            typeRaw = d.subscriptionTypeRaw();
            permits = d.permits();
            ackTimeoutMs = d.ackTimeoutMs();
            nackDelayMs = d.nackDelayMs();
            maxDeliveries = d.maxDeliveries();
            maxInFlightPerKey = d.maxInFlightPerKey();
            topicName = d.topic();
            subscriptionName = d.subscription();
            consumerName = d.consumerName();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, templateId, ex);
            return;
        }

        SubscriptionType type = null;
        if (typeRaw != SubscriptionType.NULL_VAL.value())
        {
            type = subscriptionType(typeRaw);
            if (type == null)
            {
                error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                    "type: " + typeRaw + " is not one of shared, key_shared, multicast");
                return;
            }
        }
        if (permits < 1 || permits > config.maxPermits)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "permits: " + permits + " is outside 1.." + config.maxPermits);
            return;
        }
        if (consumerName.getBytes(StandardCharsets.UTF_8).length > config.maxConsumerNameBytes)
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                "consumerName: longer than " + config.maxConsumerNameBytes + " bytes");
            return;
        }
        final Topic topic = topicsByName.get(topicName);
        if (topic == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.TOPIC_NOT_FOUND, "topic '" + topicName + "' does not exist");
            return;
        }

        Subscription subscription = topic.subscription(subscriptionName);
        if (subscription == null)
        {
            if (type == null)
            {
                error(sessionId, correlationId, templateId, ErrorCode.SUBSCRIPTION_NOT_FOUND,
                    "subscription '" + subscriptionName + "' of topic '" + topicName +
                    "' does not exist; name a type to create it");
                return;
            }
            subscription = createSubscription(
                sessionId, correlationId, templateId, topic, subscriptionName, type,
                ackTimeoutMs, SubscribeDecoder.ackTimeoutMsNullValue(),
                nackDelayMs, SubscribeDecoder.nackDelayMsNullValue(),
                maxDeliveries, SubscribeDecoder.maxDeliveriesNullValue(),
                maxInFlightPerKey, SubscribeDecoder.maxInFlightPerKeyNullValue());
            if (subscription == null)
            {
                return;
            }
        }
        else if (type != null && type != subscription.type)
        {
            error(sessionId, correlationId, templateId, ErrorCode.SUBSCRIPTION_TYPE_CONFLICT,
                "subscription '" + subscriptionName + "' is " + typeName(subscription.type) + ", not " + typeName(type));
            return;
        }

        final Consumer consumer = new Consumer(
            nextConsumerId++, sessionId, consumerName, subscription, permits, config.maxDeliveriesPerEvent);
        consumersById.put(consumer.id, consumer);
        consumers.add(consumer);
        subscription.consumers.add(consumer);
        if (subscription.type == SubscriptionType.KEY_SHARED)
        {
            subscription.ring.rebuild(subscription.consumers);
            subscription.recountKeySharedOwners();
        }
        markDirty(subscription);

        attachedEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId)
            .consumerId(consumer.id)
            .topicId(topic.id)
            .partitions(topic.partitionCount)
            .subscriptionType(subscription.type);
        emit(sessionId, attachedEncoder.encodedLength());
    }

    private Consumer ownedConsumer(final long sessionId, final long correlationId, final int templateId, final long consumerId)
    {
        final Consumer consumer = consumersById.get(consumerId);
        if (consumer == null || consumer.sessionId != sessionId)
        {
            error(sessionId, correlationId, templateId, ErrorCode.CONSUMER_NOT_FOUND,
                "consumer " + consumerId + " is not attached through this session");
            return null;
        }
        return consumer;
    }

    private void onFlow(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = FlowDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, FlowDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final FlowDecoder d = flowDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
        final long consumerId = d.consumerId();
        final int permits = d.permits();
        final Consumer consumer = ownedConsumer(sessionId, 0, templateId, consumerId);
        if (consumer == null)
        {
            return;
        }
        if (permits < 1 || permits > config.maxPermits)
        {
            error(sessionId, 0, templateId, ErrorCode.INVALID_ARGUMENT,
                "permits: " + permits + " is outside 1.." + config.maxPermits);
            return;
        }
        if (permits > consumer.permits)
        {
            consumer.subscription.scanStale = true;   // key_shared: its keys skipped for want of permits may go now
        }
        consumer.permits = permits;
        markDirty(consumer.subscription);
    }

    private void onCloseConsumer(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = CloseConsumerDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, CloseConsumerDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final CloseConsumerDecoder d = closeConsumerDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
        final long correlationId = d.correlationId();
        final Consumer consumer = ownedConsumer(sessionId, correlationId, templateId, d.consumerId());
        if (consumer == null)
        {
            return;
        }
        detach(consumer);
        adminResult(sessionId, correlationId, AdminOutcome.DONE);
    }

    private void onSessionClosed(final long sessionId, final int blockLength, final int version)
    {
        if (!checkBlock(sessionId, SessionClosedDecoder.TEMPLATE_ID, blockLength, SessionClosedDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long closed = sessionClosedDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version)
            .closedSessionId();
        for (int i = consumers.size() - 1; i >= 0; i--)
        {
            final Consumer consumer = consumers.get(i);
            if (consumer.sessionId == closed)
            {
                detach(consumer);
            }
        }
    }

    private void onNodeStarted(final long sessionId, final int blockLength, final int version)
    {
        if (!checkBlock(sessionId, NodeStartedDecoder.TEMPLATE_ID, blockLength, NodeStartedDecoder.BLOCK_LENGTH))
        {
            return;
        }
        startCount = nodeStartedDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version).startCount();
        // traffic counters count this run: what the journal replay before this command counted is not new traffic
        for (int i = 0, n = topics.size(); i < n; i++)
        {
            topics.get(i).resetCounters();
        }
        for (int i = consumers.size() - 1; i >= 0; i--)
        {
            detach(consumers.get(i));
        }
    }

    /**
     * Detach: multicast copies are complete for this consumer; shared and key_shared outstanding messages
     * are redelivered at once (or dead-lettered).
     * <p>
     * A consumer keeps no list of its deliveries (two links and a flag in every delivery, see {@link Consumer#ownedCount}),
     * so they are found by scanning the lists they can be in: O(outstanding + delayed of the subscription) instead of
     * O(the consumer's own), acceptable for a rare event. A shared or key_shared delivery is bound to a consumer only
     * while outstanding. The scan keeps the order of the outstanding list, which for one consumer is the order it was
     * sent in (the order of the list it replaces): redeliveries go back into the pending list by sequence anyway, but
     * dead letters are published in this order.
     */
    private void detach(final Consumer consumer)
    {
        final Subscription subscription = consumer.subscription;
        if (subscription.type == SubscriptionType.MULTICAST)
        {
            completeOwned(consumer);
        }
        else
        {
            Delivery d = subscription.outstanding.head;
            while (d != null && consumer.ownedCount > 0)
            {
                // redeliver takes d (only d) out of the outstanding list: a dead letter goes to another topic, and a
                // redelivery into the pending list
                final Delivery next = d.next;
                if (d.owner == consumer)
                {
                    redeliver(d, false);
                }
                d = next;
            }
        }
        dropConsumer(consumer);
        markDirty(subscription);
    }

    /**
     * Multicast: complete every copy bound to a consumer, scanning where they can be (see {@link #detach}): its
     * outstanding copies, those delayed after a nack (a multicast copy stays bound to its consumer) and those pending
     * in its own list. No events: the order only decides which pooled objects are reused first.
     */
    private void completeOwned(final Consumer consumer)
    {
        final Subscription subscription = consumer.subscription;
        completeOwned(consumer, subscription.outstanding);
        completeOwned(consumer, subscription.delayed);
        completeAll(consumer.multicastPending);
    }

    private void completeOwned(final Consumer consumer, final DeliveryList list)
    {
        Delivery d = list.head;
        while (d != null && consumer.ownedCount > 0)
        {
            final Delivery next = d.next;   // complete takes out d only
            if (d.owner == consumer)
            {
                complete(d);
            }
            d = next;
        }
    }

    /**
     * Forget a consumer to which no delivery is bound any more (its callers redelivered or completed them).
     */
    private void dropConsumer(final Consumer consumer)
    {
        final Subscription subscription = consumer.subscription;
        assert consumer.ownedCount == 0 : consumer.ownedCount;
        consumersById.remove(consumer.id);
        consumers.remove(consumer);
        subscription.consumers.remove(consumer);
        if (subscription.type == SubscriptionType.KEY_SHARED)
        {
            subscription.ring.rebuild(subscription.consumers);
            subscription.recountKeySharedOwners();
        }
        for (int i = 0; i < consumer.batchSize; i++)
        {
            consumer.batch[i] = null;
        }
        consumer.batchSize = 0;
    }

    // =====================================================================================================
    // publish
    // =====================================================================================================

    private void onPublish(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = PublishDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, PublishDecoder.BLOCK_LENGTH))
        {
            return;
        }

        // pass 1: decode and validate everything; nothing changes unless the whole batch is good
        final PublishDecoder d = publishDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
        final long correlationId = d.correlationId();
        final int topicId = d.topicId();
        final Topic topic = topicsById.get(topicId);
        long batchBytes = 0;
        int count = 0;
        try
        {
            final PublishDecoder.MessagesDecoder messages = d.messages();
            count = messages.count();
            if (count < 1 || count > config.maxPublishBatch)
            {
                error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                    "messages: " + count + " messages is outside 1.." + config.maxPublishBatch + " per batch");
                return;
            }
            int index = 0;
            while (messages.hasNext())
            {
                messages.next();
                final PublishDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
                final int attributeCount = attributes.count();
                if (attributeCount > config.maxAttributes)
                {
                    error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                        "messages[" + index + "].attributes: " + attributeCount + " attributes exceed the limit of " +
                        config.maxAttributes);
                    return;
                }
                int attributeBytes = 0;
                int a = 0;
                while (attributes.hasNext())
                {
                    attributes.next();
                    final int nameLength = attributes.skipName();
                    final int valueLength = attributes.skipValue();
                    if (nameLength < 1 || nameLength > config.maxAttributeNameBytes)
                    {
                        error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                            "messages[" + index + "].attributes[" + a + "].name: " + nameLength +
                            " bytes is outside 1.." + config.maxAttributeNameBytes);
                        return;
                    }
                    if (valueLength > config.maxAttributeValueBytes)
                    {
                        error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                            "messages[" + index + "].attributes[" + a + "].value: " + valueLength +
                            " bytes exceeds the limit of " + config.maxAttributeValueBytes);
                        return;
                    }
                    attributeBytes += nameLength + valueLength;
                    a++;
                }
                if (attributeBytes > config.maxAttributesBytes)
                {
                    error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                        "messages[" + index + "].attributes: " + attributeBytes +
                        " bytes of names and values exceed the limit of " + config.maxAttributesBytes);
                    return;
                }
                final int keyLength = messages.skipKey();
                if (keyLength < 1 || keyLength > config.maxKeyBytes)
                {
                    error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                        "messages[" + index + "].key: " + keyLength + " bytes is outside 1.." + config.maxKeyBytes);
                    return;
                }
                batchBytes += keyLength + attributeBytes;
                publishDataLengths[index] = 4 * attributeCount + attributeBytes + keyLength;
                index++;
            }
            if (d.limit() > frame.capacity())
            {
                throw new IndexOutOfBoundsException("frame ends at " + frame.capacity() + " but its data runs to " + d.limit());
            }
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, correlationId, templateId, ex);
            return;
        }

        if (topic == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.TOPIC_NOT_FOUND, "topicId " + topicId + " does not exist");
            return;
        }
        final boolean stored = !topic.subscriptions.isEmpty();
        if (stored && (liveMessages + count > config.maxLiveMessages || liveBytes + batchBytes > config.maxLiveBytes))
        {
            error(sessionId, correlationId, templateId, ErrorCode.BACKLOG_FULL,
                "backlog full: " + liveMessages + " messages / " + liveBytes + " bytes live, limits " +
                config.maxLiveMessages + " messages / " + config.maxLiveBytes + " bytes");
            return;
        }
        if (!slab.canAllocate(count))
        {
            // only past 16 GiB of data pages, which a heap does not hold (DataSlab): refused whole, not failed halfway
            error(sessionId, correlationId, templateId, ErrorCode.BACKLOG_FULL,
                "backlog full: the message data fills " + slab.pagesInUse() + " pages, the most a data handle addresses");
            return;
        }

        // pass 2: store, in request order (with the producer's key hashes if there is one for each message)
        final int[] hints = keyHashHintCount == count ? keyHashHints : null;
        int index = 0;
        final PublishDecoder.MessagesDecoder messages =
            publishDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version).messages();
        final PublishReceiptEncoder.IdsEncoder ids = receiptEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId)
            .topicId(topicId)
            .idsCount(count);
        while (messages.hasNext())
        {
            messages.next();
            final Message m = allocateMessage();
            final PublishDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
            // the record at the exact length measured in pass 1; the key length is set once the key is reached
            final int dataLength = publishDataLengths[index];
            final int h = slab.allocate(dataLength, 0, attributes.count());   // count at most config.maxAttributes
            m.dataHandle = h;
            final byte[] page = slab.page(h);
            final int start = DataSlab.dataOffset(h);
            int position = start;
            while (attributes.hasNext())
            {
                attributes.next();
                final int nameLength = attributes.nameLength();
                DataSlab.putU16(page, position, nameLength);
                attributes.getName(page, position + 2, nameLength);
                position += 2 + nameLength;
                final int valueLength = attributes.valueLength();
                DataSlab.putU16(page, position, valueLength);
                attributes.getValue(page, position + 2, valueLength);
                position += 2 + valueLength;
            }
            final int keyLength = messages.keyLength();   // at most config.maxKeyBytes, checked above
            if (position - start + keyLength != dataLength)
            {
                throw new IllegalStateException("publish: message " + index + " has " + (position - start + keyLength) +
                    " bytes of data, validation measured " + dataLength);
            }
            messages.getKey(page, position, keyLength);
            slab.setKeyLength(h, keyLength);
            final int hint = null == hints ? -1 : hints[index];
            m.keyHash = hint >= 0 ? hint : Murmur3.keyHash(page, position, keyLength);
            index++;

            final int partition = Murmur3.partition(m.keyHash, topic.partitionCount);
            store(topic, partition, m);
            ids.next().partition(partition).ledger(m.ledgerId()).entry(m.entry);
            if (!m.hasDeliveries())
            {
                releaseMessage(m);
            }
        }
        emit(sessionId, receiptEncoder.encodedLength());
    }

    /**
     * Assign the id and, if the topic has subscriptions, keep the message with a pending delivery for each.
     */
    private void store(final Topic topic, final int partition, final Message m)
    {
        Ledger ledger = topic.ledgers[partition];
        if (ledger.eraMs != Ledger.era(nowMs))
        {
            // the clock entered another 2^32 ms era: same ledger, another object for the publish times' high half
            ledger = new Ledger(topic, partition, ledger.id, Ledger.era(nowMs));
            topic.ledgers[partition] = ledger;
        }
        m.ledger = ledger;
        m.entry = topic.nextEntry[partition]++;
        m.sequence = nextSequence++;
        m.publishTimeLow = (int)nowMs;
        topic.published++;

        final ArrayList<Subscription> subs = topic.subscriptions;
        final int n = subs.size();
        if (n == 0)
        {
            return;
        }
        topic.messages[partition].put(m.entry, m);
        liveMessages++;
        liveBytes += slab.payloadBytes(m.dataHandle);
        for (int i = 0; i < n; i++)
        {
            final Subscription subscription = subs.get(i);
            final Delivery d = allocateDelivery(subscription, m);
            d.setState(Delivery.PENDING);
            subscription.pending.append(d);   // after the key_shared scan cursor: the cursor stays
            if (subscription.type == SubscriptionType.KEY_SHARED)
            {
                countKeySharedPending(subscription, d, 1);
            }
            markDirty(subscription);
        }
    }

    private void deadLetter(final Delivery d)
    {
        final Subscription subscription = d.subscription();
        final Message original = d.message();
        Topic dlq = topicsByName.get(subscription.deadLetterTopic);
        if (dlq == null)
        {
            dlq = createTopic(subscription.deadLetterTopic, 1);
        }

        final Message m = allocateMessage();
        final int idLength = formatId(original.partition(), original.ledgerId(), original.entry, originalIdScratch);
        final int extra = 4 + ORIGINAL_ID.length + idLength;
        // the original's attributes, the original-id attribute, the original's key: a new record of the new length
        final int from = original.dataHandle;
        final int keyOffset = slab.keyOffset(from);
        final int keyLength = slab.keyLength(from);
        final int h = slab.allocate(   // at most EngineConfig.MAX_ATTRIBUTES + 21 hops attributes
            slab.dataLength(from) + extra, keyLength, slab.attributeCount(from) + 1);
        m.dataHandle = h;
        final byte[] source = slab.page(from);
        final int sourceStart = DataSlab.dataOffset(from);
        final byte[] page = slab.page(h);
        int position = DataSlab.dataOffset(h);
        System.arraycopy(source, sourceStart, page, position, keyOffset);
        position += keyOffset;
        DataSlab.putU16(page, position, ORIGINAL_ID.length);
        System.arraycopy(ORIGINAL_ID, 0, page, position + 2, ORIGINAL_ID.length);
        position += 2 + ORIGINAL_ID.length;
        DataSlab.putU16(page, position, idLength);
        System.arraycopy(originalIdScratch, 0, page, position + 2, idLength);
        position += 2 + idLength;
        System.arraycopy(source, sourceStart + keyOffset, page, position, keyLength);
        m.keyHash = original.keyHash;

        store(dlq, Murmur3.partition(m.keyHash, dlq.partitionCount), m);
        if (!m.hasDeliveries())
        {
            releaseMessage(m);
        }
        subscription.deadLettered++;
        subscription.topic.deadLettered++;
        complete(d);
    }

    private static int formatId(final int partition, final long ledger, final long entry, final byte[] dst)
    {
        int position = formatLong(partition, dst, 0);
        dst[position++] = ':';
        position = formatLong(ledger, dst, position);
        dst[position++] = ':';
        return formatLong(entry, dst, position);
    }

    private static int formatLong(final long value, final byte[] dst, final int offset)
    {
        if (value == 0)
        {
            dst[offset] = '0';
            return offset + 1;
        }
        int digits = 0;
        for (long v = value; v > 0; v /= 10)
        {
            digits++;
        }
        long v = value;
        for (int i = offset + digits - 1; i >= offset; i--)
        {
            dst[i] = (byte)('0' + (v % 10));
            v /= 10;
        }
        return offset + digits;
    }

    // =====================================================================================================
    // ack and nack
    // =====================================================================================================

    /**
     * Ack and Nack have the same layout (correlationId, consumerId, ids group), so one decoder reads both: the
     * template id decides what happens to each id that is found.
     */
    private void onAckOrNack(final long sessionId, final int templateId, final int blockLength, final int version)
    {
        if (!checkBlock(sessionId, templateId, blockLength, AckDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final AckDecoder d = ackDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
        final long correlationId = d.correlationId();
        final long consumerId = d.consumerId();
        final int count;
        try
        {
            final AckDecoder.IdsDecoder ids = d.ids();
            count = ids.count();
            if (count > config.maxAckBatch)
            {
                error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                    "ids: " + count + " ids exceed the limit of " + config.maxAckBatch + " per batch");
                return;
            }
            for (int i = 0; i < count; i++)
            {
                ids.next();
                idPartitions[i] = ids.partition();
                idLedgers[i] = ids.ledger();
                idEntries[i] = ids.entry();
            }
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, correlationId, templateId, ex);
            return;
        }
        final Consumer consumer = ownedConsumer(sessionId, correlationId, templateId, consumerId);
        if (consumer == null)
        {
            return;
        }

        final boolean nack = templateId == NackDecoder.TEMPLATE_ID;
        int done = 0;
        for (int i = 0; i < count; i++)
        {
            final Delivery delivery = find(consumer, idPartitions[i], idLedgers[i], idEntries[i]);
            if (delivery == null)
            {
                continue;
            }
            if (!nack)
            {
                complete(delivery);
                done++;
            }
            else if (delivery.state() == Delivery.OUTSTANDING)
            {
                redeliver(delivery, true);
                done++;
            }
        }
        final Subscription subscription = consumer.subscription;
        if (nack)
        {
            subscription.nacked += done;
            subscription.topic.nacked += done;
        }
        else
        {
            subscription.acked += done;
            subscription.topic.acked += done;
        }
        markDirty(subscription);
        ackReceipt(sessionId, correlationId, consumerId, done, count - done);
    }

    /**
     * The delivery of a message id for the consumer's subscription (for multicast: the consumer's own copy).
     */
    private Delivery find(final Consumer consumer, final int partition, final long ledger, final long entry)
    {
        final Subscription subscription = consumer.subscription;
        final Topic topic = subscription.topic;
        if (partition < 0 || partition >= topic.partitionCount)
        {
            return null;
        }
        final Message m = topic.messages[partition].get(entry);
        if (m == null || m.ledgerId() != ledger)
        {
            return null;
        }
        final boolean multicast = subscription.type == SubscriptionType.MULTICAST;
        for (Delivery d = m.firstDelivery(); d != null; d = d.nextOfMessage)
        {
            if (d.subscription() == subscription && (!multicast || d.consumer() == consumer))
            {
                return d;
            }
        }
        return null;
    }

    // =====================================================================================================
    // delivery state transitions
    // =====================================================================================================

    /**
     * Send a pending delivery to a consumer with a free permit.
     */
    private void deliver(final Delivery d, final Consumer consumer)
    {
        final Subscription subscription = d.subscription();
        d.pendingList().remove(d);
        d.setState(Delivery.OUTSTANDING);
        if (d.consumer() == null)
        {
            consumer.own(d);   // shared, key_shared; a multicast copy is bound to its consumer from the fan-out
        }
        d.setDeliveryCount(d.deliveryCount() + 1);
        subscription.delivered++;
        subscription.topic.delivered++;
        if (d.deliveryCount() > 1)
        {
            subscription.redeliveries++;
            subscription.topic.redelivered++;
        }
        d.dueMs = subscription.ackTimeoutMs > 0 ? nowMs + subscription.ackTimeoutMs : Long.MAX_VALUE;
        subscription.outstanding.append(d);
        consumer.outstanding++;
        if (subscription.type == SubscriptionType.KEY_SHARED)
        {
            final KeyState ks = keyState(subscription, d.message().keyHash);
            ks.holder = consumer;
            ks.outstanding++;
        }

        consumer.batch[consumer.batchSize++] = d;
        if (!consumer.inFlushList)
        {
            consumer.inFlushList = true;
            flushList.add(consumer);
        }
        if (consumer.batchSize == consumer.batch.length)
        {
            flush(consumer);
        }
    }

    /**
     * An outstanding delivery stops being outstanding (ack, nack, timeout, detach).
     */
    private void leaveOutstanding(final Delivery d)
    {
        final Subscription subscription = d.subscription();
        final Consumer consumer = d.consumer();
        subscription.outstanding.remove(d);
        consumer.outstanding--;
        if (subscription.type != SubscriptionType.MULTICAST)
        {
            consumer.disown(d);
            d.unbind();
        }
        if (subscription.type == SubscriptionType.KEY_SHARED)
        {
            final KeyState ks = subscription.keys.get(d.message().keyHash);
            ks.outstanding--;
            if (ks.outstanding == 0)
            {
                ks.holder = null;
                releaseKeyStateIfIdle(subscription, ks);
            }
            subscription.scanStale = true;   // a free permit, a key no longer draining or below maxInFlightPerKey
        }
        markDirty(subscription);
    }

    /**
     * An outstanding delivery must be sent again: after the nack delay, or at once; dead-lettered instead
     * once it has been sent maxDeliveries times.
     */
    private void redeliver(final Delivery d, final boolean nackDelay)
    {
        final Subscription subscription = d.subscription();
        if (subscription.maxDeliveries > 0 && d.deliveryCount() >= subscription.maxDeliveries)
        {
            deadLetter(d);
            return;
        }
        leaveOutstanding(d);
        if (nackDelay && subscription.nackDelayMs > 0)
        {
            d.setState(Delivery.DELAYED);
            d.dueMs = nowMs + subscription.nackDelayMs;
            subscription.delayed.append(d);
            if (subscription.type == SubscriptionType.KEY_SHARED)
            {
                keyState(subscription, d.message().keyHash).delayed++;
            }
        }
        else
        {
            makePending(d);
        }
    }

    private void makePending(final Delivery d)
    {
        d.setState(Delivery.PENDING);
        d.dueMs = 0;
        final Subscription subscription = d.subscription();
        if (subscription.type == SubscriptionType.MULTICAST)
        {
            d.consumer().multicastPending.insertBySequence(d);
        }
        else
        {
            subscription.pending.insertBySequence(d);
            if (subscription.type == SubscriptionType.KEY_SHARED)
            {
                countKeySharedPending(subscription, d, 1);
                final Delivery cursor = subscription.scanAfter;
                if (cursor != null && d.message().sequence < cursor.message().sequence)
                {
                    // it went into the prefix unexamined: count it there, the next pass re-examines the prefix
                    subscription.ring.owner(d.message().keyHash).keySharedSkipped++;
                    subscription.scanSkipped++;
                    subscription.scanStale = true;
                    if (subscription.scanSkipped > config.keySharedLookahead)
                    {
                        // the prefix never reaches past the lookahead: its last delivery goes back behind the cursor
                        subscription.ring.owner(cursor.message().keyHash).keySharedSkipped--;
                        subscription.scanSkipped--;
                        subscription.scanAfter = cursor.prev;
                    }
                }
            }
        }
        markDirty(subscription);
    }

    /**
     * The delivery is done for its subscription (acked, dead-lettered, its consumer or subscription gone):
     * forget it, and the message too if this was its last delivery.
     */
    private void complete(final Delivery d)
    {
        final Subscription subscription = d.subscription();
        switch (d.state())
        {
            case Delivery.OUTSTANDING:
                leaveOutstanding(d);
                break;
            case Delivery.DELAYED:
                subscription.delayed.remove(d);
                if (subscription.type == SubscriptionType.KEY_SHARED)
                {
                    final KeyState ks = subscription.keys.get(d.message().keyHash);
                    ks.delayed--;
                    releaseKeyStateIfIdle(subscription, ks);
                    subscription.scanStale = true;   // its key may no longer wait for a nacked message
                }
                break;
            default:
                if (subscription.type == SubscriptionType.KEY_SHARED)
                {
                    countKeySharedPending(subscription, d, -1);
                    final Delivery cursor = subscription.scanAfter;
                    if (cursor != null && d.message().sequence <= cursor.message().sequence)
                    {
                        // it leaves the prefix (the rest of which stays as it was)
                        subscription.ring.owner(d.message().keyHash).keySharedSkipped--;
                        subscription.scanSkipped--;
                        if (d == cursor)
                        {
                            subscription.scanAfter = d.prev;
                        }
                    }
                }
                d.pendingList().remove(d);
                break;
        }
        final Consumer owner = d.consumer();
        if (owner != null)
        {
            owner.disown(d);
        }
        markDirty(subscription);

        final Message m = d.message();
        if (d == m)
        {
            m.clearDelivery(Delivery.UNUSED);   // the message's own delivery: the chain of the others stays
        }
        else
        {
            Delivery previous = m;
            for (ExtraDelivery x = m.nextOfMessage; x != null; x = x.nextOfMessage)
            {
                if (x == d)
                {
                    previous.nextOfMessage = x.nextOfMessage;
                    break;
                }
                previous = x;
            }
            releaseDelivery((ExtraDelivery)d);
        }
        if (!m.hasDeliveries())
        {
            m.topic().messages[m.partition()].remove(m.entry);
            liveMessages--;
            liveBytes -= slab.payloadBytes(m.dataHandle);
            releaseMessage(m);
        }
    }

    // =====================================================================================================
    // timers
    // =====================================================================================================

    private void processTimers()
    {
        long next = Long.MAX_VALUE;
        final long now = nowMs;
        for (int i = 0, n = subscriptions.size(); i < n; i++)
        {
            final Subscription subscription = subscriptions.get(i);
            if (subscription.ackTimeoutMs > 0)
            {
                Delivery d;
                while ((d = subscription.outstanding.head) != null && d.dueMs <= now)
                {
                    redeliver(d, false);
                }
            }
            Delivery d;
            while ((d = subscription.delayed.head) != null && d.dueMs <= now)
            {
                subscription.delayed.remove(d);
                if (subscription.type == SubscriptionType.KEY_SHARED)
                {
                    final KeyState ks = subscription.keys.get(d.message().keyHash);
                    ks.delayed--;
                    releaseKeyStateIfIdle(subscription, ks);
                    subscription.scanStale = true;
                }
                makePending(d);
            }
            next = Math.min(next, subscription.nextDueMs());
        }
        nextDeadlineMs = next;
    }

    // =====================================================================================================
    // dispatch
    // =====================================================================================================

    private void markDirty(final Subscription subscription)
    {
        if (!subscription.dirty)
        {
            subscription.dirty = true;
            dirty.add(subscription);
        }
    }

    private void dispatchDirty()
    {
        // dead-lettering during dispatch is impossible (it only happens on nack, timeout and detach), but a
        // dispatch may not add to the list it iterates; index-based iteration tolerates appends anyway
        for (int i = 0; i < dirty.size(); i++)
        {
            final Subscription subscription = dirty.get(i);
            subscription.dirty = false;
            switch (subscription.type)
            {
                case SHARED:
                    dispatchShared(subscription);
                    break;
                case KEY_SHARED:
                    dispatchKeyShared(subscription);
                    break;
                case MULTICAST:
                    dispatchMulticast(subscription);
                    break;
                default:
                    break;
            }
            final long due = subscription.nextDueMs();
            if (due < nextDeadlineMs)
            {
                nextDeadlineMs = due;
            }
        }
        dirty.clear();
    }

    private void dispatchShared(final Subscription subscription)
    {
        final ArrayList<Consumer> consumers = subscription.consumers;
        final int n = consumers.size();
        final DeliveryList pending = subscription.pending;
        int idle = 0;
        while (pending.head != null && n > 0 && idle < n)
        {
            final Consumer consumer = consumers.get(subscription.roundRobin % n);
            subscription.roundRobin = (subscription.roundRobin + 1) % n;
            int take = Math.min(consumer.freePermits(), consumer.batch.length);
            if (take <= 0)
            {
                idle++;
                continue;
            }
            idle = 0;
            while (take-- > 0 && pending.head != null)
            {
                deliver(pending.head, consumer);
            }
        }
    }

    /**
     * One key_shared pass. Semantically it is the pass that examines the pending list from its head, in publish
     * order, at most {@code keySharedLookahead} deliveries (sent ones included), sending each eligible one to the
     * owner of its key, until nothing more can be sent. Its cost is not: it skips what cannot send anything.
     * <ul>
     * <li><b>The bound</b>: a delivery goes only to the owner of its key, and only while the owner has a free permit.
     * Sum over consumers of min(free permits, deliveries of its keys still to be examined) bounds what the rest of a
     * walk can send; the walk stops when it reaches 0.</li>
     * <li><b>The prefix</b> ({@link Subscription#scanAfter}, {@link Subscription#scanSkipped}): the pending deliveries
     * before the cursor were examined and found ineligible. Sending only makes deliveries less eligible (fewer free
     * permits, more outstanding per key, a key held by its owner), so they stay ineligible until an event that can
     * change that: more permits ({@code Flow}), an outstanding delivery leaving (ack, nack, ack timeout, detach,
     * dead letter), a delayed delivery leaving its delay or acked, a ring change, a delivery re-entering the pending
     * list before the cursor. Those mark the prefix stale. A delivery removed from the prefix (acked while
     * pending) just leaves it. A publish appends after the cursor and leaves the prefix as it is.</li>
     * </ul>
     * A pass: (1) if the prefix is stale, re-examine it from the head, sending what is eligible, only while the
     * bound over the prefix's own deliveries is above 0 (past that point every delivery left in the prefix has an
     * owner without a free permit: ineligible; the full walk would skip them all). (2) Continue at the cursor with
     * the whole prefix as it was at the start of the pass counted against the lookahead (the full walk examined it
     * too), skipping what is ineligible into the prefix, while the bound over the rest is above 0. A publish then
     * costs the examination of what it added; an ack about the deliveries it lets go.
     * <p>
     * The deliveries, their order and their consumers are exactly those of the full walk
     * ({@link #keySharedFullRescan}, compared command by command in {@code KeySharedDispatchTest}).
     */
    private void dispatchKeyShared(final Subscription subscription)
    {
        if (keySharedFullRescan)
        {
            dispatchKeySharedFullRescan(subscription);
            return;
        }
        final ArrayList<Consumer> consumers = subscription.consumers;
        if (consumers.isEmpty() || subscription.pending.head == null)
        {
            return;
        }
        final int maxInFlightPerKey = subscription.maxInFlightPerKey;
        final int prefixAtStart = subscription.scanSkipped;

        // (1) a stale prefix: re-examine it while a consumer with a free permit has deliveries in it
        if (subscription.scanStale)
        {
            subscription.scanStale = false;
            long possible = 0;
            for (int i = 0, n = consumers.size(); i < n; i++)
            {
                final Consumer c = consumers.get(i);
                c.keySharedRecheck = c.keySharedSkipped;
                possible += Math.min(Math.max(0, c.freePermits()), c.keySharedRecheck);
            }
            Delivery d = subscription.pending.head;
            while (d != null && possible > 0)
            {
                final Delivery next = d.next;
                keySharedExamined++;
                final Consumer owner = subscription.ring.owner(d.message().keyHash);
                final int ownerBefore = Math.min(Math.max(0, owner.freePermits()), owner.keySharedRecheck);
                owner.keySharedRecheck--;
                if (keySharedEligible(subscription, d, owner, maxInFlightPerKey))
                {
                    if (d == subscription.scanAfter)
                    {
                        subscription.scanAfter = d.prev;
                    }
                    subscription.scanSkipped--;
                    owner.keySharedSkipped--;
                    owner.keySharedPending--;
                    deliver(d, owner);
                }
                possible -= ownerBefore - Math.min(Math.max(0, owner.freePermits()), owner.keySharedRecheck);
                d = next;
            }
        }

        // (2) on from the cursor
        long possible = 0;
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            possible += keySharedPossible(consumers.get(i));
        }
        final int lookahead = config.keySharedLookahead;
        int scanned = prefixAtStart;
        Delivery d = subscription.scanAfter == null ? subscription.pending.head : subscription.scanAfter.next;
        while (d != null && possible > 0 && scanned < lookahead)
        {
            final Delivery next = d.next;
            scanned++;
            keySharedExamined++;
            final Consumer owner = subscription.ring.owner(d.message().keyHash);
            final int ownerBefore = keySharedPossible(owner);
            if (keySharedEligible(subscription, d, owner, maxInFlightPerKey))
            {
                owner.keySharedPending--;
                deliver(d, owner);
            }
            else
            {
                owner.keySharedSkipped++;
                subscription.scanAfter = d;
                subscription.scanSkipped++;
            }
            possible -= ownerBefore - keySharedPossible(owner);
            d = next;
        }
    }

    /**
     * How many more deliveries the current key_shared pass can send this consumer: its free permits, at most the
     * pending deliveries of its keys not yet skipped.
     */
    private static int keySharedPossible(final Consumer consumer)
    {
        return Math.min(Math.max(0, consumer.freePermits()), consumer.keySharedPending - consumer.keySharedSkipped);
    }

    static boolean keySharedEligible(
        final Subscription subscription, final Delivery d, final Consumer owner, final int maxInFlightPerKey)
    {
        if (owner.freePermits() <= 0)
        {
            return false;
        }
        final KeyState ks = subscription.keys.get(d.message().keyHash);
        if (ks == null)
        {
            return true;
        }
        if (ks.delayed > 0)
        {
            return false;   // a nacked message of this key goes first
        }
        if (ks.outstanding > 0 && ks.holder != owner)
        {
            return false;   // draining from its previous owner
        }
        return maxInFlightPerKey <= 0 || ks.outstanding < maxInFlightPerKey;
    }

    /**
     * The key_shared pass before the cursor, kept as the oracle of {@link #dispatchKeyShared} in tests: from the
     * head every time, while any consumer has a free permit.
     */
    private void dispatchKeySharedFullRescan(final Subscription subscription)
    {
        final ArrayList<Consumer> consumers = subscription.consumers;
        if (consumers.isEmpty() || subscription.pending.head == null)
        {
            return;
        }
        long free = 0;
        for (int i = 0, n = consumers.size(); i < n; i++)
        {
            free += Math.max(0, consumers.get(i).freePermits());
        }
        final int maxInFlightPerKey = subscription.maxInFlightPerKey;
        int scanned = 0;
        Delivery d = subscription.pending.head;
        while (d != null && free > 0 && scanned < config.keySharedLookahead)
        {
            final Delivery next = d.next;
            scanned++;
            keySharedExamined++;
            final Consumer owner = subscription.ring.owner(d.message().keyHash);
            if (keySharedEligible(subscription, d, owner, maxInFlightPerKey))
            {
                owner.keySharedPending--;
                deliver(d, owner);
                free--;
            }
            d = next;
        }
    }

    /**
     * key_shared: a delivery entered (+1) or left (-1) the pending list; count it for the owner of its key.
     */
    private static void countKeySharedPending(final Subscription subscription, final Delivery d, final int delta)
    {
        final Consumer owner = subscription.ring.owner(d.message().keyHash);
        if (owner != null)
        {
            owner.keySharedPending += delta;
        }
    }

    private void dispatchMulticast(final Subscription subscription)
    {
        final ArrayList<Consumer> consumers = subscription.consumers;
        final int n = consumers.size();
        if (n == 0)
        {
            return;
        }
        // messages that arrived with no consumer attached go to every consumer attached now
        Delivery d;
        while ((d = subscription.pending.head) != null)
        {
            subscription.pending.remove(d);
            final Message m = d.message();
            for (int i = 0; i < n; i++)
            {
                final Consumer consumer = consumers.get(i);
                final Delivery copy = i == 0 ? d : allocateDelivery(subscription, m);
                copy.setState(Delivery.PENDING);
                consumer.own(copy);
                consumer.multicastPending.insertBySequence(copy);
            }
        }
        for (int i = 0; i < n; i++)
        {
            final Consumer consumer = consumers.get(i);
            int take = consumer.freePermits();
            while (take-- > 0 && (d = consumer.multicastPending.head) != null)
            {
                deliver(d, consumer);
            }
        }
    }

    // =====================================================================================================
    // events
    // =====================================================================================================

    private void flushBatches()
    {
        final ArrayList<Consumer> list = flushList;
        for (int i = 0, n = list.size(); i < n; i++)
        {
            final Consumer consumer = list.get(i);
            consumer.inFlushList = false;
            flush(consumer);
        }
        list.clear();
    }

    private void flush(final Consumer consumer)
    {
        final int n = consumer.batchSize;
        if (n == 0)
        {
            return;
        }
        final DeliveriesEncoder.MessagesEncoder messages = deliveriesEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .consumerId(consumer.id)
            .messagesCount(n);
        final Delivery[] batch = consumer.batch;
        for (int i = 0; i < n; i++)
        {
            final Delivery d = batch[i];
            batch[i] = null;
            final Message m = d.message();
            messages.next()
                .partition(m.partition())
                .ledger(m.ledgerId())
                .entry(m.entry)
                .publishTimeMs(m.publishTimeMs())
                .deliveryCount(d.deliveryCount());
            final int h = m.dataHandle;
            final int attributeCount = slab.attributeCount(h);
            final DeliveriesEncoder.MessagesEncoder.AttributesEncoder attributes = messages.attributesCount(attributeCount);
            final byte[] page = slab.page(h);
            int position = DataSlab.dataOffset(h);
            for (int a = 0; a < attributeCount; a++)
            {
                final int nameLength = DataSlab.getU16(page, position);
                final int valueOffset = position + 2 + nameLength;
                final int valueLength = DataSlab.getU16(page, valueOffset);
                attributes.next()
                    .putName(page, position + 2, nameLength)
                    .putValue(page, valueOffset + 2, valueLength);
                position = valueOffset + 2 + valueLength;
            }
            messages.putKey(page, position, slab.keyLength(h));   // the key follows the attributes
        }
        consumer.batchSize = 0;
        emit(consumer.sessionId, deliveriesEncoder.encodedLength());
    }

    private void emit(final long sessionId, final int encodedLength)
    {
        listener.onEvent(sessionId, out, 0, MessageHeaderEncoder.ENCODED_LENGTH + encodedLength);
    }

    private void error(
        final long sessionId, final long correlationId, final int templateId, final ErrorCode code, final String message)
    {
        errorEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId)
            .code(code)
            .commandTemplateId(templateId)
            .message(message);
        emit(sessionId, errorEncoder.encodedLength());
    }

    private void adminResult(final long sessionId, final long correlationId, final AdminOutcome outcome)
    {
        adminResultEncoder.wrapAndApplyHeader(out, 0, headerEncoder).correlationId(correlationId).outcome(outcome);
        emit(sessionId, adminResultEncoder.encodedLength());
    }

    private void ackReceipt(final long sessionId, final long correlationId, final long consumerId, final int done, final int unknown)
    {
        ackReceiptEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId)
            .consumerId(consumerId)
            .done(done)
            .unknown(unknown);
        emit(sessionId, ackReceiptEncoder.encodedLength());
    }

    private void consumerClosed(final Consumer consumer, final String reason)
    {
        consumerClosedEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .consumerId(consumer.id)
            .code(ErrorCode.SUBSCRIPTION_NOT_FOUND)
            .message(reason);
        emit(consumer.sessionId, consumerClosedEncoder.encodedLength());
    }

    // =====================================================================================================
    // queries
    // =====================================================================================================

    private void onDescribeTopic(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = DescribeTopicDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, DescribeTopicDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId;
        final String name;
        try
        {
            final DescribeTopicDecoder d = describeTopicDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version);
            correlationId = d.correlationId();
            name = d.topic();
        }
        catch (final RuntimeException ex)
        {
            malformed(sessionId, 0, templateId, ex);
            return;
        }
        final Topic topic = topicsByName.get(name);
        if (topic == null)
        {
            error(sessionId, correlationId, templateId, ErrorCode.TOPIC_NOT_FOUND, "topic '" + name + "' does not exist");
            return;
        }

        final TopicDescriptionEncoder encoder = topicDescriptionEncoder.wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId)
            .topicId(topic.id)
            .partitions(topic.partitionCount)
            .published(topic.published)
            .delivered(topic.delivered)
            .acked(topic.acked)
            .nacked(topic.nacked)
            .redelivered(topic.redelivered)
            .deadLettered(topic.deadLettered);
        final TopicDescriptionEncoder.SubscriptionsEncoder subs = encoder.subscriptionsCount(topic.subscriptions.size());
        for (final Subscription s : topic.subscriptions)
        {
            subs.next()
                .subscriptionType(s.type)
                .backlog(s.backlog())
                .inFlight(s.outstanding.size)
                .consumers(s.consumers.size())
                .redeliveries(s.redeliveries)
                .deadLettered(s.deadLettered)
                .ackTimeoutMs(s.ackTimeoutMs)
                .nackDelayMs(s.nackDelayMs)
                .maxDeliveries(s.maxDeliveries)
                .maxInFlightPerKey(s.maxInFlightPerKey)
                .delivered(s.delivered)
                .acked(s.acked)
                .nacked(s.nacked)
                .name(s.name);
        }
        encoder.topicName(topic.name);
        emit(sessionId, encoder.encodedLength());
    }

    private void onListTopics(final long sessionId, final int blockLength, final int version)
    {
        final int templateId = ListTopicsDecoder.TEMPLATE_ID;
        if (!checkBlock(sessionId, templateId, blockLength, ListTopicsDecoder.BLOCK_LENGTH))
        {
            return;
        }
        final long correlationId = listTopicsDecoder.wrap(frame, MessageHeaderDecoder.ENCODED_LENGTH, blockLength, version)
            .correlationId();
        final TopicListEncoder encoder = topicListEncoder.wrapAndApplyHeader(out, 0, headerEncoder).correlationId(correlationId);
        final TopicListEncoder.TopicsEncoder list = encoder.topicsCount(topics.size());
        for (final Topic topic : topics)
        {
            list.next().topicId(topic.id).partitions(topic.partitionCount).name(topic.name);
        }
        emit(sessionId, encoder.encodedLength());
    }

    // =====================================================================================================
    // helpers and pools
    // =====================================================================================================

    private boolean validName(
        final long sessionId, final long correlationId, final int templateId, final String field, final String name)
    {
        if (!NAME.matcher(name).matches())
        {
            error(sessionId, correlationId, templateId, ErrorCode.INVALID_ARGUMENT,
                field + ": '" + abbreviate(name) + "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
            return false;
        }
        return true;
    }

    private static String abbreviate(final String value)
    {
        return value.length() <= 64 ? value : value.substring(0, 64) + "...";
    }

    private static SubscriptionType subscriptionType(final short raw)
    {
        switch (raw)
        {
            case 0:
                return SubscriptionType.SHARED;
            case 1:
                return SubscriptionType.KEY_SHARED;
            case 2:
                return SubscriptionType.MULTICAST;
            default:
                return null;
        }
    }

    static String typeName(final SubscriptionType type)
    {
        return type.name().toLowerCase();
    }

    private KeyState keyState(final Subscription subscription, final int keyHash)
    {
        KeyState ks = subscription.keys.get(keyHash);
        if (ks == null)
        {
            ks = freeKeyStates;
            if (ks == null)
            {
                ks = new KeyState();
            }
            else
            {
                freeKeyStates = ks.nextFree;
                ks.nextFree = null;
            }
            ks.keyHash = keyHash;
            subscription.keys.put(keyHash, ks);
        }
        return ks;
    }

    private void releaseKeyStateIfIdle(final Subscription subscription, final KeyState ks)
    {
        if (ks.outstanding == 0 && ks.delayed == 0)
        {
            subscription.keys.remove(ks.keyHash);
            ks.holder = null;
            ks.nextFree = freeKeyStates;
            freeKeyStates = ks;
        }
    }

    private Message allocateMessage()
    {
        if (freeMessageCount == 0)
        {
            return new Message();
        }
        final Message m = freeMessages[--freeMessageCount];
        freeMessages[freeMessageCount] = null;
        return m;
    }

    /**
     * Back to the pool, its record freed (the slab throws if it was freed already: a message released twice).
     */
    private void releaseMessage(final Message m)
    {
        slab.free(m.dataHandle);
        m.reset();
        if (freeMessageCount == freeMessages.length)
        {
            freeMessages = Arrays.copyOf(freeMessages, freeMessageCount << 1);
        }
        freeMessages[freeMessageCount++] = m;
    }

    /**
     * A new delivery of {@code m} for {@code subscription}: the message's own if unused, else a pooled
     * {@link ExtraDelivery} put at the head of its chain.
     */
    private Delivery allocateDelivery(final Subscription subscription, final Message m)
    {
        if (m.state() == Delivery.UNUSED)
        {
            m.owner = subscription;
            m.setState(Delivery.PENDING);
            return m;
        }
        ExtraDelivery d = freeDeliveries;
        if (d == null)
        {
            d = new ExtraDelivery();
        }
        else
        {
            freeDeliveries = (ExtraDelivery)d.next;
            d.next = null;
        }
        d.owner = subscription;
        d.message = m;
        d.nextOfMessage = m.nextOfMessage;
        m.nextOfMessage = d;
        return d;
    }

    private void releaseDelivery(final ExtraDelivery d)
    {
        d.reset();
        d.next = freeDeliveries;
        freeDeliveries = d;
    }

    // =====================================================================================================
    // state hash
    // =====================================================================================================

    /**
     * A hash of everything that determines future behaviour. Replaying the journal into a fresh engine must
     * give the same value as the engine that wrote it.
     */
    public long stateHash()
    {
        final Hasher h = new Hasher();
        h.add(nowMs).add(nextTopicId).add(nextConsumerId).add(nextLedgerId).add(nextSequence)
            .add(liveMessages).add(liveBytes).add(startCount).add(nextDeadlineMs);
        for (final Topic topic : topics)
        {
            h.add(topic.id).add(topic.name).add(topic.partitionCount);
            for (int p = 0; p < topic.partitionCount; p++)
            {
                h.add(topic.owned[p] ? 1 : 0).add(topic.ledgers[p].id).add(topic.nextEntry[p]).add(topic.messages[p].size());
                final long[] sum = {0};   // a sum, so it does not depend on the order of iteration
                topic.messages[p].forEach((entry, m) -> sum[0] += messageHash(slab, m));
                h.add(sum[0]);
            }
            for (final Subscription s : topic.subscriptions)
            {
                h.add(s.name).add(s.type.ordinal()).add(s.ackTimeoutMs).add(s.nackDelayMs).add(s.maxDeliveries)
                    .add(s.maxInFlightPerKey).add(s.roundRobin).add(s.redeliveries).add(s.deadLettered);
                hashList(h, s.pending);
                hashList(h, s.delayed);
                hashList(h, s.outstanding);
                for (final Consumer c : s.consumers)
                {
                    h.add(c.id).add(c.sessionId).add(c.name).add(c.permits).add(c.outstanding).add(c.ownedCount);
                    hashList(h, c.multicastPending);
                }
                final long[] keySum = {0};
                s.keys.forEach((hash, ks) -> keySum[0] += Murmur3.fmix64(
                    ks.keyHash * 31L + (ks.holder == null ? 0 : ks.holder.id) * 17L + ks.outstanding * 7L + ks.delayed));
                h.add(keySum[0]);
            }
        }
        return h.value;
    }

    private static void hashList(final Hasher h, final DeliveryList list)
    {
        h.add(list.size);
        for (Delivery d = list.head; d != null; d = d.next)
        {
            h.add(d.message().sequence).add(d.state()).add(d.deliveryCount()).add(d.dueMs)
                .add(d.consumer() == null ? 0 : d.consumer().id);
        }
    }

    private static long messageHash(final DataSlab slab, final Message m)
    {
        final Hasher h = new Hasher();
        final int data = m.dataHandle;
        h.add(m.partition()).add(m.ledgerId()).add(m.entry).add(m.sequence).add(m.publishTimeMs()).add(m.keyHash)
            .add(slab.keyOffset(data)).add(slab.keyLength(data)).add(slab.attributeCount(data))
            .add(slab.payloadBytes(data)).add(m.deliveries());
        final byte[] page = slab.page(data);
        final int start = DataSlab.dataOffset(data);
        for (int i = 0, n = slab.dataLength(data); i < n; i++)
        {
            h.add(page[start + i]);
        }
        // the deliveries as a set: their order in the chain depends on which one the message object itself holds
        // (Delivery), which a snapshot's loader may choose differently, and nothing the engine decides depends on it
        long deliveries = 0;
        for (Delivery d = m.firstDelivery(); d != null; d = d.nextOfMessage)
        {
            deliveries += new Hasher().add(d.subscription().name).add(d.state()).add(d.deliveryCount()).add(d.dueMs)
                .add(d.consumer() == null ? 0 : d.consumer().id).value;
        }
        return h.add(deliveries).value;
    }

    private static final class Hasher
    {
        long value = 0x6a09e667f3bcc909L;

        Hasher add(final long x)
        {
            value = Murmur3.fmix64(value * 0x9E3779B97F4A7C15L + x);
            return this;
        }

        Hasher add(final String s)
        {
            return add(s.hashCode()).add(s.length());
        }
    }

    // =====================================================================================================
    // snapshots: EngineSnapshotTaker writes the state, EngineSnapshotLoader reads it back (additions only)
    // =====================================================================================================

    private EngineSnapshotTaker snapshotTaker;

    /**
     * Write the state as {@code magnetar-snapshot} records: everything {@link #stateHash()} covers, so that a
     * fresh engine that loads them behaves exactly like this one. Call between commands, on the engine thread.
     * Changes nothing; allocates a map of the live deliveries for the time of the call.
     *
     * @param journalIndex the journal index of the last command applied.
     * @param timestampMs  the sequencer's stamp on that command.
     * @param sink         receives the records in order.
     */
    public void takeSnapshot(final long journalIndex, final long timestampMs, final SnapshotSink sink)
    {
        if (null == snapshotTaker)
        {
            snapshotTaker = new EngineSnapshotTaker();
        }
        snapshotTaker.take(this, journalIndex, timestampMs, sink);
    }

    /**
     * Replace the state of this fresh engine (no command applied yet) with a snapshot's, checking all of it first.
     *
     * @param source the snapshot's records.
     * @throws SnapshotLoadException if they are not one complete, consistent snapshot; the engine is unchanged.
     * @throws IllegalStateException if a command was applied or a snapshot loaded already.
     */
    public void loadSnapshot(final SnapshotSource source)
    {
        if (!isPristine())
        {
            throw new IllegalStateException("a snapshot can only be loaded into a fresh engine");
        }
        new EngineSnapshotLoader(this, config).load(source);
    }

    private boolean isPristine()
    {
        return nowMs == 0 && nextTopicId == 1 && nextConsumerId == 1 && nextLedgerId == INITIAL_LEDGER &&
            nextSequence == 1 && startCount == 0 && topics.isEmpty() && consumers.isEmpty();
    }

    int snapshotNextTopicId()
    {
        return nextTopicId;
    }

    long snapshotNextConsumerId()
    {
        return nextConsumerId;
    }

    long snapshotNextLedgerId()
    {
        return nextLedgerId;
    }

    long snapshotNextSequence()
    {
        return nextSequence;
    }

    long snapshotStartCount()
    {
        return startCount;
    }

    List<Topic> snapshotTopics()
    {
        return topics;
    }

    EngineConfig config()
    {
        return config;
    }

    DataSlab dataSlab()
    {
        return slab;
    }

    /**
     * Tests only: a data slab with fewer page numbers, so that a test reaches the bound a publish must refuse before
     * it stores anything. Before any message is stored.
     */
    void useDataSlab(final DataSlab slab)
    {
        if (this.slab.records() != 0)
        {
            throw new IllegalStateException("the engine holds messages already");
        }
        this.slab = slab;
    }

    List<Subscription> snapshotSubscriptions()
    {
        return subscriptions;
    }

    List<Consumer> snapshotConsumers()
    {
        return consumers;
    }

    /**
     * Called by {@link EngineSnapshotLoader} once the whole snapshot is read and checked.
     */
    void restoreFromSnapshot(
        final long nowMs,
        final int nextTopicId,
        final long nextConsumerId,
        final long nextLedgerId,
        final long nextSequence,
        final long startCount,
        final long nextDeadlineMs,
        final long liveMessages,
        final long liveBytes,
        final List<Topic> topics,
        final Int2ObjectHashMap<Topic> topicsById,
        final HashMap<String, Topic> topicsByName,
        final List<Subscription> subscriptions,
        final List<Consumer> consumers,
        final Long2ObjectHashMap<Consumer> consumersById,
        final DataSlab slab)
    {
        this.nowMs = nowMs;
        this.nextTopicId = nextTopicId;
        this.nextConsumerId = nextConsumerId;
        this.nextLedgerId = nextLedgerId;
        this.nextSequence = nextSequence;
        this.startCount = startCount;
        this.nextDeadlineMs = nextDeadlineMs;
        this.liveMessages = liveMessages;
        this.liveBytes = liveBytes;
        this.topics.addAll(topics);
        this.topicsById.putAll(topicsById);
        this.topicsByName.putAll(topicsByName);
        this.subscriptions.addAll(subscriptions);
        this.consumers.addAll(consumers);
        this.consumersById.putAll(consumersById);
        this.slab = slab;   // the loaded messages' records; this engine's own was empty (a fresh engine)
    }

    /**
     * For tests: names of the topics, in creation order.
     */
    List<String> topicNames()
    {
        final ArrayList<String> names = new ArrayList<>();
        for (final Topic topic : topics)
        {
            names.add(topic.name);
        }
        return names;
    }
}
