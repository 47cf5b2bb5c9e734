package io.magnetar.engine.pipeline;

import io.magnetar.codecs.NodeStartedDecoder;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalCorruptedException;
import io.magnetar.engine.journal.JournalCuts;
import io.magnetar.engine.journal.JournalRecovery;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The journal's fault policy (issue 5): a damaged tail (truncated mid-record, a flipped byte in the last record) is
 * cut at the last intact record, reported, and appending goes on after it; damage in the middle refuses to start
 * unless journal recovery is {@code TRUNCATE}; a (nearly) full journal disk refuses the commands that grow the journal
 * until space returns.
 */
class JournalFaultsTest
{
    private static final int TOPICS = 6;

    @TempDir
    File dir;

    private final CachedEpochClock clock = new CachedEpochClock();
    private final CommandEncoder encoder = new CommandEncoder();
    private final List<Throwable> fatal = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            CloseHelper.quietClose(closeables.get(i));
        }
        assertTrue(fatal.isEmpty(), fatal::toString);
    }

    @ParameterizedTest
    @ValueSource(strings = { "truncate-mid-record", "truncate-in-excerpt-header", "flip-last-record" })
    void aDamagedTailIsCutAtTheLastIntactRecordAndAppendingGoesOnAfterIt(final String damage) throws IOException
    {
        final List<RecordingCommandHandler.Command> written = writeTopics();
        final String lastMarker = "MARKER-TOPIC-" + (TOPICS - 1);
        switch (damage)
        {
            case "truncate-mid-record" -> truncateAt(lastMarker, 5);
            case "truncate-in-excerpt-header" -> truncateAt(lastMarker, -CommandEncoderOffsets.MARKER_IN_RECORD);
            default -> flipByteAfter(lastMarker);
        }
        final List<RecordingCommandHandler.Command> survivors = written.subList(0, written.size() - 1);

        final RecordingCommandHandler second = new RecordingCommandHandler();
        final Pipeline secondRun = start(context(second));
        assertEquals(1, secondRun.journalTailTruncations());
        assertEquals(1, secondRun.journalEntriesDropped());
        final Journal.Cut cut = secondRun.journalCut();
        assertNotNull(cut);
        assertFalse(secondRun.replayResult().isComplete(), "the replay result tells where it stopped");
        assertEquals(survivors.size(), secondRun.replayResult().entries());
        assertTrue(Files.exists(cut.quarantine().resolve(cut.cycleFile())), "the damaged cycle file is kept aside");
        assertTrue(Files.readString(dir.toPath().resolve(JournalCuts.FILE_NAME)).contains(Long.toHexString(cut.fromIndex())));
        Await.until(() -> second.count() == survivors.size() + 1, "replay of the survivors and NodeStarted");
        assertSameCommands(survivors, second.commands().subList(0, survivors.size()));

        offer(secondRun.sequencer(), encoder.createTopic(100, "AFTER-THE-CUT", 1));
        Await.until(() -> second.count() == survivors.size() + 2, "applied after the cut");
        final List<RecordingCommandHandler.Command> expected = new ArrayList<>(second.commands());
        secondRun.close();

        final RecordingCommandHandler third = new RecordingCommandHandler();
        final Pipeline thirdRun = start(context(third));
        assertTrue(thirdRun.replayResult().isComplete(), thirdRun.replayResult()::toString);
        assertEquals(0, thirdRun.journalTailTruncations());
        assertNull(thirdRun.journalCut());
        Await.until(() -> third.count() == expected.size() + 1, "replay and NodeStarted");
        assertSameCommands(expected, third.commands().subList(0, expected.size()));
        assertEquals(3, nodeStartedCount(third.commands().get(expected.size())));
    }

    @Test
    void damageInTheMiddleRefusesToStartUnlessJournalRecoveryIsTruncate() throws IOException
    {
        final List<RecordingCommandHandler.Command> written = writeTopics();
        flipByteAfter("MARKER-TOPIC-2");

        final RecordingCommandHandler refused = new RecordingCommandHandler();
        final Pipeline refusedRun = track(new Pipeline(context(refused)));
        final JournalCorruptedException ex = assertThrows(JournalCorruptedException.class, refusedRun::start);
        assertEquals(ReplayResult.Status.CHECKSUM_MISMATCH, ex.result().status());
        assertEquals(3, ex.result().entriesAfterBad(), "topics 3, 4 and 5");
        final String message = ex.getMessage();
        assertTrue(message.contains("0x" + Long.toHexString(ex.result().badIndex())), message);
        assertTrue(message.contains(".cq4"), message);
        assertTrue(message.contains("--journal-recovery truncate"), message);
        assertFalse(refusedRun.isRunning());
        refusedRun.close();
        assertFalse(Files.exists(dir.toPath().resolve(JournalCuts.FILE_NAME)), "refusing changes nothing");
        assertFalse(Files.exists(dir.toPath().resolve(Journal.QUARANTINE_DIR)), "refusing changes nothing");

        final RecordingCommandHandler again = new RecordingCommandHandler();
        final Pipeline againRun = track(new Pipeline(context(again)));
        assertThrows(JournalCorruptedException.class, againRun::start, "still refused on the next start");
        againRun.close();

        final List<RecordingCommandHandler.Command> upToTheCut = written.subList(0, 3); // NodeStarted, topics 0, 1
        final RecordingCommandHandler truncated = new RecordingCommandHandler();
        final Pipeline truncatedRun = start(context(truncated).journalRecovery(JournalRecovery.TRUNCATE));
        assertEquals(0, truncatedRun.journalTailTruncations(), "not a tail");
        assertEquals(4, truncatedRun.journalEntriesDropped(), "topics 2 to 5");
        assertTrue(Files.exists(truncatedRun.journalCut().quarantine().resolve(truncatedRun.journalCut().cycleFile())));
        Await.until(() -> truncated.count() == upToTheCut.size() + 1, "the state up to the cut and NodeStarted");
        assertSameCommands(upToTheCut, truncated.commands().subList(0, upToTheCut.size()));
        offer(truncatedRun.sequencer(), encoder.createTopic(100, "AFTER-THE-CUT", 1));
        Await.until(() -> truncated.count() == upToTheCut.size() + 2, "applied after the cut");
        final List<RecordingCommandHandler.Command> expected = new ArrayList<>(truncated.commands());
        truncatedRun.close();

        final RecordingCommandHandler later = new RecordingCommandHandler();
        final Pipeline laterRun = start(context(later)); // the default (refuse) again: the cut is on record
        assertTrue(laterRun.replayResult().isComplete(), laterRun.replayResult()::toString);
        Await.until(() -> later.count() == expected.size() + 1, "replay and NodeStarted");
        assertSameCommands(expected, later.commands().subList(0, expected.size()));
    }

    @Test
    void aFullJournalDiskRefusesGrowingCommandsUntilSpaceReturns()
    {
        final AtomicLong usable = new AtomicLong(1L << 30);
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = start(context(handler)
            .journalMinFreeBytes(1 << 20)
            .journalSpaceCheckIntervalMs(10)
            .journalSpaceProbe(usable::get));
        final Sequencer sequencer = pipeline.sequencer();
        Await.until(() -> handler.count() == 1, "NodeStarted");
        assertFalse(sequencer.isJournalSpaceLow());
        assertEquals(Sequencer.OFFERED, tryOffer(sequencer, encoder.publish(1, 1, new Msg("k", java.util.Map.of()))));
        Await.until(() -> handler.count() == 2, "publish applied");
        final long journaled = pipeline.journal().appendCount();

        usable.set(4096);
        assertEquals(Sequencer.OFFERED, tryOffer(sequencer, encoder.publish(2, 1, new Msg("k", java.util.Map.of()))),
            "not noticed before the next check");
        clock.advance(10);
        sequencer.doWork();
        assertTrue(sequencer.isJournalSpaceLow());
        assertEquals(4096, sequencer.journalUsableBytes());
        assertTrue(sequencer.journalSpaceMessage().contains("4096"), sequencer.journalSpaceMessage());

        assertEquals(Sequencer.REFUSED_JOURNAL_FULL, tryOffer(sequencer, encoder.publish(3, 1, new Msg("k", java.util.Map.of()))));
        assertEquals(Sequencer.REFUSED_JOURNAL_FULL, tryOffer(sequencer, encoder.createTopic(4, "REFUSED", 1)));
        assertEquals(Sequencer.REFUSED_JOURNAL_FULL,
            tryOffer(sequencer, encoder.subscribe(5, "t", "sub", io.magnetar.codecs.SubscriptionType.SHARED, 10, "c")));
        assertFalse(sequencer.offer(1, encoder.buffer(), 0, encoder.publish(6, 1, new Msg("k", java.util.Map.of()))));
        assertEquals(4, sequencer.refusedJournalFull());
        assertEquals(Sequencer.OFFERED, tryOffer(sequencer, encoder.ack(7, 1, new MessageId(1, 0, 0))), "acks go on");
        assertEquals(Sequencer.OFFERED, tryOffer(sequencer, encoder.flow(1, 5)), "flow goes on");
        Await.until(() -> handler.count() == 5, "the second publish, the ack and the flow applied");
        assertEquals(journaled + 3, pipeline.journal().appendCount(), "nothing refused was journaled");

        usable.set(2L << 20);
        clock.advance(10);
        sequencer.doWork();
        assertFalse(sequencer.isJournalSpaceLow());
        assertEquals(Sequencer.OFFERED, tryOffer(sequencer, encoder.publish(8, 1, new Msg("k", java.util.Map.of()))));
        Await.until(() -> handler.count() == 6, "publishing again");
        assertTrue(pipeline.isRunning());
    }

    @Test
    void aSnapshotThatCouldEatIntoTheJournalsFreeSpaceIsRefused()
    {
        final long minFree = 1 << 20;
        final AtomicLong usable = new AtomicLong(1L << 30);
        final MutableEventListener egress = new MutableEventListener();
        final io.magnetar.engine.Engine engine =
            new io.magnetar.engine.Engine(new io.magnetar.engine.EngineConfig().conclude(), egress);
        clock.advance(1000);
        final Pipeline pipeline = start(new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(ThreadingMode.SHARED)
            .ringSize(1024)
            .epochClock(clock)
            .snapshotIntervalBytes(0)
            .snapshotIntervalMs(0)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(EventListener.MUTED)
            .onFatal(fatal::add)
            .journalMinFreeBytes(minFree)
            .journalSpaceProbe(usable::get));
        offer(pipeline.sequencer(), encoder.createTopic(1, "t", 4));
        pipeline.requestSnapshot(); // injected by the sequencer's duty cycle (the ingress agent's, in a node)
        Await.until(() -> pipeline.sequencer().doWork() >= 0 && pipeline.snapshotCount() == 1, "first snapshot");
        final long last = pipeline.lastSnapshotBytes();
        assertTrue(last > 0);

        // above the journal's minimum (publishes go on) but not room for the minimum plus twice the last snapshot
        usable.set(minFree + last);
        pipeline.requestSnapshot();
        Await.until(() -> pipeline.sequencer().doWork() >= 0 && pipeline.snapshotFailures() == 1,
            "the snapshot refused");
        assertEquals(1, pipeline.snapshotCount());
        assertFalse(pipeline.sequencer().isJournalSpaceLow());

        usable.set(minFree + 2 * last);
        pipeline.requestSnapshot();
        Await.until(() -> pipeline.sequencer().doWork() >= 0 && pipeline.snapshotCount() == 2,
            "a snapshot once there is room");
        assertEquals(1, pipeline.snapshotFailures());
        assertTrue(fatal.isEmpty(), fatal::toString);
    }

    @Test
    void aProbeThatFailsCountsAsAFullDisk()
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = start(context(handler)
            .journalMinFreeBytes(1)
            .journalSpaceProbe(() ->
            {
                throw new IOException("file system gone");
            }));
        assertTrue(pipeline.sequencer().isJournalSpaceLow());
        assertEquals(Sequencer.REFUSED_JOURNAL_FULL,
            tryOffer(pipeline.sequencer(), encoder.publish(1, 1, new Msg("k", java.util.Map.of()))));
    }

    @Test
    void theRealProbeReadsTheJournalFileSystem() throws IOException
    {
        final long usable = JournalSpaceProbe.of(dir).usableBytes();
        assertEquals(Files.getFileStore(dir.toPath()).getUsableSpace(), usable, 64L << 20);
        assertTrue(usable > 0);
    }

    private int tryOffer(final Sequencer sequencer, final int length)
    {
        final int[] result = new int[1];
        Await.until(() ->
        {
            result[0] = sequencer.tryOffer(1, encoder.buffer(), 0, length);
            return result[0] != Sequencer.BACK_PRESSURED;
        }, "offer not back-pressured");
        return result[0];
    }

    /**
     * NodeStarted and {@value #TOPICS} CreateTopic commands, each name a marker, closed without a snapshot.
     */
    private List<RecordingCommandHandler.Command> writeTopics()
    {
        final RecordingCommandHandler first = new RecordingCommandHandler();
        final Pipeline firstRun = start(context(first));
        for (int i = 0; i < TOPICS; i++)
        {
            offer(firstRun.sequencer(), encoder.createTopic(i, "MARKER-TOPIC-" + i, 1));
        }
        Await.until(() -> first.count() == TOPICS + 1, "applied");
        firstRun.close();
        return new ArrayList<>(first.commands());
    }

    private PipelineContext context(final RecordingCommandHandler handler)
    {
        clock.advance(1000);
        return new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(ThreadingMode.SHARED)
            .ringSize(1024)
            .epochClock(clock)
            .commandHandler(handler)
            .egress(handler.egress)
            .eventListener(EventListener.MUTED)
            .onFatal(fatal::add);
    }

    private Pipeline start(final PipelineContext ctx)
    {
        final Pipeline pipeline = track(new Pipeline(ctx));
        pipeline.start();
        return pipeline;
    }

    private <T extends AutoCloseable> T track(final T closeable)
    {
        closeables.add(closeable);
        return closeable;
    }

    private void offer(final Sequencer sequencer, final int length)
    {
        Await.until(() -> sequencer.offer(1, encoder.buffer(), 0, length), "offer accepted");
    }

    private static void assertSameCommands(
        final List<RecordingCommandHandler.Command> expected, final List<RecordingCommandHandler.Command> actual)
    {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++)
        {
            assertEquals(expected.get(i).sessionId(), actual.get(i).sessionId(), "command " + i);
            assertEquals(expected.get(i).timestampMs(), actual.get(i).timestampMs(), "command " + i);
            assertArrayEquals(expected.get(i).frame(), actual.get(i).frame(), "command " + i);
        }
    }

    private static long nodeStartedCount(final RecordingCommandHandler.Command command)
    {
        assertEquals(NodeStartedDecoder.TEMPLATE_ID, command.templateId());
        return new NodeStartedDecoder().wrapAndApplyHeader(
            new org.agrona.concurrent.UnsafeBuffer(command.frame()), 0, new io.magnetar.codecs.MessageHeaderDecoder())
            .startCount();
    }

    private Path cycleFileWith(final byte[] needle, final long[] position) throws IOException
    {
        try (Stream<Path> files = Files.list(dir.toPath()))
        {
            for (final Path file : files.filter((p) -> p.toString().endsWith(".cq4")).sorted().toList())
            {
                final byte[] bytes = Files.readAllBytes(file);
                for (int i = 0; i + needle.length <= bytes.length; i++)
                {
                    if (Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length))
                    {
                        position[0] = i;
                        return file;
                    }
                }
            }
        }
        throw new AssertionError("marker not found");
    }

    /**
     * Cut the cycle file holding {@code marker} at {@code delta} bytes from the marker's first byte (a crash or a
     * power cut mid-record).
     */
    private void truncateAt(final String marker, final long delta) throws IOException
    {
        final long[] position = new long[1];
        final Path file = cycleFileWith(marker.getBytes(StandardCharsets.US_ASCII), position);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(position[0] + delta);
        }
    }

    private void flipByteAfter(final String marker) throws IOException
    {
        final byte[] needle = marker.getBytes(StandardCharsets.US_ASCII);
        final long[] position = new long[1];
        final Path file = cycleFileWith(needle, position);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            final long at = position[0] + needle.length - 1;
            raf.seek(at);
            final int value = raf.read();
            raf.seek(at);
            raf.write(value ^ 0x40);
        }
    }

    /**
     * Where a CreateTopic's name sits in its journal record: what the excerpt-header truncation aims before.
     */
    private static final class CommandEncoderOffsets
    {
        /** Bytes from the start of the Chronicle excerpt header (4 bytes) to the topic name, less 2: mid-header. */
        static final int MARKER_IN_RECORD = 4 + io.magnetar.engine.journal.JournalEntryFormat.HEADER_LENGTH +
            io.magnetar.codecs.MessageHeaderEncoder.ENCODED_LENGTH + io.magnetar.codecs.CreateTopicEncoder.BLOCK_LENGTH +
            io.magnetar.codecs.CreateTopicEncoder.topicHeaderLength() - 2;
    }
}
