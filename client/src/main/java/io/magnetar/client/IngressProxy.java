package io.magnetar.client;

import io.aeron.Publication;
import io.magnetar.codecs.AckEncoder;
import io.magnetar.codecs.CloseConsumerEncoder;
import io.magnetar.codecs.ConnectEncoder;
import io.magnetar.codecs.CreateSubscriptionEncoder;
import io.magnetar.codecs.CreateTopicEncoder;
import io.magnetar.codecs.DeleteSubscriptionEncoder;
import io.magnetar.codecs.DeleteTopicEncoder;
import io.magnetar.codecs.DescribeTopicEncoder;
import io.magnetar.codecs.DisconnectEncoder;
import io.magnetar.codecs.FlowEncoder;
import io.magnetar.codecs.GroupSizeEncodingEncoder;
import io.magnetar.codecs.HeartbeatEncoder;
import io.magnetar.codecs.ListTopicsEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.NackEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.codecs.SubscribeEncoder;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Encodes the client's commands (session templates 1..3, client templates 10..49) into one reusable off-heap
 * buffer at offset 0 and offers them to the ingress publication. The {@code encode*} methods return the frame
 * length; {@link #offer(int)} sends the last frame. Agent thread only: no allocation per frame.
 */
final class IngressProxy
{
    private final ExpandableDirectByteBuffer buffer;
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final ConnectEncoder connect = new ConnectEncoder();
    private final HeartbeatEncoder heartbeat = new HeartbeatEncoder();
    private final DisconnectEncoder disconnect = new DisconnectEncoder();
    private final PublishEncoder publish = new PublishEncoder();
    private final SubscribeEncoder subscribe = new SubscribeEncoder();
    private final FlowEncoder flow = new FlowEncoder();
    private final AckEncoder ack = new AckEncoder();
    private final NackEncoder nack = new NackEncoder();
    private final CloseConsumerEncoder closeConsumer = new CloseConsumerEncoder();
    private final CreateTopicEncoder createTopic = new CreateTopicEncoder();
    private final DeleteTopicEncoder deleteTopic = new DeleteTopicEncoder();
    private final CreateSubscriptionEncoder createSubscription = new CreateSubscriptionEncoder();
    private final DeleteSubscriptionEncoder deleteSubscription = new DeleteSubscriptionEncoder();
    private final DescribeTopicEncoder describeTopic = new DescribeTopicEncoder();
    private final ListTopicsEncoder listTopics = new ListTopicsEncoder();

    private Publication publication;
    private boolean notConnected;
    private long backPressureCount;

    IngressProxy()
    {
        this(new ExpandableDirectByteBuffer(64 * 1024));
    }

    IngressProxy(final ExpandableDirectByteBuffer buffer)
    {
        this.buffer = buffer;
    }

    /**
     * @return the buffer every frame is encoded into, at offset 0.
     */
    MutableDirectBuffer buffer()
    {
        return buffer;
    }

    void publication(final Publication publication)
    {
        this.publication = publication;
        this.notConnected = false;
    }

    /**
     * @return true once an offer found the publication not connected or closed: the session is lost.
     */
    boolean isNotConnected()
    {
        return notConnected;
    }

    long backPressureCount()
    {
        return backPressureCount;
    }

    /**
     * Offer the last encoded frame.
     *
     * @return true if it was sent; false if it was not (back-pressure: try again later; or the publication is not
     * connected: {@link #isNotConnected()} is then true).
     */
    boolean offer(final int length)
    {
        final Publication publication = this.publication;
        if (null == publication)
        {
            notConnected = true;
            return false;
        }
        final long result = publication.offer(buffer, 0, length);
        if (result > 0)
        {
            return true;
        }
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION)
        {
            backPressureCount++;
            return false;
        }
        notConnected = true;
        return false;
    }

    // ------------------------------------------------------------------ session

    int encodeConnect(
        final long correlationId, final int responseStreamId, final String responseChannel, final String clientName)
    {
        connect.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .protocolVersion(ClientConfig.PROTOCOL_VERSION)
            .responseStreamId(responseStreamId)
            .responseChannel(responseChannel)
            .clientName(clientName);
        return MessageHeaderEncoder.ENCODED_LENGTH + connect.encodedLength();
    }

    int encodeHeartbeat(final long sessionId)
    {
        heartbeat.wrapAndApplyHeader(buffer, 0, header).sessionId(sessionId);
        return MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength();
    }

    int encodeDisconnect(final long sessionId)
    {
        disconnect.wrapAndApplyHeader(buffer, 0, header).sessionId(sessionId);
        return MessageHeaderEncoder.ENCODED_LENGTH + disconnect.encodedLength();
    }

    // ------------------------------------------------------------------ publish

    int encodePublish(final long correlationId, final int topicId, final PublishBatch batch)
    {
        buffer.checkLimit(batch.encodedLength);
        publish.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).topicId(topicId);
        // the messages group is written as bytes: its block is empty (no fixed fields) and each message is already
        // encoded in the wire's layout (attributes group, key), so a group header and one copy per message remain
        int position = publish.limit();
        buffer.putShort(position, (short)PublishEncoder.MessagesEncoder.sbeBlockLength(), PublishEncoder.BYTE_ORDER);
        buffer.putShort(position + 2, (short)batch.count, PublishEncoder.BYTE_ORDER);
        position += GroupSizeEncodingEncoder.ENCODED_LENGTH;
        PendingMessage message = batch.first;
        for (int i = 0; i < batch.count; i++)
        {
            final byte[] data = message.data;
            buffer.putBytes(position, data, 0, data.length);
            position += data.length;
            message = message.next;
        }
        publish.limit(position);
        return MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength();
    }

    // ------------------------------------------------------------------ consumers

    int encodeSubscribe(
        final long correlationId,
        final String topic,
        final String subscription,
        final SubscriptionType type,
        final int permits,
        final String consumerName,
        final SubscriptionOptions options)
    {
        subscribe.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .subscriptionType(null == type ? io.magnetar.codecs.SubscriptionType.NULL_VAL : type.wire())
            .permits(permits)
            .ackTimeoutMs(orNull(options.ackTimeoutMs(), SubscribeEncoder.ackTimeoutMsNullValue()))
            .nackDelayMs(orNull(options.negativeAckRedeliveryDelayMs(), SubscribeEncoder.nackDelayMsNullValue()))
            .maxDeliveries(orNull(options.maxDeliveries(), SubscribeEncoder.maxDeliveriesNullValue()))
            .maxInFlightPerKey(orNull(options.maxInFlightPerKey(), SubscribeEncoder.maxInFlightPerKeyNullValue()))
            .topic(topic)
            .subscription(subscription)
            .consumerName(consumerName);
        return MessageHeaderEncoder.ENCODED_LENGTH + subscribe.encodedLength();
    }

    int encodeFlow(final long consumerId, final int permits)
    {
        flow.wrapAndApplyHeader(buffer, 0, header).consumerId(consumerId).permits(permits);
        return MessageHeaderEncoder.ENCODED_LENGTH + flow.encodedLength();
    }

    int encodeAck(final long correlationId, final long consumerId, final AckBuffer ids)
    {
        ack.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).consumerId(consumerId);
        final int size = ids.size();
        final AckEncoder.IdsEncoder group = ack.idsCount(size);
        for (int i = 0; i < size; i++)
        {
            group.next().partition(ids.partitions[i]).ledger(ids.ledgers[i]).entry(ids.entries[i]);
        }
        return MessageHeaderEncoder.ENCODED_LENGTH + ack.encodedLength();
    }

    int encodeNack(final long correlationId, final long consumerId, final AckBuffer ids)
    {
        nack.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).consumerId(consumerId);
        final int size = ids.size();
        final NackEncoder.IdsEncoder group = nack.idsCount(size);
        for (int i = 0; i < size; i++)
        {
            group.next().partition(ids.partitions[i]).ledger(ids.ledgers[i]).entry(ids.entries[i]);
        }
        return MessageHeaderEncoder.ENCODED_LENGTH + nack.encodedLength();
    }

    int encodeCloseConsumer(final long correlationId, final long consumerId)
    {
        closeConsumer.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).consumerId(consumerId);
        return MessageHeaderEncoder.ENCODED_LENGTH + closeConsumer.encodedLength();
    }

    // ------------------------------------------------------------------ admin

    int encodeCreateTopic(final long correlationId, final String topic, final int partitions)
    {
        createTopic.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).partitions(partitions).topic(topic);
        return MessageHeaderEncoder.ENCODED_LENGTH + createTopic.encodedLength();
    }

    int encodeDeleteTopic(final long correlationId, final String topic)
    {
        deleteTopic.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).topic(topic);
        return MessageHeaderEncoder.ENCODED_LENGTH + deleteTopic.encodedLength();
    }

    int encodeCreateSubscription(
        final long correlationId,
        final String topic,
        final String subscription,
        final SubscriptionType type,
        final SubscriptionOptions options)
    {
        createSubscription.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .subscriptionType(type.wire())
            .ackTimeoutMs(orNull(options.ackTimeoutMs(), CreateSubscriptionEncoder.ackTimeoutMsNullValue()))
            .nackDelayMs(orNull(options.negativeAckRedeliveryDelayMs(), CreateSubscriptionEncoder.nackDelayMsNullValue()))
            .maxDeliveries(orNull(options.maxDeliveries(), CreateSubscriptionEncoder.maxDeliveriesNullValue()))
            .maxInFlightPerKey(orNull(options.maxInFlightPerKey(), CreateSubscriptionEncoder.maxInFlightPerKeyNullValue()))
            .topic(topic)
            .subscription(subscription);
        return MessageHeaderEncoder.ENCODED_LENGTH + createSubscription.encodedLength();
    }

    int encodeDeleteSubscription(final long correlationId, final String topic, final String subscription)
    {
        deleteSubscription.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .topic(topic)
            .subscription(subscription);
        return MessageHeaderEncoder.ENCODED_LENGTH + deleteSubscription.encodedLength();
    }

    int encodeDescribeTopic(final long correlationId, final String topic)
    {
        describeTopic.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).topic(topic);
        return MessageHeaderEncoder.ENCODED_LENGTH + describeTopic.encodedLength();
    }

    int encodeListTopics(final long correlationId)
    {
        listTopics.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId);
        return MessageHeaderEncoder.ENCODED_LENGTH + listTopics.encodedLength();
    }

    private static long orNull(final long value, final long nullValue)
    {
        return value < 0 ? nullValue : value;
    }

    private static int orNull(final int value, final int nullValue)
    {
        return value < 0 ? nullValue : value;
    }
}
