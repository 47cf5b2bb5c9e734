package io.magnetar.engine.journal;

/**
 * What a replay found: how many intact entries it delivered and, if it stopped early, where and why.
 *
 * @param entries         intact entries delivered to the handler.
 * @param lastGoodIndex   journal index of the last entry delivered, or -1 when none was.
 * @param status          {@link Status#COMPLETE} when the end of the journal was reached.
 * @param badIndex        journal index of the record that stopped the replay, or -1.
 * @param entriesAfterBad documents present after the bad record (0: the bad record is the last one, as a
 *                        torn write at a crash would leave it; more: damage in the middle of the journal).
 * @param detail          human readable reason, or null when complete.
 */
public record ReplayResult(
    long entries,
    long lastGoodIndex,
    Status status,
    long badIndex,
    long entriesAfterBad,
    String detail)
{
    /**
     * Why a replay ended.
     */
    public enum Status
    {
        /** Every record up to the end of the journal was intact and delivered. */
        COMPLETE,
        /** Stopped at a record that is not a well-formed JournalEntry (torn, truncated or foreign). */
        MALFORMED,
        /** Stopped at a record whose command does not match its checksum. */
        CHECKSUM_MISMATCH
    }

    /**
     * @return true when the whole journal was replayed.
     */
    public boolean isComplete()
    {
        return status == Status.COMPLETE;
    }
}
