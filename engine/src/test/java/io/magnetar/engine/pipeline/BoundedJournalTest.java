package io.magnetar.engine.pipeline;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.EventRecorder;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.journal.Durability;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 2.10, "one unacknowledged message never keeps other messages' records alive": publish and ack 2 million
 * messages in batches through the pipeline with one message never acked, snapshotting every MiB of journal. The
 * journal directory (cycle files and snapshots, as {@code du} counts allocated blocks) must stay under
 * {@link #BOUND_BYTES} throughout, although 60+ MB are journaled; after a restart the stuck message is still there
 * and is redelivered (deliveryCount 2). {@code -Dmagnetar.soak.messages=N} changes the count (the 20-million soak is
 * {@code io.magnetar.bench.soak.JournalSoak}).
 */
class BoundedJournalTest
{
    static final long BOUND_BYTES = 8L * 1024 * 1024;
    private static final int BATCH = 1000;

    @TempDir
    File dir;

    @Test
    void oneStuckMessageDoesNotKeepTheJournal() throws IOException
    {
        assumeTrue(duKiB(dir) >= 0, "du is available");
        final long messages = Long.getLong("magnetar.soak.messages", 2_000_000L);
        final CachedEpochClock clock = new CachedEpochClock();
        clock.update(1_732_780_800_000L);
        final CommandEncoder encoder = new CommandEncoder();
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();

        // --- first life: publish and ack everything but the first message
        final MutableEventListener egress = new MutableEventListener();
        final MutableEventListener events = new MutableEventListener();
        final EventRecorder recorder = new EventRecorder();
        events.delegate(recorder);
        final Engine engine = new Engine(new EngineConfig().conclude(), egress);
        final Pipeline pipeline = new Pipeline(context(engine, egress, events, clock, fatal));
        long maxKiB = 0;
        long journaledBytes = 0;
        final long startNs = System.nanoTime();
        try
        {
            pipeline.start();
            final Sequencer sequencer = pipeline.sequencer();
            offer(pipeline, 1, encoder.createTopic(1, "soak", 1), encoder);
            offer(pipeline, 1, encoder.subscribe(2, "soak", "workers", SubscriptionType.SHARED, 10_000, "w1"), encoder);
            final Event.ConsumerAttached attached = awaitEvent(recorder, Event.ConsumerAttached.class);
            events.delegate(EventListener.MUTED);
            final int topicId = attached.topicId();
            final long consumerId = attached.consumerId();

            final List<Msg> batch = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++)
            {
                batch.add(Msg.of("key-" + (i % 64), "ref", "s3://bucket/object"));
            }
            final List<MessageId> ids = new ArrayList<>(BATCH);
            long entry = 0;
            for (long published = 0; published < messages; published += BATCH)
            {
                journaledBytes += offer(pipeline, 1, encoder.publish(3 + published, topicId, batch), encoder);
                ids.clear();
                for (int i = 0; i < BATCH; i++, entry++)
                {
                    if (entry != 0)
                    {
                        ids.add(new MessageId(0, 1, entry));
                    }
                }
                journaledBytes += offer(pipeline, 1, encoder.ack(4 + published, consumerId, ids), encoder);
                sequencer.doWork();
                if ((published / BATCH) % 100 == 0)
                {
                    maxKiB = Math.max(maxKiB, duKiB(dir));
                    final long kiB = maxKiB;
                    final long publishedSoFar = published;
                    assertTrue(kiB * 1024 <= BOUND_BYTES, () -> "journal directory " + kiB + " KiB after " + publishedSoFar +
                        " messages: " + listing(dir) + ", snapshots " + pipeline.snapshotCount() + " failures " +
                        pipeline.snapshotFailures() + " markers " + sequencer.snapshotMarkers());
                    assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
                }
            }
            Await.until(() -> pipeline.appliedSequence() == pipeline.publishedSequence(), "all applied");
            assertEquals(1, engine.liveMessages(), "only the stuck message is live");
        }
        finally
        {
            CloseHelper.close(pipeline);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
        maxKiB = Math.max(maxKiB, duKiB(dir));
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        System.out.printf("%,d messages in %.1f s, %,d MB journaled, %d snapshots (max stall %.1f ms), " +
            "%d cycle files deleted, journal directory at most %,d KiB, at the end %,d KiB%n",
            messages, seconds, journaledBytes / 1_000_000, pipeline.snapshotCount(), pipeline.maxSnapshotNs() / 1e6,
            pipeline.journal().deletedCycleCount(), maxKiB, duKiB(dir));
        assertTrue(journaledBytes > 10 * BOUND_BYTES || messages < 2_000_000, "the test journals far more than the bound");
        assertTrue(maxKiB * 1024 <= BOUND_BYTES, "journal directory stayed under the bound: " + maxKiB + " KiB");

        // --- second life: the stuck message is redelivered
        final MutableEventListener egress2 = new MutableEventListener();
        final EventRecorder recorder2 = new EventRecorder();
        final Engine restarted = new Engine(new EngineConfig().conclude(), egress2);
        final Pipeline pipeline2 = new Pipeline(context(restarted, egress2, recorder2, clock, fatal));
        try
        {
            pipeline2.start();
            assertTrue(pipeline2.recoveredSnapshot() != null, "recovered from a snapshot");
            Await.until(() -> pipeline2.appliedSequence() == pipeline2.publishedSequence(), "NodeStarted applied");
            assertEquals(1, restarted.liveMessages());
            offer(pipeline2, 7, encoder.subscribe(1, "soak", "workers", null, 10, "w2"), encoder);
            final Event.Delivery delivery = awaitEvent(recorder2, Event.Delivery.class);
            assertEquals(new MessageId(0, 1, 0), delivery.id(), "the stuck message");
            assertEquals(2, delivery.deliveryCount(), "delivered before the restart, again after it");
        }
        finally
        {
            CloseHelper.close(pipeline2);
        }
        assertTrue(fatal.isEmpty(), () -> "pipeline failed: " + fatal);
    }

    private PipelineContext context(
        final Engine engine,
        final MutableEventListener egress,
        final EventListener events,
        final CachedEpochClock clock,
        final List<Throwable> fatal)
    {
        return new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(ThreadingMode.SHARED)
            .ringSize(64)
            .epochClock(clock)
            .snapshotIntervalEntries(0)
            .snapshotIntervalBytes(1024 * 1024)
            .snapshotIntervalMs(0)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(events)
            .onFatal(fatal::add);
    }

    private static int offer(final Pipeline pipeline, final long sessionId, final int length, final CommandEncoder encoder)
    {
        final Sequencer sequencer = pipeline.sequencer();
        while (!sequencer.offer(sessionId, encoder.buffer(), 0, length))
        {
            if (pipeline.isFailed())
            {
                throw new AssertionError("pipeline failed", pipeline.failure());
            }
            sequencer.doWork();
            Thread.onSpinWait();
        }
        return length;
    }

    private static <T extends Event> T awaitEvent(final EventRecorder recorder, final Class<T> type)
    {
        final Object[] found = new Object[1];
        Await.until(() ->
        {
            final List<T> seen = recorder.ofType(type);
            if (!seen.isEmpty())
            {
                found[0] = seen.get(0);
                return true;
            }
            return false;
        }, type.getSimpleName());
        return type.cast(found[0]);
    }

    static String listing(final File directory)
    {
        final StringBuilder b = new StringBuilder();
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(directory.toPath()))
        {
            files.filter(java.nio.file.Files::isRegularFile).sorted().forEach((p) -> b.append("\n  ")
                .append(directory.toPath().relativize(p)).append(' ').append(p.toFile().length()).append(' ')
                .append(duKiB(p.toFile())).append("K"));
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            b.append(ex); // the snapshotter's background thread deletes files while this walks
        }
        return b.toString();
    }

    /**
     * @return disk use of the directory tree as {@code du} counts it (allocated blocks: Chronicle's cycle files are
     * sparse), KiB; -1 if du cannot be run.
     */
    static long duKiB(final File directory)
    {
        // the snapshotter deletes files on its own thread: du may lose a race with a deletion, so try again
        for (int attempt = 0; attempt < 5; attempt++)
        {
            final long kiB = duOnce(directory);
            if (kiB >= 0)
            {
                return kiB;
            }
        }
        return -1;
    }

    private static long duOnce(final File directory)
    {
        try
        {
            final Process process = new ProcessBuilder("du", "-sk", directory.getAbsolutePath())
                .redirectErrorStream(true).start();
            final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (process.waitFor() != 0 && !out.matches("\\d+\\s.*"))
            {
                return -1;
            }
            return Long.parseLong(out.split("\\s+")[0]);
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
