package io.magnetar.broker;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.magnetar.client.Consumer;
import io.magnetar.client.ErrorCode;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MagnetarException;
import io.magnetar.client.Message;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionStats;
import io.magnetar.client.SubscriptionType;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.magnetar.broker.RestCalls.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5 acceptance, disk failure, end to end: the broker runs as a separate process with its data directory on a
 * small tmpfs this test mounts (so it needs root, as CI has: without it the test fails, it does not skip). A client
 * publishes; the test fills the file system with a ballast file until less than {@code --journal-min-free-mib} is
 * usable (never to 100 %: a write into a mapped journal page the file system cannot back is a SIGBUS, which is what
 * the guard is there to prevent). Then publishes and creations are refused with {@code UNAVAILABLE} (client
 * exception, REST 503 with the error body), acks of earlier messages still work, the process stays up; once the
 * ballast is deleted publishes are accepted again and every confirmed message is delivered. The snapshot directory is
 * a second, tiny tmpfs filled to the last byte at the same time (snapshot files are written with {@code write}, not
 * mapped, so a full disk is an {@code IOException} there): the snapshots taken meanwhile fail, are logged and counted,
 * and the node goes on; they succeed again once space returns.
 */
@Timeout(180)
class DiskFullProcessTest
{
    private static final long T = 30_000;
    private static final long MIB = 1024 * 1024;
    private static final long DISK_MIB = 320;
    private static final long MIN_FREE_MIB = 128;
    private static final long SNAPSHOT_DISK_KIB = 1024;
    private static final String TOPIC = "diskfull";
    private static final String SUBSCRIPTION = "drain";
    private static final int BEFORE = 200;
    private static final int AFTER = 100;

    private final String aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private final List<Path> mounts = new ArrayList<>();
    private Path root;
    private Path disk;
    private Path dataDir;
    private Path snapshotDisk;
    private BrokerProcess broker;
    private MagnetarClient client;

    @BeforeEach
    void before() throws Exception
    {
        root = Files.createTempDirectory("magnetar-diskfull-test");
        disk = Files.createDirectories(root.resolve("disk"));
        mount(disk, "size=" + DISK_MIB + "m");
        dataDir = Files.createDirectories(disk.resolve("data"));
        // where the node keeps its snapshots: <data-dir>/journal/snapshots
        snapshotDisk = Files.createDirectories(dataDir.resolve("journal").resolve("snapshots"));
        mount(snapshotDisk, "size=" + SNAPSHOT_DISK_KIB + "k");
    }

    @AfterEach
    void after() throws Exception
    {
        CloseHelper.quietClose(client);
        if (null != broker)
        {
            broker.close();
        }
        final List<String> failures = new ArrayList<>();
        for (int i = mounts.size() - 1; i >= 0; i--)
        {
            final Path mountPoint = mounts.get(i);
            final Command umount = Command.run("umount", mountPoint.toString());
            if (0 != umount.status())
            {
                final Command lazy = Command.run("umount", "-l", mountPoint.toString());
                if (0 != lazy.status())
                {
                    failures.add(mountPoint + ": " + umount.output() + " / " + lazy.output());
                }
            }
        }
        BrokerProcess.deleteRecursively(new File(aeronDir));
        if (failures.isEmpty())
        {
            BrokerProcess.deleteRecursively(root.toFile());
        }
        assertTrue(failures.isEmpty(), () -> "cannot unmount " + failures);
    }

    @Test
    void refusesPublishesWhileTheJournalDiskIsFullAndResumesWhenSpaceReturns() throws Exception
    {
        final long minFreeBytes = MIN_FREE_MIB * MIB;
        broker = BrokerProcess.start(
            List.of("-Dmagnetar.snapshot.interval.ms=500"), // ticks are journaled: a snapshot every half second
            "--data-dir", dataDir.toString(),
            "--aeron-dir", aeronDir,
            "--udp-channel", "none",
            "--ipc-term-length", "1m",
            "--http-port", "0",
            "--journal-min-free-mib", Long.toString(MIN_FREE_MIB));
        final String ready = broker.awaitLog("\"event\":\"ready\"", T);
        final String config = broker.awaitLog("\"event\":\"config\"", 0);
        assertTrue(config.contains("\"journal-min-free-mib\":\"" + MIN_FREE_MIB + "\"") ||
            config.contains("\"journal-min-free-mib\":" + MIN_FREE_MIB), config);
        final Matcher port = Pattern.compile("\"httpPort\":(\\d+)").matcher(ready);
        assertTrue(port.find(), ready);
        final RestCalls rest = new RestCalls("127.0.0.1", Integer.parseInt(port.group(1)));

        client = MagnetarClient.builder().aeronDirectory(aeronDir).clientName("diskfull-client").build();
        client.admin().createTopic(TOPIC, 2);
        final Consumer consumer = client.newConsumer().topic(TOPIC).subscription(SUBSCRIPTION)
            .subscriptionType(SubscriptionType.SHARED).receiverQueueSize(1_000).subscribe();
        final Producer producer = client.newProducer().topic(TOPIC).create();

        final Set<String> confirmed = new HashSet<>();
        for (int i = 0; i < BEFORE; i++)
        {
            producer.send("before-" + i);
            confirmed.add("before-" + i);
        }
        awaitCondition(() -> metric(rest, "magnetar_snapshots_total") >= 1, "a snapshot before the disk fills");

        // fill the journal's disk to half the minimum, the snapshot disk to the last byte
        final long usableBeforeFill = Files.getFileStore(disk).getUsableSpace();
        assertTrue(usableBeforeFill > minFreeBytes + 16 * MIB,
            () -> "the node already uses too much of the " + DISK_MIB + " MiB disk: " + usableBeforeFill + " usable");
        final Path ballast = disk.resolve("ballast");
        fillUntilUsableAtMost(ballast, minFreeBytes / 2);
        final Path snapshotBallast = snapshotDisk.resolve("ballast");
        fillToTheLastByte(snapshotBallast);

        // (1) refused with UNAVAILABLE: the sequencer's probe notices within its 100 ms interval and says so once
        final String full = broker.awaitLog("journal disk (nearly) full", T);
        assertTrue(full.contains("\"level\":\"WARN\""), full);
        assertTrue(full.contains("below the minimum of " + minFreeBytes), full);
        final MagnetarException refused = assertThrows(MagnetarException.UnavailableException.class,
            () -> producer.send("refused"));
        assertEquals(ErrorCode.UNAVAILABLE, refused.code());
        assertTrue(refused.getMessage().contains("journal disk (nearly) full"), refused::toString);
        final MagnetarException createRefused = assertThrows(MagnetarException.UnavailableException.class,
            () -> client.admin().createTopic("not-while-full", 1));
        assertTrue(createRefused.getMessage().contains("journal disk (nearly) full"), createRefused::toString);
        final RestCalls.Reply restRefused = expect(503, rest.post("/v1/topics/" + TOPIC + "/messages",
            "{\"messages\": [{\"key\": \"rest-refused\"}]}"));
        assertNotNull(restRefused.json(), restRefused::toString);
        assertEquals("UNAVAILABLE", restRefused.json().path("error").path("code").asText(), restRefused::toString);
        assertTrue(restRefused.json().path("error").path("message").asText().contains("journal disk (nearly) full"),
            restRefused::toString);
        assertTrue(metric(rest, "magnetar_transport_journal_full_refusals_total") >= 3, () -> "refusals counted");

        // (2) what was published before is delivered and acked while the disk is full; the process stays up
        final Set<String> received = new HashSet<>();
        final List<Message> toAck = new ArrayList<>();
        receive(consumer, BEFORE, received, toAck);
        toAck.forEach(consumer::acknowledge);
        awaitCondition(() ->
        {
            final SubscriptionStats stats = client.admin().describeTopic(TOPIC).subscription(SUBSCRIPTION);
            return 0 == stats.backlog() && 0 == stats.inFlight() && BEFORE == stats.acked();
        }, "the " + BEFORE + " earlier messages acked while the disk is full");
        // a snapshot taken now fails (snapshot disk full): logged, counted, not fatal
        final String snapshotFailed = broker.awaitLog("failed; the journal is kept whole until a snapshot succeeds", T);
        assertTrue(snapshotFailed.contains("\"level\":\"ERROR\""), snapshotFailed);
        awaitCondition(() -> metric(rest, "magnetar_snapshot_failures_total") >= 1, "a failed snapshot counted");
        assertThrows(MagnetarException.UnavailableException.class, () -> producer.send("still-refused"));
        assertTrue(broker.process().isAlive(), "the broker process is alive on a full disk");
        assertTrue(Files.getFileStore(disk).getUsableSpace() > 0, "the journal disk was never filled completely");

        // (3) space returns: publishes are accepted again and everything confirmed is delivered
        Files.delete(ballast);
        Files.delete(snapshotBallast);
        final String again = broker.awaitLog("bytes usable again", T);
        assertTrue(again.contains("\"level\":\"WARN\""), again);
        for (int i = 0; i < AFTER; i++)
        {
            producer.send("after-" + i);
            confirmed.add("after-" + i);
        }
        final long snapshotsAfterFailure = metric(rest, "magnetar_snapshots_total");
        final long snapshotFailures = metric(rest, "magnetar_snapshot_failures_total");
        receive(consumer, AFTER, received, toAck);
        assertEquals(confirmed, received, "every confirmed publish delivered, nothing else");
        toAck.forEach(consumer::acknowledge);
        awaitCondition(() ->
        {
            final SubscriptionStats stats = client.admin().describeTopic(TOPIC).subscription(SUBSCRIPTION);
            return 0 == stats.backlog() && 0 == stats.inFlight();
        }, "everything acked after space returned");
        awaitCondition(() -> metric(rest, "magnetar_snapshots_total") > snapshotsAfterFailure,
            "a snapshot written once space returned");

        // (4) stops cleanly; the refusals are in the stopping line's counters
        client.close();
        client = null;
        assertEquals(0, broker.terminate(T), () -> String.join("\n", broker.lines()));
        final String stopping = broker.awaitLog("\"event\":\"stopping\"", 0);
        final Matcher refusals = Pattern.compile("\"journalFullRefusals\":(\\d+)").matcher(stopping);
        assertTrue(refusals.find(), stopping);
        assertTrue(Long.parseLong(refusals.group(1)) >= 4, stopping); // publish, create, REST publish, publish
        System.out.printf("disk full: %d MiB usable before the fill, %s refusals, %d snapshot failures%n%s%n%s%n%s%n",
            usableBeforeFill / MIB, refusals.group(1), snapshotFailures, full, snapshotFailed.substring(0,
            Math.min(snapshotFailed.length(), 600)), again);
    }

    private void receive(final Consumer consumer, final int count, final Set<String> received, final List<Message> into)
    {
        into.clear();
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(T);
        while (into.size() < count)
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new AssertionError("received " + into.size() + " of " + count + " within " + T + " ms");
            }
            final Message message = consumer.receive(Duration.ofMillis(500));
            if (null != message)
            {
                assertTrue(received.add(message.key()), () -> "delivered twice: " + message);
                into.add(message);
            }
        }
    }

    /**
     * Write the ballast in chunks until the file system has at most {@code target} usable, never below half of it.
     */
    private static void fillUntilUsableAtMost(final Path ballast, final long target) throws IOException
    {
        final FileStore store = Files.getFileStore(ballast.getParent());
        final ByteBuffer chunk = ByteBuffer.allocateDirect((int)(4 * MIB));
        try (FileChannel channel = FileChannel.open(ballast, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            long usable;
            while ((usable = store.getUsableSpace()) > target)
            {
                chunk.clear().limit((int)Math.min(chunk.capacity(), usable - target + 4096));
                while (chunk.hasRemaining())
                {
                    channel.write(chunk);
                }
            }
            assertTrue(usable >= target / 2, () -> "filled too far: " + store);
        }
    }

    /**
     * Write until the file system says it is full ({@code ENOSPC}): only for a file system nothing maps.
     */
    private static void fillToTheLastByte(final Path ballast) throws IOException
    {
        final ByteBuffer chunk = ByteBuffer.allocateDirect(4096);
        try (FileChannel channel = FileChannel.open(ballast, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            while (true)
            {
                chunk.clear();
                channel.write(chunk);
            }
        }
        catch (final IOException ex)
        {
            if (0 != Files.getFileStore(ballast.getParent()).getUsableSpace())
            {
                throw ex;
            }
        }
    }

    private static long metric(final RestCalls rest, final String name)
    {
        final RestCalls.Reply reply = expect(200, rest.get("/metrics"));
        for (final String line : reply.text().split("\n"))
        {
            if (line.startsWith(name + " "))
            {
                return (long)Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError("no metric " + name + " in /metrics:\n" + reply.text());
    }

    private void awaitCondition(final BooleanSupplier condition, final String what)
        throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(T);
        while (!condition.getAsBoolean())
        {
            if (!broker.process().isAlive())
            {
                throw new AssertionError("broker exited (" + broker.process().exitValue() + ") waiting for " + what +
                    ":\n" + String.join("\n", broker.lines()));
            }
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new AssertionError("timed out waiting for " + what + ":\n" + String.join("\n", broker.lines()));
            }
            Thread.sleep(20);
        }
    }

    private void mount(final Path mountPoint, final String options)
    {
        final Command mount = Command.run("mount", "-t", "tmpfs", "-o", options, "magnetar-diskfull", mountPoint.toString());
        if (0 != mount.status())
        {
            throw new AssertionError("needs root to mount a tmpfs: mount -t tmpfs -o " + options + " at " + mountPoint +
                " exited " + mount.status() + ": " + mount.output());
        }
        mounts.add(mountPoint);
    }

    /**
     * A short system command, its exit status and output.
     */
    private record Command(int status, String output)
    {
        static Command run(final String... command)
        {
            try
            {
                final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
                final byte[] output = process.getInputStream().readAllBytes();
                if (!process.waitFor(30, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                    return new Command(-1, String.join(" ", command) + ": did not finish in 30 s");
                }
                return new Command(process.exitValue(), new String(output, StandardCharsets.UTF_8).trim());
            }
            catch (final IOException ex)
            {
                return new Command(-1, String.join(" ", command) + ": " + ex);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return new Command(-1, String.join(" ", command) + ": interrupted");
            }
        }
    }
}
