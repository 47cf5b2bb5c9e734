package io.magnetar.bench;

import java.nio.charset.StandardCharsets;

import io.magnetar.codecs.PublishEncoder;

/**
 * The messages every benchmark publishes, as SPEC's users would: a 17-byte key ({@code customer-00000042}) from
 * a fixed set, one attribute {@code body} holding a 63-byte object-store reference. Encoded straight into a
 * {@code Publish} frame's message group; allocates nothing after {@link #keys(int)}.
 */
final class MessageFactory
{
    private static final byte[] NAME = "body".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VALUE =
        "s3://bucket/object-0123456789abcdef0123456789abcdef-0123456789".getBytes(StandardCharsets.US_ASCII);

    private byte[][] keys = new byte[0][];

    /**
     * @param count distinct keys to cycle through.
     */
    void keys(final int count)
    {
        keys = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            keys[i] = String.format("customer-%08d", i).getBytes(StandardCharsets.US_ASCII);
        }
    }

    /**
     * Fill the current element of a Publish message group: attributes first, then the key (SBE order).
     *
     * @param message the group element ({@code messages.next()}).
     * @param number  running message number; picks the key, round robin.
     */
    void encode(final PublishEncoder.MessagesEncoder message, final long number)
    {
        message.attributesCount(1).next().putName(NAME, 0, NAME.length).putValue(VALUE, 0, VALUE.length);
        final byte[] key = keys[(int)(number % keys.length)];
        message.putKey(key, 0, key.length);
    }
}
