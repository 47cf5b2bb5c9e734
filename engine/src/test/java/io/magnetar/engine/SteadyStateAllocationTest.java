package io.magnetar.engine;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;

import io.magnetar.codecs.AckEncoder;
import io.magnetar.codecs.CreateTopicEncoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.codecs.SubscribeEncoder;
import io.magnetar.codecs.SubscriptionType;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Steady-state publish -> deliver -> ack through the engine allocates (about) nothing per message:
 * messages, deliveries and key states are pooled, events are flyweight-encoded into one buffer.
 * Measured with the thread's allocated-bytes counter over many messages after a warm-up.
 */
class SteadyStateAllocationTest
{
    private static final int BATCH = 100;
    private static final int KEYS = 1_000;

    private final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64 * 1024);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final PublishEncoder publish = new PublishEncoder();
    private final AckEncoder ack = new AckEncoder();
    private final byte[][] keys = new byte[KEYS][];
    private final byte[] name = "body".getBytes(StandardCharsets.US_ASCII);
    private final byte[] value = "s3://bucket/object-0123456789abcdef0123456789abcdef-0123456789".getBytes(StandardCharsets.US_ASCII);

    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final DeliveriesDecoder deliveriesDecoder = new DeliveriesDecoder();
    private final int[] partitions = new int[BATCH * 4];
    private final long[] ledgers = new long[BATCH * 4];
    private final long[] entries = new long[BATCH * 4];
    private int delivered;
    private long consumerId;
    private long now = 1_000_000;

    @ParameterizedTest
    @EnumSource(value = SubscriptionType.class, names = {"SHARED", "KEY_SHARED", "MULTICAST"})
    void publishDeliverAckAllocatesNothingPerMessage(final SubscriptionType type)
    {
        for (int i = 0; i < KEYS; i++)
        {
            keys[i] = String.format("customer-%08d", i).getBytes(StandardCharsets.US_ASCII);
        }
        final Engine engine = new Engine(new EngineConfig(), this::onEvent);
        int length = new CreateTopicEncoder().wrapAndApplyHeader(command, 0, header)
            .correlationId(1).partitions(16).topic("t").encodedLength() + MessageHeaderEncoder.ENCODED_LENGTH;
        engine.onCommand(1, now, command, 0, length);
        length = new SubscribeEncoder().wrapAndApplyHeader(command, 0, header)
            .correlationId(2).subscriptionType(type).permits(BATCH * 2)
            .ackTimeoutMs(30_000).nackDelayMs(1_000).maxDeliveries(0).maxInFlightPerKey(0)
            .topic("t").subscription("s").consumerName("c").encodedLength() + MessageHeaderEncoder.ENCODED_LENGTH;
        engine.onCommand(1, now, command, 0, length);
        assertEquals(1, consumerId, "attached");

        final int warmup = 30_000;
        final int measured = 300_000;
        for (int i = 0; i < warmup / BATCH; i++)
        {
            roundTrip(engine, i);
        }
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long thread = Thread.currentThread().getId();
        final long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < measured / BATCH; i++)
        {
            roundTrip(engine, i);
        }
        final long allocated = threads.getThreadAllocatedBytes(thread) - before;
        final double perMessage = (double)allocated / measured;
        System.out.printf("%s: %d bytes allocated over %d messages = %.4f bytes/message%n", type, allocated, measured, perMessage);
        assertEquals(0, engine.liveMessages(), "everything acked and deleted");
        assertTrue(perMessage < 0.5, type + " allocates " + perMessage + " bytes per message in steady state");
    }

    private void roundTrip(final Engine engine, final int iteration)
    {
        now++;
        final PublishEncoder.MessagesEncoder messages = publish.wrapAndApplyHeader(command, 0, header)
            .correlationId(iteration)
            .topicId(1)
            .messagesCount(BATCH);
        for (int m = 0; m < BATCH; m++)
        {
            messages.next().attributesCount(1).next().putName(name, 0, name.length).putValue(value, 0, value.length);
            final byte[] key = keys[(iteration * BATCH + m) % KEYS];
            messages.putKey(key, 0, key.length);
        }
        delivered = 0;
        engine.onCommand(1, now, command, 0, publish.encodedLength() + MessageHeaderEncoder.ENCODED_LENGTH);
        if (delivered != BATCH)
        {
            throw new AssertionError("delivered " + delivered + " of " + BATCH);
        }

        final AckEncoder.IdsEncoder ids = ack.wrapAndApplyHeader(command, 0, header)
            .correlationId(iteration)
            .consumerId(consumerId)
            .idsCount(delivered);
        for (int i = 0; i < delivered; i++)
        {
            ids.next().partition(partitions[i]).ledger(ledgers[i]).entry(entries[i]);
        }
        engine.onCommand(1, now, command, 0, ack.encodedLength() + MessageHeaderEncoder.ENCODED_LENGTH);
    }

    private void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        headerDecoder.wrap(buffer, offset);
        switch (headerDecoder.templateId())
        {
            case DeliveriesDecoder.TEMPLATE_ID:
            {
                deliveriesDecoder.wrapAndApplyHeader(buffer, offset, headerDecoder);
                final DeliveriesDecoder.MessagesDecoder messages = deliveriesDecoder.messages();
                while (messages.hasNext())
                {
                    messages.next();
                    partitions[delivered] = messages.partition();
                    ledgers[delivered] = messages.ledger();
                    entries[delivered] = messages.entry();
                    delivered++;
                    final DeliveriesDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
                    while (attributes.hasNext())
                    {
                        attributes.next();
                        attributes.skipName();
                        attributes.skipValue();
                    }
                    messages.skipKey();
                }
                break;
            }
            case io.magnetar.codecs.ConsumerAttachedDecoder.TEMPLATE_ID:
                consumerId = new io.magnetar.codecs.ConsumerAttachedDecoder()
                    .wrapAndApplyHeader(buffer, offset, headerDecoder).consumerId();
                break;
            case io.magnetar.codecs.CommandErrorDecoder.TEMPLATE_ID:
                throw new AssertionError("unexpected error: " +
                    new io.magnetar.codecs.CommandErrorDecoder().wrapAndApplyHeader(buffer, offset, headerDecoder));
            default:
                break;
        }
    }
}
