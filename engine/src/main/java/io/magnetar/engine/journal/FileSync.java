package io.magnetar.engine.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Forcing what a crash must not undo, shared by the journal's cut records and the snapshot store.
 */
public final class FileSync
{
    private FileSync()
    {
    }

    /**
     * fsync a directory, so that files created, renamed or deleted in it stay so after a crash.
     *
     * @param directory to force.
     * @throws NoSuchFileException if it does not exist.
     * @throws IOException         never for a platform that cannot open or force a directory (the rename itself is
     *                             still atomic there); only {@link NoSuchFileException}.
     */
    public static void forceDirectory(final Path directory) throws IOException
    {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final NoSuchFileException ex)
        {
            throw ex;
        }
        catch (final IOException ex)
        {
            // some platforms cannot open or force a directory; the rename itself is still atomic
        }
    }
}
