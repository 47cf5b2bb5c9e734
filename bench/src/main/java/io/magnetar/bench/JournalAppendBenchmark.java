package io.magnetar.bench;

import java.io.IOException;
import java.nio.file.Path;

import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalEntryFormat;
import io.magnetar.engine.journal.JournalReader;
import io.magnetar.engine.journal.ReplayResult;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The journal alone: one operation appends one record the way the pipeline's journal handler does (stamp the
 * header, seal the CRC32C, one Chronicle write) and, every {@code groupCommit} records, ends the batch, which
 * under {@link Durability#SYNC} forces the batch to disk (one msync: group commit) and under
 * {@link Durability#ASYNC} does nothing.
 * <p>
 * A record is a 1-message {@code Publish} (key and one attribute, {@link MessageFactory}) in its JournalEntry:
 * {@value #RECORD_LENGTH} bytes, plus Chronicle's 4-byte document header. Each record's correlation id is its
 * number, so the records differ and the checksum is computed over fresh bytes.
 * <p>
 * Each iteration writes a new journal in a temporary directory under {@code java.io.tmpdir} (so on the disk that
 * holds it; not tmpfs here) and then replays it: every record must be intact, in order, and their number must
 * equal the operations counted. The directory is deleted afterwards.
 */
@State(Scope.Thread)
public class JournalAppendBenchmark extends MagnetarBenchmark
{
    static final int RECORD_LENGTH = 149;

    private static final int CORRELATION_ID_OFFSET =
        JournalEntryFormat.COMMAND_OFFSET + MessageHeaderEncoder.ENCODED_LENGTH + PublishEncoder.correlationIdEncodingOffset();

    @Param({"ASYNC", "SYNC"})
    public Durability durability;

    @Param({"1", "100"})
    public int groupCommit;

    private final ExpandableArrayBuffer record = new ExpandableArrayBuffer(512);
    private final JournalEntryFormat format = new JournalEntryFormat();
    private int commandLength;
    private Path dir;
    private Journal journal;
    private long appended;
    private int unsynced;

    @Setup(Level.Trial)
    public void encodeRecord()
    {
        final MessageFactory messages = new MessageFactory();
        messages.keys(1);
        final PublishEncoder publish = new PublishEncoder();
        publish.wrapAndApplyHeader(record, JournalEntryFormat.COMMAND_OFFSET, new MessageHeaderEncoder())
            .correlationId(0)
            .topicId(1);
        messages.encode(publish.messagesCount(1).next(), 0);
        commandLength = MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength();
        if (JournalEntryFormat.HEADER_LENGTH + commandLength != RECORD_LENGTH)
        {
            throw new IllegalStateException("record is " + (JournalEntryFormat.HEADER_LENGTH + commandLength) +
                " bytes, expected " + RECORD_LENGTH);
        }
    }

    @Setup(Level.Iteration)
    public void openJournal() throws IOException
    {
        if (groupCommit < 1)
        {
            throw new IllegalArgumentException("groupCommit must be positive");
        }
        dir = TempDirs.create("magnetar-bench-journal-");
        journal = new Journal(dir.toFile(), durability);
        appended = 0;
        unsynced = 0;
    }

    @Benchmark
    public long append()
    {
        final long number = appended++;
        record.putLong(CORRELATION_ID_OFFSET, number, LITTLE_ENDIAN);
        format.writeHeader(record, 0, number, 1, commandLength);
        format.sealChecksum(record, 0, commandLength);
        final long index = journal.append(record, 0, JournalEntryFormat.HEADER_LENGTH + commandLength);

        if (++unsynced == groupCommit)
        {
            journal.endOfBatch();
            unsynced = 0;
        }

        return index;
    }

    @TearDown(Level.Iteration)
    public void verifyAndDelete() throws IOException
    {
        try
        {
            journal.endOfBatch();
            final long expectedSyncs = durability == Durability.SYNC ? (appended + groupCommit - 1) / groupCommit : 0;
            if (journal.appendCount() != appended || journal.syncCount() != expectedSyncs)
            {
                throw new IllegalStateException("appended " + appended + " records: journal counted " +
                    journal.appendCount() + " appends and " + journal.syncCount() + " syncs (expected " + expectedSyncs + ")");
            }

            final Verifier verifier = new Verifier();
            final ReplayResult result = journal.replay(verifier);
            if (!result.isComplete() || result.entries() != appended || verifier.next != appended)
            {
                throw new IllegalStateException("appended " + appended + " records, replay: " + result +
                    ", in order " + verifier.next);
            }
        }
        finally
        {
            journal.close();
            TempDirs.delete(dir);
        }
    }

    /**
     * Checks that the replayed records are the appended ones, in order: record n carries correlation id and
     * timestamp n.
     */
    private final class Verifier implements JournalReader.Handler
    {
        long next;

        public void onEntry(
            final long sessionId,
            final long timestampMs,
            final DirectBuffer buffer,
            final int offset,
            final int length,
            final long index)
        {
            final long correlationId =
                buffer.getLong(offset + CORRELATION_ID_OFFSET - JournalEntryFormat.COMMAND_OFFSET, LITTLE_ENDIAN);
            if (length != commandLength || timestampMs != next || correlationId != next || sessionId != 1)
            {
                throw new IllegalStateException("record " + next + " replayed as timestamp " + timestampMs +
                    ", correlation id " + correlationId + ", length " + length);
            }
            next++;
        }
    }
}
