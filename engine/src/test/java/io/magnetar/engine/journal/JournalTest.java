package io.magnetar.engine.journal;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JournalTest
{
    @TempDir
    File dir;

    @Test
    void appendThenReplayGivesTheSameEntriesInOrder()
    {
        final List<Entry> written = new ArrayList<>();
        final Random random = new Random(7);
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            for (int i = 0; i < 500; i++)
            {
                final byte[] command = new byte[random.nextInt(2000)];
                random.nextBytes(command);
                final long index =
                    journal.appendCommand(i % 7, 1_000_000L + i, new UnsafeBuffer(command), 0, command.length);
                written.add(new Entry(i % 7, 1_000_000L + i, command, index));
                if (i % 50 == 49)
                {
                    journal.endOfBatch();
                }
            }
            journal.endOfBatch();
            assertEquals(500, journal.appendCount());
            assertEquals(written.get(499).index, journal.lastIndexAppended());

            final List<Entry> replayed = new ArrayList<>();
            final ReplayResult result = journal.replay(recorder(replayed));

            assertTrue(result.isComplete(), result::toString);
            assertEquals(500, result.entries());
            assertEquals(written.get(499).index, result.lastGoodIndex());
            assertEquals(-1, result.badIndex());
            assertEntriesEqual(written, replayed);
        }
    }

    @Test
    void replaysFromAnIndexAndAfterReopening()
    {
        final List<Entry> written = new ArrayList<>();
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            for (int i = 0; i < 20; i++)
            {
                written.add(append(journal, 1, i, "first-run-" + i));
            }
            journal.endOfBatch();
        }

        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final List<Entry> replayed = new ArrayList<>();
            assertTrue(journal.replay(recorder(replayed)).isComplete());
            assertEntriesEqual(written, replayed);

            for (int i = 20; i < 30; i++)
            {
                written.add(append(journal, 2, i, "second-run-" + i));
            }
            journal.endOfBatch();

            final List<Entry> all = new ArrayList<>();
            assertEquals(30, journal.replay(recorder(all)).entries());
            assertEntriesEqual(written, all);

            final List<Entry> tail = new ArrayList<>();
            final ReplayResult fromIndex = journal.replay(written.get(12).index, recorder(tail));
            assertEquals(18, fromIndex.entries());
            assertEntriesEqual(written.subList(12, 30), tail);
        }
    }

    @Test
    void readerFollowsALiveJournal()
    {
        try (Journal journal = new Journal(dir, Durability.ASYNC);
            JournalReader reader = journal.newReader(-1))
        {
            final List<Entry> seen = new ArrayList<>();
            assertEquals(0, reader.poll(recorder(seen), 10));

            final Entry first = append(journal, 1, 1, "one");
            final Entry second = append(journal, 1, 2, "two");
            assertEquals(1, reader.poll(recorder(seen), 1));
            assertEquals(1, reader.poll(recorder(seen), 10));
            assertEquals(0, reader.poll(recorder(seen), 10));

            final Entry third = append(journal, 1, 3, "three");
            assertEquals(1, reader.poll(recorder(seen), 10));
            assertEntriesEqual(List.of(first, second, third), seen);
            assertEquals(third.index, reader.lastGoodIndex());
            assertFalse(reader.isStopped());
        }
    }

    @Test
    void flippedByteInTheMiddleStopsReplayBeforeTheDamagedEntry() throws IOException
    {
        final List<Entry> written = new ArrayList<>();
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            for (int i = 1; i <= 5; i++)
            {
                written.add(append(journal, 9, i, "MAGNETAR-MARKER-" + i));
            }
            journal.endOfBatch();
        }

        flipByteAfter("MAGNETAR-MARKER-3");

        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final List<Entry> replayed = new ArrayList<>();
            final ReplayResult result = journal.replay(recorder(replayed));

            assertEquals(ReplayResult.Status.CHECKSUM_MISMATCH, result.status());
            assertEquals(2, result.entries());
            assertEquals(written.get(1).index, result.lastGoodIndex());
            assertEquals(written.get(2).index, result.badIndex());
            assertEquals(2, result.entriesAfterBad());
            assertNotNull(result.detail());
            assertEntriesEqual(written.subList(0, 2), replayed);

            final JournalCorruptedException ex = new JournalCorruptedException(result);
            assertTrue(ex.getMessage().contains("CHECKSUM_MISMATCH"), ex.getMessage());
        }
    }

    @Test
    void tornLastRecordIsReportedAndNotDelivered()
    {
        final List<Entry> written = new ArrayList<>();
        final JournalEntryFormat format = new JournalEntryFormat();
        final ExpandableArrayBuffer record = new ExpandableArrayBuffer(128);
        final byte[] command = "torn-command".getBytes(StandardCharsets.US_ASCII);
        final int length = format.encode(record, 0, 3L, 4L, new UnsafeBuffer(command), 0, command.length);

        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            written.add(append(journal, 1, 1, "whole"));
            final long tornIndex = journal.append(record, 0, length - 5);
            journal.endOfBatch();

            final List<Entry> replayed = new ArrayList<>();
            final ReplayResult result = journal.replay(recorder(replayed));

            assertEquals(ReplayResult.Status.MALFORMED, result.status());
            assertEquals(1, result.entries());
            assertEquals(tornIndex, result.badIndex());
            assertEquals(0, result.entriesAfterBad());
            assertTrue(result.detail().contains("torn"), result.detail());
            assertEntriesEqual(written, replayed);
        }
    }

    @Test
    void foreignDocumentStopsReplay()
    {
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            append(journal, 1, 1, "whole");
            journal.append(new UnsafeBuffer(new byte[]{ 1, 2, 3 }), 0, 3);
            append(journal, 1, 2, "after");

            final ReplayResult result = journal.replay((s, t, b, o, l, i) -> {});
            assertEquals(ReplayResult.Status.MALFORMED, result.status());
            assertEquals(1, result.entries());
            assertEquals(1, result.entriesAfterBad());
        }
    }

    @Test
    void syncModeSyncsOncePerNonEmptyBatchAndRoundTrips()
    {
        final List<Entry> written = new ArrayList<>();
        try (Journal journal = new Journal(dir, Durability.SYNC))
        {
            assertEquals(Durability.SYNC, journal.durability());
            for (int batch = 0; batch < 3; batch++)
            {
                for (int i = 0; i < 10; i++)
                {
                    written.add(append(journal, batch, i, "sync-" + batch + "-" + i));
                }
                assertTrue(journal.endOfBatch());
                assertEquals(batch + 1, journal.syncCount());
            }

            assertFalse(journal.endOfBatch(), "nothing appended since the last sync");
            assertEquals(3, journal.syncCount());
        }

        try (Journal journal = new Journal(dir, Durability.SYNC))
        {
            final List<Entry> replayed = new ArrayList<>();
            assertTrue(journal.replay(recorder(replayed)).isComplete());
            assertEntriesEqual(written, replayed);
        }
    }

    @Test
    void asyncModeNeverSyncs()
    {
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            append(journal, 1, 1, "x");
            assertFalse(journal.endOfBatch());
            assertEquals(0, journal.syncCount());
        }
    }

    @ParameterizedTest(name = "offHeap={0}")
    @ValueSource(booleans = {false, true})
    void appendAllocatesNothingInSteadyState(final boolean offHeap)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final JournalEntryFormat format = new JournalEntryFormat();
        // the pipeline's ring slots are off-heap (one memcpy into the mapped file); tools append heap records
        final MutableDirectBuffer record = offHeap ?
            new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(256)) : new ExpandableArrayBuffer(256);
        final UnsafeBuffer command = new UnsafeBuffer(JournalEntryFormatTest.randomBytes(120, 11));

        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final int count = 20_000;
            long least = Long.MAX_VALUE;
            for (int round = 0; round < 10 && least > 0; round++)
            {
                final long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < count; i++)
                {
                    final int length = format.encode(record, 0, i, 1, command, 0, 120);
                    journal.append(record, 0, length);
                    if ((i & 63) == 63)
                    {
                        journal.endOfBatch();
                    }
                }
                final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (round >= 2)
                {
                    least = Math.min(least, allocated);
                }
            }

            // the first rounds allocate while the JIT warms up; after that a round of appends allocates nothing
            assertEquals(0, least, "bytes allocated by " + count + " appends after warm-up (best round)");
        }
    }

    @Test
    void rollCyclesByName()
    {
        assertEquals("FAST_DAILY", ((Enum<?>)Journal.rollCycle("fast_daily")).name());
        assertEquals("TEST_SECONDLY", ((Enum<?>)Journal.rollCycle("TEST_SECONDLY")).name());
        assertEquals("LARGE_DAILY", ((Enum<?>)Journal.rollCycle("large_daily")).name());
        assertThrows(IllegalArgumentException.class, () -> Journal.rollCycle("fortnightly"));
    }

    @Test
    void closedJournalRefusesAppends()
    {
        final Journal journal = new Journal(dir, Durability.ASYNC);
        append(journal, 1, 1, "x");
        journal.close();
        journal.close();

        assertTrue(journal.isClosed());
        assertThrows(RuntimeException.class, () -> append(journal, 1, 2, "y"));
    }

    private static Entry append(final Journal journal, final long sessionId, final long timestampMs, final String text)
    {
        final byte[] command = text.getBytes(StandardCharsets.US_ASCII);
        final long index = journal.appendCommand(sessionId, timestampMs, new UnsafeBuffer(command), 0, command.length);
        return new Entry(sessionId, timestampMs, command, index);
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
                final int limit = (int)Math.min(channel.size(), Integer.MAX_VALUE) - needle.length;
                for (int i = 0; i < limit; i++)
                {
                    int j = 0;
                    while (j < needle.length && map.get(i + j) == needle[j])
                    {
                        j++;
                    }
                    if (j == needle.length)
                    {
                        final int at = i + needle.length - 1;
                        map.put(at, (byte)(map.get(at) ^ 0x01));
                        map.force();
                        return;
                    }
                }
            }
        }

        throw new AssertionError("marker not found in " + Arrays.toString(files));
    }

    static JournalReader.Handler recorder(final List<Entry> into)
    {
        return (sessionId, timestampMs, buffer, offset, length, index) ->
            into.add(new Entry(sessionId, timestampMs, copy(buffer, offset, length), index));
    }

    static byte[] copy(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }

    static void assertEntriesEqual(final List<Entry> expected, final List<Entry> actual)
    {
        assertEquals(expected.size(), actual.size(), "entries");
        for (int i = 0; i < expected.size(); i++)
        {
            final Entry e = expected.get(i);
            final Entry a = actual.get(i);
            assertEquals(e.sessionId, a.sessionId, "sessionId of entry " + i);
            assertEquals(e.timestampMs, a.timestampMs, "timestampMs of entry " + i);
            assertArrayEquals(e.command, a.command, "command of entry " + i);
            assertEquals(e.index, a.index, "index of entry " + i);
        }
    }

    record Entry(long sessionId, long timestampMs, byte[] command, long index)
    {
    }
}
