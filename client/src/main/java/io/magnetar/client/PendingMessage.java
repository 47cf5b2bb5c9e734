package io.magnetar.client;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.magnetar.codecs.GroupSizeEncodingEncoder;
import io.magnetar.codecs.VarStringEncodingEncoder;

/**
 * One message handed to a producer: its key and attributes already UTF-8 encoded (on the sender's thread, so the
 * agent only copies bytes), its encoded size in a Publish frame, its future and when it was sent.
 */
final class PendingMessage
{
    static final byte[][] NO_ATTRIBUTES = new byte[0][];
    /** Largest var-data field the wire can carry (uint16 length). */
    static final int MAX_VAR_DATA = 65535;
    /** Largest group count the wire can carry (uint16). */
    static final int MAX_GROUP_COUNT = 65535;

    final byte[] key;
    final byte[][] names;
    final byte[][] values;
    final int encodedLength;
    final CompletableFuture<MessageId> future;
    final long enqueuedNs;

    PendingMessage(
        final byte[] key,
        final byte[][] names,
        final byte[][] values,
        final CompletableFuture<MessageId> future,
        final long enqueuedNs)
    {
        this.key = key;
        this.names = names;
        this.values = values;
        this.future = future;
        this.enqueuedNs = enqueuedNs;
        this.encodedLength = encodedLength(key, names, values);
    }

    int attributeCount()
    {
        return names.length;
    }

    /**
     * Bytes this message adds to a Publish frame's {@code messages} group: its (empty) block, the attributes group
     * header, each attribute's two var-data fields, and the key.
     */
    static int encodedLength(final byte[] key, final byte[][] names, final byte[][] values)
    {
        int length = GroupSizeEncodingEncoder.ENCODED_LENGTH + VarStringEncodingEncoder.lengthEncodingLength() + key.length;
        for (int i = 0; i < names.length; i++)
        {
            length += 2 * VarStringEncodingEncoder.lengthEncodingLength() + names[i].length + values[i].length;
        }
        return length;
    }

    /**
     * Encode and check what the wire cannot carry at all; the broker checks its own (smaller, configurable) limits.
     *
     * @return the message, or null after failing {@code future} with {@link ErrorCode#INVALID_ARGUMENT}.
     */
    static PendingMessage of(
        final String key,
        final Map<String, String> attributes,
        final CompletableFuture<MessageId> future,
        final long nowNs)
    {
        if (null == key || key.isEmpty())
        {
            future.completeExceptionally(new MagnetarException.InvalidArgumentException("key: required, 1..256 bytes"));
            return null;
        }
        final byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        if (keyBytes.length > MAX_VAR_DATA)
        {
            future.completeExceptionally(new MagnetarException.InvalidArgumentException(
                "key: " + keyBytes.length + " bytes, longer than the wire's " + MAX_VAR_DATA));
            return null;
        }
        byte[][] names = NO_ATTRIBUTES;
        byte[][] values = NO_ATTRIBUTES;
        if (null != attributes && !attributes.isEmpty())
        {
            final int count = attributes.size();
            if (count > MAX_GROUP_COUNT)
            {
                future.completeExceptionally(new MagnetarException.InvalidArgumentException(
                    "attributes: " + count + " pairs, more than the wire's " + MAX_GROUP_COUNT));
                return null;
            }
            names = new byte[count][];
            values = new byte[count][];
            int i = 0;
            for (final Map.Entry<String, String> attribute : attributes.entrySet())
            {
                final String name = attribute.getKey();
                final String value = attribute.getValue();
                if (null == name || null == value)
                {
                    future.completeExceptionally(new MagnetarException.InvalidArgumentException(
                        "attributes: null name or value (" + name + "=" + value + ")"));
                    return null;
                }
                names[i] = name.getBytes(StandardCharsets.UTF_8);
                values[i] = value.getBytes(StandardCharsets.UTF_8);
                if (names[i].length > MAX_VAR_DATA || values[i].length > MAX_VAR_DATA)
                {
                    future.completeExceptionally(new MagnetarException.InvalidArgumentException(
                        "attributes: '" + name + "' longer than the wire's " + MAX_VAR_DATA + " bytes"));
                    return null;
                }
                i++;
            }
        }
        return new PendingMessage(keyBytes, names, values, future, nowNs);
    }
}
