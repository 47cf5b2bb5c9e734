package io.magnetar.engine.journal;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The command journal: a Chronicle Queue of SBE {@code JournalEntry} records, one document each.
 * <p>
 * <b>Writing.</b> One thread appends ({@link #append}) and ends each batch with {@link #endOfBatch()}: under
 * {@link Durability#SYNC} that forces the batch to disk once (group commit); under {@link Durability#ASYNC}
 * the mapped write is all there is. The appender is bound to the first thread that appends; appending
 * allocates nothing in steady state.
 * <p>
 * <b>Reading.</b> {@link #replay} (any thread, before or while appending) verifies every record and stops at
 * the first one that is not intact; {@link #newReader} gives a reader to drive step by step.
 * <p>
 * <b>Cycles.</b> Chronicle keeps one file per roll cycle. Besides rolling on time, the journal rolls on demand
 * ({@link #roll()}: the pipeline rolls right before each snapshot marker), so that once a snapshot is durable
 * every cycle before it can be deleted ({@link #deleteCyclesBefore}) however fast entries arrive. Rolling is done
 * through the queue's clock, which therefore runs ahead of the wall clock by up to one cycle per roll: cycle file
 * names are ordered like the entries in them, but they are not wall-clock times. Entries carry the sequencer's
 * own time stamp, which is unaffected.
 * <p>
 * {@link #close()} must not race with an append: stop the writer thread first.
 */
public final class Journal implements AutoCloseable
{
    /**
     * System property that, when absent, this class sets to {@code true} before building a queue so that
     * Chronicle never tries to reach its analytics host.
     */
    public static final String CHRONICLE_ANALYTICS_DISABLE_PROP_NAME = "chronicle.analytics.disable";

    /**
     * System property that, when absent, this class sets to {@code true} before building a queue so that
     * Chronicle does not print its release-notes banner into the broker's log.
     */
    public static final String CHRONICLE_ANNOUNCER_DISABLE_PROP_NAME = "chronicle.announcer.disable";

    static
    {
        disableChronicleAnalytics();
    }

    /**
     * Roll cycle used when none is given: a file per ten minutes (up to 2^30 entries each), and a new file
     * whenever the journal is {@linkplain #roll() rolled}.
     */
    public static final RollCycle DEFAULT_ROLL_CYCLE = RollCycles.TEN_MINUTELY;

    /**
     * System property: how long Chronicle waits for a lock or a header held by another writer before recovering
     * it, in ms (default {@link #TIMEOUT_MS_DEFAULT}).
     */
    public static final String TIMEOUT_MS_PROP_NAME = "magnetar.journal.timeout.ms";

    /**
     * Default of {@link #TIMEOUT_MS_PROP_NAME}: 1 s, not Chronicle's 10 s. One thread of one process writes the
     * journal (the node holds its data directory), so such a wait is only ever for a writer that died: a process
     * killed while rolling leaves the next cycle's file without its header, and Chronicle's 10 s timeout stalled the
     * first append after a restart by 10 s or more (by up to a minute in the broker's crash loop).
     */
    public static final long TIMEOUT_MS_DEFAULT = 1_000;

    private static final String CYCLE_FILE_SUFFIX = ".cq4";

    /**
     * Subdirectory of the journal directory where {@link #cut} leaves the cycle files it declared (partly) void.
     */
    public static final String QUARANTINE_DIR = "quarantine";

    private static final DateTimeFormatter QUARANTINE_TIME =
        DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final File dir;
    private final Durability durability;
    private final SingleChronicleQueue queue;
    private final RollCycle rollCycle;
    private final QueueClock queueClock = new QueueClock();
    private final DateTimeFormatter cycleFileNames;
    private final AtomicLong rollCount = new AtomicLong();
    private final AtomicLong deletedCycleCount = new AtomicLong();
    private volatile int lastForcedCycle = Integer.MIN_VALUE;
    private final JournalEntryFormat format = new JournalEntryFormat();
    private final AtomicLong appendCount = new AtomicLong();
    private final AtomicLong syncCount = new AtomicLong();
    private final AtomicLong lastIndexAppended = new AtomicLong(-1);
    private final JournalCuts cuts;
    private ExpandableArrayBuffer scratch;
    private ExcerptAppender appender;
    private boolean unsynced;
    private volatile boolean closed;

    /**
     * Open (or create) the journal in {@code dir} with the default roll cycle.
     *
     * @param dir        directory of the queue files.
     * @param durability when an append counts as durable.
     */
    public Journal(final File dir, final Durability durability)
    {
        this(dir, DEFAULT_ROLL_CYCLE, durability);
    }

    /**
     * Open (or create) the journal in {@code dir}.
     *
     * @param dir        directory of the queue files.
     * @param rollCycle  how often Chronicle starts a new file.
     * @param durability when an append counts as durable.
     */
    public Journal(final File dir, final RollCycle rollCycle, final Durability durability)
    {
        disableChronicleAnalytics();
        this.dir = dir;
        this.durability = durability;
        this.queue = SingleChronicleQueueBuilder.binary(dir)
            .rollCycle(rollCycle)
            .timeProvider(queueClock)
            .syncMode(durability == Durability.SYNC ? SyncMode.SYNC : SyncMode.NONE)
            .timeoutMS(Long.getLong(TIMEOUT_MS_PROP_NAME, TIMEOUT_MS_DEFAULT))
            .build();
        this.rollCycle = queue.rollCycle();
        this.cycleFileNames = DateTimeFormatter.ofPattern(this.rollCycle.format()).withZone(ZoneOffset.UTC);
        try
        {
            this.cuts = JournalCuts.load(dir.toPath());
        }
        catch (final RuntimeException ex)
        {
            queue.close();
            throw ex;
        }

        // an earlier run may have rolled ahead of the wall clock: never append to a cycle before the last one
        final int lastCycle = queue.lastCycle();
        if (lastCycle != Integer.MIN_VALUE && lastCycle > queue.cycle())
        {
            queueClock.skewMs = cycleStartMs(lastCycle) - System.currentTimeMillis();
        }
    }

    /**
     * Set {@code chronicle.analytics.disable=true} and {@code chronicle.announcer.disable=true} unless the
     * properties are already set. Must run before Chronicle's classes initialise to have an effect: this
     * class calls it when it is initialised, before it touches any Chronicle class.
     */
    public static void disableChronicleAnalytics()
    {
        if (null == System.getProperty(CHRONICLE_ANALYTICS_DISABLE_PROP_NAME))
        {
            System.setProperty(CHRONICLE_ANALYTICS_DISABLE_PROP_NAME, "true");
        }
        if (null == System.getProperty(CHRONICLE_ANNOUNCER_DISABLE_PROP_NAME))
        {
            System.setProperty(CHRONICLE_ANNOUNCER_DISABLE_PROP_NAME, "true");
        }
    }

    /**
     * Find a Chronicle roll cycle by name ({@code FAST_DAILY}, {@code FAST_HOURLY}, {@code LARGE_DAILY},
     * {@code TEST_SECONDLY}, ...), case-insensitive.
     *
     * @param name of a constant of {@link RollCycles}, {@link LargeRollCycles} or {@link TestRollCycles}.
     * @return the roll cycle.
     * @throws IllegalArgumentException if there is no such roll cycle.
     */
    public static RollCycle rollCycle(final String name)
    {
        final String upper = name.trim().toUpperCase(Locale.ROOT);
        for (final RollCycles cycle : RollCycles.values())
        {
            if (cycle.name().equals(upper))
            {
                return cycle;
            }
        }
        for (final LargeRollCycles cycle : LargeRollCycles.values())
        {
            if (cycle.name().equals(upper))
            {
                return cycle;
            }
        }
        for (final TestRollCycles cycle : TestRollCycles.values())
        {
            if (cycle.name().equals(upper))
            {
                return cycle;
            }
        }

        throw new IllegalArgumentException("unknown roll cycle: " + name);
    }

    /**
     * Append one complete, sealed JournalEntry record as one document.
     *
     * @param buffer holding the record (see {@link JournalEntryFormat}).
     * @param offset of the record.
     * @param length of the record.
     * @return the journal index of the document.
     */
    public long append(final DirectBuffer buffer, final int offset, final int length)
    {
        final ExcerptAppender appender = appender();
        try (DocumentContext dc = appender.writingDocument())
        {
            try
            {
                final Bytes<?> bytes = dc.wire().bytes();
                final byte[] array = buffer.byteArray();
                if (null != array)
                {
                    bytes.write(array, (int)buffer.wrapAdjustment() + offset, length);
                }
                else
                {
                    bytes.unsafeWrite(buffer.addressOffset() + offset, length);
                }
            }
            catch (final RuntimeException | Error ex)
            {
                dc.rollbackOnClose();
                throw ex;
            }
        }

        final long index = appender.lastIndexAppended();
        unsynced = true;
        lastIndexAppended.lazySet(index);
        appendCount.lazySet(appendCount.get() + 1);

        return index;
    }

    /**
     * Build a record around a command (copying it) and append it. For tools and tests; the pipeline lays
     * records out in its ring slots instead.
     *
     * @return the journal index of the document.
     */
    public long appendCommand(
        final long sessionId,
        final long timestampMs,
        final DirectBuffer command,
        final int commandOffset,
        final int commandLength)
    {
        if (null == scratch)
        {
            scratch = new ExpandableArrayBuffer(JournalEntryFormat.HEADER_LENGTH + commandLength);
        }
        final int length = format.encode(scratch, 0, timestampMs, sessionId, command, commandOffset, commandLength);

        return append(scratch, 0, length);
    }

    /**
     * End of a batch: under {@link Durability#SYNC} force everything appended since the last call to disk
     * (one msync for the whole batch); under {@link Durability#ASYNC} nothing to do.
     *
     * @return true if a sync was performed.
     */
    public boolean endOfBatch()
    {
        if (unsynced && durability == Durability.SYNC)
        {
            appender.sync();
            unsynced = false;
            syncCount.lazySet(syncCount.get() + 1);
            return true;
        }

        unsynced = false;
        return false;
    }

    /**
     * Make the next append start a new cycle file. Under {@link Durability#SYNC}, first syncs what was appended
     * since the last {@link #endOfBatch()} (the sync at the end of the batch only reaches the new cycle). Call from
     * the appending thread.
     */
    public void roll()
    {
        if (unsynced && durability == Durability.SYNC && null != appender)
        {
            appender.sync();
            syncCount.lazySet(syncCount.get() + 1);
        }
        final int next = queue.cycle() + 1;
        final long skewMs = cycleStartMs(next) - System.currentTimeMillis();
        if (skewMs > queueClock.skewMs)
        {
            queueClock.skewMs = skewMs;
        }
        rollCount.lazySet(rollCount.get() + 1);
    }

    /**
     * @param index a journal index.
     * @return the roll cycle (file) the index belongs to.
     */
    public int cycleOf(final long index)
    {
        return rollCycle.toCycle(index);
    }

    /**
     * @param index a journal index.
     * @return the cycle files wholly before the cycle of {@code index}, oldest first.
     * @throws IOException if the directory cannot be listed.
     */
    public List<Path> cycleFilesBefore(final long index) throws IOException
    {
        final int keepFrom = rollCycle.toCycle(index);
        final List<Path> before = new ArrayList<>();
        for (final Path file : cycleFiles())
        {
            if (cycleOfFile(file.getFileName().toString()) < keepFrom)
            {
                before.add(file);
            }
        }
        return before;
    }

    /**
     * Delete every cycle file wholly before the cycle of {@code index}: entries before that cycle are gone,
     * entries of its cycle and after stay. Safe while appending (on another thread), as long as the appender is
     * at or after that cycle, which holds for any index already appended. Readers opened later start at the
     * first cycle left.
     *
     * @param index a journal index already appended.
     * @return cycle files deleted.
     * @throws IOException if a file could not be deleted (those before it were).
     */
    public int deleteCyclesBefore(final long index) throws IOException
    {
        int deleted = 0;
        try
        {
            for (final Path file : cycleFilesBefore(index))
            {
                if (Files.deleteIfExists(file))
                {
                    deleted++;
                }
            }
        }
        finally
        {
            deletedCycleCount.addAndGet(deleted);
        }
        return deleted;
    }

    /**
     * Force the cycle files holding entries up to {@code index} to disk (fsync), for a caller on any thread that
     * must not let anything depend on entries the disk may not have yet (a snapshot, under
     * {@link Durability#ASYNC}). Cycles forced before are skipped, except the last one.
     *
     * @param index a journal index already appended.
     * @throws IOException if forcing failed.
     */
    public void forceUpTo(final long index) throws IOException
    {
        final int upTo = rollCycle.toCycle(index);
        final int from = lastForcedCycle;
        for (final Path file : cycleFiles())
        {
            final int cycle = cycleOfFile(file.getFileName().toString());
            if (cycle < from || cycle > upTo)
            {
                continue;
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
            {
                channel.force(false);
            }
            catch (final NoSuchFileException ignore)
            {
            }
        }
        lastForcedCycle = upTo;
    }

    /**
     * @param cycle a roll cycle.
     * @return the name of its file in {@link #dir()}.
     */
    public String cycleFileName(final int cycle)
    {
        return cycleFileNames.format(Instant.ofEpochMilli(cycleStartMs(cycle))) + CYCLE_FILE_SUFFIX;
    }

    /**
     * @return cycle files in {@link #dir()} now, oldest first.
     * @throws IOException if the directory cannot be listed.
     */
    public List<Path> cycleFiles() throws IOException
    {
        try (Stream<Path> files = Files.list(dir.toPath()))
        {
            return files.filter((p) -> cycleOfFile(p.getFileName().toString()) != Integer.MIN_VALUE).sorted().toList();
        }
    }

    private int cycleOfFile(final String name)
    {
        if (!name.endsWith(CYCLE_FILE_SUFFIX))
        {
            return Integer.MIN_VALUE;
        }
        try
        {
            final TemporalAccessor parsed = cycleFileNames.parseBest(
                name.substring(0, name.length() - CYCLE_FILE_SUFFIX.length()),
                LocalDateTime::from,
                LocalDate::from);
            final long ms = parsed instanceof LocalDateTime dateTime ?
                dateTime.toInstant(ZoneOffset.UTC).toEpochMilli() :
                ((LocalDate)parsed).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            final int cycle = (int)Math.floorDiv(ms - queue.epoch(), rollCycle.lengthInMillis());
            return cycleFileName(cycle).equals(name) ? cycle : Integer.MIN_VALUE;
        }
        catch (final DateTimeException ex)
        {
            return Integer.MIN_VALUE;
        }
    }

    private long cycleStartMs(final int cycle)
    {
        return (long)cycle * rollCycle.lengthInMillis() + queue.epoch();
    }

    /**
     * What {@link #cut} did.
     *
     * @param fromIndex      index of the first record declared void (the bad one).
     * @param resumeIndex    index the next entry gets (first index of a new cycle).
     * @param cycleFile      name of the cycle file holding the bad record.
     * @param droppedEntries records declared void: the bad one and the ones after it (a lower bound when Chronicle
     *                       could not read past the bad one).
     * @param quarantine     directory the affected cycle files were linked (or copied) into.
     */
    public record Cut(long fromIndex, long resumeIndex, String cycleFile, long droppedEntries, Path quarantine)
    {
    }

    /**
     * Declare the bad record a replay stopped at, and everything after it, void: link (or copy) the cycle files from the
     * bad record's cycle on into {@code quarantine/<index>-<time>/}, roll the journal to a new cycle, and record the
     * cut ({@link JournalCuts}) durably. Readers then skip from the bad record to the first entry appended after this
     * call. Call before anything is appended through this instance.
     *
     * @param damage a replay of this journal that stopped at a bad record.
     * @return what was cut.
     * @throws IllegalArgumentException if the replay was complete.
     * @throws IllegalStateException    if something was appended already.
     * @throws UncheckedIOException     if the quarantine copy or the cut could not be written.
     */
    public Cut cut(final ReplayResult damage)
    {
        if (damage.isComplete())
        {
            throw new IllegalArgumentException("nothing to cut: the replay was complete");
        }
        if (null != appender)
        {
            throw new IllegalStateException("cut after appending");
        }

        final long fromIndex = damage.badIndex();
        final int badCycle = rollCycle.toCycle(fromIndex);
        final String cycleFile = cycleFileName(badCycle);
        final Path quarantine = dir.toPath().resolve(QUARANTINE_DIR).resolve(
            String.format("%x-%s", fromIndex, QUARANTINE_TIME.format(Instant.now())));
        try
        {
            Files.createDirectories(quarantine);
            for (final Path file : cycleFiles())
            {
                if (cycleOfFile(file.getFileName().toString()) >= badCycle)
                {
                    final Path target = quarantine.resolve(file.getFileName());
                    try
                    {
                        Files.createLink(target, file);
                    }
                    catch (final IOException | UnsupportedOperationException ex)
                    {
                        Files.copy(file, target);
                    }
                }
            }
            final Path metadata = dir.toPath().resolve("metadata.cq4t");
            if (Files.exists(metadata))
            {
                Files.copy(metadata, quarantine.resolve(metadata.getFileName()));
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot set the damaged journal cycles aside in " + quarantine, ex);
        }

        roll();
        final long resumeIndex = rollCycle.toIndex(queue.cycle(), 0);
        final long dropped = 1 + damage.entriesAfterBad();
        cuts.add(new JournalCuts.Cut(fromIndex, resumeIndex), String.format(
            "%s at %s: %s; %d record(s) from index 0x%x in %s void, copies in %s", damage.status(), Instant.now(),
            damage.detail(), dropped, fromIndex, cycleFile, dir.toPath().relativize(quarantine)));
        try
        {
            FileSync.forceDirectory(quarantine);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot force the quarantine directory " + quarantine, ex);
        }

        return new Cut(fromIndex, resumeIndex, cycleFile, dropped, quarantine);
    }

    /**
     * @return the ranges recovery declared void.
     */
    public List<JournalCuts.Cut> cuts()
    {
        return cuts.cuts();
    }

    /**
     * Replay every entry from the start, verifying each; stops before the first bad record.
     *
     * @param handler for intact entries, in journal order.
     * @return what was found.
     */
    public ReplayResult replay(final JournalReader.Handler handler)
    {
        return replay(-1, handler);
    }

    /**
     * Replay every entry from {@code fromIndex} (inclusive; negative for the start), verifying each; stops
     * before the first bad record.
     *
     * @param fromIndex journal index to start at, or -1 for the start.
     * @param handler   for intact entries, in journal order.
     * @return what was found.
     */
    public ReplayResult replay(final long fromIndex, final JournalReader.Handler handler)
    {
        try (JournalReader reader = newReader(fromIndex))
        {
            return reader.replay(handler);
        }
    }

    /**
     * @param fromIndex journal index to start at, or -1 for the start.
     * @return a new reader; close it when done.
     */
    public JournalReader newReader(final long fromIndex)
    {
        return new JournalReader(queue, cuts, fromIndex);
    }

    /**
     * @return index of the last document appended through this instance, or -1 if none was (readable from
     * any thread).
     */
    public long lastIndexAppended()
    {
        return lastIndexAppended.get();
    }

    /**
     * @return records appended through this instance (readable from any thread).
     */
    public long appendCount()
    {
        return appendCount.get();
    }

    /**
     * @return syncs performed by {@link #endOfBatch()} (readable from any thread).
     */
    public long syncCount()
    {
        return syncCount.get();
    }

    /**
     * @return times {@link #roll()} was called (readable from any thread).
     */
    public long rollCount()
    {
        return rollCount.get();
    }

    /**
     * @return cycle files deleted by {@link #deleteCyclesBefore} (readable from any thread).
     */
    public long deletedCycleCount()
    {
        return deletedCycleCount.get();
    }

    /**
     * @return the roll cycle in use (the one the queue was created with, if it existed already).
     */
    public RollCycle rollCycleInUse()
    {
        return rollCycle;
    }

    /**
     * @return the durability mode.
     */
    public Durability durability()
    {
        return durability;
    }

    /**
     * @return directory of the queue files.
     */
    public File dir()
    {
        return dir;
    }

    /**
     * @return true once closed.
     */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Close the appender and the queue. Call after the writing thread has stopped.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;

        if (null != appender)
        {
            appender.singleThreadedCheckReset();
            appender.close();
            appender = null;
        }
        queue.close();
    }

    /**
     * The queue's clock: the wall clock plus a skew that only grows, by which {@link #roll()} starts the next cycle
     * early.
     */
    private static final class QueueClock implements TimeProvider
    {
        volatile long skewMs;

        public long currentTimeMillis()
        {
            return System.currentTimeMillis() + skewMs;
        }

        public long currentTimeMicros()
        {
            return currentTimeMillis() * 1000;
        }

        public long currentTimeNanos()
        {
            return currentTimeMillis() * 1_000_000;
        }
    }

    private ExcerptAppender appender()
    {
        if (null == appender)
        {
            if (closed)
            {
                throw new IllegalStateException("journal closed: " + dir);
            }
            appender = queue.createAppender();
        }

        return appender;
    }
}
