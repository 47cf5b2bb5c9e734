package io.magnetar.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.magnetar.client.ClientBuilder;
import io.magnetar.client.Consumer;
import io.magnetar.client.MagnetarClient;
import io.magnetar.client.Message;
import io.magnetar.client.MessageId;
import io.magnetar.client.Producer;
import io.magnetar.client.SubscriptionType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java example, run as written against a real node. The only difference is where the client
 * finds the node: the README uses the default Aeron directory, the test its own. A second test checks that
 * the README still contains exactly this code, so the two cannot drift apart.
 */
class ReadmeExampleTest
{
    private static final String BEGIN = "// README example begin";
    private static final String END = "// README example end";

    static List<String> example(final ClientBuilder builder)
    {
        final List<String> printed = new ArrayList<>();
        // README example begin
        try (MagnetarClient client = builder.build())
        {
            client.admin().createTopic("orders", 4);
            try (Consumer consumer = client.newConsumer().topic("orders").subscription("billing")
                    .subscriptionType(SubscriptionType.SHARED).subscribe();
                Producer producer = client.newProducer().topic("orders").create())
            {
                MessageId id = producer.send("customer-42", Map.of("body", "s3://bucket/order-1"));
                Message message = consumer.receive(Duration.ofSeconds(5));
                printed.add(id + " -> " + message.key() + " " + message.attributes());
                consumer.acknowledge(message);
            }
        }
        // README example end
        return printed;
    }

    @Test
    void exampleRunsAgainstANode()
    {
        try (NodeFixture node = new NodeFixture())
        {
            final List<String> printed = example(MagnetarClient.builder().aeronDirectory(node.aeronDirectory()));
            assertEquals(1, printed.size());
            assertTrue(printed.get(0).endsWith("-> customer-42 {body=s3://bucket/order-1}"), printed.get(0));
        }
    }

    @Test
    void readmeShowsThisExample() throws IOException
    {
        final String source = Files.readString(Path.of("src/test/java/io/magnetar/it/ReadmeExampleTest.java"));
        final int begin = source.indexOf(BEGIN + "\n") + BEGIN.length();   // the marker line, not the constant
        final String code = source.substring(begin, source.indexOf(END, begin));
        final String readme = Files.readString(Path.of("../README.md"));
        final String expected = normalize(code
            .replace("builder.build()", "MagnetarClient.builder().build()")
            .replace("printed.add(id + \" -> \" + message.key() + \" \" + message.attributes());",
                "System.out.println(id + \" -> \" + message.key() + \" \" + message.attributes());"));
        assertTrue(normalize(readme).contains(expected), "README.md must show the example of ReadmeExampleTest:\n" + code);
    }

    private static String normalize(final String text)
    {
        return text.replaceAll("\\s+", " ").trim();
    }
}
