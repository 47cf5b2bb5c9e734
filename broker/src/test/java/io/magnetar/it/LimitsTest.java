package io.magnetar.it;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.magnetar.broker.NodeConfig;
import io.magnetar.client.Consumer;
import io.magnetar.client.ErrorCode;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.MagnetarException;
import io.magnetar.client.Message;
import io.magnetar.client.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The broker's limits reach the application as typed exceptions carrying SPEC error codes (SPEC section 3).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LimitsTest
{
    @Test
    void aFullBacklogIsBacklogFullUntilMessagesAreAcknowledged()
    {
        try (NodeFixture node = new NodeFixture((config) -> config
                .set(NodeConfig.Option.MAX_LIVE_MESSAGES, "10")
                .set(NodeConfig.Option.MAX_KEY_BYTES, "16"));
            MagnetarClient client = Transport.IPC.connect(node, "it-limits"))
        {
            client.admin().createTopic("bounded", 1);
            final Consumer consumer = client.newConsumer().topic("bounded").subscription("sub").subscribe();
            final Producer producer = client.newProducer().topic("bounded").create();
            for (int i = 0; i < 10; i++)
            {
                producer.send("key-" + i);
            }

            final MagnetarException full = assertThrows(MagnetarException.class, () -> producer.send("one-too-many"));
            assertInstanceOf(MagnetarException.BacklogFullException.class, full);
            assertEquals(ErrorCode.BACKLOG_FULL, full.code());

            final MagnetarException tooLong = assertThrows(MagnetarException.class, () -> producer.send("k".repeat(17)));
            assertEquals(ErrorCode.INVALID_ARGUMENT, tooLong.code());

            final Message message = consumer.receive(Duration.ofSeconds(10));
            assertNotNull(message);
            consumer.acknowledge(message);
            Await.until("room again once a message is acknowledged", () ->
            {
                try
                {
                    producer.send("after-ack");
                    return true;
                }
                catch (final MagnetarException.BacklogFullException ex)
                {
                    return false;
                }
            });
        }
    }
}
