package io.magnetar.engine.journal;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rolling on demand, deleting the cycles before an index, and reopening a journal whose clock ran ahead.
 */
class JournalCycleTest
{
    @TempDir
    File dir;

    private final UnsafeBuffer command = new UnsafeBuffer(new byte[16]);

    @Test
    void rollStartsANewCycleFileAtTheNextAppend() throws IOException
    {
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final long first = append(journal, 1);
            final long second = append(journal, 2);
            assertEquals(journal.cycleOf(first), journal.cycleOf(second));

            journal.roll();
            final long third = append(journal, 3);
            assertEquals(journal.cycleOf(second) + 1, journal.cycleOf(third), "the next cycle");
            assertEquals(1, journal.rollCount());

            final List<Path> files = journal.cycleFiles();
            assertEquals(2, files.size());
            assertEquals(journal.cycleFileName(journal.cycleOf(first)), files.get(0).getFileName().toString());
            assertEquals(journal.cycleFileName(journal.cycleOf(third)), files.get(1).getFileName().toString());
        }
    }

    @Test
    void cyclesBeforeAnIndexAreDeletedAndTheRestReplays() throws IOException
    {
        try (Journal journal = new Journal(dir, Durability.SYNC))
        {
            final List<Long> indexes = new ArrayList<>();
            for (int cycle = 0; cycle < 4; cycle++)
            {
                for (int i = 0; i < 3; i++)
                {
                    indexes.add(append(journal, cycle * 10 + i));
                }
                journal.endOfBatch();
                journal.roll();
            }
            final long keepFrom = indexes.get(6); // first entry of the third cycle
            assertEquals(2, journal.cycleFilesBefore(keepFrom).size());
            journal.forceUpTo(indexes.get(indexes.size() - 1));

            assertEquals(2, journal.deleteCyclesBefore(keepFrom));
            assertEquals(2, journal.cycleFiles().size());
            assertEquals(0, journal.deleteCyclesBefore(keepFrom), "nothing more to delete");

            final List<Long> fromStart = new ArrayList<>();
            journal.replay((sessionId, timestampMs, buffer, offset, length, index) -> fromStart.add(index));
            assertEquals(indexes.subList(6, 12), fromStart, "replay starts at the first cycle left");

            final List<Long> fromIndex = new ArrayList<>();
            journal.replay(indexes.get(7), (sessionId, timestampMs, buffer, offset, length, index) -> fromIndex.add(index));
            assertEquals(indexes.subList(7, 12), fromIndex);

            assertThrows(IllegalArgumentException.class, () -> journal.newReader(indexes.get(1)).poll((s, t, b, o, l, i) ->
            {
            }, 1), "a deleted entry is not there");

            append(journal, 99);
        }

        try (Journal reopened = new Journal(dir, Durability.ASYNC))
        {
            final long[] count = {0};
            final ReplayResult result = reopened.replay((s, t, b, o, l, i) -> count[0]++);
            assertTrue(result.isComplete());
            assertEquals(7, count[0]);
        }
    }

    @Test
    void aJournalWhoseClockRanAheadNeverAppendsBeforeItsLastCycle()
    {
        final List<Long> written = new ArrayList<>();
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            for (int i = 0; i < 50; i++)
            {
                written.add(append(journal, i));
                journal.roll(); // each roll moves the queue's clock up to one cycle ahead of the wall clock
            }
        }
        try (Journal reopened = new Journal(dir, Durability.ASYNC))
        {
            final long next = append(reopened, 1000);
            assertTrue(next > written.get(written.size() - 1), "appends after the last entry, not in an earlier cycle");
            final List<Long> all = new ArrayList<>();
            final ReplayResult result = reopened.replay((s, t, b, o, l, i) -> all.add(i));
            assertTrue(result.isComplete());
            assertEquals(51, all.size());
            for (int i = 1; i < all.size(); i++)
            {
                assertTrue(all.get(i) > all.get(i - 1), "indexes increase");
            }
        }
    }

    @Test
    void onlyCycleFilesAreConsidered() throws IOException
    {
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final long first = append(journal, 1);
            journal.roll();
            final long second = append(journal, 2);
            Files.createDirectories(dir.toPath().resolve("snapshots"));
            Files.writeString(dir.toPath().resolve("notes.cq4"), "not a cycle");
            assertEquals(1, journal.deleteCyclesBefore(second));
            assertTrue(Files.exists(dir.toPath().resolve("notes.cq4")));
            assertTrue(Files.isDirectory(dir.toPath().resolve("snapshots")));
            assertFalse(Files.exists(dir.toPath().resolve(journal.cycleFileName(journal.cycleOf(first)))));
        }
    }

    private long append(final Journal journal, final int value)
    {
        command.putInt(0, value);
        return journal.appendCommand(0, 1_000 + value, command, 0, 16);
    }
}
