package io.magnetar.engine.snapshot;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.magnetar.codecs.snapshot.MessageHeaderDecoder;
import io.magnetar.codecs.snapshot.SnapshotBeginDecoder;

/**
 * Prints what a snapshot file holds: whether it is complete and intact, its SnapshotBegin (journal index, clock,
 * counters, counts) and how many records of each kind it has. Reads the file only.
 * <p>
 * Usage: {@code java -cp magnetar-broker.jar io.magnetar.engine.snapshot.SnapshotPrinter <snapshot file or directory>}
 * (a directory: every snapshot in it, newest first).
 */
public final class SnapshotPrinter
{
    private SnapshotPrinter()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        if (args.length != 1)
        {
            System.err.println("usage: SnapshotPrinter <snapshot file or snapshot directory>");
            System.exit(2);
        }
        final Path path = Path.of(args[0]);
        final List<Path> files = Files.isDirectory(path) ? new SnapshotStore(path).snapshots() : List.of(path);
        boolean allComplete = true;
        for (final Path file : files)
        {
            allComplete &= print(file, System.out);
        }
        System.exit(allComplete ? 0 : 1);
    }

    /**
     * Print one snapshot file.
     *
     * @param file the snapshot.
     * @param out  where to print.
     * @return true if it is complete and intact.
     * @throws IOException if it cannot be read.
     */
    public static boolean print(final Path file, final PrintStream out) throws IOException
    {
        try (SnapshotReader reader = new SnapshotReader(file))
        {
            final SnapshotInfo info = reader.verify();
            out.println(file + ": " + info.status() + (null == info.detail() ? "" : " (" + info.detail() + ")") + ", " +
                info.bytes() + " bytes, " + info.records() + " records");
            final Map<Integer, Long> counts = new TreeMap<>();
            final MessageHeaderDecoder header = new MessageHeaderDecoder();
            final SnapshotBeginDecoder begin = new SnapshotBeginDecoder();
            try
            {
                reader.readRecords((buffer, offset, length) ->
                {
                    header.wrap(buffer, offset);
                    counts.merge(header.templateId(), 1L, Long::sum);
                    if (header.templateId() == SnapshotBeginDecoder.TEMPLATE_ID && header.schemaId() == SnapshotBeginDecoder.SCHEMA_ID)
                    {
                        begin.wrap(buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH, header.blockLength(),
                            header.version());
                        out.println("  " + begin);
                    }
                });
            }
            catch (final RuntimeException ex)
            {
                out.println("  unreadable from here on: " + ex.getMessage());
            }
            counts.forEach((templateId, count) -> out.println("  templateId " + templateId + " (" + name(templateId) +
                "): " + count));
            return info.isComplete();
        }
    }

    private static String name(final int templateId)
    {
        return switch (templateId)
        {
            case 1 -> "SnapshotBegin";
            case 2 -> "SnapshotEnd";
            case 10 -> "TopicRecord";
            case 11 -> "SubscriptionRecord";
            case 12 -> "ConsumerRecord";
            case 13 -> "MessageRecord";
            case 14 -> "DeliveryListRecord";
            default -> "?";
        };
    }
}
