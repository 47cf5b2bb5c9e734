package io.magnetar.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * One message handed to a producer, and the future {@link Producer#sendAsync} returns for it (one object, not
 * two). Its key and attributes are UTF-8 encoded on the sender's thread into one array laid out exactly as a
 * Publish frame carries them (so the agent only copies bytes); it also carries its place in a batch (the
 * {@link #next} link) and, once the receipt arrives, its id as primitives until the callback thread completes it.
 */
final class PendingMessage extends CompletableFuture<MessageId>
{
    /** Largest var-data field the wire can carry (uint16 length). */
    static final int MAX_VAR_DATA = 65535;
    /** Largest group count the wire can carry (uint16). */
    static final int MAX_GROUP_COUNT = 65535;
    /** Attributes group header (uint16 block length, uint16 count). */
    static final int GROUP_HEADER_LENGTH = 4;
    /** A var-data field's uint16 length. */
    static final int LENGTH_LENGTH = 2;
    /** Strings up to this long are encoded by a char loop into the scratch; longer ones by the JDK (one array). */
    static final int LOOP_ENCODE_MAX_CHARS = 64;

    final long enqueuedNs;
    /**
     * The message's part of a Publish frame's {@code messages} entry (its block is empty): the attributes group
     * header, each pair's name and value, then the key, every var-data field with a uint16 length, little-endian.
     * Null once confirmed or failed.
     */
    byte[] data;
    int encodedLength;

    // agent thread: the next message of the same batch
    PendingMessage next;

    // written by the agent from the receipt, read on the callback executor after the hand-off
    int partition;
    long ledger;
    long entry;

    PendingMessage(final long enqueuedNs)
    {
        this.enqueuedNs = enqueuedNs;
    }

    /**
     * Encode and check what the wire cannot carry at all; the broker checks its own (smaller, configurable) limits.
     *
     * @return the message; if the key or attributes are invalid it is already failed with
     * {@link ErrorCode#INVALID_ARGUMENT} (and has no data).
     */
    static PendingMessage of(final String key, final Map<String, String> attributes, final long nowNs)
    {
        return of(key, attributes, nowNs, null);
    }

    /**
     * As {@link #of(String, Map, long)}, encoding through {@code scratch} when no other thread is using it.
     */
    static PendingMessage of(
        final String key, final Map<String, String> attributes, final long nowNs, final Scratch scratch)
    {
        final PendingMessage message = new PendingMessage(nowNs);
        final boolean owned = null != scratch && scratch.tryAcquire();
        try
        {
            final String error = message.encode(key, attributes, owned ? scratch : new Scratch());
            if (null != error)
            {
                message.completeExceptionally(new MagnetarException.InvalidArgumentException(error));
            }
        }
        finally
        {
            if (owned)
            {
                scratch.release();
            }
        }
        return message;
    }

    /**
     * One pass over the attributes ({@code forEach}), written into {@code scratch} (grown before each string as
     * needed), then copied into an array of the exact size.
     *
     * @return null if encoded, else what is wrong.
     */
    private String encode(final String key, final Map<String, String> attributes, final Scratch scratch)
    {
        if (null == key || key.isEmpty())
        {
            return "key: required, 1..256 bytes";
        }
        int position = GROUP_HEADER_LENGTH;
        int count = 0;
        if (null != attributes && !attributes.isEmpty())
        {
            scratch.startAttributes(position);
            attributes.forEach(scratch);   // HashMap, LinkedHashMap, TreeMap: no iterator, no entry objects
            if (null != scratch.error)
            {
                return scratch.error;
            }
            position = scratch.position;
            count = scratch.count;
            if (count > MAX_GROUP_COUNT)
            {
                return "attributes: " + count + " pairs, more than the wire's " + MAX_GROUP_COUNT;
            }
        }
        final int keyAt = position;
        position = putString(scratch, position, key);
        if (position - keyAt - LENGTH_LENGTH > MAX_VAR_DATA)
        {
            return "key: " + (position - keyAt - LENGTH_LENGTH) + " bytes, longer than the wire's " + MAX_VAR_DATA;
        }
        final byte[] bytes = scratch.bytes;
        putUint16(bytes, 0, 0);   // block length: an attribute has no fixed fields
        putUint16(bytes, 2, count);
        this.data = Arrays.copyOf(bytes, position);
        this.encodedLength = position;
        return null;
    }

    /**
     * Drop the encoded bytes once the message no longer needs sending (the future may live on in the application).
     */
    void release()
    {
        data = null;
        next = null;
    }

    /**
     * Complete with the id the receipt gave (callback executor).
     */
    void completeWithId()
    {
        release();
        complete(new MessageId(partition, ledger, entry));
    }

    /**
     * Fail (callback executor).
     */
    void fail(final Throwable cause)
    {
        release();
        completeExceptionally(cause);
    }

    /**
     * Write {@code text} as a var-data field (uint16 length, then UTF-8 as {@code String.getBytes(UTF_8)} encodes it:
     * an unpaired surrogate becomes '?'); the length is written even if too long for the wire (the caller checks).
     *
     * @return the position after it.
     */
    private static int putString(final Scratch scratch, final int offset, final String text)
    {
        final int chars = text.length();
        final int lengthAt = offset;
        int position = offset + LENGTH_LENGTH;
        if (chars > LOOP_ENCODE_MAX_CHARS)
        {
            // long text: the JDK's intrinsic encoder beats a char loop by far; one temporary array, then a copy
            final byte[] encoded = text.getBytes(StandardCharsets.UTF_8);
            final byte[] data = scratch.ensure(position + encoded.length);
            System.arraycopy(encoded, 0, data, position, encoded.length);
            position += encoded.length;
            putUint16(data, lengthAt, encoded.length);
            return position;
        }
        final byte[] data = scratch.ensure(position + 3 * chars);
        for (int i = 0; i < chars; i++)
        {
            final char c = text.charAt(i);
            if (c >= 0x80)
            {
                position = putUtf8(text, i, chars, data, position);
                break;
            }
            data[position++] = (byte)c;
        }
        putUint16(data, lengthAt, position - lengthAt - LENGTH_LENGTH);
        return position;
    }

    /**
     * UTF-8 of {@code text} from {@code from}, as {@code String.getBytes(UTF_8)} writes it (an unpaired surrogate
     * becomes '?').
     */
    private static int putUtf8(final String text, final int from, final int chars, final byte[] data, final int offset)
    {
        int position = offset;
        for (int i = from; i < chars; i++)
        {
            final char c = text.charAt(i);
            if (c < 0x80)
            {
                data[position++] = (byte)c;
            }
            else if (c < 0x800)
            {
                data[position++] = (byte)(0xC0 | (c >> 6));
                data[position++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (Character.isSurrogate(c))
            {
                if (Character.isHighSurrogate(c) && i + 1 < chars && Character.isLowSurrogate(text.charAt(i + 1)))
                {
                    final int codePoint = Character.toCodePoint(c, text.charAt(++i));
                    data[position++] = (byte)(0xF0 | (codePoint >> 18));
                    data[position++] = (byte)(0x80 | ((codePoint >> 12) & 0x3F));
                    data[position++] = (byte)(0x80 | ((codePoint >> 6) & 0x3F));
                    data[position++] = (byte)(0x80 | (codePoint & 0x3F));
                }
                else
                {
                    data[position++] = '?';
                }
            }
            else
            {
                data[position++] = (byte)(0xE0 | (c >> 12));
                data[position++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                data[position++] = (byte)(0x80 | (c & 0x3F));
            }
        }
        return position;
    }

    private static int putUint16(final byte[] data, final int offset, final int value)
    {
        data[offset] = (byte)value;
        data[offset + 1] = (byte)(value >>> 8);
        return offset + 2;
    }

    /**
     * Where messages are encoded before the exact-size copy: one per producer, used by one sending thread at a time
     * (a thread that finds it busy uses a fresh one).
     */
    static final class Scratch implements BiConsumer<String, String>
    {
        private static final int INITIAL = 512;
        /** A scratch grown beyond this is not kept. */
        private static final int KEEP_AT_MOST = 64 * 1024;

        private final AtomicBoolean busy = new AtomicBoolean();
        byte[] bytes = new byte[INITIAL];
        // the attribute pass
        int position;
        int count;
        String error;

        void startAttributes(final int position)
        {
            this.position = position;
            this.count = 0;
            this.error = null;
        }

        /**
         * Write one attribute (the map's {@code forEach}).
         */
        public void accept(final String name, final String value)
        {
            if (null != error)
            {
                return;
            }
            if (null == name || null == value)
            {
                error = "attributes: null name or value (" + name + "=" + value + ")";
                return;
            }
            final int nameAt = position;
            final int valueAt = putString(this, nameAt, name);
            position = putString(this, valueAt, value);
            if (valueAt - nameAt - LENGTH_LENGTH > MAX_VAR_DATA || position - valueAt - LENGTH_LENGTH > MAX_VAR_DATA)
            {
                error = "attributes: '" + name + "' longer than the wire's " + MAX_VAR_DATA + " bytes";
            }
            count++;
        }

        boolean tryAcquire()
        {
            return !busy.get() && busy.compareAndSet(false, true);
        }

        void release()
        {
            if (bytes.length > KEEP_AT_MOST)
            {
                bytes = new byte[INITIAL];
            }
            busy.setRelease(false);   // a lock release: no full fence needed
        }

        byte[] ensure(final int capacity)
        {
            if (bytes.length < capacity)
            {
                bytes = Arrays.copyOf(bytes, Math.max(capacity, 2 * bytes.length));
            }
            return bytes;
        }
    }
}
