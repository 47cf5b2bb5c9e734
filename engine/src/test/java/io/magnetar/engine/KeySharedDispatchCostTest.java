package io.magnetar.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.magnetar.codecs.SubscriptionType.KEY_SHARED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * key_shared dispatch cost, counted deterministically ({@link Engine#keySharedExamined}: pending deliveries the
 * dispatcher looked at), not timed. The case of the side-by-side benchmark's workload 3 with publish batching off:
 * two consumers, one out of permits, so a backlog of its keys builds up while every publish is a command of its
 * own. Before the scan cursor each publish rescanned that backlog from its head (up to {@code keySharedLookahead}
 * deliveries: about 10^8 deliveries examined for the 20,000 publishes here); now a publish examines what it added.
 */
class KeySharedDispatchCostTest
{
    private static final long T0 = 1_732_780_800_000L;
    private static final int MESSAGES = 20_000;
    private static final int KEYS = 1_000;

    private Engine engine;
    private EngineDriver driver;
    private EngineDriver.Session admin;

    @BeforeEach
    void setUp()
    {
        driver = EngineDriver.create(listener ->
        {
            engine = new Engine(new EngineConfig(), listener);
            return engine;
        });
        driver.retainEvents(false);
        driver.at(T0);
        driver.tick();
        admin = driver.session(1);
    }

    @Test
    void publishAndAckCostIsProportionalToMessagesNotToTheBacklog()
    {
        final int topicId = admin.newTopic("t", 16);
        final long slow = admin.attach("t", "s", KEY_SHARED, 1);
        final long fast = driver.session(2).attach("t", "s", null, 1_000_000);

        final List<Event.Delivery> toSlow = new ArrayList<>();
        int toFast = 0;
        final Map<String, Integer> lastSeq = new HashMap<>();
        final long before = engine.keySharedExamined;
        for (int i = 0; i < MESSAGES; i++)
        {
            final Events events = admin.publish(topicId, Msg.of("key-" + (i % KEYS), "seq", Integer.toString(i)));
            for (final Event.Delivery d : events.deliveries())
            {
                checkOrder(lastSeq, d);
                if (d.consumerId() == slow)
                {
                    toSlow.add(d);
                }
                else
                {
                    assertEquals(fast, d.consumerId());
                    toFast++;
                }
            }
        }
        final long publishExamined = engine.keySharedExamined - before;
        assertEquals(1, toSlow.size(), "the slow consumer has one permit");
        final int backlog = MESSAGES - toFast - 1;
        System.out.printf("key_shared: %d single-message publishes, backlog %d: %d pending deliveries examined%n",
            MESSAGES, backlog, publishExamined);
        assertTrue(backlog > MESSAGES / 5, "a backlog of the slow consumer's keys built up: " + backlog);
        assertTrue(publishExamined <= 2L * MESSAGES,
            "publishing " + MESSAGES + " single messages examined " + publishExamined + " pending deliveries");

        // the slow consumer acks one message per command: each ack lets exactly its next message go
        final long beforeAcks = engine.keySharedExamined;
        final int acks = 2_000;
        MessageId outstanding = toSlow.get(0).id();
        for (int i = 0; i < acks; i++)
        {
            final List<Event.Delivery> next = admin.ack(slow, outstanding).deliveries();
            assertEquals(1, next.size(), "ack " + i + " frees one permit");
            assertEquals(slow, next.get(0).consumerId());
            checkOrder(lastSeq, next.get(0));
            outstanding = next.get(0).id();
        }
        final long ackExamined = engine.keySharedExamined - beforeAcks;
        System.out.printf("key_shared: %d single-message acks: %d pending deliveries examined%n", acks, ackExamined);
        assertTrue(ackExamined <= 2L * acks, acks + " acks examined " + ackExamined + " pending deliveries");

        // steady state with the backlog: publish one message, ack what it let go (fast's new message, or slow's
        // outstanding one when the message joined slow's backlog, so that the backlog's oldest goes to slow)
        final long beforeRounds = engine.keySharedExamined;
        final int rounds = 4_000;
        for (int i = 0; i < rounds; i++)
        {
            final int n = MESSAGES + i;
            final List<Event.Delivery> sent = new ArrayList<>(
                admin.publish(topicId, Msg.of("key-" + (n % KEYS), "seq", Integer.toString(n))).deliveries());
            if (sent.isEmpty())
            {
                sent.addAll(admin.ack(slow, outstanding).deliveries());
                assertEquals(1, sent.size(), "round " + i + ": the backlog's oldest goes to slow");
                outstanding = sent.get(0).id();
            }
            else
            {
                assertEquals(1, sent.size());
                assertEquals(fast, sent.get(0).consumerId());
                driver.session(2).ackOk(fast, sent.get(0).id());
            }
            checkOrder(lastSeq, sent.get(0));
        }
        final long roundExamined = engine.keySharedExamined - beforeRounds;
        System.out.printf("key_shared: %d rounds of publish + ack with the backlog: %d pending deliveries examined%n",
            rounds, roundExamined);
        assertTrue(roundExamined <= 3L * rounds, rounds + " rounds examined " + roundExamined + " pending deliveries");
    }

    private static void checkOrder(final Map<String, Integer> lastSeq, final Event.Delivery d)
    {
        final int seq = Integer.parseInt(d.attributes().get("seq"));
        final Integer last = lastSeq.put(d.key(), seq);
        assertTrue(last == null || last < seq, "publish order within key " + d.key() + ": " + last + " then " + seq);
    }
}
