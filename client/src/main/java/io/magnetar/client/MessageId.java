package io.magnetar.client;

/**
 * A message's id, unique within its topic forever: {@code (partition, ledger, entry)}, written {@code p:l:e}
 * (SPEC section 1). Ordered by partition, then ledger, then entry.
 *
 * @param partition the partition, 0..partitions-1.
 * @param ledger    the ledger: a segment of the partition's history, ids only grow.
 * @param entry     the entry within the ledger.
 */
public record MessageId(int partition, long ledger, long entry) implements Comparable<MessageId>
{
    public MessageId
    {
        if (partition < 0 || ledger < 0 || entry < 0)
        {
            throw new IllegalArgumentException("negative component in " + partition + ":" + ledger + ":" + entry);
        }
    }

    /**
     * @param text {@code p:l:e} with three non-negative decimal numbers.
     * @return the id.
     * @throws IllegalArgumentException if {@code text} is not of that form.
     */
    public static MessageId parse(final String text)
    {
        if (null == text)
        {
            throw new IllegalArgumentException("message id is null");
        }
        final int first = text.indexOf(':');
        final int second = first < 0 ? -1 : text.indexOf(':', first + 1);
        if (first <= 0 || second <= first + 1 || second == text.length() - 1 || text.indexOf(':', second + 1) >= 0)
        {
            throw new IllegalArgumentException("not a message id (p:l:e): '" + text + "'");
        }
        try
        {
            final int partition = parseDigits(text, 0, first, Integer.MAX_VALUE);
            final long ledger = parseDigits(text, first + 1, second, Long.MAX_VALUE);
            final long entry = parseDigits(text, second + 1, text.length(), Long.MAX_VALUE);
            return new MessageId(partition, ledger, entry);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a message id (p:l:e): '" + text + "'", ex);
        }
    }

    private static int parseDigits(final String text, final int from, final int to, final int max)
    {
        return (int)parseDigits(text, from, to, (long)max);
    }

    private static long parseDigits(final String text, final int from, final int to, final long max)
    {
        long value = 0;
        for (int i = from; i < to; i++)
        {
            final char c = text.charAt(i);
            if (c < '0' || c > '9')
            {
                throw new NumberFormatException("not a digit: '" + c + "'");
            }
            final int digit = c - '0';
            if (value > (max - digit) / 10)
            {
                throw new NumberFormatException("too large");
            }
            value = value * 10 + digit;
        }
        return value;
    }

    public int compareTo(final MessageId other)
    {
        int result = Integer.compare(partition, other.partition);
        if (0 == result)
        {
            result = Long.compare(ledger, other.ledger);
            if (0 == result)
            {
                result = Long.compare(entry, other.entry);
            }
        }
        return result;
    }

    public String toString()
    {
        return partition + ":" + ledger + ":" + entry;
    }
}
