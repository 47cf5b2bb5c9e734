package io.magnetar.bench.soak;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import io.magnetar.codecs.ConsumerAttachedDecoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.pipeline.MutableEventListener;
import io.magnetar.engine.pipeline.Pipeline;
import io.magnetar.engine.pipeline.PipelineContext;
import io.magnetar.engine.pipeline.ThreadingMode;

/**
 * Issue 5's soak: publish and ack 20 million messages (in batches) through the pipeline with one message never
 * acked, and show that the journal directory (cycle files and snapshots, allocated blocks as {@code du} counts them)
 * stays under a bound throughout, then restart and show the stuck message redelivered (deliveryCount 2).
 * Exits 1 if the bound is broken or the message is not redelivered.
 * <p>
 * Usage: {@code java <jvm flags> -cp bench/target/magnetar-bench.jar io.magnetar.bench.soak.JournalSoak
 * [--messages 20000000] [--batch 1000] [--bound-mib 64] [--snapshot-mib 4] [--ring 256] [--durability async|sync]
 * [--dir path]}. The smaller version runs in the engine's tests ({@code BoundedJournalTest}, 2 million).
 */
public final class JournalSoak
{
    private JournalSoak()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        long messages = 20_000_000;
        int batch = 1000;
        long boundMiB = 64;
        long snapshotMiB = 4;
        int ring = 256;
        Durability durability = Durability.ASYNC;
        Path dir = null;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--messages" -> messages = Long.parseLong(args[++i].replace("_", ""));
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--bound-mib" -> boundMiB = Long.parseLong(args[++i]);
                case "--snapshot-mib" -> snapshotMiB = Long.parseLong(args[++i]);
                case "--ring" -> ring = Integer.parseInt(args[++i]);
                case "--durability" -> durability = Durability.valueOf(args[++i].toUpperCase(Locale.ROOT));
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Journal.disableChronicleAnalytics();
        final boolean temporary = null == dir;
        final Path root = temporary ? Files.createTempDirectory("magnetar-soak") : dir;
        final int status;
        try
        {
            status = run(root, messages, batch, boundMiB * 1024 * 1024, snapshotMiB * 1024 * 1024, ring, durability);
        }
        finally
        {
            if (temporary)
            {
                SnapshotBench.delete(root);
            }
        }
        System.exit(status);
    }

    private static int run(
        final Path dir,
        final long messages,
        final int batch,
        final long boundBytes,
        final long snapshotBytes,
        final int ring,
        final Durability durability) throws Exception
    {
        System.out.printf(Locale.ROOT, "soak: %,d messages in batches of %d, one never acked; %s, snapshot every %d MiB " +
            "journaled, ring %d; bound %d MiB; in %s%n", messages, batch, durability, snapshotBytes >> 20, ring,
            boundBytes >> 20, dir);
        final SoakMessages frames = new SoakMessages(100_000);
        final long[] consumerId = {0};
        final MutableEventListener egress = new MutableEventListener();
        final Engine engine = new Engine(new EngineConfig().conclude(), egress);
        final Pipeline pipeline = new Pipeline(context(dir, engine, egress, attached(consumerId), snapshotBytes, ring,
            durability));
        long maxBytes = 0;
        long journaled = 0;
        final long start = System.nanoTime();
        try
        {
            pipeline.start();
            SnapshotBench.offer(pipeline, 1, frames.createTopic(1, "soak", 1), frames);
            SnapshotBench.offer(pipeline, 2, frames.subscribe(2, "soak", "workers", 10_000), frames);
            SnapshotBench.awaitIdle(pipeline);
            long entry = 0;
            long nextReport = System.nanoTime();
            for (long published = 0; published < messages; published += batch)
            {
                final int count = (int)Math.min(batch, messages - published);
                final int publish = frames.publish(3, 1, published, count);
                SnapshotBench.offer(pipeline, 1, publish, frames);
                final int ack = frames.ack(4, consumerId[0], 0, 1, entry, entry + count, 0);
                SnapshotBench.offer(pipeline, 2, ack, frames);
                journaled += publish + ack;
                entry += count;
                if ((published / batch) % 200 == 0)
                {
                    final long used = du(dir);
                    maxBytes = Math.max(maxBytes, used);
                    if (System.nanoTime() >= nextReport)
                    {
                        nextReport = System.nanoTime() + 10_000_000_000L;
                        System.out.printf(Locale.ROOT, "  %,12d messages, %,8d MB journaled, directory %,7d KiB (max " +
                            "%,d), %d snapshots (max stall %.0f ms), %d cycle files deleted%n", published,
                            journaled / 1_000_000, used >> 10, maxBytes >> 10, pipeline.snapshotCount(),
                            pipeline.maxSnapshotNs() / 1e6, pipeline.journal().deletedCycleCount());
                    }
                }
            }
            SnapshotBench.awaitIdle(pipeline);
        }
        finally
        {
            pipeline.close();
        }
        maxBytes = Math.max(maxBytes, du(dir));
        final double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "done: %,d messages in %.0f s (%,.0f msg/s published and acked), %,d MB journaled, " +
            "%d snapshots (max stall %.0f ms), %d cycle files deleted; journal directory at most %,d KiB (bound %,d KiB), " +
            "%,d KiB at the end; live messages %d%n", messages, seconds, messages / seconds, journaled / 1_000_000,
            pipeline.snapshotCount(), pipeline.maxSnapshotNs() / 1e6, pipeline.journal().deletedCycleCount(),
            maxBytes >> 10, boundBytes >> 10, du(dir) >> 10, engine.liveMessages());

        // restart: the stuck message (entry 0) comes back
        final MutableEventListener egress2 = new MutableEventListener();
        final Engine restarted = new Engine(new EngineConfig().conclude(), egress2);
        final long[] redelivered = {-1, -1};
        final long restartStart = System.nanoTime();
        final Pipeline second = new Pipeline(context(dir, restarted, egress2, deliveries(redelivered), snapshotBytes, ring,
            durability));
        try
        {
            second.start();
            final double restartMs = (System.nanoTime() - restartStart) / 1e6;
            SnapshotBench.offer(second, 7, frames.subscribe(5, "soak", "workers", 10), frames);
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (redelivered[0] < 0 && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
            }
            System.out.printf(Locale.ROOT, "restart in %.0f ms (from snapshot %s + %d entries); live messages %d; " +
                "redelivered entry %d with deliveryCount %d%n", restartMs,
                null == second.recoveredSnapshot() ? "none" : second.recoveredSnapshot().file().getFileName(),
                second.replayResult().entries(), restarted.liveMessages(), redelivered[0], redelivered[1]);
        }
        finally
        {
            second.close();
        }

        final boolean ok = maxBytes <= boundBytes && redelivered[0] == 0 && redelivered[1] == 2 &&
            restarted.liveMessages() == 1;
        System.out.println(ok ? "PASS" : "FAIL");
        return ok ? 0 : 1;
    }

    private static PipelineContext context(
        final Path dir,
        final Engine engine,
        final MutableEventListener egress,
        final EventListener listener,
        final long snapshotBytes,
        final int ring,
        final Durability durability)
    {
        return new PipelineContext()
            .journalDir(dir.toFile())
            .durability(durability)
            .threadingMode(ThreadingMode.SHARED)
            .ringSize(ring)
            .snapshotIntervalEntries(0)
            .snapshotIntervalBytes(snapshotBytes)
            .commandHandler(engine)
            .egress(egress)
            .eventListener(listener);
    }

    private static EventListener attached(final long[] consumerId)
    {
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final ConsumerAttachedDecoder decoder = new ConsumerAttachedDecoder();
        return (sessionId, buffer, offset, length) ->
        {
            header.wrap(buffer, offset);
            if (header.templateId() == ConsumerAttachedDecoder.TEMPLATE_ID)
            {
                consumerId[0] = decoder.wrapAndApplyHeader(buffer, offset, header).consumerId();
            }
        };
    }

    private static EventListener deliveries(final long[] first)
    {
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final DeliveriesDecoder decoder = new DeliveriesDecoder();
        return (sessionId, buffer, offset, length) ->
        {
            header.wrap(buffer, offset);
            if (header.templateId() == DeliveriesDecoder.TEMPLATE_ID && first[0] < 0)
            {
                final DeliveriesDecoder.MessagesDecoder messages = decoder.wrapAndApplyHeader(buffer, offset, header).messages();
                if (messages.hasNext())
                {
                    messages.next();
                    final long entry = messages.entry();
                    first[1] = messages.deliveryCount();
                    first[0] = entry;
                }
            }
        };
    }

    /**
     * @return bytes allocated to the directory tree, as {@code du} counts them.
     */
    static long du(final Path dir) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder("du", "-sk", dir.toString()).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        process.waitFor();
        return Long.parseLong(out.split("\\s+")[0]) * 1024;
    }
}
