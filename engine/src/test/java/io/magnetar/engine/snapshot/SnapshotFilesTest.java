package io.magnetar.engine.snapshot;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.SnapshotLoadException;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshot files: written, verified and loaded back; every truncation and every single flipped byte of a file is
 * refused by {@link SnapshotReader#verify()} and by the engine's loader alike, which then leaves the engine fresh;
 * retention keeps the newest.
 */
class SnapshotFilesTest
{
    private static final long INDEX = 0x2dabcf00000007L;

    @TempDir
    Path dir;

    @Test
    void aSnapshotFileLoadsBackIntoTheSameState() throws IOException
    {
        final Engine engine = busyEngine();
        final SnapshotStore store = new SnapshotStore(dir);
        final Path file = write(store, engine, INDEX);
        assertEquals(SnapshotStore.fileName(INDEX), file.getFileName().toString());
        assertEquals(INDEX, SnapshotStore.indexOf(file));

        try (SnapshotReader reader = store.open(file))
        {
            final SnapshotInfo info = reader.verify();
            assertTrue(info.isComplete(), info::toString);
            assertEquals(INDEX, info.journalIndex());
            assertEquals(123_456L, info.timestampMs());
            assertEquals(engine.liveMessages(), info.liveMessages());
            assertEquals(Files.size(file), info.bytes());

            final Engine restored = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
            restored.loadSnapshot(reader);
            assertEquals(engine.stateHash(), restored.stateHash());

            final SnapshotInfo begin = reader.verifyBegin();
            assertTrue(begin.isComplete(), begin::toString);
            assertEquals(INDEX, begin.journalIndex());
            assertEquals(123_456L, begin.timestampMs());
            assertEquals(engine.liveMessages(), begin.liveMessages());

            // in one pass, as recovery loads: the same state and the same verdict
            final Engine onePass = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
            final SnapshotInfo[] found = new SnapshotInfo[1];
            onePass.loadSnapshot((sink) -> found[0] = verify(reader, sink));
            assertEquals(engine.stateHash(), onePass.stateHash());
            assertEquals(info, found[0]);
        }
    }

    @Test
    void everyTruncationIsRefused() throws IOException
    {
        final Engine engine = busyEngine();
        final Path file = write(new SnapshotStore(dir), engine, INDEX);
        final byte[] whole = Files.readAllBytes(file);
        final Path cut = dir.resolve(SnapshotStore.fileName(INDEX + 1));
        for (int length = 0; length < whole.length; length++)
        {
            Files.write(cut, java.util.Arrays.copyOf(whole, length));
            try (SnapshotReader reader = new SnapshotReader(cut))
            {
                final SnapshotInfo info = reader.verify();
                assertFalse(info.isComplete(), "cut at " + length);
            }
            assertRefusedByTheLoader(cut, engine, "cut at " + length);
        }
    }

    @Test
    void everyFlippedByteIsRefused() throws IOException
    {
        final Engine engine = busyEngine();
        final Path file = write(new SnapshotStore(dir), engine, INDEX);
        final byte[] whole = Files.readAllBytes(file);
        final Path damaged = dir.resolve(SnapshotStore.fileName(INDEX));
        int corrupt = 0;
        for (int position = 0; position < whole.length; position++)
        {
            final byte[] copy = whole.clone();
            copy[position] ^= (byte)(1 + position % 255);
            Files.write(damaged, copy);
            try (SnapshotReader reader = new SnapshotReader(damaged))
            {
                final SnapshotInfo info = reader.verify();
                assertFalse(info.isComplete(), "byte " + position + " flipped");
                corrupt += info.status() == SnapshotInfo.Status.CORRUPT ? 1 : 0;
            }
            assertRefusedByTheLoader(damaged, engine, "byte " + position + " flipped");
        }
        assertTrue(corrupt > whole.length * 9 / 10, "mostly reported as corrupt, not as torn: " + corrupt);
    }

    @Test
    void bytesAfterTheEndAreRefused() throws IOException
    {
        final Path file = write(new SnapshotStore(dir), busyEngine(), INDEX);
        Files.write(file, new byte[]{ 1, 2, 3 }, java.nio.file.StandardOpenOption.APPEND);
        try (SnapshotReader reader = new SnapshotReader(file))
        {
            final SnapshotInfo info = reader.verify();
            assertEquals(SnapshotInfo.Status.CORRUPT, info.status());
            assertTrue(info.detail().contains("after SnapshotEnd"), info.detail());

            // loaded while verified, the records before are all sound: the SnapshotEnd is not handed on
            final Engine onePass = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
            final long freshHash = onePass.stateHash();
            final SnapshotInfo[] found = new SnapshotInfo[1];
            assertThrows(SnapshotLoadException.class, () -> onePass.loadSnapshot((sink) -> found[0] = verify(reader, sink)));
            assertEquals(info, found[0]);
            assertEquals(freshHash, onePass.stateHash());
        }
    }

    @Test
    void aFileNamedForAnotherIndexIsRefused() throws IOException
    {
        final Path file = write(new SnapshotStore(dir), busyEngine(), INDEX);
        final Path renamed = Files.move(file, dir.resolve(SnapshotStore.fileName(INDEX + 5)));
        try (SnapshotReader reader = new SnapshotReader(renamed))
        {
            assertEquals(SnapshotInfo.Status.CORRUPT, reader.verify().status());
            assertEquals(SnapshotInfo.Status.CORRUPT, reader.verifyBegin().status());
        }
    }

    @Test
    void aWriterClosedWithoutCompletingLeavesNothing() throws IOException
    {
        final SnapshotStore store = new SnapshotStore(dir);
        try (SnapshotWriter writer = store.newWriter(INDEX))
        {
            busyEngine().takeSnapshot(INDEX, 1, writer);
            assertTrue(writer.bytes() > 0);
        }
        try (java.util.stream.Stream<Path> files = Files.list(dir))
        {
            assertEquals(0, files.count());
        }
    }

    @Test
    void retentionKeepsTheNewestAndTemporariesAreCleanedUp() throws IOException
    {
        final SnapshotStore store = new SnapshotStore(dir);
        final Engine engine = busyEngine();
        final long[] indexes = { 0x10L, 0x2_0000_0003L, 0x2_0000_0009L, 0x3_0000_0000L };
        for (final long index : indexes)
        {
            write(store, engine, index);
        }
        Files.writeString(dir.resolve(SnapshotStore.fileName(0x4_0000_0000L) + ".tmp"), "torn");
        final Path rejected = store.reject(dir.resolve(SnapshotStore.fileName(0x10L)));

        assertEquals(3, store.snapshots().size());
        assertEquals(0x3_0000_0000L, SnapshotStore.indexOf(store.snapshots().get(0)), "newest first");
        assertEquals(0x2_0000_0009L, store.retain(2), "oldest kept");
        assertEquals(2, store.snapshots().size());
        assertFalse(Files.exists(rejected), "old rejected snapshots go too");
        assertEquals(1, store.deleteTemporaries());

        assertFalse(store.isJournalTruncated());
        store.markJournalTruncated("a cycle");
        store.markJournalTruncated("another cycle");
        assertTrue(store.isJournalTruncated());
        assertTrue(Files.readString(dir.resolve(SnapshotStore.JOURNAL_TRUNCATED)).contains("a cycle"));
    }

    @Test
    void thePrinterSaysWhatIsInAFile() throws IOException
    {
        final Path file = write(new SnapshotStore(dir), busyEngine(), INDEX);
        final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        assertTrue(SnapshotPrinter.print(file, new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8)));
        final String text = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(text.contains("COMPLETE") && text.contains("(MessageRecord): 8") && text.contains("liveMessages=8"), text);

        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(raf.length() - 1);
        }
        bytes.reset();
        assertFalse(SnapshotPrinter.print(file, new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8)));
        assertTrue(bytes.toString(java.nio.charset.StandardCharsets.UTF_8).contains("INCOMPLETE"));
    }

    private static void assertRefusedByTheLoader(final Path file, final Engine original, final String what)
        throws IOException
    {
        final Engine engine = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final long freshHash = engine.stateHash();
        try (SnapshotReader reader = new SnapshotReader(file))
        {
            assertThrows(SnapshotLoadException.class, () -> engine.loadSnapshot(reader), what);
        }
        assertEquals(freshHash, engine.stateHash(), "a refused snapshot leaves the engine fresh: " + what);
        assertNotEquals(freshHash, original.stateHash());

        // in one pass, as recovery loads (verified while loaded): refused as well, the engine still fresh, and where
        // the reader got to a verdict before the loader gave up, it is the verdict of verify() alone
        final Engine onePass = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        try (SnapshotReader reader = new SnapshotReader(file))
        {
            final SnapshotInfo whole = reader.verify();
            final SnapshotInfo[] found = new SnapshotInfo[1];
            assertThrows(SnapshotLoadException.class, () -> onePass.loadSnapshot((sink) -> found[0] = verify(reader, sink)),
                what);
            if (null != found[0])
            {
                assertEquals(whole, found[0], what);
            }
        }
        assertEquals(freshHash, onePass.stateHash(), "a refused snapshot leaves the engine fresh (one pass): " + what);
    }

    private static SnapshotInfo verify(final SnapshotReader reader, final io.magnetar.engine.SnapshotSink sink)
    {
        try
        {
            return reader.verify(sink);
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static Path write(final SnapshotStore store, final Engine engine, final long index) throws IOException
    {
        try (SnapshotWriter writer = store.newWriter(index))
        {
            engine.takeSnapshot(index, 123_456L, writer);
            return writer.complete();
        }
    }

    /**
     * A small engine with a bit of everything: topics, all subscription types, consumers, pending, delayed and
     * outstanding deliveries.
     */
    private static Engine busyEngine()
    {
        final Engine[] engine = new Engine[1];
        final EngineDriver driver = EngineDriver.create((listener) -> engine[0] =
            new Engine(new EngineConfig().conclude(), listener));
        driver.at(1_000_000);
        final EngineDriver.Session admin = driver.session(1);
        final int topic = admin.newTopic("orders", 3);
        admin.newSubscription("orders", "billing", SubscriptionType.SHARED);
        admin.newSubscription("orders", "audit", SubscriptionType.MULTICAST);
        admin.newSubscription("orders", "by-key", SubscriptionType.KEY_SHARED);
        final long billing = driver.session(2).attach("orders", "billing", SubscriptionType.SHARED, 3);
        driver.session(3).attach("orders", "audit", SubscriptionType.MULTICAST, 2);
        driver.session(3).attach("orders", "by-key", SubscriptionType.KEY_SHARED, 4);
        final List<Msg> messages = new ArrayList<>();
        for (int i = 0; i < 8; i++)
        {
            messages.add(Msg.of("key-" + (i % 3), "ref", "s3://bucket/" + i));
        }
        final List<MessageId> ids = admin.publishIds(topic, messages);
        driver.session(2).nackOk(billing, ids.get(0), ids.get(1), ids.get(2));
        driver.session(2).ackOk(billing, ids.get(3));
        return engine[0];
    }
}
