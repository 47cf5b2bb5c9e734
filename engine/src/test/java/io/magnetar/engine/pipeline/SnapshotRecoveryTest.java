package io.magnetar.engine.pipeline;

import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.EventRecorder;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.snapshot.SnapshotInfo;
import io.magnetar.engine.snapshot.SnapshotReader;
import io.magnetar.engine.snapshot.SnapshotStore;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recovery = latest complete snapshot + journal tail, through the real pipeline: seeded random command streams
 * ({@link ReplayEqualityTest.Generator}) with frequent snapshots (so journal cycles are deleted as it runs); after
 * close, a fresh engine recovered from the directory has the live engine's {@link Engine#stateHash()}, and a
 * restarted pipeline matches the live engine plus the restart's {@code NodeStarted}. Damaged snapshots (torn,
 * without SnapshotEnd, a flipped byte) are detected, logged, set aside, and recovery falls back to the previous
 * snapshot, or to the whole journal while it is whole; with the journal truncated and no usable snapshot the node
 * refuses to start.
 */
class SnapshotRecoveryTest
{
    @TempDir
    File dir;

    private final List<String> logLines = new CopyOnWriteArrayList<>();
    private final Handler logHandler = new Handler()
    {
        public void publish(final LogRecord record)
        {
            logLines.add(record.getLevel() + " " + record.getMessage());
        }

        public void flush()
        {
        }

        public void close()
        {
        }
    };
    private final CachedEpochClock clock = new CachedEpochClock();

    @BeforeEach
    void captureLog()
    {
        Logger.getLogger("io.magnetar.engine.snapshot").addHandler(logHandler);
        clock.update(1_732_780_800_000L);
    }

    @AfterEach
    void releaseLog()
    {
        Logger.getLogger("io.magnetar.engine.snapshot").removeHandler(logHandler);
    }

    /**
     * seed % 2 picks the threading mode, seed % 3 == 0 turns the snapshot on close off (so the tail is not empty).
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 6, 42})
    void recoveryIsTheLatestSnapshotPlusTheJournalTail(final long seed)
    {
        final boolean snapshotOnClose = seed % 3 != 0;
        final Run run = run(seed, 120, 25, snapshotOnClose);
        assertTrue(run.snapshots >= 3, "snapshots taken: " + run.snapshots);
        assertTrue(run.deletedCycles > 0, "journal cycles were deleted while running");

        final Recovered recovered = recover();
        assertNotNull(recovered.result.snapshot(), "recovered from a snapshot");
        assertEquals(run.liveHash, recovered.engine.stateHash(), "state after snapshot + tail, seed " + seed);
        assertEquals(run.nextDeadlineMs, recovered.engine.nextDeadlineMs());
        if (snapshotOnClose)
        {
            assertEquals(0, recovered.result.replay().entries(), "the snapshot on close leaves no tail");
        }
        else
        {
            assertTrue(recovered.result.replay().entries() > 0, "a tail after the last snapshot");
        }

        restartMatches(run);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aTornSnapshotIsIgnoredAndRecoveryFallsBackToThePreviousOne(final boolean cutTheEndRecordOnly) throws IOException
    {
        final Run run = run(7, 80, 30, true);
        final List<Path> snapshots = new SnapshotStore(snapshotDir()).snapshots();
        assertEquals(2, snapshots.size(), "two snapshots retained");
        final Path newest = snapshots.get(0);
        final long previousIndex = SnapshotStore.indexOf(snapshots.get(1));

        final long length = Files.size(newest);
        final long cut = cutTheEndRecordOnly ? length - endRecordFrameLength() : length / 2;
        try (RandomAccessFile file = new RandomAccessFile(newest.toFile(), "rw"))
        {
            file.setLength(cut);
        }
        try (SnapshotReader reader = new SnapshotReader(newest))
        {
            assertEquals(SnapshotInfo.Status.INCOMPLETE, reader.verify().status());
        }

        final Recovered recovered = recover();
        assertEquals(previousIndex, recovered.result.snapshot().journalIndex(), "fell back to the previous snapshot");
        assertEquals(run.liveHash, recovered.engine.stateHash());
        assertTrue(recovered.result.replay().entries() > 0);
        assertTrue(Files.exists(newest.resolveSibling(newest.getFileName() + ".rejected")), "set aside");
        assertTrue(logLines.stream().anyMatch((l) -> l.startsWith("WARNING snapshot " + newest.getFileName() +
            " ignored: INCOMPLETE")), () -> "a clear log line: " + logLines);
    }

    @Test
    void aCorruptedSnapshotByteIsDetected() throws IOException
    {
        final Run run = run(8, 80, 30, true);
        final List<Path> snapshots = new SnapshotStore(snapshotDir()).snapshots();
        final Path newest = snapshots.get(0);
        final long previousIndex = SnapshotStore.indexOf(snapshots.get(1));
        flipByte(newest, Files.size(newest) / 2);

        try (SnapshotReader reader = new SnapshotReader(newest))
        {
            final SnapshotInfo info = reader.verify();
            assertEquals(SnapshotInfo.Status.CORRUPT, info.status(), info::toString);
        }

        final Recovered recovered = recover();
        assertEquals(previousIndex, recovered.result.snapshot().journalIndex());
        assertEquals(run.liveHash, recovered.engine.stateHash());
        assertTrue(logLines.stream().anyMatch((l) -> l.contains(newest.getFileName() + " ignored: CORRUPT")),
            () -> "a clear log line: " + logLines);
    }

    @Test
    void bytesAfterTheSnapshotEndAreRefusedThoughEveryRecordLoads() throws IOException
    {
        final Run run = run(11, 80, 30, true);
        final List<Path> snapshots = new SnapshotStore(snapshotDir()).snapshots();
        final Path newest = snapshots.get(0);
        final long previousIndex = SnapshotStore.indexOf(snapshots.get(1));
        Files.write(newest, new byte[]{ 1, 2, 3 }, java.nio.file.StandardOpenOption.APPEND);

        final Recovered recovered = recover();
        assertEquals(previousIndex, recovered.result.snapshot().journalIndex(), "fell back to the previous snapshot");
        assertEquals(run.liveHash, recovered.engine.stateHash());
        assertTrue(logLines.stream().anyMatch((l) -> l.contains(newest.getFileName() + " ignored: CORRUPT") &&
            l.contains("after SnapshotEnd")), () -> "a clear log line: " + logLines);
    }

    @Test
    void withTheJournalWholeADamagedOnlySnapshotFallsBackToTheWholeJournal() throws IOException
    {
        // no interval triggers: the only snapshot is the one on close, and one snapshot never truncates the journal
        final Run run = run(9, 60, 0, true);
        final List<Path> snapshots = new SnapshotStore(snapshotDir()).snapshots();
        assertEquals(1, snapshots.size());
        assertFalse(new SnapshotStore(snapshotDir()).isJournalTruncated());
        flipByte(snapshots.get(0), 40);

        final Recovered recovered = recover();
        assertNull(recovered.result.snapshot(), "replayed the whole journal");
        assertEquals(run.liveHash, recovered.engine.stateHash());
    }

    @Test
    void withTheJournalTruncatedAndNoUsableSnapshotTheNodeRefusesToStart() throws IOException
    {
        run(10, 80, 30, true);
        final SnapshotStore store = new SnapshotStore(snapshotDir());
        assertTrue(store.isJournalTruncated());
        for (final Path snapshot : store.snapshots())
        {
            flipByte(snapshot, Files.size(snapshot) - 3);
        }

        final IllegalStateException ex = assertThrows(IllegalStateException.class, this::recover);
        assertTrue(ex.getMessage().contains("no snapshot") && ex.getMessage().contains("does not start"), ex.getMessage());
    }

    @Test
    void restartsOneAfterAnotherKeepTheState()
    {
        long liveHash = 0;
        for (int round = 0; round < 3; round++)
        {
            final Run run = run(100 + round, 40, 20, round != 1);
            if (round > 0)
            {
                assertNotNull(run.recoveredSnapshot, "round " + round + " started from a snapshot");
            }
            liveHash = run.liveHash;
        }
        assertEquals(liveHash, recover().engine.stateHash());
    }

    // ------------------------------------------------------------------------------------------------------- helpers

    private record Run(
        long liveHash,
        long nextDeadlineMs,
        long snapshots,
        long deletedCycles,
        long startCount,
        SnapshotInfo recoveredSnapshot)
    {
    }

    private record Recovered(Engine engine, Recovery.Result result)
    {
    }

    /**
     * One life of a node: start (recovering whatever is in {@link #dir}), random bursts with snapshots every
     * {@code interval} entries and now and then on request (0: none but the one on close), close.
     */
    private Run run(final long seed, final int bursts, final long interval, final boolean snapshotOnClose)
    {
        final ThreadingMode mode = seed % 2 == 0 ? ThreadingMode.SHARED : ThreadingMode.DEDICATED;
        final MutableEventListener egress = new MutableEventListener();
        final Engine live = new Engine(new EngineConfig().conclude(), egress);
        final EventRecorder recorder = new EventRecorder();
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();
        final Pipeline pipeline = new Pipeline(context(live, egress, recorder, fatal::add)
            .threadingMode(mode)
            .snapshotIntervalEntries(interval)
            .snapshotOnClose(snapshotOnClose));
        final SnapshotInfo recoveredSnapshot;
        final long startCount;
        try
        {
            pipeline.start();
            recoveredSnapshot = pipeline.recoveredSnapshot();
            startCount = pipeline.startCount();
            final ReplayEqualityTest.Generator generator =
                new ReplayEqualityTest.Generator(new Random(seed), pipeline, clock, recorder);
            final Random random = new Random(seed ^ 0x5DEECE66DL);
            for (int burst = 0; burst < bursts; burst++)
            {
                generator.burst();
                if (interval > 0 && random.nextInt(20) == 0)
                {
                    pipeline.requestSnapshot();
                }
                assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
            }
        }
        finally
        {
            CloseHelper.close(pipeline);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        assertEquals(0, pipeline.snapshotFailures());
        return new Run(live.stateHash(), live.nextDeadlineMs(), pipeline.snapshotCount(),
            pipeline.journal().deletedCycleCount(), startCount, recoveredSnapshot);
    }

    private PipelineContext context(
        final Engine engine,
        final MutableEventListener egress,
        final EventListener listener,
        final java.util.function.Consumer<Throwable> onFatal)
    {
        return new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .ringSize(256)
            .epochClock(clock)
            .snapshotIntervalBytes(0)
            .snapshotIntervalMs(0)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(listener)
            .onFatal(onFatal);
    }

    /**
     * Recover the directory into a fresh engine, as {@link Pipeline#start()} does, but without the NodeStarted.
     */
    private Recovered recover()
    {
        final Engine engine = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final Recovery.Result result = Recovery.recover(
                journal, new SnapshotStore(snapshotDir()), engine, engine);
            assertTrue(result.replay().isComplete(), result.replay()::toString);
            return new Recovered(engine, result);
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    /**
     * Start a pipeline on the directory: once its NodeStarted is applied, the engine equals the live one plus that
     * NodeStarted.
     */
    private void restartMatches(final Run run)
    {
        final CommandEncoder encoder = new CommandEncoder();
        final Recovered expected = recover();
        final MutableEventListener egress = new MutableEventListener();
        final Engine restarted = new Engine(new EngineConfig().conclude(), egress);
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();
        final Pipeline pipeline = new Pipeline(context(restarted, egress, EventListener.MUTED, fatal::add)
            .snapshotOnClose(false));
        try
        {
            pipeline.start();
            Await.until(() -> pipeline.appliedSequence() == pipeline.publishedSequence(), "NodeStarted applied");
            assertNotNull(pipeline.recoveredSnapshot());

            final int length = encoder.nodeStarted(pipeline.startCount());
            expected.engine.onCommand(0, clock.time(), encoder.buffer(), 0, length);
            assertEquals(expected.engine.stateHash(), restarted.stateHash(), "restarted pipeline = recovered + NodeStarted");
            assertTrue(pipeline.startCount() > run.startCount);
        }
        finally
        {
            CloseHelper.close(pipeline);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
    }

    private Path snapshotDir()
    {
        return dir.toPath().resolve("snapshots");
    }

    private static int endRecordFrameLength()
    {
        return 4 + io.magnetar.codecs.snapshot.MessageHeaderEncoder.ENCODED_LENGTH +
            io.magnetar.codecs.snapshot.SnapshotEndEncoder.BLOCK_LENGTH;
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(position);
            final int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5A);
        }
    }
}
