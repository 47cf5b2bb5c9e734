package io.magnetar.engine.snapshot;

import io.magnetar.engine.journal.FileSync;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The snapshot directory: {@code snapshot-<journal index as 16 hex digits>.snap} files, newest (highest index)
 * first; {@code .snap.tmp} while one is written; {@code .snap.rejected} for a snapshot recovery refused (kept
 * for inspection until retention removes it); and the {@value #JOURNAL_TRUNCATED} marker, written before the
 * first journal cycle is ever deleted, which says that the journal no longer starts at its beginning (so a
 * full replay of it is not a recovery). Not thread safe: the pipeline uses it from one thread at a time.
 */
public final class SnapshotStore
{
    static final String PREFIX = "snapshot-";
    static final String SUFFIX = ".snap";
    static final String TEMPORARY_SUFFIX = ".tmp";
    static final String REJECTED_SUFFIX = ".rejected";
    /** Name of the marker file that says journal cycles have been deleted. */
    public static final String JOURNAL_TRUNCATED = "journal-truncated";
    private static final int WRITE_BUFFER = 1024 * 1024;

    private final Path dir;
    private ByteBuffer writeBuffer;

    /**
     * @param dir the snapshot directory; created if missing.
     * @throws IOException if it cannot be created.
     */
    public SnapshotStore(final Path dir) throws IOException
    {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    /**
     * @return the directory.
     */
    public Path dir()
    {
        return dir;
    }

    /**
     * @param journalIndex of a snapshot.
     * @return its file name.
     */
    public static String fileName(final long journalIndex)
    {
        return PREFIX + String.format("%016x", journalIndex) + SUFFIX;
    }

    /**
     * @param file a snapshot file (or a temporary or rejected one).
     * @return the journal index in its name, or -1 if it is not named like a snapshot.
     */
    public static long indexOf(final Path file)
    {
        String name = file.getFileName().toString();
        if (name.endsWith(TEMPORARY_SUFFIX))
        {
            name = name.substring(0, name.length() - TEMPORARY_SUFFIX.length());
        }
        else if (name.endsWith(REJECTED_SUFFIX))
        {
            name = name.substring(0, name.length() - REJECTED_SUFFIX.length());
        }
        if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX) || name.length() != PREFIX.length() + 16 + SUFFIX.length())
        {
            return -1;
        }
        try
        {
            return Long.parseUnsignedLong(name.substring(PREFIX.length(), PREFIX.length() + 16), 16);
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    /**
     * @return the snapshot files, newest first.
     * @throws IOException if the directory cannot be listed.
     */
    public List<Path> snapshots() throws IOException
    {
        return list(SUFFIX);
    }

    /**
     * Start writing the snapshot of the state after {@code journalIndex}. One writer at a time.
     *
     * @param journalIndex of the last entry applied.
     * @return the writer; complete or close it.
     * @throws IOException if the file cannot be created.
     */
    public SnapshotWriter newWriter(final long journalIndex) throws IOException
    {
        if (null == writeBuffer)
        {
            writeBuffer = ByteBuffer.allocateDirect(WRITE_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        }
        writeBuffer.clear();
        return new SnapshotWriter(dir, journalIndex, writeBuffer);
    }

    /**
     * @param file a snapshot file.
     * @return a reader of it.
     * @throws IOException if it cannot be opened.
     */
    public SnapshotReader open(final Path file) throws IOException
    {
        return new SnapshotReader(file);
    }

    /**
     * Keep the {@code keep} newest snapshots and delete the older ones (and rejected snapshots older than the
     * oldest kept).
     *
     * @param keep how many to keep, at least 1.
     * @return the journal index of the oldest snapshot kept, or -1 if there is none.
     * @throws IOException if the directory cannot be listed or a file deleted.
     */
    public long retain(final int keep) throws IOException
    {
        final List<Path> snapshots = snapshots();
        if (snapshots.isEmpty())
        {
            return -1;
        }
        final int kept = Math.min(Math.max(1, keep), snapshots.size());
        for (int i = kept; i < snapshots.size(); i++)
        {
            Files.deleteIfExists(snapshots.get(i));
        }
        final long oldestKept = indexOf(snapshots.get(kept - 1));
        for (final Path rejected : list(SUFFIX + REJECTED_SUFFIX))
        {
            if (Long.compareUnsigned(indexOf(rejected), oldestKept) < 0)
            {
                Files.deleteIfExists(rejected);
            }
        }
        return oldestKept;
    }

    /**
     * Set a snapshot aside so that recovery never considers it again.
     *
     * @param file the snapshot.
     * @return where it went.
     * @throws IOException if it cannot be renamed.
     */
    public Path reject(final Path file) throws IOException
    {
        final Path target = file.resolveSibling(file.getFileName() + REJECTED_SUFFIX);
        Files.move(file, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /**
     * Delete snapshots left half-written by a crash.
     *
     * @return how many.
     * @throws IOException if the directory cannot be listed or a file deleted.
     */
    public int deleteTemporaries() throws IOException
    {
        final List<Path> temporaries = list(SUFFIX + TEMPORARY_SUFFIX);
        for (final Path file : temporaries)
        {
            Files.deleteIfExists(file);
        }
        return temporaries.size();
    }

    /**
     * @return true once journal cycles have been deleted (the journal alone no longer rebuilds the state).
     */
    public boolean isJournalTruncated()
    {
        return Files.exists(dir.resolve(JOURNAL_TRUNCATED));
    }

    /**
     * Write the {@value #JOURNAL_TRUNCATED} marker (forced to disk) unless it exists. Call before deleting a
     * journal cycle for the first time.
     *
     * @param description what is about to be deleted, for a human who finds the file.
     * @throws IOException if it cannot be written.
     */
    public void markJournalTruncated(final String description) throws IOException
    {
        final Path marker = dir.resolve(JOURNAL_TRUNCATED);
        if (Files.exists(marker))
        {
            return;
        }
        final byte[] text = ("Journal cycles before the oldest snapshot in this directory have been deleted, starting " +
            "with: " + description + ".\nRecovery needs a complete snapshot here; the journal alone no longer " +
            "rebuilds the state.\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel channel = FileChannel.open(
            marker, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))
        {
            final ByteBuffer buffer = ByteBuffer.wrap(text);
            while (buffer.hasRemaining())
            {
                channel.write(buffer);
            }
            channel.force(true);
        }
        FileSync.forceDirectory(dir);
    }

    private List<Path> list(final String suffix) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        try (Stream<Path> stream = Files.list(dir))
        {
            stream.filter((p) -> p.getFileName().toString().endsWith(suffix) && indexOf(p) >= 0).forEach(files::add);
        }
        files.sort(Comparator.comparingLong(SnapshotStore::indexOf).reversed());
        return files;
    }
}
