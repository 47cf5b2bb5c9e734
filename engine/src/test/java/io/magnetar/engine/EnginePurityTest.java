package io.magnetar.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine package stays pure: no Disruptor, Chronicle, Aeron, java.io or NIO channels/files, no clock,
 * no threads or locks. (Its sub-packages journal and pipeline are where those belong.)
 */
class EnginePurityTest
{
    private static final Path ENGINE_SOURCES = Path.of("src/main/java/io/magnetar/engine");

    private static final Pattern[] FORBIDDEN = {
        Pattern.compile("import\\s+(static\\s+)?com\\.lmax\\."),
        Pattern.compile("import\\s+(static\\s+)?net\\.openhft\\."),
        Pattern.compile("import\\s+(static\\s+)?io\\.aeron\\."),
        Pattern.compile("import\\s+(static\\s+)?java\\.io\\."),
        Pattern.compile("import\\s+(static\\s+)?java\\.nio\\.(channels|file)\\."),
        Pattern.compile("import\\s+(static\\s+)?java\\.net\\."),
        Pattern.compile("import\\s+(static\\s+)?java\\.time\\."),
        Pattern.compile("import\\s+(static\\s+)?java\\.util\\.concurrent"),
        Pattern.compile("import\\s+(static\\s+)?org\\.agrona\\.concurrent\\.(?!UnsafeBuffer;)"),
        Pattern.compile("\\bjava\\.io\\.|\\bjava\\.nio\\.channels\\.|\\bjava\\.nio\\.file\\."),
        Pattern.compile("System\\s*\\.\\s*(currentTimeMillis|nanoTime)"),
        Pattern.compile("\\b(Instant|LocalDateTime|ZonedDateTime|Clock)\\s*\\.\\s*(now|system)"),
        Pattern.compile("\\bnew\\s+Thread\\b|\\bsynchronized\\b|\\bThread\\s*\\.\\s*(sleep|currentThread)"),
        Pattern.compile("EpochClock|NanoClock|SystemEpochClock|SystemNanoClock"),
    };

    @Test
    void enginePackageImportsNothingImpure() throws IOException
    {
        final List<String> violations = new ArrayList<>();
        final List<Path> sources;
        try (Stream<Path> files = Files.list(ENGINE_SOURCES))
        {
            sources = files.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertTrue(sources.size() >= 10, "found the engine sources: " + sources);
        for (final Path source : sources)
        {
            final List<String> lines = Files.readAllLines(source);
            for (int i = 0; i < lines.size(); i++)
            {
                final String line = lines.get(i);
                if (line.trim().startsWith("*") || line.trim().startsWith("//"))
                {
                    continue;
                }
                for (final Pattern pattern : FORBIDDEN)
                {
                    if (pattern.matcher(line).find())
                    {
                        violations.add(source.getFileName() + ":" + (i + 1) + ": " + line.trim());
                    }
                }
            }
        }
        assertTrue(violations.isEmpty(), "impure engine code:\n" + String.join("\n", violations));
    }

    @Test
    void theCheckItselfCatchesViolations()
    {
        final String[] bad = {
            "import com.lmax.disruptor.RingBuffer;",
            "import net.openhft.chronicle.queue.ChronicleQueue;",
            "import io.aeron.Publication;",
            "import java.io.File;",
            "import java.nio.channels.FileChannel;",
            "        final long now = System.currentTimeMillis();",
            "        long t = System.nanoTime();",
            "        Instant.now();",
            "        new Thread(() -> {}).start();",
            "import org.agrona.concurrent.SystemEpochClock;",
        };
        for (final String line : bad)
        {
            boolean caught = false;
            for (final Pattern pattern : FORBIDDEN)
            {
                caught |= pattern.matcher(line).find();
            }
            assertTrue(caught, "should be caught: " + line);
        }
        boolean caught = false;
        for (final Pattern pattern : FORBIDDEN)
        {
            caught |= pattern.matcher("import org.agrona.concurrent.UnsafeBuffer;").find();
        }
        assertFalse(caught, "UnsafeBuffer is a plain buffer");
    }
}
