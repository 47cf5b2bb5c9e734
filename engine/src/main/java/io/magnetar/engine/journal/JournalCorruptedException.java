package io.magnetar.engine.journal;

/**
 * The journal holds a record that is not intact. Nothing at or after it was applied; the node must not
 * append behind it (new records would be unreachable on the next replay), so it refuses to start.
 */
public final class JournalCorruptedException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final transient ReplayResult result;

    /**
     * @param result of the replay that stopped at the damaged record.
     */
    public JournalCorruptedException(final ReplayResult result)
    {
        super("journal damaged at index " + result.badIndex() + " (" + result.status() + ": " + result.detail() +
            "), " + result.entries() + " intact entries before it, " + result.entriesAfterBad() + " after it");
        this.result = result;
    }

    /**
     * @param result    of the replay that stopped at the damaged record, with intact records after it.
     * @param cycleFile name of the cycle file holding the damaged record.
     * @param dir       the journal directory.
     */
    public JournalCorruptedException(final ReplayResult result, final String cycleFile, final java.io.File dir)
    {
        super("journal damaged in the middle: record at index 0x" + Long.toHexString(result.badIndex()) +
            " in cycle file " + cycleFile + " of " + dir + " is not intact (" + result.status() + ": " +
            result.detail() + "), " + result.entries() + " intact entries replayed before it, " +
            result.entriesAfterBad() + " after it. The node does not start. To start with the state up to the last " +
            "intact record before it, dropping it and everything after it (the cycle files are kept in " +
            Journal.QUARANTINE_DIR + "/), set the journal recovery to truncate (broker: --journal-recovery truncate; " +
            "PipelineContext.journalRecovery(TRUNCATE))");
        this.result = result;
    }

    /**
     * @return what the replay found.
     */
    public ReplayResult result()
    {
        return result;
    }
}
