package io.magnetar.engine;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import org.agrona.DirectBuffer;

/**
 * The CRC32C of a snapshot's records ({@code SnapshotEnd.checksum}), over any kind of {@link DirectBuffer}: byte
 * arrays and byte buffers (a mapped file) without copying, raw memory through a scratch array. Not thread safe.
 */
public final class SnapshotChecksum
{
    private final CRC32C crc = new CRC32C();
    private byte[] scratch;
    private ByteBuffer lastByteBuffer;
    private ByteBuffer view;

    /**
     * Start over.
     */
    public void reset()
    {
        crc.reset();
    }

    /**
     * Add bytes.
     *
     * @param buffer holding them.
     * @param offset of the first.
     * @param length how many.
     */
    public void update(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] array = buffer.byteArray();
        if (null != array)
        {
            crc.update(array, (int)buffer.wrapAdjustment() + offset, length);
            return;
        }

        final ByteBuffer byteBuffer = buffer.byteBuffer();
        if (null != byteBuffer)
        {
            if (byteBuffer != lastByteBuffer)
            {
                lastByteBuffer = byteBuffer;
                view = byteBuffer.duplicate();
            }
            final int position = (int)buffer.wrapAdjustment() + offset;
            view.clear();
            view.limit(position + length).position(position);
            crc.update(view);
            return;
        }

        if (null == scratch || scratch.length < Math.min(length, 64 * 1024))
        {
            scratch = new byte[Math.max(4096, Math.min(length, 64 * 1024))];
        }
        int done = 0;
        while (done < length)
        {
            final int chunk = Math.min(scratch.length, length - done);
            buffer.getBytes(offset + done, scratch, 0, chunk);
            crc.update(scratch, 0, chunk);
            done += chunk;
        }
    }

    /**
     * @return the CRC32C so far, as the {@code int32} a SnapshotEnd carries.
     */
    public int value()
    {
        return (int)crc.getValue();
    }
}
