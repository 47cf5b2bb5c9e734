package io.magnetar.bench.soak;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.magnetar.codecs.ConsumerAttachedDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.engine.pipeline.Sequencer;
import io.magnetar.engine.snapshot.SnapshotInfo;
import io.magnetar.engine.snapshot.SnapshotReader;
import io.magnetar.engine.snapshot.SnapshotStore;
import io.magnetar.engine.snapshot.SnapshotWriter;

/**
 * Snapshot figures for docs/ENGINE.md: with N live messages (default 1,000,000; 17-byte keys, one 63-byte
 * attribute, one shared subscription, 1,000 of them outstanding to a consumer, the rest pending):
 * <ol>
 *     <li>taking a snapshot in memory (the engine's own cost) and to a file (the engine's stall: records, write,
 *     fsync, rename), and the file's size;</li>
 *     <li>verifying and loading the file into a fresh engine;</li>
 *     <li>recovery through the pipeline: a node with N live messages snapshots, then journals a tail (T more
 *     messages published and T older ones acked, default 100,000), stops without a snapshot on close; the restart
 *     ({@link Pipeline#start()}) is timed, and compared with replaying the whole journal.</li>
 * </ol>
 * Usage: {@code java <jvm flags> -Xmx4g -cp bench/target/magnetar-bench.jar io.magnetar.bench.soak.SnapshotBench
 * [--live N] [--tail T] [--runs R] [--recovery-only] [--dir path]}. The restart is timed after the first node's engine
 * is dropped and a GC ran, as in a fresh process; {@code --recovery-only} skips part 1 and 2.
 * <p>
 * A restart in a fresh JVM, with exactly the heap and collector a node starts with: {@code --first-life-only --dir D}
 * builds the first node in {@code D} and keeps it, then each {@code --restart-only --dir D} (a new process, on a copy
 * of {@code D} if the runs are to be alike: each start journals a NodeStarted) times {@link Pipeline#start()} alone
 * and checks the state against the first node's.
 */
public final class SnapshotBench
{
    private static final int BATCH = 1000;
    private static final int PERMITS = 1000;

    private SnapshotBench()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        long live = 1_000_000;
        long tail = 100_000;
        int runs = 5;
        boolean engineFigures = true;
        boolean firstLifeOnly = false;
        boolean restartOnly = false;
        Path dir = null;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--live" -> live = Long.parseLong(args[++i].replace("_", ""));
                case "--tail" -> tail = Long.parseLong(args[++i].replace("_", ""));
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--recovery-only" -> engineFigures = false;
                case "--first-life-only" -> firstLifeOnly = true;
                case "--restart-only" -> restartOnly = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] +
                    "; usage: [--live N] [--tail T] [--runs R] [--recovery-only] [--dir path] " +
                    "[--first-life-only | --restart-only] (these two need --dir)");
            }
        }
        if ((firstLifeOnly || restartOnly) && null == dir)
        {
            throw new IllegalArgumentException("--first-life-only and --restart-only need --dir");
        }
        Journal.disableChronicleAnalytics();
        final boolean temporary = null == dir;
        final Path root = temporary ? Files.createTempDirectory("magnetar-snapshot-bench") : dir;
        try
        {
            if (firstLifeOnly)
            {
                final long[] first = firstLife(live, tail, root.resolve("pipeline"));
                Files.writeString(root.resolve("first-life"), first[0] + " " + first[1] + " " + first[2] + " " +
                    maxLiveMessages(live, tail));
                System.out.printf(Locale.ROOT, "first node kept in %s: %,d live messages, %,d journal entries after " +
                    "the snapshot%n", root, first[1], first[2]);
                return;
            }
            if (restartOnly)
            {
                restart(root);
                return;
            }
            System.out.printf(Locale.ROOT, "live messages %,d, tail %,d messages, %d runs, in %s%n", live, tail, runs, root);
            if (engineFigures)
            {
                engineFigures(live, runs, root.resolve("engine"));
            }
            pipelineRecovery(live, tail, root.resolve("pipeline"));
        }
        finally
        {
            if (temporary)
            {
                delete(root);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ engine only

    private static void engineFigures(final long live, final int runs, final Path dir) throws IOException
    {
        final Engine engine = new Engine(new EngineConfig().maxLiveMessages(Math.max(10_000_000, live)).conclude(),
            EventListener.MUTED);
        final SoakMessages messages = new SoakMessages(100_000);
        long time = 1_000_000;
        engine.onCommand(1, time, messages.buffer(), 0, messages.createTopic(1, "bench", 8));
        engine.onCommand(2, time, messages.buffer(), 0, messages.subscribe(2, "bench", "workers", PERMITS));
        long published = 0;
        final long buildStart = System.nanoTime();
        while (published < live)
        {
            final int count = (int)Math.min(BATCH, live - published);
            engine.onCommand(1, ++time, messages.buffer(), 0, messages.publish(3, 1, published, count));
            published += count;
        }
        System.out.printf(Locale.ROOT, "built an engine with %,d live messages in %.1f s (%,d live bytes)%n",
            engine.liveMessages(), (System.nanoTime() - buildStart) / 1e9, engine.liveBytes());

        final double[] memoryMs = new double[runs];
        final double[] fileMs = new double[runs];
        final double[] verifyMs = new double[runs];
        final double[] loadMs = new double[runs];
        long bytes = 0;
        long records = 0;
        final SnapshotStore store = new SnapshotStore(dir);
        for (int run = 0; run < runs; run++)
        {
            final long[] counted = new long[2];
            long start = System.nanoTime();
            engine.takeSnapshot(run, time, (buffer, offset, length) ->
            {
                counted[0]++;
                counted[1] += length;
            });
            memoryMs[run] = (System.nanoTime() - start) / 1e6;

            start = System.nanoTime();
            final Path file;
            try (SnapshotWriter writer = store.newWriter(run))
            {
                engine.takeSnapshot(run, time, writer);
                file = writer.complete();
                bytes = writer.bytes();
                records = writer.records();
            }
            fileMs[run] = (System.nanoTime() - start) / 1e6;

            final Engine restored = new Engine(new EngineConfig().maxLiveMessages(Math.max(10_000_000, live)).conclude(),
                EventListener.MUTED);
            try (SnapshotReader reader = store.open(file))
            {
                start = System.nanoTime();
                final SnapshotInfo info = reader.verify();
                verifyMs[run] = (System.nanoTime() - start) / 1e6;
                if (!info.isComplete())
                {
                    throw new IllegalStateException("snapshot not complete: " + info);
                }
                start = System.nanoTime();
                restored.loadSnapshot(reader);
                loadMs[run] = (System.nanoTime() - start) / 1e6;
            }
            if (restored.stateHash() != engine.stateHash())
            {
                throw new IllegalStateException("restored engine differs");
            }
            Files.delete(file);
            System.out.printf(Locale.ROOT,
                "  run %d: in memory %.0f ms, to file %.0f ms, verify %.0f ms, load %.0f ms%n",
                run, memoryMs[run], fileMs[run], verifyMs[run], loadMs[run]);
        }
        final double perMillion = 1_000_000.0 / live;
        System.out.printf(Locale.ROOT, "snapshot of %,d live messages: %,d records, %,d bytes (%.0f bytes per message)%n",
            live, records, bytes, (double)bytes / live);
        System.out.printf(Locale.ROOT, "  take in memory  median %.0f ms (best %.0f) -> %.0f ms per million%n",
            median(memoryMs), min(memoryMs), median(memoryMs) * perMillion);
        System.out.printf(Locale.ROOT, "  take to file    median %.0f ms (best %.0f) -> %.0f ms per million (engine stall)%n",
            median(fileMs), min(fileMs), median(fileMs) * perMillion);
        System.out.printf(Locale.ROOT, "  verify file     median %.0f ms -> %.0f ms per million%n",
            median(verifyMs), median(verifyMs) * perMillion);
        System.out.printf(Locale.ROOT, "  load file       median %.0f ms -> %.0f ms per million%n",
            median(loadMs), median(loadMs) * perMillion);
    }

    // ------------------------------------------------------------------------------------------------ pipeline

    private static void pipelineRecovery(final long live, final long tail, final Path dir) throws Exception
    {
        final long[] first = firstLife(live, tail, dir);
        final long liveHash = first[0];
        final long liveAtStop = first[1];
        final long tailEntries = first[2];
        System.gc();

        final MutableEventListener egress2 = new MutableEventListener();
        final Engine restarted = new Engine(new EngineConfig().maxLiveMessages(maxLiveMessages(live, tail)).conclude(),
            egress2);
        final Pipeline second = new Pipeline(context(dir, restarted, egress2, EventListener.MUTED));
        System.out.printf(Locale.ROOT, "recovery (Pipeline.start) with %,d live messages: %s (%,d journaled after the " +
            "snapshot)%n", liveAtStop, timedStart(second), tailEntries);

        final Engine replayed = new Engine(new EngineConfig().maxLiveMessages(maxLiveMessages(live, tail)).conclude(),
            EventListener.MUTED);
        try (Journal journal = new Journal(dir.toFile(), Durability.ASYNC))
        {
            final long stopAt = restartIndex(journal);
            System.gc();
            final CpuClock replayCpu = new CpuClock();
            final long replayStart = System.nanoTime();
            final long[] entries = {0};
            journal.replay((sessionId, timestampMs, buffer, offset, length, index) ->
            {
                if (index < stopAt)
                {
                    entries[0]++;
                    replayed.onCommand(sessionId, timestampMs, buffer, offset, length);
                }
            });
            System.out.printf(Locale.ROOT, "for comparison, replaying the whole journal (%,d entries) takes %.0f ms; %s%n",
                entries[0], (System.nanoTime() - replayStart) / 1e6, replayCpu);
        }
        if (replayed.stateHash() != liveHash)
        {
            throw new IllegalStateException("replaying the whole journal gives another state");
        }
    }

    /**
     * Start (recover) and close the pipeline.
     *
     * @return "N ms = snapshot of ... + N journal entries; CPU: ...", what the start took and recovered.
     */
    private static String timedStart(final Pipeline pipeline)
    {
        final CpuClock cpu = new CpuClock();
        final long start = System.nanoTime();
        try
        {
            pipeline.start();
            final double ms = (System.nanoTime() - start) / 1e6;
            final SnapshotInfo snapshot = pipeline.recoveredSnapshot();
            return String.format(Locale.ROOT, "%.0f ms = snapshot of %,d messages (%,d bytes) + %,d journal entries; %s",
                ms, snapshot.liveMessages(), snapshot.bytes(), pipeline.replayResult().entries(), cpu);
        }
        finally
        {
            pipeline.close();
        }
    }

    /**
     * The restart alone, in this (fresh) JVM, of a first node kept by {@code --first-life-only}.
     */
    private static void restart(final Path root) throws Exception
    {
        final String[] first = Files.readString(root.resolve("first-life")).trim().split(" ");
        final long liveAtStop = Long.parseLong(first[1]);
        final MutableEventListener egress = new MutableEventListener();
        // the first node's limit: the tail's publishes run ahead of its acks
        final Engine restarted = new Engine(new EngineConfig().maxLiveMessages(Long.parseLong(first[3])).conclude(), egress);
        final Pipeline second = new Pipeline(context(root.resolve("pipeline"), restarted, egress, EventListener.MUTED));
        final String timed = timedStart(second);
        System.out.printf(Locale.ROOT, "recovery (Pipeline.start, fresh JVM) with %,d live messages: %s; heap committed " +
            "%,d MB%n", liveAtStop, timed, Runtime.getRuntime().totalMemory() >> 20);
        // the state hash covers the NodeStarted this start journaled, so the live set is what can be compared
        if (restarted.liveMessages() != liveAtStop)
        {
            throw new IllegalStateException("the restarted engine has " + restarted.liveMessages() +
                " live messages, the first node had " + liveAtStop);
        }
    }

    private static long maxLiveMessages(final long live, final long tail)
    {
        return Math.max(10_000_000, live + tail);
    }

    /**
     * The first node: N live messages, a snapshot, a tail; stopped without a snapshot on close.
     *
     * @return its final state hash, live messages, and the journal entries written after the snapshot.
     */
    private static long[] firstLife(final long live, final long tail, final Path dir) throws Exception
    {
        final SoakMessages messages = new SoakMessages(100_000);
        final long[] consumerId = {0};
        final MutableEventListener egress = new MutableEventListener();
        final Engine engine = new Engine(new EngineConfig().maxLiveMessages(maxLiveMessages(live, tail)).conclude(),
            egress);
        final Pipeline pipeline = new Pipeline(context(dir, engine, egress, attachedListener(consumerId)));
        final long tailEntries;
        try
        {
            pipeline.start();
            final Sequencer sequencer = pipeline.sequencer();
            offer(pipeline, 1, messages.createTopic(1, "bench", 1), messages);
            offer(pipeline, 2, messages.subscribe(2, "bench", "workers", PERMITS), messages);
            long published = 0;
            while (published < live)
            {
                final int count = (int)Math.min(BATCH, live - published);
                offer(pipeline, 1, messages.publish(3, 1, published, count), messages);
                published += count;
            }
            awaitIdle(pipeline);
            pipeline.requestSnapshot();
            while (pipeline.snapshotCount() < 1)
            {
                sequencer.doWork();
                Thread.sleep(1);
            }
            System.out.printf(Locale.ROOT, "pipeline: snapshot of %,d live messages took %.0f ms, %,d bytes%n",
                engine.liveMessages(), pipeline.lastSnapshotNs() / 1e6, pipeline.lastSnapshotBytes());

            final long before = pipeline.journal().appendCount();
            long acked = 0;
            for (long done = 0; done < tail; done += BATCH)
            {
                final int count = (int)Math.min(BATCH, tail - done);
                offer(pipeline, 1, messages.publish(4, 1, published, count), messages);
                published += count;
                offer(pipeline, 2, messages.ack(5, consumerId[0], 0, 1, acked, acked + count, -1), messages);
                acked += count;
            }
            awaitIdle(pipeline);
            tailEntries = pipeline.journal().appendCount() - before;
        }
        finally
        {
            pipeline.close();
        }
        return new long[]{ engine.stateHash(), engine.liveMessages(), tailEntries };
    }

    /**
     * @return index of the first entry of the second run (its NodeStarted), to replay only what the first run wrote.
     */
    private static long restartIndex(final Journal journal)
    {
        final long[] starts = {0, Long.MAX_VALUE};
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        journal.replay((sessionId, timestampMs, buffer, offset, length, index) ->
        {
            header.wrap(buffer, offset);
            if (header.templateId() == io.magnetar.codecs.NodeStartedDecoder.TEMPLATE_ID && ++starts[0] == 2)
            {
                starts[1] = index;
            }
        });
        return starts[1];
    }

    private static PipelineContext context(
        final Path dir, final Engine engine, final MutableEventListener egress, final EventListener listener)
    {
        return new PipelineContext()
            .journalDir(dir.toFile())
            .durability(Durability.ASYNC)
            .ringSize(1024)
            .snapshotIntervalEntries(0)
            .snapshotIntervalBytes(0)
            .snapshotIntervalMs(0)
            .snapshotOnClose(false)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(listener);
    }

    private static EventListener attachedListener(final long[] consumerId)
    {
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final ConsumerAttachedDecoder attached = new ConsumerAttachedDecoder();
        return (sessionId, buffer, offset, length) ->
        {
            header.wrap(buffer, offset);
            if (header.templateId() == ConsumerAttachedDecoder.TEMPLATE_ID)
            {
                consumerId[0] = attached.wrapAndApplyHeader(buffer, offset, header).consumerId();
            }
        };
    }

    static void offer(final Pipeline pipeline, final long sessionId, final int length, final SoakMessages messages)
    {
        final Sequencer sequencer = pipeline.sequencer();
        while (!sequencer.offer(sessionId, messages.buffer(), 0, length))
        {
            if (pipeline.isFailed())
            {
                throw new IllegalStateException("pipeline failed", pipeline.failure());
            }
            sequencer.doWork();
            Thread.onSpinWait();
        }
        sequencer.doWork();
    }

    static void awaitIdle(final Pipeline pipeline) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (pipeline.appliedSequence() < pipeline.publishedSequence())
        {
            if (pipeline.isFailed() || System.nanoTime() > deadline)
            {
                throw new IllegalStateException("pipeline did not catch up", pipeline.failure());
            }
            Thread.sleep(1);
        }
    }

    /**
     * CPU spent since construction, for figures taken on a shared machine: this thread's (the recovering one), the
     * whole process's (with GC and JIT threads), and the GC's pause time.
     */
    static final class CpuClock
    {
        private final long threadNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        private final long processNs = processCpuNs();
        private final long gcMs = gcMs();

        public String toString()
        {
            return String.format(Locale.ROOT, "CPU: this thread %.0f ms, process %.0f ms, GC %d ms",
                (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - threadNs) / 1e6,
                (processCpuNs() - processNs) / 1e6, gcMs() - gcMs);
        }

        private static long processCpuNs()
        {
            return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os ?
                os.getProcessCpuTime() : -1;
        }

        private static long gcMs()
        {
            long total = 0;
            for (final GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans())
            {
                total += Math.max(0, gc.getCollectionTime());
            }
            return total;
        }
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double min(final double[] values)
    {
        return Arrays.stream(values).min().orElse(0);
    }

    static void delete(final Path dir) throws IOException
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
    }
}
