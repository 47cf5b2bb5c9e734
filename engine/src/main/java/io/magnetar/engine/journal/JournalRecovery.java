package io.magnetar.engine.journal;

/**
 * What start does when the journal is damaged in the middle: a record that is not intact with intact records after
 * it. (A damaged tail, with nothing intact after it, is always cut: that is what a crash in the middle of a write
 * leaves.)
 */
public enum JournalRecovery
{
    /**
     * Refuse to start ({@link JournalCorruptedException}); nothing is changed on disk. The default.
     */
    REFUSE,

    /**
     * Start with the state up to the last intact record before the damage: the damaged record and everything after it
     * is declared void ({@link JournalCuts}) and its cycle files are linked into the journal's {@code quarantine/}
     * directory before new entries are appended.
     */
    TRUNCATE;

    /**
     * @param name {@code refuse} or {@code truncate}, case-insensitive.
     * @return the value.
     * @throws IllegalArgumentException for any other name.
     */
    public static JournalRecovery of(final String name)
    {
        for (final JournalRecovery value : values())
        {
            if (value.name().equalsIgnoreCase(name.trim()))
            {
                return value;
            }
        }
        throw new IllegalArgumentException("journal recovery must be refuse or truncate: '" + name + "'");
    }
}
