package io.magnetar.engine;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishDecoder;
import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The key hashes of a {@code Publish} frame's messages, computed where the frame is copied anyway (the pipeline's
 * sequencer, on the producer's thread) so that the engine's single thread does not have to: {@link Murmur3#keyHash}
 * of each message's key, in message order, exactly as the engine would compute them.
 * <p>
 * A hint, never a second source of truth: the journal does not carry them (replay computes them), and the engine uses
 * them only when their count equals the frame's message count ({@link CommandHandler#onCommand(long, long,
 * DirectBuffer, int, int, int[], int)}). Only a well-formed {@code Publish} of the current schema (template,
 * schema id, version and block length exactly this build's) whose every group, attribute and key lies within the frame
 * gets hashes; anything else gets none ({@link #NONE}) and the engine validates and hashes it as always. The walk is
 * the one the generated {@link PublishDecoder} makes (group block lengths honoured, attributes skipped), with bounds
 * checked against the frame, and never throws for any bytes. The engine's own limits (key and attribute lengths,
 * batch size) are not checked here: the engine still checks them and rejects the frame before using any hash.
 * <p>
 * Stateless, allocation free.
 */
public final class PublishKeyHashes
{
    /** {@link #count} and {@link #compute}: no hashes for this frame. */
    public static final int NONE = -1;

    private static final int HEADER_LENGTH = MessageHeaderDecoder.ENCODED_LENGTH;
    private static final int GROUP_HEADER_LENGTH = 4;
    private static final int VAR_LENGTH_LENGTH = 2;

    private PublishKeyHashes()
    {
    }

    /**
     * @param buffer holding the frame.
     * @param offset of the frame (its message header).
     * @param length of the frame.
     * @return the message count a {@code Publish} of the current schema declares (1..65535), or {@link #NONE} if the
     * frame is anything else or too short to say.
     */
    public static int count(final DirectBuffer buffer, final int offset, final int length)
    {
        final int groupOffset = offset + HEADER_LENGTH + PublishDecoder.BLOCK_LENGTH;
        if (length < HEADER_LENGTH + PublishDecoder.BLOCK_LENGTH + GROUP_HEADER_LENGTH ||
            u16(buffer, offset + MessageHeaderDecoder.templateIdEncodingOffset()) != PublishDecoder.TEMPLATE_ID ||
            u16(buffer, offset + MessageHeaderDecoder.schemaIdEncodingOffset()) != PublishDecoder.SCHEMA_ID ||
            u16(buffer, offset + MessageHeaderDecoder.versionEncodingOffset()) != PublishDecoder.SCHEMA_VERSION ||
            u16(buffer, offset + MessageHeaderDecoder.blockLengthEncodingOffset()) != PublishDecoder.BLOCK_LENGTH)
        {
            return NONE;
        }
        final int count = u16(buffer, groupOffset + 2);

        return count == 0 ? NONE : count;
    }

    /**
     * Hash every message's key.
     *
     * @param buffer holding the frame.
     * @param offset of the frame (its message header).
     * @param length of the frame.
     * @param hashes where the hashes go, in message order; must hold at least {@link #count} entries, else nothing is
     *               computed.
     * @return how many hashes were written (the frame's message count), or {@link #NONE} if the frame is not a
     * {@code Publish} of the current schema, does not fit in {@code length}, or has more messages than
     * {@code hashes} holds (the content of {@code hashes} is then undefined).
     */
    public static int compute(final DirectBuffer buffer, final int offset, final int length, final int[] hashes)
    {
        final int count = count(buffer, offset, length);
        if (count == NONE || count > hashes.length)
        {
            return NONE;
        }

        final long end = (long)offset + length;
        long position = offset + HEADER_LENGTH + PublishDecoder.BLOCK_LENGTH;
        final int messageBlockLength = u16(buffer, (int)position);
        position += GROUP_HEADER_LENGTH;
        for (int i = 0; i < count; i++)
        {
            position += messageBlockLength;
            if (position + GROUP_HEADER_LENGTH > end)
            {
                return NONE;
            }
            final int attributeBlockLength = u16(buffer, (int)position);
            final int attributeCount = u16(buffer, (int)position + 2);
            position += GROUP_HEADER_LENGTH;
            for (int a = 0; a < attributeCount; a++)
            {
                position += attributeBlockLength;
                if (position + VAR_LENGTH_LENGTH > end)
                {
                    return NONE;
                }
                position += VAR_LENGTH_LENGTH + u16(buffer, (int)position); // name
                if (position + VAR_LENGTH_LENGTH > end)
                {
                    return NONE;
                }
                position += VAR_LENGTH_LENGTH + u16(buffer, (int)position); // value
            }
            if (position + VAR_LENGTH_LENGTH > end)
            {
                return NONE;
            }
            final int keyLength = u16(buffer, (int)position);
            position += VAR_LENGTH_LENGTH;
            if (position + keyLength > end)
            {
                return NONE;
            }
            hashes[i] = Murmur3.keyHash(buffer, (int)position, keyLength);
            position += keyLength;
        }

        return count;
    }

    private static int u16(final DirectBuffer buffer, final int index)
    {
        return buffer.getShort(index, LITTLE_ENDIAN) & 0xFFFF;
    }
}
