package io.magnetar.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.DeliveriesEncoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A delivered message keeps its key and attributes as wire bytes and decodes them on first use: what it decodes
 * is what the broker encoded (run with SBE precedence checks on, so the copy walks the frame in order).
 */
class MessageTest
{
    @Test
    void decodesKeyAttributesAndIdOnDemand()
    {
        final Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ref", "s3://bucket/object-1");
        attributes.put("empty", "");
        attributes.put("ünï", "çødé 中文 \uD83D\uDE00");

        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(1024);
        final DeliveriesEncoder encoder = new DeliveriesEncoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder()).consumerId(9);
        final DeliveriesEncoder.MessagesEncoder messages = encoder.messagesCount(2);
        messages.next().partition(3).ledger(1).entry(42).publishTimeMs(1234).deliveryCount(2);
        final DeliveriesEncoder.MessagesEncoder.AttributesEncoder group = messages.attributesCount(attributes.size());
        attributes.forEach((name, value) -> group.next().name(name).value(value));
        messages.key("customer-42");
        messages.next().partition(0).ledger(7).entry(0).publishTimeMs(5).deliveryCount(1);
        messages.attributesCount(0);
        messages.key("k");

        final DeliveriesDecoder decoder = new DeliveriesDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(9, decoder.consumerId());
        final List<Message> decoded = new ArrayList<>();
        final DeliveriesDecoder.MessagesDecoder group2 = decoder.messages();
        while (group2.hasNext())
        {
            decoded.add(Consumer.decode("orders", decoder, group2.next()));
        }
        assertEquals(encoder.encodedLength(), decoder.encodedLength(), "the copy walked the whole frame");
        buffer.setMemory(0, buffer.capacity(), (byte)0);   // the messages must not depend on the frame any more

        final Message first = decoded.get(0);
        assertEquals("orders", first.topic());
        assertEquals(new MessageId(3, 1, 42), first.id());
        assertSame(first.id(), first.id(), "made once");
        assertEquals("customer-42", first.key());
        assertEquals(attributes, first.attributes());
        assertSame(first.attributes(), first.attributes(), "decoded once");
        assertThrows(UnsupportedOperationException.class, () -> first.attributes().put("x", "y"));
        assertEquals(1234, first.publishTime());
        assertEquals(2, first.deliveryCount());

        final Message second = decoded.get(1);
        assertEquals("k", second.key());
        assertEquals(Map.of(), second.attributes());
        assertEquals(new MessageId(0, 7, 0), second.id());
        assertEquals("Message{orders 0:7:0 key=k attributes={} publishTime=5 deliveryCount=1}", second.toString());
    }

    @Test
    void whatAProducerEncodesIsWhatAConsumerDecodes()
    {
        // the Publish and Deliveries entries share the var-data layout: a producer's bytes read back as a message
        final Map<String, String> attributes = Map.of("a", "1", "bé", "\uD83D\uDE00");
        final PendingMessage pending = PendingMessage.of("key-ü", attributes, 0);
        final Message message = new Message("t", 0, 0, 0, 0, 1, pending.data);
        assertEquals("key-ü", message.key());
        assertEquals(attributes, message.attributes());
    }
}
