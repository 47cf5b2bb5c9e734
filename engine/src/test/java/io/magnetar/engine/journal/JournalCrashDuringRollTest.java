package io.magnetar.engine.journal;

import java.io.File;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A process killed ({@code kill -9}) while rolling leaves the next cycle file created but without its header. Found
 * by the broker crash loop (issue 5): with Chronicle's default 10 s timeout, the first append after the restart
 * waited 10 s or more for that header (and a restart took up to a minute); the journal gives Chronicle a short
 * timeout, since no other process may write the journal while the node holds its data directory.
 */
class JournalCrashDuringRollTest
{
    @TempDir
    File dir;

    @Test
    void firstAppendAfterACrashDuringARollDoesNotWaitForTheDeadWriter() throws Exception
    {
        final byte[] command = {1, 2, 3, 4, 5, 6, 7, 8};
        final List<Long> written = new ArrayList<>();
        final Path halfCreated;
        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            for (int i = 0; i < 10; i++)
            {
                written.add(journal.appendCommand(1, 1_000 + i, new UnsafeBuffer(command), 0, command.length));
            }
            journal.endOfBatch();
            final Path last = journal.cycleFiles().get(journal.cycleFiles().size() - 1);
            halfCreated = dir.toPath().resolve(journal.cycleFileName(journal.cycleOf(written.get(9)) + 1));
            // what the killed writer left: the next cycle's file at its full size, its header never written
            try (RandomAccessFile file = new RandomAccessFile(halfCreated.toFile(), "rw"))
            {
                file.setLength(Files.size(last));
            }
        }

        try (Journal journal = new Journal(dir, Durability.ASYNC))
        {
            final List<Long> replayed = new ArrayList<>();
            assertTrue(journal.replay((s, t, b, o, l, index) -> replayed.add(index)).isComplete());
            assertEquals(written, replayed);

            final long startNs = System.nanoTime();
            final long index = journal.appendCommand(1, 2_000, new UnsafeBuffer(command), 0, command.length);
            journal.endOfBatch();
            final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            // Chronicle's own default would be 10,000 ms at least; the journal's timeout is 1,000 ms
            assertTrue(tookMs < 5_000, () -> "the first append after the crash took " + tookMs + " ms");

            replayed.clear();
            assertTrue(journal.replay((s, t, b, o, l, i) -> replayed.add(i)).isComplete());
            written.add(index);
            assertEquals(written, replayed);
        }
    }
}
