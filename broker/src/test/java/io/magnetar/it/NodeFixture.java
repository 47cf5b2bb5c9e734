package io.magnetar.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import io.magnetar.broker.MagnetarNode;
import io.magnetar.broker.NodeConfig;
import io.magnetar.engine.journal.Durability;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A {@link MagnetarNode} in this JVM with a temporary data directory, its own Aeron directory
 * ({@code /dev/shm/magnetar-test-<random>}) and a free UDP port; {@link #restart()} closes it and launches it again
 * on the same three, {@link #close()} deletes them.
 */
final class NodeFixture implements AutoCloseable
{
    final Path dataDir;
    final String aeronDir;
    final int udpPort;
    private final UnaryOperator<NodeConfig> customizer;
    private MagnetarNode node;

    NodeFixture()
    {
        this(UnaryOperator.identity());
    }

    /**
     * @param customizer applied to the node's configuration after the fixture's settings (limits, timeouts).
     */
    NodeFixture(final UnaryOperator<NodeConfig> customizer)
    {
        this.customizer = customizer;
        aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        udpPort = freeUdpPort();
        try
        {
            dataDir = Files.createTempDirectory("magnetar-it");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        try
        {
            node = launch();
        }
        catch (final RuntimeException ex)
        {
            deleteRecursively(dataDir);
            deleteRecursively(Path.of(aeronDir));
            throw ex;
        }
    }

    private MagnetarNode launch()
    {
        return MagnetarNode.launch(customizer.apply(new NodeConfig()
            .dataDir(dataDir)
            .durability(Durability.ASYNC)
            .aeronDir(aeronDir)
            .ipcChannel("aeron:ipc")
            .udpChannel("aeron:udp?endpoint=localhost:" + udpPort)
            .set(NodeConfig.Option.IPC_TERM_LENGTH, "1m")
            .set(NodeConfig.Option.UDP_TERM_LENGTH, "1m")
            .set(NodeConfig.Option.HTTP_PORT, "0")));   // REST on a free port: never collide with 8080
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

    int ingressStreamId()
    {
        return node.ingressStreamId();
    }

    /**
     * Close the node (graceful drain) and launch it again on the same data directory, Aeron directory and UDP port.
     */
    void restart()
    {
        node.close();
        node = null;
        node = launch();
    }

    public void close()
    {
        try
        {
            if (null != node)
            {
                assertFalse(node.engineFailed(), () -> "the engine failed: " + node.engineFailure());
                node.close();
                node = null;
            }
        }
        finally
        {
            deleteRecursively(dataDir);
            deleteRecursively(Path.of(aeronDir));
        }
    }

    static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(0))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static void deleteRecursively(final Path dir)
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach((p) -> p.toFile().delete());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
