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
     * @return what the replay found.
     */
    public ReplayResult result()
    {
        return result;
    }
}
