package io.magnetar.engine.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The journal's cuts: index ranges that recovery declared void because a damaged record starts them (a torn tail, or
 * damage in the middle accepted with {@link JournalRecovery#TRUNCATE}). A cut covers {@code [fromIndex, resumeIndex)}:
 * the first bad record and everything after it that was in the journal when it was cut; new entries start at
 * {@code resumeIndex}, the first index of a cycle after every cycle that existed then. Readers skip a cut range as if
 * it were not there. Chronicle Queue cannot truncate a cycle file, so the void records stay in their cycle files (which
 * are also linked into {@code quarantine/}) until snapshots let those cycles be deleted.
 * <p>
 * Kept in the text file {@value #FILE_NAME} of the journal directory, one line per cut ({@code fromIndex resumeIndex}
 * in hex, then a comment), replaced atomically and forced to disk before anything is appended after a cut.
 */
public final class JournalCuts
{
    /**
     * Name of the file in the journal directory.
     */
    public static final String FILE_NAME = "magnetar-cuts.txt";

    /**
     * One cut.
     *
     * @param fromIndex   first void index: the first record that was not intact.
     * @param resumeIndex first index after the cut (first index of the cycle new entries start in).
     */
    public record Cut(long fromIndex, long resumeIndex)
    {
        /**
         * @return true if {@code index} is void.
         */
        public boolean covers(final long index)
        {
            return index >= fromIndex && index < resumeIndex;
        }
    }

    private final Path file;
    private final List<Cut> cuts = new ArrayList<>();
    private final List<String> lines = new ArrayList<>();

    private JournalCuts(final Path file)
    {
        this.file = file;
    }

    /**
     * @param dir the journal directory.
     * @return the cuts recorded there (none if the file does not exist).
     * @throws UncheckedIOException     if the file cannot be read.
     * @throws IllegalStateException    if the file is not well formed (it is never written in place).
     */
    static JournalCuts load(final Path dir)
    {
        final JournalCuts journalCuts = new JournalCuts(dir.resolve(FILE_NAME));
        if (!Files.exists(journalCuts.file))
        {
            return journalCuts;
        }
        try
        {
            for (final String line : Files.readAllLines(journalCuts.file, StandardCharsets.UTF_8))
            {
                final String trimmed = line.trim();
                if (trimmed.isEmpty() || trimmed.startsWith("#"))
                {
                    continue;
                }
                final String[] parts = trimmed.split("\\s+");
                try
                {
                    journalCuts.cuts.add(new Cut(Long.parseUnsignedLong(parts[0], 16), Long.parseUnsignedLong(parts[1], 16)));
                }
                catch (final RuntimeException ex)
                {
                    throw new IllegalStateException("malformed line in " + journalCuts.file + ": '" + line + "'", ex);
                }
                journalCuts.lines.add(line);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + journalCuts.file, ex);
        }
        return journalCuts;
    }

    /**
     * @param index a journal index.
     * @return the cut that voids it, or null.
     */
    public Cut cutCovering(final long index)
    {
        for (int i = 0, size = cuts.size(); i < size; i++)
        {
            final Cut cut = cuts.get(i);
            if (cut.covers(index))
            {
                return cut;
            }
        }
        return null;
    }

    /**
     * @return true if there are no cuts (the common case: readers then check nothing).
     */
    public boolean isEmpty()
    {
        return cuts.isEmpty();
    }

    /**
     * @return the cuts, oldest first.
     */
    public List<Cut> cuts()
    {
        return List.copyOf(cuts);
    }

    /**
     * Record a cut durably: the file is rewritten to a temporary file, forced, and moved over the old one.
     *
     * @param cut     the new cut.
     * @param comment what was cut, for a human reading the file.
     * @throws UncheckedIOException if it could not be written.
     */
    void add(final Cut cut, final String comment)
    {
        final String line = String.format("%x %x # %s", cut.fromIndex(), cut.resumeIndex(), comment.replace('\n', ' '));
        final List<String> newLines = new ArrayList<>(lines);
        newLines.add(line);
        final Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        try
        {
            final StringBuilder text = new StringBuilder(
                "# journal ranges [fromIndex, resumeIndex) declared void by recovery (hex Chronicle indexes)\n");
            for (final String l : newLines)
            {
                text.append(l).append('\n');
            }
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE))
            {
                channel.force(true);
            }
            try
            {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            FileSync.forceDirectory(file.getParent());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot record the journal cut in " + file, ex);
        }
        cuts.add(cut);
        lines.add(line);
    }
}
