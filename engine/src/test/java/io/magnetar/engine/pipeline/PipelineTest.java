package io.magnetar.engine.pipeline;

import io.magnetar.codecs.FlowDecoder;
import io.magnetar.codecs.ListTopicsDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.NodeStartedDecoder;
import io.magnetar.codecs.SessionClosedDecoder;
import io.magnetar.codecs.TickDecoder;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalCorruptedException;
import io.magnetar.engine.journal.JournalReader;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedEpochClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineTest
{
    @TempDir
    File dir;

    private final CachedEpochClock clock = new CachedEpochClock();
    private final CommandEncoder encoder = new CommandEncoder();
    private final List<Throwable> fatal = new CopyOnWriteArrayList<>();
    private final AtomicInteger liveEvents = new AtomicInteger();
    private final EventListener liveListener = (sessionId, buffer, offset, length) -> liveEvents.incrementAndGet();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            CloseHelper.quietClose(closeables.get(i));
        }
    }

    static Stream<Arguments> modes()
    {
        return Stream.of(
            Arguments.of(ThreadingMode.SHARED, Durability.ASYNC),
            Arguments.of(ThreadingMode.SHARED, Durability.SYNC),
            Arguments.of(ThreadingMode.DEDICATED, Durability.ASYNC),
            Arguments.of(ThreadingMode.DEDICATED, Durability.SYNC));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void appliesCommandsInOrderEachOnlyOnceJournaledAndQueriesWithoutJournaling(
        final ThreadingMode mode, final Durability durability)
    {
        clock.update(1_000_000);
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Journal observer = track(new Journal(dir, Durability.ASYNC));
        final List<String> violations = new CopyOnWriteArrayList<>();
        final JournalReader[] reader = new JournalReader[1];
        handler.hook = (command) ->
        {
            if (null == reader[0])
            {
                reader[0] = observer.newReader(-1); // created on the applying thread, which tails with it
            }
            if (command.templateId() == ListTopicsDecoder.TEMPLATE_ID)
            {
                return;
            }
            final int found = reader[0].poll((sessionId, timestampMs, buffer, offset, length, index) ->
            {
                final byte[] journaled = new byte[length];
                buffer.getBytes(offset, journaled);
                if (sessionId != command.sessionId() || timestampMs != command.timestampMs() ||
                    !Arrays.equals(journaled, command.frame()))
                {
                    violations.add("journal entry " + index + " differs from applied command " + command);
                }
            }, 1);
            if (found != 1)
            {
                violations.add("applied before journaled: " + command);
            }
        };

        final Pipeline pipeline = start(context(handler, mode).durability(durability));
        final Sequencer sequencer = pipeline.sequencer();

        final int count = 3000;
        int journaledCommands = 0;
        for (int i = 0; i < count; i++)
        {
            final long sessionId = 1 + i % 3;
            if (i % 10 == 3)
            {
                offer(sequencer, sessionId, encoder.listTopics(i));
            }
            else
            {
                offer(sequencer, sessionId, encoder.flow(i, 1));
                journaledCommands++;
            }
            if (i % 100 == 0)
            {
                clock.advance(1);
            }
        }

        Await.until(() -> handler.count() == count + 1, () -> "all applied, got " + handler.count());
        assertEquals(List.of(), violations);
        assertFalse(pipeline.isFailed());

        final List<RecordingCommandHandler.Command> applied = handler.commands();
        assertEquals(NodeStartedDecoder.TEMPLATE_ID, applied.get(0).templateId());
        assertEquals(0, applied.get(0).sessionId());
        long lastTimestamp = Long.MIN_VALUE;
        for (int i = 0; i < count; i++)
        {
            final RecordingCommandHandler.Command command = applied.get(i + 1);
            assertEquals(1 + i % 3, command.sessionId());
            if (i % 10 == 3)
            {
                assertEquals(ListTopicsDecoder.TEMPLATE_ID, command.templateId());
            }
            else
            {
                assertEquals(FlowDecoder.TEMPLATE_ID, command.templateId());
                assertEquals(i, new FlowDecoder().wrapAndApplyHeader(
                    new UnsafeBuffer(command.frame()), 0, new MessageHeaderDecoder()).consumerId());
            }
            assertTrue(command.timestampMs() >= lastTimestamp, "time stamps never go backwards");
            lastTimestamp = command.timestampMs();
            assertFalse(command.muted());
        }

        final Journal journal = pipeline.journal();
        assertEquals(journaledCommands + 1, journal.appendCount(), "NodeStarted and every non-query journaled");
        if (durability == Durability.SYNC)
        {
            assertTrue(journal.syncCount() >= 1 && journal.syncCount() <= journal.appendCount(),
                "group commit: " + journal.syncCount() + " syncs for " + journal.appendCount() + " records");
        }
        else
        {
            assertEquals(0, journal.syncCount());
        }
        // the handler records a command just before it emits that command's event: wait for the last event too
        Await.until(() -> liveEvents.get() == count + 1, () -> "all events, got " + liveEvents.get());

        pipeline.close();
        final List<Integer> replayedTemplates = new ArrayList<>();
        final ReplayResult result = observer.replay((sessionId, timestampMs, buffer, offset, length, index) ->
            replayedTemplates.add(new MessageHeaderDecoder().wrap(buffer, offset).templateId()));
        assertTrue(result.isComplete());
        assertEquals(journaledCommands + 1, replayedTemplates.size());
        assertFalse(replayedTemplates.contains(ListTopicsDecoder.TEMPLATE_ID));
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void offerReturnsFalseWhenTheRingIsFullAndRecovers(final ThreadingMode mode)
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        handler.hook = (command) ->
        {
            if (command.templateId() == FlowDecoder.TEMPLATE_ID && entered.getCount() > 0)
            {
                entered.countDown();
                release.await();
            }
        };
        final Pipeline pipeline = start(context(handler, mode).ringSize(8));
        final Sequencer sequencer = pipeline.sequencer();

        offer(sequencer, 1, encoder.flow(0, 1));
        Await.until(() -> entered.getCount() == 0, "handler blocked on the first command");

        int accepted = 1;
        while (sequencer.offer(1, encoder.buffer(), 0, encoder.flow(accepted, 1)))
        {
            accepted++;
            assertTrue(accepted <= 8, "never more unconsumed commands than slots");
        }
        assertTrue(accepted >= 7, "ring of 8 filled: " + accepted);
        for (int i = 0; i < 100; i++)
        {
            assertFalse(sequencer.offer(1, encoder.buffer(), 0, encoder.flow(1000 + i, 1)), "still full");
        }
        assertEquals(0, sequencer.remainingCapacity());

        release.countDown();
        final int total = accepted;
        Await.until(() -> handler.count() == total + 1, "backlog applied");
        offer(sequencer, 1, encoder.flow(total, 1));
        Await.until(() -> handler.count() == total + 2, "accepts again");

        final List<RecordingCommandHandler.Command> applied = handler.commands();
        for (int i = 0; i <= total; i++)
        {
            assertEquals(i, consumerIdOf(applied.get(i + 1)), "order");
        }
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void injectsOneTickWhenTheEngineDeadlineHasCome(final ThreadingMode mode)
    {
        clock.update(1_000);
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        handler.nextDeadlineMs = 5_000;
        final CountDownLatch tickEntered = new CountDownLatch(1);
        final CountDownLatch releaseTick = new CountDownLatch(1);
        handler.hook = (command) ->
        {
            if (command.templateId() == TickDecoder.TEMPLATE_ID && tickEntered.getCount() > 0)
            {
                tickEntered.countDown();
                releaseTick.await();
                handler.nextDeadlineMs = Long.MAX_VALUE; // the engine handled what was due
            }
        };
        final Pipeline pipeline = start(context(handler, mode));
        final Sequencer sequencer = pipeline.sequencer();
        Await.until(() -> pipeline.appliedSequence() >= 0, "NodeStarted applied");

        assertEquals(5_000, pipeline.nextDeadlineMs());
        assertEquals(0, sequencer.doWork(), "not due yet");
        clock.update(4_999);
        assertEquals(0, sequencer.doWork(), "not due yet");

        clock.update(5_000);
        assertEquals(1, sequencer.doWork());
        Await.until(() -> tickEntered.getCount() == 0, "tick reached the engine");
        clock.update(6_000);
        for (int i = 0; i < 10; i++)
        {
            assertEquals(0, sequencer.doWork(), "one tick in flight at a time");
        }

        releaseTick.countDown();
        Await.until(() -> pipeline.appliedSequence() >= 1, "tick applied");
        assertEquals(Long.MAX_VALUE, pipeline.nextDeadlineMs());
        assertEquals(0, sequencer.doWork(), "no deadline");

        final RecordingCommandHandler.Command tick = handler.commands().get(1);
        assertEquals(TickDecoder.TEMPLATE_ID, tick.templateId());
        assertEquals(0, tick.sessionId());
        assertEquals(5_000, tick.timestampMs());
        assertEquals(5_000, new TickDecoder().wrapAndApplyHeader(
            new UnsafeBuffer(tick.frame()), 0, new MessageHeaderDecoder()).deadlineMs());

        handler.nextDeadlineMs = 7_000; // published after the next batch
        offer(sequencer, 1, encoder.flow(1, 1));
        Await.until(() -> pipeline.nextDeadlineMs() == 7_000, "new deadline published");
        assertEquals(0, sequencer.doWork());
        clock.update(7_001);
        assertEquals(1, sequencer.doWork());
        assertEquals(2, sequencer.ticks());
        Await.until(() -> handler.count() == 4, "second tick applied");
        assertEquals(7_001, handler.commands().get(3).timestampMs());

        clock.update(10); // the clock steps back: stamps do not
        offer(sequencer, 1, encoder.flow(2, 1));
        Await.until(() -> handler.count() == 5, "applied");
        assertEquals(7_001, handler.commands().get(4).timestampMs());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void handlerFailureHaltsThePipelineAndNothingAfterItIsApplied(final ThreadingMode mode)
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final IllegalStateException boom = new IllegalStateException("engine bug on the 5th command");
        handler.hook = (command) ->
        {
            if (command.templateId() == FlowDecoder.TEMPLATE_ID && consumerIdOf(command) == 4)
            {
                throw boom;
            }
        };
        final Pipeline pipeline = start(context(handler, mode));
        final Sequencer sequencer = pipeline.sequencer();

        int offered = 0;
        while (offered < 20 && sequencer.offer(1, encoder.buffer(), 0, encoder.flow(offered, 1)))
        {
            offered++;
        }

        Await.until(pipeline::isFailed, "pipeline failed");
        Await.until(() -> pipeline.threads().stream().noneMatch(Thread::isAlive), "handler threads stopped");

        assertSame(boom, pipeline.failure());
        assertEquals(List.of(boom), fatal);
        assertFalse(pipeline.isRunning());
        assertFalse(sequencer.isAccepting());
        assertFalse(sequencer.offer(1, encoder.buffer(), 0, encoder.flow(99, 1)));

        final List<RecordingCommandHandler.Command> applied = handler.commands();
        assertEquals(5, applied.size(), "NodeStarted and commands 0..3, nothing after the failure");
        for (int i = 0; i < 4; i++)
        {
            assertEquals(i, consumerIdOf(applied.get(i + 1)));
        }

        pipeline.close();
        assertTrue(pipeline.journal().isClosed());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void onFatalMayCloseThePipeline(final ThreadingMode mode)
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        handler.hook = (command) ->
        {
            if (command.templateId() == FlowDecoder.TEMPLATE_ID)
            {
                throw new IllegalStateException("fatal");
            }
        };
        final Pipeline[] holder = new Pipeline[1];
        final CountDownLatch closed = new CountDownLatch(1);
        final Pipeline pipeline = start(context(handler, mode).onFatal((ex) ->
        {
            holder[0].close(); // what a broker's exit path does, on the failing handler thread
            closed.countDown();
        }));
        holder[0] = pipeline;

        offer(pipeline.sequencer(), 1, encoder.flow(0, 1));
        Await.until(() -> closed.getCount() == 0, "closed from onFatal");
        Await.until(() -> pipeline.threads().stream().noneMatch(Thread::isAlive), "handler threads stopped");

        assertTrue(pipeline.isFailed());
        assertTrue(pipeline.journal().isClosed());
        assertEquals(1, handler.count());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void journalFailureHaltsThePipelineBeforeTheCommandIsApplied(final ThreadingMode mode)
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = start(context(handler, mode));
        final Sequencer sequencer = pipeline.sequencer();
        offer(sequencer, 1, encoder.flow(0, 1));
        Await.until(() -> handler.count() == 2, "first command applied");

        pipeline.journal().close(); // the journal breaks under the idle handler

        offer(sequencer, 1, encoder.flow(1, 1));
        Await.until(pipeline::isFailed, "pipeline failed");
        Await.until(() -> pipeline.threads().stream().noneMatch(Thread::isAlive), "handler threads stopped");

        assertEquals(2, handler.count(), "the command that could not be journaled was not applied");
        assertEquals(1, fatal.size());
        assertNotNull(pipeline.failure());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void restartReplaysTheJournalMutedThenJournalsNodeStarted(final ThreadingMode mode)
    {
        clock.update(50_000);
        final RecordingCommandHandler first = new RecordingCommandHandler();
        final Pipeline firstRun = start(context(first, mode));
        final Sequencer sequencer = firstRun.sequencer();
        for (int i = 0; i < 60; i++)
        {
            clock.advance(3);
            if (i % 5 == 0)
            {
                offer(sequencer, 8, encoder.listTopics(i));
            }
            else if (i % 17 == 0)
            {
                assertTrue(sequencer.offerSessionClosed(7));
            }
            else
            {
                offer(sequencer, 7, encoder.flow(i, i));
            }
        }
        Await.until(() -> first.count() == 61, "first run applied");
        firstRun.close();

        final List<RecordingCommandHandler.Command> journaled = first.commands().stream()
            .filter((c) -> c.templateId() != ListTopicsDecoder.TEMPLATE_ID)
            .toList();
        assertTrue(journaled.stream().anyMatch((c) -> c.templateId() == SessionClosedDecoder.TEMPLATE_ID));

        liveEvents.set(0);
        clock.update(60_000);
        final RecordingCommandHandler second = new RecordingCommandHandler();
        final Pipeline secondRun = start(context(second, mode));

        final int replayed = journaled.size();
        Await.until(() -> second.count() == replayed + 1, "replay and NodeStarted");
        final List<RecordingCommandHandler.Command> seen = second.commands();
        final String startingThread = Thread.currentThread().getName();
        for (int i = 0; i < replayed; i++)
        {
            final RecordingCommandHandler.Command original = journaled.get(i);
            final RecordingCommandHandler.Command again = seen.get(i);
            assertEquals(original.sessionId(), again.sessionId(), "session of " + i);
            assertEquals(original.timestampMs(), again.timestampMs(), "stamp of " + i);
            assertArrayEquals(original.frame(), again.frame(), "frame of " + i);
            assertTrue(again.muted(), "egress muted during replay");
            assertEquals(startingThread, again.thread(), "replay runs on the starting thread, not the ring");
        }

        final RecordingCommandHandler.Command nodeStarted = seen.get(replayed);
        assertEquals(NodeStartedDecoder.TEMPLATE_ID, nodeStarted.templateId());
        assertEquals(2, nodeStartedCount(nodeStarted));
        assertEquals(60_000, nodeStarted.timestampMs());
        assertFalse(nodeStarted.muted());
        assertEquals(2, secondRun.startCount());
        assertEquals(replayed, secondRun.replayResult().entries());
        assertEquals(1, liveEvents.get(), "only the live NodeStarted reached the real listener");
        secondRun.close();

        final RecordingCommandHandler third = new RecordingCommandHandler();
        final Pipeline thirdRun = start(context(third, mode));
        Await.until(() -> third.count() == replayed + 2, "second replay and NodeStarted");
        assertEquals(3, thirdRun.startCount());
        assertEquals(3, nodeStartedCount(third.commands().get(replayed + 1)));
    }

    @Test
    void stampsAfterRestartNeverPrecedeTheJournal()
    {
        clock.update(90_000);
        final RecordingCommandHandler first = new RecordingCommandHandler();
        final Pipeline firstRun = start(context(first, ThreadingMode.SHARED));
        offer(firstRun.sequencer(), 1, encoder.flow(1, 1));
        Await.until(() -> first.count() == 2, "applied");
        firstRun.close();

        clock.update(80_000); // the wall clock went back while the node was down
        final RecordingCommandHandler second = new RecordingCommandHandler();
        start(context(second, ThreadingMode.SHARED));
        Await.until(() -> second.count() == 3, "replay and NodeStarted");
        assertEquals(90_000, second.commands().get(2).timestampMs());
    }

    @Test
    void refusesToStartOnADamagedJournal() throws IOException
    {
        final RecordingCommandHandler first = new RecordingCommandHandler();
        final Pipeline firstRun = start(context(first, ThreadingMode.SHARED));
        for (int i = 0; i < 5; i++)
        {
            offer(firstRun.sequencer(), 1, encoder.createTopic(i, "MARKER-TOPIC-" + i, 1));
        }
        Await.until(() -> first.count() == 6, "applied");
        firstRun.close();

        flipByteAfter("MARKER-TOPIC-2");

        final RecordingCommandHandler second = new RecordingCommandHandler();
        final Pipeline secondRun = track(new Pipeline(context(second, ThreadingMode.SHARED)));
        final JournalCorruptedException ex = assertThrows(JournalCorruptedException.class, secondRun::start);

        assertEquals(ReplayResult.Status.CHECKSUM_MISMATCH, ex.result().status());
        assertEquals(3, ex.result().entries(), "NodeStarted and topics 0, 1");
        assertEquals(2, ex.result().entriesAfterBad());
        assertEquals(3, second.count(), "nothing at or after the damaged record was applied");
        assertFalse(secondRun.isRunning());
        assertFalse(secondRun.sequencer().offer(1, encoder.buffer(), 0, encoder.flow(1, 1)));
        secondRun.close();
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void closeDrainsEverythingSequenced(final ThreadingMode mode)
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = start(context(handler, mode).ringSize(256));
        for (int i = 0; i < 2000; i++)
        {
            offer(pipeline.sequencer(), 1, encoder.flow(i, 1));
        }
        pipeline.close();

        assertEquals(2001, handler.count());
        assertFalse(pipeline.sequencer().offer(1, encoder.buffer(), 0, encoder.flow(1, 1)), "closed");
        assertTrue(pipeline.journal().isClosed());
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            assertEquals(2001, journal.replay((s, t, b, o, l, i) -> {}).entries());
        }
    }

    @Test
    void framesTheEngineMustRejectAreStillSequencedAndJournaled()
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = start(context(handler, ThreadingMode.SHARED).maxCommandLength(1024));
        final Sequencer sequencer = pipeline.sequencer();

        offer(sequencer, 1, new UnsafeBuffer(new byte[]{ 1, 2, 3 }), 3);
        offer(sequencer, 1, new UnsafeBuffer(new byte[0]), 0);
        final UnsafeBuffer big = new UnsafeBuffer(new byte[1025]);
        assertThrows(IllegalArgumentException.class, () -> sequencer.offer(1, big, 0, 1025));
        offer(sequencer, 1, big, 1024); // grows the slot

        Await.until(() -> handler.count() == 4, "applied");
        final List<RecordingCommandHandler.Command> applied = handler.commands();
        assertEquals(-1, applied.get(1).templateId());
        assertEquals(3, applied.get(1).frame().length);
        assertEquals(0, applied.get(2).frame().length);
        assertEquals(1024, applied.get(3).frame().length);
        assertEquals(4, pipeline.journal().appendCount());
    }

    @Test
    void offersAreRefusedBeforeStart()
    {
        final RecordingCommandHandler handler = new RecordingCommandHandler();
        final Pipeline pipeline = track(new Pipeline(context(handler, ThreadingMode.SHARED)));

        assertFalse(pipeline.isRunning());
        assertFalse(pipeline.sequencer().offer(1, encoder.buffer(), 0, encoder.flow(1, 1)));
        assertEquals(0, pipeline.sequencer().doWork());
        pipeline.start();
        assertTrue(pipeline.isRunning());
        assertThrows(IllegalStateException.class, pipeline::start);
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void steadyStateAllocatesNothingOnTheSequencerOrTheHandlerThreads(final ThreadingMode mode)
    {
        final com.sun.management.ThreadMXBean threadBean =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final NoOpCommandHandler handler = new NoOpCommandHandler();
        final Pipeline pipeline = start(new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(mode)
            .ringSize(1024)
            .epochClock(clock)
            .commandHandler(handler)
            .egress(new MutableEventListener())
            .eventListener(EventListener.MUTED)
            .onFatal(fatal::add));
        final Sequencer sequencer = pipeline.sequencer();
        final List<Thread> handlerThreads = pipeline.threads();
        // flows and 100-message publishes (off-heap slots, key hashes on the producer's thread)
        final List<Msg> batch = new ArrayList<>();
        for (int i = 0; i < 100; i++)
        {
            batch.add(new Msg("key-" + i, java.util.Map.of("a", "b")));
        }
        final UnsafeBuffer publish = new UnsafeBuffer(encoder.copy(encoder.publish(1, 1, batch)));
        final int length = encoder.flow(1, 1);
        final int commands = 20_000;

        long leastProducer = Long.MAX_VALUE;
        long leastHandlers = Long.MAX_VALUE;
        for (int round = 0; round < 12 && (leastProducer > 0 || leastHandlers > 0); round++)
        {
            final long target = pipeline.publishedSequence() + commands;
            final long handlersBefore = allocated(threadBean, handlerThreads);
            final long producerBefore = threadBean.getCurrentThreadAllocatedBytes();
            int sent = 0;
            while (sent < commands)
            {
                final boolean offered = (sent & 1) == 0 ?
                    sequencer.offer(1, encoder.buffer(), 0, length) : sequencer.offer(1, publish, 0, publish.capacity());
                if (offered)
                {
                    sent++;
                }
                else
                {
                    Thread.onSpinWait();
                }
                sequencer.doWork();
            }
            final long producer = threadBean.getCurrentThreadAllocatedBytes() - producerBefore;
            while (pipeline.appliedSequence() < target)
            {
                Thread.onSpinWait();
            }
            final long handlers = allocated(threadBean, handlerThreads) - handlersBefore;
            if (round >= 3)
            {
                leastProducer = Math.min(leastProducer, producer);
                leastHandlers = Math.min(leastHandlers, handlers);
            }
        }

        assertFalse(pipeline.isFailed());
        assertEquals(0, leastProducer, "bytes allocated by the sequencer per round after warm-up (best round)");
        assertEquals(0, leastHandlers, "bytes allocated by the handler threads per round after warm-up (best round)");
    }

    private static long allocated(final com.sun.management.ThreadMXBean threadBean, final List<Thread> threads)
    {
        long total = 0;
        for (final Thread thread : threads)
        {
            total += threadBean.getThreadAllocatedBytes(thread.getId());
        }
        return total;
    }

    private PipelineContext context(final RecordingCommandHandler handler, final ThreadingMode mode)
    {
        return new PipelineContext()
            .journalDir(dir)
            .durability(Durability.ASYNC)
            .threadingMode(mode)
            .ringSize(1024)
            .epochClock(clock)
            .commandHandler(handler)
            .egress(handler.egress)
            .eventListener(liveListener)
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

    private void offer(final Sequencer sequencer, final long sessionId, final int length)
    {
        offer(sequencer, sessionId, encoder.buffer(), length);
    }

    private static void offer(
        final Sequencer sequencer, final long sessionId, final org.agrona.DirectBuffer buffer, final int length)
    {
        Await.until(() -> sequencer.offer(sessionId, buffer, 0, length), "offer accepted");
    }

    private static long consumerIdOf(final RecordingCommandHandler.Command command)
    {
        return new FlowDecoder().wrapAndApplyHeader(
            new UnsafeBuffer(command.frame()), 0, new MessageHeaderDecoder()).consumerId();
    }

    private static long nodeStartedCount(final RecordingCommandHandler.Command command)
    {
        assertEquals(NodeStartedDecoder.TEMPLATE_ID, command.templateId());
        return new NodeStartedDecoder().wrapAndApplyHeader(
            new UnsafeBuffer(command.frame()), 0, new MessageHeaderDecoder()).startCount();
    }

    private void flipByteAfter(final String marker) throws IOException
    {
        final byte[] needle = marker.getBytes(StandardCharsets.US_ASCII);
        final File[] files = dir.listFiles((d, name) -> name.endsWith(".cq4"));
        assertNotNull(files);
        for (final File file : files)
        {
            try (RandomAccessFile raf = new RandomAccessFile(file, "rw"); FileChannel channel = raf.getChannel())
            {
                final MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size());
                final int limit = (int)channel.size() - needle.length;
                for (int i = 0; i < limit; i++)
                {
                    int j = 0;
                    while (j < needle.length && map.get(i + j) == needle[j])
                    {
                        j++;
                    }
                    if (j == needle.length)
                    {
                        map.put(i + needle.length - 1, (byte)'X');
                        map.force();
                        return;
                    }
                }
            }
        }
        throw new AssertionError("marker not found: " + marker);
    }

    /**
     * Applies nothing, allocates nothing.
     */
    static final class NoOpCommandHandler implements io.magnetar.engine.CommandHandler
    {
        long commands;

        public void onCommand(
            final long sessionId,
            final long timestampMs,
            final org.agrona.DirectBuffer buffer,
            final int offset,
            final int length)
        {
            commands++;
        }

        public long nextDeadlineMs()
        {
            return Long.MAX_VALUE;
        }
    }
}
