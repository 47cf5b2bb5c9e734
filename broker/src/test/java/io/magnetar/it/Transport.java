package io.magnetar.it;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

import io.magnetar.client.ClientBuilder;
import io.magnetar.client.MagnetarClient;

/**
 * How a test client reaches the node: IPC through the node's own media driver, or UDP loopback from a media driver
 * embedded in the client (as a client on another host would).
 */
enum Transport
{
    IPC
    {
        ClientBuilder configure(final NodeFixture node, final ClientBuilder builder)
        {
            return builder
                .aeronDirectory(node.aeronDirectory())
                .ingressChannel(node.ipcChannel())
                .ingressStreamId(node.ingressStreamId())
                .responseChannel("aeron:ipc");
        }
    },

    UDP
    {
        ClientBuilder configure(final NodeFixture node, final ClientBuilder builder)
        {
            return builder
                .embeddedMediaDriver(true)
                .aeronDirectory("/dev/shm/magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong()) +
                    "-client")
                .ingressChannel(node.udpChannel())
                .ingressStreamId(node.ingressStreamId())
                .responseChannel("aeron:udp?endpoint=localhost:0");
        }
    };

    abstract ClientBuilder configure(NodeFixture node, ClientBuilder builder);

    /**
     * @return a connected client of {@code node} over this transport.
     */
    MagnetarClient connect(final NodeFixture node, final String name)
    {
        return configure(node, MagnetarClient.builder())
            .clientName(name)
            .operationTimeout(Duration.ofSeconds(20))
            .build();
    }
}
