package io.magnetar.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.magnetar.codecs.AckDecoder;
import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.CommandErrorEncoder;
import io.magnetar.codecs.ConnectDecoder;
import io.magnetar.codecs.ConnectedEncoder;
import io.magnetar.codecs.CreateSubscriptionDecoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.DeliveriesEncoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.NackDecoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.codecs.PublishReceiptEncoder;
import io.magnetar.codecs.SubscribeDecoder;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.codecs.TopicDescriptionEncoder;
import io.magnetar.codecs.TopicListDecoder;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the client encodes decodes with the generated decoders (as the broker reads it), and what the broker
 * encodes reaches the {@link ResponseListener} intact. Run with SBE precedence checks on (the surefire flags), so
 * an out-of-order access is a failure.
 */
class CodecRoundTripTest
{
    private final IngressProxy proxy = new IngressProxy();
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();

    @Test
    void publishBatchRoundTrip()
    {
        final Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ref", "s3://bucket/object-1");
        attributes.put("empty", "");
        attributes.put("ünï", "çødé");
        final PendingMessage first = PendingMessage.of("customer-42", attributes, 0);
        final PendingMessage second = PendingMessage.of("k", null, 0);
        first.next = second;
        final PublishBatch batch = new PublishBatch(
            null, first, 2, PublishBatcher.FRAME_OVERHEAD + first.encodedLength + second.encodedLength);

        final int length = proxy.encodePublish(77, 5, batch);
        assertEquals(batch.encodedLength, length, "the batcher's size accounting matches the encoder");

        final PublishDecoder decoder = new PublishDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(PublishDecoder.TEMPLATE_ID, header.templateId());
        assertEquals(77, decoder.correlationId());
        assertEquals(5, decoder.topicId());
        final PublishDecoder.MessagesDecoder messages = decoder.messages();
        assertEquals(2, messages.count());

        messages.next();
        final PublishDecoder.MessagesDecoder.AttributesDecoder firstAttributes = messages.attributes();
        final Map<String, String> decoded = new LinkedHashMap<>();
        while (firstAttributes.hasNext())
        {
            firstAttributes.next();
            final String name = firstAttributes.name();
            decoded.put(name, firstAttributes.value());
        }
        assertEquals(attributes, decoded);
        assertEquals("customer-42", messages.key());

        messages.next();
        assertEquals(0, messages.attributes().count());
        assertEquals("k", messages.key());
        assertEquals(length, MessageHeaderDecoder.ENCODED_LENGTH + decoder.encodedLength());
    }

    @Test
    void subscribeWithAndWithoutOptions()
    {
        int length = proxy.encodeSubscribe(9, "orders", "billing", SubscriptionType.KEY_SHARED, 1000, "worker-1",
            SubscriptionOptions.DEFAULTS.ackTimeout(java.time.Duration.ofSeconds(5)).maxInFlightPerKey(1));
        SubscribeDecoder decoder = new SubscribeDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(9, decoder.correlationId());
        assertEquals(io.magnetar.codecs.SubscriptionType.KEY_SHARED, decoder.subscriptionType());
        assertEquals(1000, decoder.permits());
        assertEquals(5000, decoder.ackTimeoutMs());
        assertEquals(SubscribeDecoder.nackDelayMsNullValue(), decoder.nackDelayMs());
        assertEquals(SubscribeDecoder.maxDeliveriesNullValue(), decoder.maxDeliveries());
        assertEquals(1, decoder.maxInFlightPerKey());
        assertEquals("orders", decoder.topic());
        assertEquals("billing", decoder.subscription());
        assertEquals("worker-1", decoder.consumerName());
        assertEquals(length, MessageHeaderDecoder.ENCODED_LENGTH + decoder.encodedLength());

        length = proxy.encodeSubscribe(10, "t", "s", null, 1, "c", SubscriptionOptions.DEFAULTS);
        decoder = new SubscribeDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(10, decoder.correlationId());
        assertEquals(io.magnetar.codecs.SubscriptionType.NULL_VAL, decoder.subscriptionType());
        assertEquals(length, MessageHeaderDecoder.ENCODED_LENGTH + decoder.sbeDecodedLength());
    }

    @Test
    void ackAndNackCarryEveryId()
    {
        final AckBuffer ids = new AckBuffer(100, 1_000_000);
        ids.add(0, 1, 7, 0);
        ids.add(3, 2, 1042, 0);

        proxy.encodeAck(11, 4, ids);
        final AckDecoder ack = new AckDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(11, ack.correlationId());
        assertEquals(4, ack.consumerId());
        final List<MessageId> acked = new ArrayList<>();
        for (final AckDecoder.IdsDecoder id : ack.ids())
        {
            acked.add(new MessageId(id.partition(), id.ledger(), id.entry()));
        }
        assertEquals(List.of(new MessageId(0, 1, 7), new MessageId(3, 2, 1042)), acked);

        proxy.encodeNack(12, 4, ids);
        final NackDecoder nack = new NackDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(12, nack.correlationId());
        assertEquals(2, nack.ids().count());
    }

    @Test
    void connectAndAdminCommands()
    {
        proxy.encodeConnect(1, 1_234_567, "aeron:udp?endpoint=127.0.0.1:5555", "client-a");
        final ConnectDecoder connect = new ConnectDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(1, connect.correlationId());
        assertEquals(ClientConfig.PROTOCOL_VERSION, connect.protocolVersion());
        assertEquals(1_234_567, connect.responseStreamId());
        assertEquals("aeron:udp?endpoint=127.0.0.1:5555", connect.responseChannel());
        assertEquals("client-a", connect.clientName());

        proxy.encodeCreateSubscription(2, "t", "s", SubscriptionType.MULTICAST,
            SubscriptionOptions.DEFAULTS.negativeAckRedeliveryDelay(java.time.Duration.ZERO).maxDeliveries(3));
        final CreateSubscriptionDecoder create = new CreateSubscriptionDecoder().wrapAndApplyHeader(proxy.buffer(), 0, header);
        assertEquals(2, create.correlationId());
        assertEquals(io.magnetar.codecs.SubscriptionType.MULTICAST, create.subscriptionType());
        assertEquals(CreateSubscriptionDecoder.ackTimeoutMsNullValue(), create.ackTimeoutMs());
        assertEquals(0, create.nackDelayMs());
        assertEquals(3, create.maxDeliveries());
        assertEquals(CreateSubscriptionDecoder.maxInFlightPerKeyNullValue(), create.maxInFlightPerKey());
        assertEquals("t", create.topic());
        assertEquals("s", create.subscription());
    }

    @Test
    void eventsReachTheListener()
    {
        final Recorder recorder = new Recorder();
        final ResponseAdapter adapter = new ResponseAdapter(recorder);
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer();
        final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();

        final ConnectedEncoder connected = new ConnectedEncoder().wrapAndApplyHeader(buffer, 0, headerEncoder)
            .correlationId(1).sessionId((7L << 32) | 3).protocolVersion(1)
            .heartbeatIntervalMs(1000).sessionTimeoutMs(10_000).nodeStartCount(7);
        adapter.onMessage(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + connected.encodedLength());

        final PublishReceiptEncoder receipt = new PublishReceiptEncoder().wrapAndApplyHeader(buffer, 0, headerEncoder)
            .correlationId(77).topicId(5);
        receipt.idsCount(2).next().partition(1).ledger(1).entry(41).next().partition(0).ledger(1).entry(9);
        adapter.onMessage(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + receipt.encodedLength());

        final DeliveriesEncoder deliveries = new DeliveriesEncoder().wrapAndApplyHeader(buffer, 0, headerEncoder)
            .consumerId(12);
        final DeliveriesEncoder.MessagesEncoder messages = deliveries.messagesCount(2);
        messages.next().partition(2).ledger(1).entry(5).publishTimeMs(1_732_780_800_000L).deliveryCount(2);
        messages.attributesCount(1).next().name("ref").value("r1");
        messages.key("k1");
        messages.next().partition(2).ledger(1).entry(6).publishTimeMs(1_732_780_800_001L).deliveryCount(1);
        messages.attributesCount(0);
        messages.key("k2");
        adapter.onMessage(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + deliveries.encodedLength());

        final CommandErrorEncoder error = new CommandErrorEncoder().wrapAndApplyHeader(buffer, 0, headerEncoder)
            .correlationId(99).code(io.magnetar.codecs.ErrorCode.BACKLOG_FULL).commandTemplateId(10)
            .message("backlog is full");
        adapter.onMessage(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + error.encodedLength());

        final TopicDescriptionEncoder description = new TopicDescriptionEncoder()
            .wrapAndApplyHeader(buffer, 0, headerEncoder).correlationId(5).topicId(3).partitions(4)
            .published(100).delivered(90).acked(80).nacked(7).redelivered(6).deadLettered(1);
        description.subscriptionsCount(1).next()
            .subscriptionType(io.magnetar.codecs.SubscriptionType.SHARED).backlog(10).inFlight(2).consumers(1)
            .redeliveries(6).deadLettered(1).ackTimeoutMs(60_000).nackDelayMs(1000).maxDeliveries(0)
            .maxInFlightPerKey(0).delivered(90).acked(80).nacked(7).name("billing");
        description.topicName("orders");
        final int descriptionLength = MessageHeaderEncoder.ENCODED_LENGTH + description.encodedLength();
        recorder.onDescription = (decoder) ->
        {
            final TopicStats stats = decodeStats(decoder);
            recorder.events.add("description " + stats);
        };
        adapter.onMessage(buffer, 0, descriptionLength);

        buffer.putShort(2, (short)250);   // an unknown template id
        adapter.onMessage(buffer, 0, descriptionLength);
        adapter.onMessage(buffer, 0, 5);  // shorter than a header

        assertEquals(List.of(
            "connected 1 " + ((7L << 32) | 3) + " 1000 10000 7",
            "receipt 77 5 [1:1:41, 0:1:9]",
            "deliveries 12 [2:1:5 k1 {ref=r1} 1732780800000 2, 2:1:6 k2 {} 1732780800001 1]",
            "error 99 BACKLOG_FULL 10 backlog is full",
            "description TopicStats[name=orders, topicId=3, partitions=4, subscriptions=[SubscriptionStats[name=billing, " +
                "type=SHARED, backlog=10, inFlight=2, consumers=1, redeliveries=6, deadLettered=1, ackTimeoutMs=60000, " +
                "nackDelayMs=1000, maxDeliveries=0, maxInFlightPerKey=0, delivered=90, acked=80, nacked=7]], " +
                "published=100, delivered=90, acked=80, nacked=7, redelivered=6, deadLettered=1]",
            "unknown 1 250",
            "unknown -1 -1"), recorder.events);
    }

    /**
     * A version-0 broker's TopicDescription has no traffic counters (its root block and group entries are shorter):
     * the client decodes the rest exactly and reads every counter as 0.
     */
    @Test
    void aVersion0TopicDescriptionReadsItsCountersAsZero()
    {
        final ExpandableArrayBuffer v1 = new ExpandableArrayBuffer(512);
        final TopicDescriptionEncoder description = new TopicDescriptionEncoder()
            .wrapAndApplyHeader(v1, 0, new MessageHeaderEncoder()).correlationId(5).topicId(3).partitions(4)
            .published(100).delivered(90).acked(80).nacked(7).redelivered(6).deadLettered(1);
        description.subscriptionsCount(1).next()
            .subscriptionType(io.magnetar.codecs.SubscriptionType.KEY_SHARED).backlog(10).inFlight(2).consumers(1)
            .redeliveries(6).deadLettered(1).ackTimeoutMs(60_000).nackDelayMs(1000).maxDeliveries(3)
            .maxInFlightPerKey(2).delivered(90).acked(80).nacked(7).name("billing");
        description.topicName("orders");

        // the same frame as a version-0 peer writes it: root without the six topic counters (6 x int64), entries
        // without the three subscription counters (3 x int64), everything else byte for byte
        final int header = MessageHeaderEncoder.ENCODED_LENGTH;
        final int rootV1 = TopicDescriptionEncoder.BLOCK_LENGTH;
        final int rootV0 = rootV1 - 6 * Long.BYTES;
        final int entryV1 = TopicDescriptionEncoder.SubscriptionsEncoder.sbeBlockLength();
        final int entryV0 = entryV1 - 3 * Long.BYTES;
        final ExpandableArrayBuffer v0 = new ExpandableArrayBuffer(512);
        int in = 0;
        int out = 0;
        new MessageHeaderEncoder().wrap(v0, 0).blockLength(rootV0).templateId(TopicDescriptionEncoder.TEMPLATE_ID)
            .schemaId(TopicDescriptionEncoder.SCHEMA_ID).version(0);
        in += header;
        out += header;
        v0.putBytes(out, v1, in, rootV0);
        in += rootV1;
        out += rootV0;
        v0.putShort(out, (short)entryV0, java.nio.ByteOrder.LITTLE_ENDIAN);
        v0.putShort(out + 2, (short)1, java.nio.ByteOrder.LITTLE_ENDIAN);
        in += 4;
        out += 4;
        v0.putBytes(out, v1, in, entryV0);
        in += entryV1;
        out += entryV0;
        final int varData = header + description.encodedLength() - in; // the subscription's name, the topic's name
        v0.putBytes(out, v1, in, varData);
        final int v0Length = out + varData;

        final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder().wrap(v0, 0);
        assertEquals(0, headerDecoder.version());
        final TopicDescriptionDecoder decoder = new TopicDescriptionDecoder()
            .wrap(v0, header, headerDecoder.blockLength(), headerDecoder.version());
        assertEquals(
            "TopicStats[name=orders, topicId=3, partitions=4, subscriptions=[SubscriptionStats[name=billing, " +
            "type=KEY_SHARED, backlog=10, inFlight=2, consumers=1, redeliveries=6, deadLettered=1, ackTimeoutMs=60000, " +
            "nackDelayMs=1000, maxDeliveries=3, maxInFlightPerKey=2, delivered=0, acked=0, nacked=0]], " +
            "published=0, delivered=0, acked=0, nacked=0, redelivered=0, deadLettered=0]",
            decodeStats(decoder).toString());
        assertEquals(v0Length, header + decoder.encodedLength(), "the whole version-0 frame was read, nothing more");
    }

    private static TopicStats decodeStats(final TopicDescriptionDecoder decoder)
    {
        final CompletableFuture<TopicStats> result = new CompletableFuture<>();
        final Callbacks inline = new InlineCallbacks().callbacks;
        final PendingRequest.DescribeTopic request = new PendingRequest.DescribeTopic(0, inline, "orders");
        decoder.correlationId();
        request.onTopicDescription(decoder);
        request.future.whenComplete((stats, error) -> result.complete(stats));
        return result.join();
    }

    /**
     * Callbacks that run completions inline (through a same-thread executor).
     */
    private static final class InlineCallbacks
    {
        final Callbacks callbacks = new Callbacks(new ClientConfig(
            MagnetarClient.builder().callbackExecutor(Runnable::run).listenerExecutor(Runnable::run)));
    }

    private static final class Recorder implements ResponseListener
    {
        final List<String> events = new ArrayList<>();
        java.util.function.Consumer<TopicDescriptionDecoder> onDescription;

        public void onConnected(
            final long correlationId, final long sessionId, final int protocolVersion, final long heartbeatIntervalMs,
            final long sessionTimeoutMs, final long nodeStartCount)
        {
            events.add("connected " + correlationId + " " + sessionId + " " + heartbeatIntervalMs + " " +
                sessionTimeoutMs + " " + nodeStartCount);
        }

        public void onSessionEnded(final long sessionId, final ErrorCode code, final String message)
        {
            events.add("ended " + sessionId + " " + code + " " + message);
        }

        public void onBrokerHeartbeat(final long sessionId, final long nodeStartCount)
        {
            events.add("heartbeat " + sessionId + " " + nodeStartCount);
        }

        public void onCommandError(
            final long correlationId, final ErrorCode code, final int commandTemplateId, final String message)
        {
            events.add("error " + correlationId + " " + code + " " + commandTemplateId + " " + message);
        }

        public void onPublishReceipt(final long correlationId, final int topicId, final PublishReceiptDecoder.IdsDecoder ids)
        {
            final List<MessageId> list = new ArrayList<>();
            while (ids.hasNext())
            {
                ids.next();
                list.add(new MessageId(ids.partition(), ids.ledger(), ids.entry()));
            }
            events.add("receipt " + correlationId + " " + topicId + " " + list);
        }

        public void onDeliveries(final long consumerId, final DeliveriesDecoder deliveries)
        {
            final DeliveriesDecoder.MessagesDecoder messages = deliveries.messages();
            final List<String> list = new ArrayList<>();
            while (messages.hasNext())
            {
                messages.next();
                final MessageId id = new MessageId(messages.partition(), messages.ledger(), messages.entry());
                final long publishTime = messages.publishTimeMs();
                final int deliveryCount = messages.deliveryCount();
                final Map<String, String> attributes = new LinkedHashMap<>();
                for (final DeliveriesDecoder.MessagesDecoder.AttributesDecoder attribute : messages.attributes())
                {
                    final String name = attribute.name();
                    attributes.put(name, attribute.value());
                }
                list.add(id + " " + messages.key() + " " + attributes + " " + publishTime + " " + deliveryCount);
            }
            events.add("deliveries " + consumerId + " " + list);
        }

        public void onConsumerAttached(
            final long correlationId, final long consumerId, final int topicId, final int partitions,
            final SubscriptionType type)
        {
            events.add("attached " + correlationId + " " + consumerId + " " + type);
        }

        public void onAckReceipt(final long correlationId, final long consumerId, final int done, final int unknown)
        {
            events.add("ackReceipt " + correlationId);
        }

        public void onAdminResult(final long correlationId, final AdminOutcome outcome)
        {
            events.add("admin " + correlationId + " " + outcome);
        }

        public void onTopicDescription(final TopicDescriptionDecoder decoder)
        {
            onDescription.accept(decoder);
        }

        public void onTopicList(final TopicListDecoder decoder)
        {
            events.add("list " + decoder.correlationId());
        }

        public void onConsumerClosed(final long consumerId, final ErrorCode code, final String message)
        {
            events.add("consumerClosed " + consumerId + " " + code);
        }

        public void onUnknownFrame(final int schemaId, final int templateId, final int length)
        {
            events.add("unknown " + schemaId + " " + templateId);
        }
    }
}
