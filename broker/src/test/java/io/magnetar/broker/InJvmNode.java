package io.magnetar.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

import io.magnetar.engine.journal.Durability;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A {@link MagnetarNode} a test launches in its own JVM: its own data directory and
 * {@code /dev/shm/magnetar-test-<random>} Aeron directory, IPC only, REST on an ephemeral port. {@link #close()} checks
 * that the engine did not fail, closes the node and deletes both directories.
 */
final class InJvmNode implements AutoCloseable
{
    final String aeronDir = "/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    final Path dataDir;
    /** the running node, or null; set by the test (the fixture closes it). */
    MagnetarNode node;

    InJvmNode(final String name) throws IOException
    {
        dataDir = Files.createTempDirectory(name);
    }

    /**
     * @return the configuration of a node on this fixture's directories: async journal, IPC only, HTTP port 0.
     */
    NodeConfig config()
    {
        return new NodeConfig()
            .dataDir(dataDir)
            .durability(Durability.ASYNC)
            .aeronDir(aeronDir)
            .ipcChannel("aeron:ipc")
            .udpChannel(null)
            .set(NodeConfig.Option.IPC_TERM_LENGTH, "1m")
            .httpPort(0);
    }

    public void close()
    {
        try
        {
            if (null != node)
            {
                final MagnetarNode running = node;
                assertFalse(running.engineFailed(), () -> "the engine failed: " + running.engineFailure());
                running.close();
            }
        }
        finally
        {
            BrokerProcess.deleteRecursively(dataDir.toFile());
            BrokerProcess.deleteRecursively(Path.of(aeronDir).toFile());
        }
    }
}
