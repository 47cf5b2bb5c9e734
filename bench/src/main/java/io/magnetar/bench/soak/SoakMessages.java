package io.magnetar.bench.soak;

import java.nio.charset.StandardCharsets;

import io.magnetar.codecs.AckEncoder;
import io.magnetar.codecs.CreateTopicEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.codecs.SubscribeEncoder;
import io.magnetar.codecs.SubscriptionType;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Command frames for the soak and snapshot tools. Messages look like every other benchmark's: a 17-byte key
 * ({@code customer-00000042}) from a fixed set and one attribute {@code body} with a 63-byte object-store reference.
 * One frame at a time in {@link #buffer()}; allocation free after construction.
 */
final class SoakMessages
{
    private static final byte[] NAME = "body".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VALUE =
        "s3://bucket/object-0123456789abcdef0123456789abcdef-0123456789".getBytes(StandardCharsets.US_ASCII);

    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256 * 1024);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final PublishEncoder publish = new PublishEncoder();
    private final AckEncoder ack = new AckEncoder();
    private final CreateTopicEncoder createTopic = new CreateTopicEncoder();
    private final SubscribeEncoder subscribe = new SubscribeEncoder();
    private final byte[][] keys;

    SoakMessages(final int keyCount)
    {
        keys = new byte[keyCount][];
        for (int i = 0; i < keyCount; i++)
        {
            keys[i] = String.format("customer-%08d", i).getBytes(StandardCharsets.US_ASCII);
        }
    }

    MutableDirectBuffer buffer()
    {
        return buffer;
    }

    int createTopic(final long correlationId, final String topic, final int partitions)
    {
        createTopic.wrapAndApplyHeader(buffer, 0, header).correlationId(correlationId).partitions(partitions).topic(topic);
        return MessageHeaderEncoder.ENCODED_LENGTH + createTopic.encodedLength();
    }

    int subscribe(final long correlationId, final String topic, final String subscription, final int permits)
    {
        subscribe.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .subscriptionType(SubscriptionType.SHARED)
            .permits(permits)
            .ackTimeoutMs(0)
            .nackDelayMs(SubscribeEncoder.nackDelayMsNullValue())
            .maxDeliveries(SubscribeEncoder.maxDeliveriesNullValue())
            .maxInFlightPerKey(SubscribeEncoder.maxInFlightPerKeyNullValue())
            .topic(topic)
            .subscription(subscription)
            .consumerName("soak");
        return MessageHeaderEncoder.ENCODED_LENGTH + subscribe.encodedLength();
    }

    /**
     * @param first running number of the first message (picks keys round robin).
     */
    int publish(final long correlationId, final int topicId, final long first, final int count)
    {
        final PublishEncoder.MessagesEncoder messages = publish.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .topicId(topicId)
            .messagesCount(count);
        for (int i = 0; i < count; i++)
        {
            final byte[] key = keys[(int)((first + i) % keys.length)];
            messages.next().attributesCount(1).next().putName(NAME, 0, NAME.length).putValue(VALUE, 0, VALUE.length);
            messages.putKey(key, 0, key.length);
        }
        return MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength();
    }

    /**
     * Ack entries {@code [from, to)} of one partition and ledger, leaving out {@code skip} (-1 for none).
     */
    int ack(final long correlationId, final long consumerId, final int partition, final long ledger, final long from,
        final long to, final long skip)
    {
        final int count = (int)(to - from) - (skip >= from && skip < to ? 1 : 0);
        final AckEncoder.IdsEncoder ids = ack.wrapAndApplyHeader(buffer, 0, header)
            .correlationId(correlationId)
            .consumerId(consumerId)
            .idsCount(count);
        for (long entry = from; entry < to; entry++)
        {
            if (entry != skip)
            {
                ids.next().partition(partition).ledger(ledger).entry(entry);
            }
        }
        return MessageHeaderEncoder.ENCODED_LENGTH + ack.encodedLength();
    }
}
