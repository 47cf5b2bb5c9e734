package io.magnetar.engine.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.magnetar.codecs.snapshot.MessageHeaderDecoder;
import io.magnetar.codecs.snapshot.SnapshotBeginDecoder;
import io.magnetar.codecs.snapshot.SnapshotEndDecoder;
import io.magnetar.engine.SnapshotChecksum;
import io.magnetar.engine.SnapshotSink;
import io.magnetar.engine.SnapshotSource;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Reads one snapshot file: {@link #verify()} checks it from end to end without loading anything,
 * {@link #verify(SnapshotSink)} checks it while handing each record to a loader (one pass over the file for recovery),
 * and as a {@link SnapshotSource} it hands the records to a loader unchecked. Reads sequentially through a buffer, so
 * files of any size work. One thread.
 */
public final class SnapshotReader implements SnapshotSource, AutoCloseable
{
    static final int LENGTH_FIELD = 4;
    /** Longest record accepted: a length beyond it is damage, not a record. */
    static final int MAX_RECORD_LENGTH = 256 * 1024 * 1024;
    private static final int INITIAL_BUFFER = 4 * 1024 * 1024;

    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final long expectedIndex;
    private ByteBuffer byteBuffer;
    private final UnsafeBuffer view;
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final SnapshotBeginDecoder beginDecoder = new SnapshotBeginDecoder();
    private final SnapshotEndDecoder endDecoder = new SnapshotEndDecoder();
    private final SnapshotChecksum checksum = new SnapshotChecksum();
    private long bufferFilePosition;
    private long filePosition;

    /**
     * Open a snapshot file.
     *
     * @param file to read.
     * @throws IOException if it cannot be opened.
     */
    public SnapshotReader(final Path file) throws IOException
    {
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        this.size = channel.size();
        this.expectedIndex = SnapshotStore.indexOf(file);
        this.byteBuffer = ByteBuffer.allocateDirect((int)Math.max(4096, Math.min(INITIAL_BUFFER, size)))
            .order(ByteOrder.LITTLE_ENDIAN);
        this.view = new UnsafeBuffer(byteBuffer);
    }

    /**
     * Read the whole file and check it: framing, record order (SnapshotBegin first, SnapshotEnd last, nothing
     * after), SnapshotEnd's journal index, record count and CRC32C, and that the file name's index is the
     * snapshot's.
     *
     * @return what was found; {@link SnapshotInfo#isComplete()} if it can be loaded.
     * @throws IOException if reading failed.
     */
    public SnapshotInfo verify() throws IOException
    {
        return scan(null, false);
    }

    /**
     * {@link #verify()}, handing each record to {@code sink} as soon as it has passed the checks that can be made at
     * that point: the sink sees the records of an intact file, SnapshotEnd included, in one pass. The checksum,
     * count and trailing bytes can only be judged at the end, so a damaged file may have handed records before it
     * is found out: the sink must not act on them until SnapshotEnd reaches it (the engine's loader only stages them,
     * and checks the checksum itself). A SnapshotEnd that does not match is not handed on. An exception thrown by
     * the sink ends the pass and propagates.
     *
     * @param sink to receive the records.
     * @return what was found, as {@link #verify()}.
     * @throws IOException if reading failed.
     */
    public SnapshotInfo verify(final SnapshotSink sink) throws IOException
    {
        return scan(sink, false);
    }

    /**
     * The checks {@link #verify()} makes on the first record alone: what recovery needs to know before it loads the
     * file (which journal entry the snapshot follows). The rest of the file is not read.
     *
     * @return {@link SnapshotInfo.Status#INCOMPLETE} or {@link SnapshotInfo.Status#CORRUPT} as {@link #verify()} would
     * say it of a file whose first record is not a SnapshotBegin for the journal index in the file name; otherwise
     * {@link SnapshotInfo.Status#COMPLETE} with SnapshotBegin's fields and one record, which says nothing yet of the
     * records after it.
     * @throws IOException if reading failed.
     */
    public SnapshotInfo verifyBegin() throws IOException
    {
        return scan(null, true);
    }

    private SnapshotInfo scan(final SnapshotSink sink, final boolean beginOnly) throws IOException
    {
        rewind();
        checksum.reset();
        long records = 0;
        long journalIndex = -1;
        long timestampMs = 0;
        long startCount = 0;
        long liveMessages = 0;
        try
        {
            while (true)
            {
                final int length = nextRecord();
                if (length < 0)
                {
                    return info(SnapshotInfo.Status.INCOMPLETE, records == 0 ? "empty file" :
                        "ends after " + records + " records without SnapshotEnd", journalIndex, timestampMs, startCount,
                        liveMessages, records);
                }
                final int offset = (int)(filePosition - bufferFilePosition) - length;
                header.wrap(view, offset);
                if (header.schemaId() != MessageHeaderDecoder.SCHEMA_ID)
                {
                    return info(SnapshotInfo.Status.CORRUPT, "record " + records + " has schemaId " + header.schemaId(),
                        journalIndex, timestampMs, startCount, liveMessages, records);
                }
                final int templateId = header.templateId();
                if (records == 0)
                {
                    if (templateId != SnapshotBeginDecoder.TEMPLATE_ID)
                    {
                        return info(SnapshotInfo.Status.CORRUPT, "first record is templateId " + templateId +
                            ", not SnapshotBegin", -1, 0, 0, 0, 0);
                    }
                    beginDecoder.wrap(view, offset + MessageHeaderDecoder.ENCODED_LENGTH, header.blockLength(),
                        header.version());
                    journalIndex = beginDecoder.journalIndex();
                    timestampMs = beginDecoder.timestampMs();
                    startCount = beginDecoder.startCount();
                    liveMessages = beginDecoder.liveMessages();
                    if (expectedIndex >= 0 && journalIndex != expectedIndex)
                    {
                        return info(SnapshotInfo.Status.CORRUPT, "SnapshotBegin is for journal index " +
                            hex(journalIndex) + ", the file name says " + hex(expectedIndex), journalIndex, timestampMs,
                            startCount, liveMessages, records);
                    }
                    if (beginOnly)
                    {
                        return info(SnapshotInfo.Status.COMPLETE, null, journalIndex, timestampMs, startCount,
                            liveMessages, 1);
                    }
                }
                if (templateId == SnapshotEndDecoder.TEMPLATE_ID)
                {
                    endDecoder.wrap(view, offset + MessageHeaderDecoder.ENCODED_LENGTH, header.blockLength(),
                        header.version());
                    final String problem =
                        header.blockLength() != SnapshotEndDecoder.BLOCK_LENGTH ||
                        header.version() != SnapshotEndDecoder.SCHEMA_VERSION ||
                        length != MessageHeaderDecoder.ENCODED_LENGTH + SnapshotEndDecoder.BLOCK_LENGTH ?
                            "SnapshotEnd is not laid out as one (the checksum does not cover it)" :
                        endDecoder.journalIndex() != journalIndex ?
                            "SnapshotEnd is for journal index " + hex(endDecoder.journalIndex()) :
                        endDecoder.recordCount() != records ?
                            "SnapshotEnd counts " + endDecoder.recordCount() + " records, the file has " + records :
                        endDecoder.checksum() != checksum.value() ?
                            "checksum mismatch: SnapshotEnd has " + Integer.toHexString(endDecoder.checksum()) +
                            ", the records give " + Integer.toHexString(checksum.value()) :
                        filePosition != size ?
                            (size - filePosition) + " bytes after SnapshotEnd" : null;
                    records++;
                    if (problem == null && sink != null)
                    {
                        toSink(sink, offset, length);
                    }
                    return info(problem == null ? SnapshotInfo.Status.COMPLETE : SnapshotInfo.Status.CORRUPT, problem,
                        journalIndex, timestampMs, startCount, liveMessages, records);
                }
                checksum.update(view, offset, length);
                records++;
                if (sink != null)
                {
                    toSink(sink, offset, length);
                }
            }
        }
        catch (final SinkFailure ex)
        {
            throw ex.failure;
        }
        catch (final CorruptFrameException ex)
        {
            return info(SnapshotInfo.Status.CORRUPT, ex.getMessage(), journalIndex, timestampMs, startCount,
                liveMessages, records);
        }
        catch (final RuntimeException ex)
        {
            return info(SnapshotInfo.Status.CORRUPT, "record " + records + " is malformed: " + ex, journalIndex,
                timestampMs, startCount, liveMessages, records);
        }
    }

    /**
     * Hand every record to {@code sink}, from the first to SnapshotEnd (or to the end of the file, if it has none).
     *
     * @throws UncheckedIOException  if reading failed.
     * @throws IllegalStateException if the framing is damaged.
     */
    public void readRecords(final SnapshotSink sink)
    {
        try
        {
            rewind();
            while (true)
            {
                final int length = nextRecord();
                if (length < 0)
                {
                    return;
                }
                final int offset = (int)(filePosition - bufferFilePosition) - length;
                sink.onRecord(view, offset, length);
                header.wrap(view, offset);
                if (header.schemaId() == MessageHeaderDecoder.SCHEMA_ID &&
                    header.templateId() == SnapshotEndDecoder.TEMPLATE_ID)
                {
                    return;
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read snapshot " + file, ex);
        }
        catch (final CorruptFrameException ex)
        {
            throw new IllegalStateException(file + ": " + ex.getMessage());
        }
    }

    /**
     * @return the file.
     */
    public Path file()
    {
        return file;
    }

    /**
     * @return its size in bytes.
     */
    public long size()
    {
        return size;
    }

    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
        }
    }

    private SnapshotInfo info(
        final SnapshotInfo.Status status,
        final String detail,
        final long journalIndex,
        final long timestampMs,
        final long startCount,
        final long liveMessages,
        final long records)
    {
        return new SnapshotInfo(file, status, detail, journalIndex, timestampMs, startCount, liveMessages, records, size);
    }

    private void rewind()
    {
        byteBuffer.clear().limit(0);
        bufferFilePosition = 0;
        filePosition = 0;
    }

    /**
     * Advance over the next framed record, making it readable in {@link #view}.
     *
     * @return its length (it ends at {@link #filePosition}), or -1 at the end of the file or where a record is cut
     * short (a torn write).
     */
    private int nextRecord() throws IOException
    {
        if (filePosition == size)
        {
            return -1;
        }
        if (size - filePosition < LENGTH_FIELD || !ensure(LENGTH_FIELD))
        {
            return -1;
        }
        final int length = view.getInt((int)(filePosition - bufferFilePosition), ByteOrder.LITTLE_ENDIAN);
        if (length < MessageHeaderDecoder.ENCODED_LENGTH || length > MAX_RECORD_LENGTH)
        {
            throw new CorruptFrameException("record length " + length + " at byte " + filePosition);
        }
        if (size - filePosition - LENGTH_FIELD < length)
        {
            return -1;
        }
        if (!ensure(LENGTH_FIELD + length))
        {
            return -1;
        }
        filePosition += LENGTH_FIELD + length;
        return length;
    }

    /**
     * Make {@code bytes} bytes from {@link #filePosition} readable in the buffer.
     */
    private boolean ensure(final int bytes) throws IOException
    {
        final int offset = (int)(filePosition - bufferFilePosition);
        if (byteBuffer.limit() - offset >= bytes)
        {
            return true;
        }
        if (bytes > byteBuffer.capacity())
        {
            final ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(bytes, byteBuffer.capacity() * 2))
                .order(ByteOrder.LITTLE_ENDIAN);
            byteBuffer.position(offset);
            bigger.put(byteBuffer);
            bigger.flip();
            byteBuffer = bigger;
            view.wrap(byteBuffer);
        }
        else
        {
            byteBuffer.position(offset);
            byteBuffer.compact();
            byteBuffer.flip();
        }
        bufferFilePosition = filePosition;
        channel.position(bufferFilePosition + byteBuffer.limit());
        while (byteBuffer.limit() < bytes)
        {
            final int limit = byteBuffer.limit();
            byteBuffer.position(limit).limit(byteBuffer.capacity());
            final int read = channel.read(byteBuffer);
            byteBuffer.limit(byteBuffer.position()).position(0);
            if (read < 0)
            {
                return false;
            }
        }
        return true;
    }

    private void toSink(final SnapshotSink sink, final int offset, final int length)
    {
        try
        {
            sink.onRecord(view, offset, length);
        }
        catch (final RuntimeException ex)
        {
            throw new SinkFailure(ex); // the sink's, not damage to the file: not to be caught as a malformed record
        }
    }

    private static String hex(final long index)
    {
        return "0x" + Long.toHexString(index);
    }

    /**
     * Carries what the sink threw past the handlers for malformed records.
     */
    private static final class SinkFailure extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        final RuntimeException failure;

        SinkFailure(final RuntimeException failure)
        {
            super(null, null, false, false);
            this.failure = failure;
        }
    }

    /**
     * The bytes cannot be a record boundary: damage.
     */
    private static final class CorruptFrameException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        CorruptFrameException(final String message)
        {
            super(message, null, false, false);
        }
    }
}
