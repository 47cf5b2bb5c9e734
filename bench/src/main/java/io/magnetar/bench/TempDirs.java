package io.magnetar.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Journal directories for the benchmarks: created under {@code java.io.tmpdir}, deleted after use.
 */
final class TempDirs
{
    private TempDirs()
    {
    }

    static Path create(final String prefix) throws IOException
    {
        return Files.createTempDirectory(prefix);
    }

    /**
     * Delete a directory and everything in it; nothing if it does not exist.
     */
    static void delete(final Path dir) throws IOException
    {
        if (null == dir || !Files.exists(dir))
        {
            return;
        }

        try (Stream<Path> paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach((path) ->
            {
                try
                {
                    Files.delete(path);
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException(ex);
                }
            });
        }
    }
}
