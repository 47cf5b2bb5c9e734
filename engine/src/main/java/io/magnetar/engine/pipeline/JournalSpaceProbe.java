package io.magnetar.engine.pipeline;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;

/**
 * Tells how many bytes the journal's file system has for this process ({@link FileStore#getUsableSpace()}: one
 * {@code statvfs} call). The sequencer asks it every {@code journalSpaceCheckIntervalMs} and every quarter of
 * {@code journalMinFreeBytes} sequenced; tests inject their own.
 */
@FunctionalInterface
public interface JournalSpaceProbe
{
    /**
     * @return usable bytes now.
     * @throws IOException if the file system cannot be asked (treated as full).
     */
    long usableBytes() throws IOException;

    /**
     * @param dir an existing directory.
     * @return a probe of the file system holding it.
     * @throws IOException if the file store cannot be found.
     */
    static JournalSpaceProbe of(final File dir) throws IOException
    {
        final FileStore store = Files.getFileStore(dir.toPath());
        return store::getUsableSpace;
    }
}
