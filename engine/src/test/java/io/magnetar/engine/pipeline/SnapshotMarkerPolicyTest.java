package io.magnetar.engine.pipeline;

import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.journal.Durability;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When the sequencer injects a {@code TakeSnapshot} marker while the last snapshot is still being made durable in
 * the background: it holds the marker back (the engine does not wait for the disk) until the journal has grown two
 * intervals since the last marker; then it lets it go (the engine waits: back-pressure keeps the journal bounded).
 */
class SnapshotMarkerPolicyTest
{
    private static final long INTERVAL = 10;

    @TempDir
    File dir;

    private final CachedEpochClock clock = new CachedEpochClock();
    private final CommandEncoder encoder = new CommandEncoder();
    private final List<Throwable> fatal = new CopyOnWriteArrayList<>();
    private Pipeline pipeline;

    @AfterEach
    void close()
    {
        CloseHelper.quietClose(pipeline);
        assertTrue(fatal.isEmpty(), fatal::toString);
    }

    @Test
    void aMarkerWaitsForTheSnapshotInProgressUntilTheJournalGrewTwoIntervals()
    {
        clock.advance(1000);
        final MutableEventListener egress = new MutableEventListener();
        pipeline = new Pipeline(new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .ringSize(1024)
            .epochClock(clock)
            .snapshotIntervalEntries(INTERVAL)
            .snapshotIntervalBytes(0)
            .snapshotIntervalMs(0)
            .commandHandler(new Engine(new EngineConfig().conclude(), egress))
            .egress(egress)
            .eventListener(EventListener.MUTED)
            .onFatal(fatal::add));
        pipeline.start();
        final Sequencer sequencer = pipeline.sequencer();
        final AtomicBoolean inProgress = new AtomicBoolean(true);
        // as Pipeline.start() set it, but with a snapshot "in progress" under the test's control
        sequencer.snapshots(true, INTERVAL, 0, 0, () -> 0, inProgress::get);

        // the journal holds NodeStarted (1 entry since the start) before the test's commands
        int topic = 0;
        topic = createTopics(sequencer, topic, (int)INTERVAL + 5);   // 16 entries: due, but one is in progress
        assertEquals(0, sequencer.snapshotMarkers(), "held back while the last snapshot is made durable");

        topic = createTopics(sequencer, topic, 3);                   // 19
        assertEquals(0, sequencer.snapshotMarkers(), "still held back one entry short of two intervals");
        topic = createTopics(sequencer, topic, 1);                   // 20 = 2 intervals: overdue
        assertEquals(1, sequencer.snapshotMarkers(), "let go: the journal grew two intervals");

        inProgress.set(false);
        topic = createTopics(sequencer, topic, (int)INTERVAL - 1);
        assertEquals(1, sequencer.snapshotMarkers(), "not due yet");
        createTopics(sequencer, topic, 1);
        assertEquals(2, sequencer.snapshotMarkers(), "due after one interval with nothing in progress");
        Await.until(() -> pipeline.snapshotCount() == 2, "both markers snapshotted");
    }

    /**
     * Offer {@code count} journaled commands, each applied before the sequencer's next duty cycle.
     */
    private int createTopics(final Sequencer sequencer, final int first, final int count)
    {
        for (int i = first; i < first + count; i++)
        {
            final int length = encoder.createTopic(i, "t" + i, 1);
            Await.until(() -> sequencer.offer(1, encoder.buffer(), 0, length), "offered");
            Await.until(() -> pipeline.appliedSequence() == pipeline.publishedSequence(), "applied");
            sequencer.doWork();
            Await.until(() -> pipeline.appliedSequence() == pipeline.publishedSequence(), "marker applied");
        }
        return first + count;
    }
}
