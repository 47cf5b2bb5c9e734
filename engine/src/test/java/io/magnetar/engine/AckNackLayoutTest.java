package io.magnetar.engine;

import io.magnetar.codecs.AckDecoder;
import io.magnetar.codecs.NackDecoder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The engine reads Nack frames with the Ack decoder: this fails if the schema lets the two layouts drift apart.
 */
class AckNackLayoutTest
{
    @Test
    void ackAndNackShareOneLayout()
    {
        assertEquals(AckDecoder.BLOCK_LENGTH, NackDecoder.BLOCK_LENGTH);
        assertEquals(AckDecoder.correlationIdEncodingOffset(), NackDecoder.correlationIdEncodingOffset());
        assertEquals(AckDecoder.consumerIdEncodingOffset(), NackDecoder.consumerIdEncodingOffset());
        assertEquals(AckDecoder.IdsDecoder.sbeBlockLength(), NackDecoder.IdsDecoder.sbeBlockLength());
        assertEquals(AckDecoder.IdsDecoder.partitionEncodingOffset(), NackDecoder.IdsDecoder.partitionEncodingOffset());
        assertEquals(AckDecoder.IdsDecoder.ledgerEncodingOffset(), NackDecoder.IdsDecoder.ledgerEncodingOffset());
        assertEquals(AckDecoder.IdsDecoder.entryEncodingOffset(), NackDecoder.IdsDecoder.entryEncodingOffset());
        assertEquals(AckDecoder.SCHEMA_VERSION, NackDecoder.SCHEMA_VERSION);
    }
}
