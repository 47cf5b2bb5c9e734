package io.magnetar.bench.load;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import io.magnetar.broker.MagnetarNode;
import io.magnetar.broker.NodeConfig;

/**
 * A broker node in the load tool's JVM: journal in a fresh temporary directory, Aeron in a unique directory
 * ({@code /dev/shm/magnetar-bench-<random>} unless told otherwise), UDP ingress on a free loopback port, REST (when
 * asked) on {@code --http-port} (0 = any free port). Both directories are deleted on {@link #close()}, and by a
 * shutdown hook if the JVM is stopped first.
 */
final class EmbeddedBroker implements AutoCloseable
{
    private final MagnetarNode node;
    private final Path dataDir;
    private final String aeronDir;
    private final Thread shutdownHook;
    private boolean closed;

    private EmbeddedBroker(final MagnetarNode node, final Path dataDir, final String aeronDir)
    {
        this.node = node;
        this.dataDir = dataDir;
        this.aeronDir = aeronDir;
        this.shutdownHook = new Thread(this::closeQuietly, "magnetar-load-broker-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    static EmbeddedBroker start(final LoadOptions options, final boolean rest, final boolean udp)
    {
        final Path dataDir;
        try
        {
            dataDir = Files.createTempDirectory("magnetar-bench-data-");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create the journal's temporary directory", ex);
        }
        final String aeronDir = null != options.aeronDir ? options.aeronDir : uniqueAeronDir(options.aeronDirPrefix);
        final NodeConfig config = new NodeConfig()
            .dataDir(dataDir)
            .aeronDir(aeronDir)
            .set(NodeConfig.Option.DURABILITY, options.durability)
            .set(NodeConfig.Option.INGRESS_STREAM_ID, Integer.toString(options.ingressStreamId))
            .set(NodeConfig.Option.UDP_CHANNEL, udp ? "aeron:udp?endpoint=localhost:" + freeUdpPort() : "none")
            .set(NodeConfig.Option.HTTP_PORT, rest ? Integer.toString(options.httpPort) : "none");
        for (final Map.Entry<String, String> option : options.brokerOptions.entrySet())
        {
            config.set(option.getKey(), option.getValue());
        }
        try
        {
            return new EmbeddedBroker(MagnetarNode.launch(config), dataDir, aeronDir);
        }
        catch (final RuntimeException ex)
        {
            deleteQuietly(dataDir);
            deleteQuietly(Path.of(aeronDir));
            throw ex;
        }
    }

    private static String uniqueAeronDir(final String prefix)
    {
        final String base = new File("/dev/shm").isDirectory() || !prefix.startsWith("/dev/shm/") ? prefix :
            System.getProperty("java.io.tmpdir") + File.separator + new File(prefix).getName();
        return base + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
    }

    private static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("no free UDP port", ex);
        }
    }

    MagnetarNode node()
    {
        return node;
    }

    String aeronDirectory()
    {
        return node.aeronDirectory();
    }

    String ipcChannel()
    {
        return node.ipcChannel();
    }

    String udpChannel()
    {
        return node.udpChannel();
    }

    String httpUrl()
    {
        return node.httpPort() < 0 ? null : "http://" + node.httpAddress();
    }

    String describe()
    {
        return "embedded broker (durability " + node.config().durability().name().toLowerCase() + ", threading " +
            node.config().threadingMode().name().toLowerCase() + ", wait " + node.config().waitStrategy() + ", idle " +
            node.config().idleStrategy() + ")";
    }

    public void close()
    {
        closeQuietly();
        try
        {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        catch (final IllegalStateException ignore)
        {
            // shutting down already
        }
    }

    private synchronized void closeQuietly()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            node.close();
        }
        catch (final RuntimeException ex)
        {
            System.err.println("load tool: the embedded broker did not close cleanly: " + ex);
        }
        deleteQuietly(dataDir);
        deleteQuietly(Path.of(aeronDir));
    }

    static void deleteQuietly(final Path dir)
    {
        if (null == dir || !Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
        }
        catch (final IOException | UncheckedIOException ex)
        {
            System.err.println("load tool: could not delete " + dir + ": " + ex);
        }
    }
}
