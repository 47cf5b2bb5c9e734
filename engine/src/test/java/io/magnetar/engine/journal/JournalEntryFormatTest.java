package io.magnetar.engine.journal;

import io.magnetar.codecs.journal.JournalEntryDecoder;
import io.magnetar.codecs.journal.MessageHeaderDecoder;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JournalEntryFormatTest
{
    private final JournalEntryFormat format = new JournalEntryFormat();

    @Test
    void headerLengthFollowsTheSchema()
    {
        assertEquals(8 + JournalEntryDecoder.BLOCK_LENGTH + 4, JournalEntryFormat.HEADER_LENGTH);
        assertEquals(32, JournalEntryFormat.HEADER_LENGTH);
        assertEquals(JournalEntryFormat.HEADER_LENGTH, JournalEntryFormat.COMMAND_OFFSET);
    }

    @Test
    void recordWrittenInPlaceIsAValidSbeJournalEntry()
    {
        final byte[] command = randomBytes(100, 1);
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
        buffer.putBytes(JournalEntryFormat.COMMAND_OFFSET, command);
        format.writeHeader(buffer, 0, 1_732_780_800_000L, 42L, command.length);
        final int checksum = format.sealChecksum(buffer, 0, command.length);

        // the checksum covers the stamp (timestampMs, sessionId: little endian) and then the command
        final CRC32C crc = new CRC32C();
        crc.update(java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .putLong(1_732_780_800_000L).putLong(42L).array());
        crc.update(command);
        assertEquals((int)crc.getValue(), checksum);

        final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(buffer, 0);
        assertEquals(JournalEntryDecoder.SCHEMA_ID, header.schemaId());
        assertEquals(JournalEntryDecoder.TEMPLATE_ID, header.templateId());
        final JournalEntryDecoder decoder = new JournalEntryDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(1_732_780_800_000L, decoder.timestampMs());
        assertEquals(42L, decoder.sessionId());
        assertEquals(checksum, decoder.checksum());
        assertEquals(command.length, decoder.commandLength());
        final byte[] decoded = new byte[command.length];
        decoder.getCommand(decoded, 0, decoded.length);
        assertArrayEquals(command, decoded);
        assertEquals(JournalEntryFormat.HEADER_LENGTH + command.length, decoder.limit());

        assertEquals(JournalEntryFormat.Verdict.OK, format.decode(buffer, 0, JournalEntryFormat.HEADER_LENGTH + 100));
        assertEquals(42L, format.sessionId());
        assertEquals(1_732_780_800_000L, format.timestampMs());
        assertEquals(JournalEntryFormat.COMMAND_OFFSET, format.commandOffset());
        assertEquals(100, format.commandLength());
    }

    @Test
    void checksumIsTheSameForHeapAndOffHeapBuffers()
    {
        final byte[] bytes = randomBytes(10_000, 2);
        final UnsafeBuffer heap = new UnsafeBuffer(new byte[10_100], 50, 10_000);
        heap.putBytes(0, bytes);
        final UnsafeBuffer direct = new UnsafeBuffer(ByteBuffer.allocateDirect(10_000));
        direct.putBytes(0, bytes);

        assertEquals(format.checksum(heap, 0, 10_000), format.checksum(direct, 0, 10_000));
        assertEquals(format.checksum(heap, 17, 5000), format.checksum(direct, 17, 5000));

        // a direct ByteBuffer is read in place: wrapped at an offset, its position and limit put back afterwards
        final ByteBuffer byteBuffer = ByteBuffer.allocateDirect(10_200);
        final UnsafeBuffer directAtOffset = new UnsafeBuffer(byteBuffer, 100, 10_000);
        directAtOffset.putBytes(0, bytes);
        byteBuffer.limit(7000).position(3);
        assertEquals(format.checksum(heap, 0, 10_000), format.checksum(directAtOffset, 0, 10_000));
        assertEquals(format.checksum(heap, 9_000, 1000), format.checksum(directAtOffset, 9_000, 1000));
        assertEquals(3, byteBuffer.position());
        assertEquals(7000, byteBuffer.limit());

        // raw off-heap memory with no ByteBuffer (a mapped file's) takes the copying path: same checksum
        final UnsafeBuffer byAddress = new UnsafeBuffer(directAtOffset.addressOffset(), 10_000);
        assertEquals(format.checksum(heap, 17, 5000), format.checksum(byAddress, 17, 5000));
    }

    @Test
    void detectsFlippedCommandByte()
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
        final int length = format.encode(buffer, 0, 1L, 2L, new UnsafeBuffer(randomBytes(40, 3)), 0, 40);
        final int at = JournalEntryFormat.COMMAND_OFFSET + 7;
        buffer.putByte(at, (byte)(buffer.getByte(at) ^ 1));

        assertEquals(JournalEntryFormat.Verdict.CHECKSUM_MISMATCH, format.decode(buffer, 0, length));
        assertTrue(format.detail().contains("checksum"));
    }

    @Test
    void detectsFlippedStampByte()
    {
        for (int at = 8; at < 8 + 16; at++)
        {
            final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
            final int length = format.encode(buffer, 0, 1L, 2L, new UnsafeBuffer(randomBytes(40, 3)), 0, 40);
            buffer.putByte(at, (byte)(buffer.getByte(at) ^ 0x10));
            assertEquals(JournalEntryFormat.Verdict.CHECKSUM_MISMATCH, format.decode(buffer, 0, length),
                "a flipped timestamp or session byte at " + at);
        }
    }

    @Test
    void detectsTornAndForeignRecords()
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
        final int length = format.encode(buffer, 0, 1L, 2L, new UnsafeBuffer(randomBytes(40, 4)), 0, 40);

        assertEquals(JournalEntryFormat.Verdict.MALFORMED, format.decode(buffer, 0, length - 1));
        assertEquals(JournalEntryFormat.Verdict.MALFORMED, format.decode(buffer, 0, length + 1));
        assertEquals(JournalEntryFormat.Verdict.MALFORMED, format.decode(buffer, 0, 5));
        assertEquals(
            JournalEntryFormat.Verdict.MALFORMED, format.decode(buffer, 0, JournalEntryFormat.HEADER_LENGTH - 1));

        buffer.putShort(4, (short)99); // schema id
        assertEquals(JournalEntryFormat.Verdict.MALFORMED, format.decode(buffer, 0, length));
        assertTrue(format.detail().contains("schemaId=99"));
    }

    @Test
    void emptyCommandIsARecordToo()
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64);
        final int length = format.encode(buffer, 0, 5L, 6L, new UnsafeBuffer(new byte[0]), 0, 0);

        assertEquals(JournalEntryFormat.HEADER_LENGTH, length);
        assertEquals(JournalEntryFormat.Verdict.OK, format.decode(buffer, 0, length));
        assertEquals(0, format.commandLength());
    }

    static byte[] randomBytes(final int length, final long seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
