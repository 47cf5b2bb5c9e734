package io.magnetar.engine;

/**
 * One ledger of one partition of a topic: what a message's id {@code (partition, ledger, entry)} names besides the
 * entry. Messages refer to their ledger instead of each carrying the topic, the partition and the ledger id: one
 * 4-byte reference instead of 16 bytes of fields, for every live message (docs/ENGINE.md, "Live-message layout").
 * A partition has one current ledger ({@link Topic#ledgers}); a message keeps the one it was stored in, so a later
 * change of ledger (a partition moving between nodes) does not rename it.
 * <p>
 * It also holds the high half of its messages' publish times: a message keeps the low 32 bits
 * ({@link Message#publishTimeLow}), and its ledger object covers one era of 2^32 ms (~49.7 days) aligned to
 * multiples of 2^32. A partition's current ledger is replaced by one of the same id for the next era when the clock
 * crosses into it (an object every 49.7 days); the snapshot loader builds equivalent ones from the publish times. Four
 * bytes fewer in each live message, which took a {@code Message} from 80 to 72 bytes with its other fields (JOL).
 */
final class Ledger
{
    final Topic topic;
    final int partition;
    final long id;
    /** the high half of its messages' publish times: a multiple of 2^32 ms. */
    final long eraMs;

    Ledger(final Topic topic, final int partition, final long id, final long eraMs)
    {
        assert eraMs == era(eraMs);
        this.topic = topic;
        this.partition = partition;
        this.id = id;
        this.eraMs = eraMs;
    }

    /**
     * The era a time falls in: the time without its low 32 bits.
     */
    static long era(final long timeMs)
    {
        return timeMs & ~0xFFFF_FFFFL;
    }

    /**
     * A publish time from the low half a message keeps.
     */
    long timeMs(final int low)
    {
        return eraMs | (low & 0xFFFF_FFFFL);
    }
}
