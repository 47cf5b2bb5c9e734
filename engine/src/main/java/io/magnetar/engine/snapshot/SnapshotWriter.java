package io.magnetar.engine.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

import io.magnetar.engine.SnapshotSink;
import io.magnetar.engine.journal.FileSync;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Writes one snapshot file: give it the records ({@link #onRecord}, e.g. as the sink of
 * {@link io.magnetar.engine.Snapshottable#takeSnapshot}), then {@link #complete()} forces the file to disk and
 * renames it into place; {@link #close()} without {@code complete()} deletes what was written. Made by
 * {@link SnapshotStore#newWriter}; one thread at a time (the records may be written by one thread and the
 * file completed by another after a hand-off).
 */
public final class SnapshotWriter implements SnapshotSink, AutoCloseable
{
    private final Path directory;
    private final Path temporary;
    private final Path target;
    private final FileChannel channel;
    private final ByteBuffer byteBuffer;
    private final UnsafeBuffer buffer;
    private int position;
    private long bytes;
    private long records;
    private boolean completed;
    private boolean closed;

    SnapshotWriter(final Path directory, final long journalIndex, final ByteBuffer byteBuffer) throws IOException
    {
        this.directory = directory;
        this.target = directory.resolve(SnapshotStore.fileName(journalIndex));
        this.temporary = directory.resolve(SnapshotStore.fileName(journalIndex) + SnapshotStore.TEMPORARY_SUFFIX);
        this.byteBuffer = byteBuffer;
        this.buffer = new UnsafeBuffer(byteBuffer);
        this.channel = FileChannel.open(
            temporary, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    /**
     * Append one record (framed by its length).
     *
     * @throws UncheckedIOException if writing failed.
     */
    public void onRecord(final DirectBuffer record, final int offset, final int length)
    {
        if (completed || closed)
        {
            throw new IllegalStateException("snapshot writer closed: " + temporary);
        }
        final int framed = SnapshotReader.LENGTH_FIELD + length;
        try
        {
            if (framed > buffer.capacity() - position)
            {
                flush();
            }
            if (framed > buffer.capacity())
            {
                final ByteBuffer big = ByteBuffer.allocate(framed).order(ByteOrder.LITTLE_ENDIAN);
                big.putInt(length);
                final byte[] bytes = new byte[length];
                record.getBytes(offset, bytes);
                big.put(bytes).flip();
                writeFully(big);
            }
            else
            {
                buffer.putInt(position, length, ByteOrder.LITTLE_ENDIAN);
                buffer.putBytes(position + SnapshotReader.LENGTH_FIELD, record, offset, length);
                position += framed;
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write snapshot " + temporary, ex);
        }
        bytes += framed;
        records++;
    }

    /**
     * Flush, force the file to disk, rename it to its final name and force the directory, so the snapshot survives
     * a crash from here on.
     *
     * @return the snapshot file.
     * @throws IOException if any step failed (the temporary file is then deleted by {@link #close()}).
     */
    public Path complete() throws IOException
    {
        flush();
        channel.force(true);
        channel.close();
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        completed = true;
        FileSync.forceDirectory(directory);
        return target;
    }

    /**
     * @return bytes written so far (lengths included).
     */
    public long bytes()
    {
        return bytes;
    }

    /**
     * @return records written so far.
     */
    public long records()
    {
        return records;
    }

    /**
     * @return the file this writer makes.
     */
    public Path target()
    {
        return target;
    }

    /**
     * Close; if {@link #complete()} did not succeed, delete the temporary file.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
        }
        if (!completed)
        {
            try
            {
                Files.deleteIfExists(temporary);
            }
            catch (final IOException ignore)
            {
            }
        }
    }

    /**
     * Write what is buffered to the file (not forced).
     *
     * @throws IOException if writing failed.
     */
    public void flush() throws IOException
    {
        if (position > 0)
        {
            byteBuffer.clear().limit(position);
            writeFully(byteBuffer);
            byteBuffer.clear();
            position = 0;
        }
    }

    private void writeFully(final ByteBuffer src) throws IOException
    {
        while (src.hasRemaining())
        {
            channel.write(src);
        }
    }
}
