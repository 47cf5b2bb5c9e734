package io.magnetar.engine.journal;

import io.magnetar.codecs.journal.JournalEntryDecoder;
import io.magnetar.codecs.journal.JournalEntryEncoder;
import io.magnetar.codecs.journal.MessageHeaderDecoder;
import io.magnetar.codecs.journal.MessageHeaderEncoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Layout of one journal record: an SBE {@code JournalEntry} whose variable-length {@code command} field is
 * the command frame exactly as the engine applies it.
 * <pre>
 *   0                   8                       28          32
 *   +-------------------+-----------------------+-----------+----------------------------+
 *   | messageHeader     | timestampMs sessionId | command   | command frame              |
 *   | (schema 2, tpl 1) | checksum (blockLength)| length u32| (magnetar-protocol message)|
 *   +-------------------+-----------------------+-----------+----------------------------+
 * </pre>
 * The command sits at the fixed offset {@link #HEADER_LENGTH}, so a producer can copy a command into
 * a buffer at that offset, {@link #writeHeader stamp} it, and later {@link #sealChecksum seal} it: bytes
 * {@code [0, HEADER_LENGTH + commandLength)} are then a complete record, appended with one write.
 * <p>
 * The checksum is the CRC32C ({@link CRC32C}) of the stamp (timestampMs and sessionId, the first 16 bytes of the
 * block) followed by the command bytes, so a damaged stamp is caught as surely as a damaged command.
 * <p>
 * An instance holds flyweights and a checksum engine: not thread safe, one per thread. It allocates
 * nothing after construction.
 */
public final class JournalEntryFormat
{
    /**
     * Length of everything before the command bytes: message header, fixed block, var-data length.
     */
    public static final int HEADER_LENGTH = MessageHeaderEncoder.ENCODED_LENGTH + JournalEntryEncoder.BLOCK_LENGTH +
        JournalEntryEncoder.commandHeaderLength();

    /**
     * Offset of the command frame within a record.
     */
    public static final int COMMAND_OFFSET = HEADER_LENGTH;

    /**
     * Offset of the checksum field within a record.
     */
    public static final int CHECKSUM_OFFSET =
        MessageHeaderEncoder.ENCODED_LENGTH + JournalEntryEncoder.checksumEncodingOffset();

    /**
     * Offset of the var-data length of the command within a record written by this version.
     */
    public static final int COMMAND_LENGTH_OFFSET =
        MessageHeaderEncoder.ENCODED_LENGTH + JournalEntryEncoder.BLOCK_LENGTH;

    private static final int SCRATCH_LENGTH = 4096;

    /**
     * Outcome of {@link #decode}.
     */
    public enum Verdict
    {
        /** Intact: fields and command location are valid. */
        OK,
        /** Not a JournalEntry, or its lengths do not add up (a torn or truncated record). */
        MALFORMED,
        /** The command bytes do not match the checksum. */
        CHECKSUM_MISMATCH
    }

    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final JournalEntryEncoder entryEncoder = new JournalEntryEncoder();
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final JournalEntryDecoder entryDecoder = new JournalEntryDecoder();
    private static final int STAMP_OFFSET =
        MessageHeaderEncoder.ENCODED_LENGTH + JournalEntryEncoder.timestampMsEncodingOffset();
    private static final int STAMP_LENGTH = 16;

    private final CRC32C crc = new CRC32C();
    private byte[] scratch;

    private long timestampMs;
    private long sessionId;
    private int checksum;
    private int commandOffset;
    private int commandLength;
    private String detail;

    /**
     * Write the record header in front of a command that is (or will be) at {@code offset + HEADER_LENGTH}.
     * The checksum is left 0 until {@link #sealChecksum}.
     *
     * @param buffer        holding the record.
     * @param offset        of the record.
     * @param timestampMs   the sequencer's time stamp.
     * @param sessionId     the session the command came from (0 for internal commands).
     * @param commandLength length of the command frame.
     */
    public void writeHeader(
        final MutableDirectBuffer buffer,
        final int offset,
        final long timestampMs,
        final long sessionId,
        final int commandLength)
    {
        entryEncoder.wrapAndApplyHeader(buffer, offset, headerEncoder)
            .timestampMs(timestampMs)
            .sessionId(sessionId)
            .checksum(0);
        buffer.putInt(offset + COMMAND_LENGTH_OFFSET, commandLength, LITTLE_ENDIAN);
    }

    /**
     * Compute the checksum of the command of a record written by {@link #writeHeader} and store it.
     *
     * @param buffer        holding the record.
     * @param offset        of the record.
     * @param commandLength length of the command frame.
     * @return the checksum.
     */
    public int sealChecksum(final MutableDirectBuffer buffer, final int offset, final int commandLength)
    {
        final int value = recordChecksum(buffer, offset, offset + COMMAND_OFFSET, commandLength);
        buffer.putInt(offset + CHECKSUM_OFFSET, value, LITTLE_ENDIAN);
        return value;
    }

    /**
     * Encode a complete, sealed record (header, copy of the command, checksum) into {@code buffer}.
     *
     * @return the record length.
     */
    public int encode(
        final MutableDirectBuffer buffer,
        final int offset,
        final long timestampMs,
        final long sessionId,
        final DirectBuffer command,
        final int commandOffset,
        final int commandLength)
    {
        buffer.putBytes(offset + COMMAND_OFFSET, command, commandOffset, commandLength);
        writeHeader(buffer, offset, timestampMs, sessionId, commandLength);
        sealChecksum(buffer, offset, commandLength);
        return HEADER_LENGTH + commandLength;
    }

    /**
     * CRC32C of a byte range; allocation free for any {@link DirectBuffer}.
     */
    public int checksum(final DirectBuffer buffer, final int offset, final int length)
    {
        crc.reset();
        update(buffer, offset, length);
        return (int)crc.getValue();
    }

    /**
     * CRC32C of a record's stamp (timestampMs, sessionId) and its command.
     */
    private int recordChecksum(final DirectBuffer buffer, final int recordOffset, final int commandOffset, final int commandLength)
    {
        crc.reset();
        update(buffer, recordOffset + STAMP_OFFSET, STAMP_LENGTH);
        update(buffer, commandOffset, commandLength);
        return (int)crc.getValue();
    }

    private void update(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] array = buffer.byteArray();
        final ByteBuffer byteBuffer;
        if (null != array)
        {
            crc.update(array, (int)buffer.wrapAdjustment() + offset, length);
        }
        else if (null != (byteBuffer = buffer.byteBuffer()) && byteBuffer.isDirect())
        {
            // in place (the pipeline's off-heap ring slots): CRC32C reads a direct ByteBuffer by address, no copy;
            // its position and limit are borrowed and put back
            final int position = byteBuffer.position();
            final int limit = byteBuffer.limit();
            final int start = (int)buffer.wrapAdjustment() + offset;
            byteBuffer.limit(start + length).position(start);
            crc.update(byteBuffer);
            byteBuffer.limit(limit).position(position);
        }
        else
        {
            if (null == scratch)
            {
                scratch = new byte[SCRATCH_LENGTH];
            }
            int position = 0;
            while (position < length)
            {
                final int chunk = Math.min(SCRATCH_LENGTH, length - position);
                buffer.getBytes(offset + position, scratch, 0, chunk);
                crc.update(scratch, 0, chunk);
                position += chunk;
            }
        }
    }

    /**
     * Check a record and, when intact, make its fields available through the accessors.
     *
     * @param buffer holding the record.
     * @param offset of the record.
     * @param length of the record (the whole journal document).
     * @return the verdict; {@link #detail()} explains anything but {@link Verdict#OK}.
     */
    public Verdict decode(final DirectBuffer buffer, final int offset, final int length)
    {
        detail = null;
        if (length < MessageHeaderDecoder.ENCODED_LENGTH)
        {
            return malformed("record of " + length + " bytes is shorter than a message header");
        }

        headerDecoder.wrap(buffer, offset);
        final int schemaId = headerDecoder.schemaId();
        final int templateId = headerDecoder.templateId();
        final int blockLength = headerDecoder.blockLength();
        if (schemaId != JournalEntryDecoder.SCHEMA_ID || templateId != JournalEntryDecoder.TEMPLATE_ID)
        {
            return malformed("not a JournalEntry: schemaId=" + schemaId + " templateId=" + templateId);
        }

        final int varDataOffset = MessageHeaderDecoder.ENCODED_LENGTH + blockLength;
        final int commandStart = varDataOffset + JournalEntryDecoder.commandHeaderLength();
        if (blockLength < JournalEntryDecoder.BLOCK_LENGTH || commandStart > length)
        {
            return malformed("blockLength=" + blockLength + " does not fit a record of " + length + " bytes");
        }

        entryDecoder.wrap(
            buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH, blockLength, headerDecoder.version());
        timestampMs = entryDecoder.timestampMs();
        sessionId = entryDecoder.sessionId();
        checksum = entryDecoder.checksum();
        final long declaredLength = buffer.getInt(offset + varDataOffset, LITTLE_ENDIAN) & 0xFFFF_FFFFL;
        if (declaredLength != length - commandStart)
        {
            return malformed("command length " + declaredLength + " but " + (length - commandStart) +
                " bytes present (torn record)");
        }

        commandOffset = offset + commandStart;
        commandLength = (int)declaredLength;
        final int actual = recordChecksum(buffer, offset, commandOffset, commandLength);
        if (actual != checksum)
        {
            detail = "checksum mismatch: stored 0x" + Integer.toHexString(checksum) +
                " computed 0x" + Integer.toHexString(actual);
            return Verdict.CHECKSUM_MISMATCH;
        }

        return Verdict.OK;
    }

    /**
     * @return time stamp of the last decoded record.
     */
    public long timestampMs()
    {
        return timestampMs;
    }

    /**
     * @return session id of the last decoded record.
     */
    public long sessionId()
    {
        return sessionId;
    }

    /**
     * @return stored checksum of the last decoded record.
     */
    public int storedChecksum()
    {
        return checksum;
    }

    /**
     * @return offset of the command frame of the last decoded record, in the buffer passed to decode.
     */
    public int commandOffset()
    {
        return commandOffset;
    }

    /**
     * @return length of the command frame of the last decoded record.
     */
    public int commandLength()
    {
        return commandLength;
    }

    /**
     * @return why the last decode did not return {@link Verdict#OK}, or null.
     */
    public String detail()
    {
        return detail;
    }

    private Verdict malformed(final String why)
    {
        detail = why;
        return Verdict.MALFORMED;
    }
}
