package io.magnetar.bench.load;

import java.util.Arrays;

/**
 * The one attribute each load message carries (name {@link #NAME}): {@code publisher:seq:intendedNs:sentNs} in
 * decimal, padded with {@code '~'} to the configured attribute size. {@code intendedNs} and {@code sentNs} are
 * {@link System#nanoTime()} values of the publishing JVM, so a publish→deliver latency is only computed by the same JVM
 * (the load tool publishes and consumes in one process; the broker may be anywhere).
 */
final class Payload
{
    static final String NAME = "lt";
    private static final char PAD = '~';

    private final char[] buffer;
    private final int size;

    /**
     * @param size the value's length; longer when the four numbers need more.
     */
    Payload(final int size)
    {
        this.size = size;
        this.buffer = new char[Math.max(size, 4 * 20 + 3)];
    }

    /**
     * Encode (one thread per instance).
     */
    String encode(final int publisher, final long seq, final long intendedNs, final long sentNs)
    {
        int at = 0;
        at = put(publisher, at);
        buffer[at++] = ':';
        at = put(seq, at);
        buffer[at++] = ':';
        at = put(intendedNs, at);
        buffer[at++] = ':';
        at = put(sentNs, at);
        if (at < size)
        {
            Arrays.fill(buffer, at, size, PAD);
            at = size;
        }
        return new String(buffer, 0, at);
    }

    private int put(final long value, final int at)
    {
        if (value < 0)
        {
            throw new IllegalArgumentException("negative: " + value);
        }
        if (0 == value)
        {
            buffer[at] = '0';
            return at + 1;
        }
        int digits = 0;
        for (long v = value; v > 0; v /= 10)
        {
            digits++;
        }
        long v = value;
        for (int i = at + digits - 1; i >= at; i--)
        {
            buffer[i] = (char)('0' + (v % 10));
            v /= 10;
        }
        return at + digits;
    }

    /**
     * The decoded fields of one value (reused by one thread).
     */
    static final class Decoded
    {
        int publisher;
        long seq;
        long intendedNs;
        long sentNs;

        /**
         * @return false if {@code value} is not a load-tool payload.
         */
        boolean decode(final CharSequence value)
        {
            if (null == value)
            {
                return false;
            }
            final int length = value.length();
            int field = 0;
            long current = 0;
            boolean any = false;
            for (int i = 0; i <= length; i++)
            {
                final char c = i < length ? value.charAt(i) : PAD;
                if (c >= '0' && c <= '9')
                {
                    current = current * 10 + (c - '0');
                    any = true;
                }
                else if (c == ':' || c == PAD)
                {
                    if (!any || field >= 4)
                    {
                        return false;
                    }
                    set(field++, current);
                    current = 0;
                    any = false;
                    if (c == PAD)
                    {
                        break;
                    }
                }
                else
                {
                    return false;
                }
            }
            return 4 == field;
        }

        private void set(final int field, final long value)
        {
            switch (field)
            {
                case 0: publisher = (int)value; break;
                case 1: seq = value; break;
                case 2: intendedNs = value; break;
                default: sentNs = value; break;
            }
        }
    }
}
