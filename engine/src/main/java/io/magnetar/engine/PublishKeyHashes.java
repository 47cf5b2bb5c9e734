package io.magnetar.engine;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishDecoder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The key hashes of a {@code Publish} frame's messages, computed where the frame is copied anyway (the pipeline's
 * sequencer, on the producer's thread) so that the engine's single thread does not have to: {@link Murmur3#keyHash}
 * of each message's key, in message order, exactly as the engine would compute them.
 * <p>
 * A hint, never a second source of truth: the journal does not carry them (replay computes them), and the engine uses
 * them only when their count equals the frame's message count ({@link CommandHandler#onCommand(long, long,
 * DirectBuffer, int, int, int[], int)}). Only a {@code Publish} of the current schema (template, schema id, version
 * and block length exactly this build's) gets hashes; the frame is read with the generated {@link PublishDecoder}
 * over a view of exactly the frame's bytes, so a group, attribute or key that runs past the frame fails a bounds
 * check and the frame gets none ({@link #NONE}); the engine then validates and hashes it as always. The decoder's
 * limit is also checked against the frame after every attribute and key, so that even with Agrona's bounds checks
 * disabled ({@code agrona.disable.bounds.checks}) nothing past the frame is hashed and no read strays further than
 * the next length field. The engine's own
 * limits (key and attribute lengths, batch size) are not checked here: the engine still checks them and rejects the
 * frame before using any hash.
 * <p>
 * One instance per producer thread (it holds the decoders); allocation free, except for the exception of a frame
 * whose bytes run past its end.
 */
public final class PublishKeyHashes
{
    /** {@link #count} and {@link #compute}: no hashes for this frame. */
    public static final int NONE = -1;

    private static final int HEADER_LENGTH = MessageHeaderDecoder.ENCODED_LENGTH;

    private final UnsafeBuffer frame = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer key = new UnsafeBuffer(0, 0);
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final PublishDecoder publish = new PublishDecoder();

    /**
     * @param buffer holding the frame.
     * @param offset of the frame (its message header).
     * @param length of the frame.
     * @return the message count a {@code Publish} of the current schema declares (1..65535), or {@link #NONE} if the
     * frame is anything else or too short to say.
     */
    public int count(final DirectBuffer buffer, final int offset, final int length)
    {
        try
        {
            final PublishDecoder.MessagesDecoder messages = messages(buffer, offset, length);
            return null == messages ? NONE : messages.count();
        }
        catch (final IndexOutOfBoundsException | IllegalArgumentException ex)
        {
            return NONE; // the frame does not lie within the buffer
        }
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
    public int compute(final DirectBuffer buffer, final int offset, final int length, final int[] hashes)
    {
        try
        {
            final PublishDecoder.MessagesDecoder messages = messages(buffer, offset, length);
            if (null == messages || messages.count() > hashes.length)
            {
                return NONE;
            }
            int i = 0;
            while (messages.hasNext())
            {
                messages.next();
                final PublishDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
                while (attributes.hasNext())
                {
                    attributes.next();
                    attributes.skipName();
                    attributes.skipValue();
                    if (publish.limit() > length)
                    {
                        return NONE;
                    }
                }
                messages.wrapKey(key);
                if (publish.limit() > length)
                {
                    return NONE;
                }
                hashes[i++] = Murmur3.keyHash(key, 0, key.capacity());
            }
            return i;
        }
        catch (final IndexOutOfBoundsException | IllegalArgumentException ex)
        {
            return NONE; // something runs past the frame: the engine will say what
        }
    }

    private PublishDecoder.MessagesDecoder messages(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < HEADER_LENGTH + PublishDecoder.BLOCK_LENGTH + PublishDecoder.MessagesDecoder.HEADER_SIZE)
        {
            return null;
        }
        frame.wrap(buffer, offset, length);
        header.wrap(frame, 0);
        if (header.templateId() != PublishDecoder.TEMPLATE_ID || header.schemaId() != PublishDecoder.SCHEMA_ID ||
            header.version() != PublishDecoder.SCHEMA_VERSION || header.blockLength() != PublishDecoder.BLOCK_LENGTH)
        {
            return null;
        }
        final PublishDecoder.MessagesDecoder messages =
            publish.wrap(frame, HEADER_LENGTH, PublishDecoder.BLOCK_LENGTH, PublishDecoder.SCHEMA_VERSION).messages();
        return messages.count() == 0 ? null : messages;
    }
}
