package io.magnetar.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import static io.magnetar.codecs.SubscriptionType.KEY_SHARED;
import static io.magnetar.codecs.SubscriptionType.MULTICAST;
import static io.magnetar.codecs.SubscriptionType.SHARED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One deterministic test (or a few) per row of SPEC sections 1 to 3, driving the engine directly with
 * explicit time. Decisions where SPEC is silent are in docs/ENGINE.md.
 */
class EngineSemanticsTest
{
    private static final long T0 = 1_732_780_800_000L;

    private Engine engine;
    private EngineDriver driver;
    private EngineDriver.Session admin;

    private void start(final EngineConfig config)
    {
        driver = EngineDriver.create(listener ->
        {
            engine = new Engine(config, listener);
            return engine;
        });
        driver.at(T0);
        driver.tick();   // the engine's clock starts at T0
        admin = driver.session(1);
    }

    @BeforeEach
    void setUp()
    {
        start(new EngineConfig());
    }

    private static List<Msg> msgs(final String... keys)
    {
        final List<Msg> list = new ArrayList<>();
        for (final String key : keys)
        {
            list.add(Msg.of(key, "ref", "s3://bucket/" + key));
        }
        return list;
    }

    private static SubscriptionOptions opts()
    {
        return SubscriptionOptions.DEFAULTS;
    }

    private static List<MessageId> ids(final List<Event.Delivery> deliveries)
    {
        return deliveries.stream().map(Event.Delivery::id).collect(Collectors.toList());
    }

    private void assertError(final Events events, final ErrorCode code, final String... fragments)
    {
        final List<Event.CommandError> errors = events.errors();
        assertEquals(1, errors.size(), () -> "expected one error, got " + events);
        assertEquals(code, errors.get(0).code(), errors.get(0).message());
        for (final String fragment : fragments)
        {
            assertTrue(errors.get(0).message().contains(fragment),
                () -> "error message '" + errors.get(0).message() + "' should mention '" + fragment + "'");
        }
    }

    /** Asserts that a rejected command changed nothing at all. */
    private void assertRejectedWithoutEffect(final java.util.function.Supplier<Events> command, final ErrorCode code,
        final String... fragments)
    {
        final long before = engine.stateHash();
        final long live = engine.liveMessages();
        assertError(command.get(), code, fragments);
        assertEquals(before, engine.stateHash(), "a rejected command must not change state");
        assertEquals(live, engine.liveMessages());
    }

    // ==================================================================================================== SPEC 1

    @Nested
    class Concepts
    {
        @Test
        void topicNamesFollowThePattern()
        {
            assertEquals(AdminOutcome.CREATED, admin.answer(admin.createTopic("a", 1), Event.AdminResult.class).outcome());
            assertEquals(AdminOutcome.CREATED,
                admin.answer(admin.createTopic("Orders.v2_eu-1", 1), Event.AdminResult.class).outcome());
            assertEquals(AdminOutcome.CREATED,
                admin.answer(admin.createTopic("x".repeat(128), 1), Event.AdminResult.class).outcome());
            assertRejectedWithoutEffect(() -> admin.createTopic("x".repeat(129), 1), ErrorCode.INVALID_ARGUMENT, "topic");
            assertRejectedWithoutEffect(() -> admin.createTopic("-leading", 1), ErrorCode.INVALID_ARGUMENT, "topic");
            assertRejectedWithoutEffect(() -> admin.createTopic("", 1), ErrorCode.INVALID_ARGUMENT, "topic");
            assertRejectedWithoutEffect(() -> admin.createTopic("a/b", 1), ErrorCode.INVALID_ARGUMENT, "topic");
            assertRejectedWithoutEffect(() -> admin.createTopic("ünï", 1), ErrorCode.INVALID_ARGUMENT, "topic");
        }

        @Test
        void partitionsAreFixedAtCreationWithin1To4096()
        {
            assertRejectedWithoutEffect(() -> admin.createTopic("t", 0), ErrorCode.INVALID_ARGUMENT, "partitions", "4096");
            assertRejectedWithoutEffect(() -> admin.createTopic("t", 4097), ErrorCode.INVALID_ARGUMENT, "partitions");
            assertEquals(AdminOutcome.CREATED, admin.answer(admin.createTopic("t", 4096), Event.AdminResult.class).outcome());
            assertEquals(AdminOutcome.UNCHANGED, admin.answer(admin.createTopic("t", 4096), Event.AdminResult.class).outcome());
            assertRejectedWithoutEffect(() -> admin.createTopic("t", 8), ErrorCode.TOPIC_EXISTS, "4096");
            assertEquals(4096, admin.describe("t").partitions());
        }

        @Test
        void keyToPartitionIsPulsarsMurmur3Mapping()
        {
            final int topicId = admin.newTopic("t", 16);
            admin.newSubscription("t", "s", SHARED);
            final String[] keys = {"a", "key-1", "order-42", "ünïcødé", "0123456789abcdef", "x".repeat(256)};
            final List<MessageId> ids = admin.publishIds(topicId, msgs(keys));
            for (int i = 0; i < keys.length; i++)
            {
                final byte[] utf8 = keys[i].getBytes(java.nio.charset.StandardCharsets.UTF_8);
                @SuppressWarnings("deprecation")
                final int expected = (com.google.common.hash.Hashing.murmur3_32_fixed().hashBytes(utf8).asInt() &
                    0x7fffffff) % 16;
                assertEquals(expected, ids.get(i).partition(), "partition of key " + keys[i]);
            }
        }

        @Test
        void messageIdsAreUniqueAndEntriesGrowPerPartitionWithinALedger()
        {
            final int topicId = admin.newTopic("t", 4);
            final List<Msg> batch = new ArrayList<>();
            for (int i = 0; i < 200; i++)
            {
                batch.add(Msg.of("k" + i));
            }
            final List<MessageId> first = admin.publishIds(topicId, batch);
            final List<MessageId> second = admin.publishIds(topicId, batch);
            final Set<MessageId> all = new HashSet<>(first);
            all.addAll(second);
            assertEquals(400, all.size(), "ids are unique");

            final Map<Integer, Long> ledgerOf = new HashMap<>();
            final Map<Integer, Long> lastEntry = new HashMap<>();
            for (final MessageId id : concat(first, second))
            {
                final Long ledger = ledgerOf.putIfAbsent(id.partition(), id.ledger());
                if (ledger != null)
                {
                    assertEquals(ledger, id.ledger(), "one ledger per partition on a single node");
                }
                final Long last = lastEntry.put(id.partition(), id.entry());
                if (last != null)
                {
                    assertTrue(id.entry() > last, "entries grow within a partition");
                }
            }
            assertEquals(4, new HashSet<>(ledgerOf.values()).size(), "each partition has its own ledger");
        }

        @Test
        void messageKeyAndAttributeLimits()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.newSubscription("t", "s", SHARED);
            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("", Map.of())), ErrorCode.INVALID_ARGUMENT,
                "messages[0].key", "256");
            assertRejectedWithoutEffect(() -> admin.publish(topicId, Msg.of("ok"), new Msg("k".repeat(257), Map.of())),
                ErrorCode.INVALID_ARGUMENT, "messages[1].key", "256");
            assertEquals(1, admin.publishIds(topicId, new Msg("k".repeat(256), Map.of())).size());

            final Map<String, String> many = new java.util.LinkedHashMap<>();
            for (int i = 0; i < 33; i++)
            {
                many.put("a" + i, "v");
            }
            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("k", many)), ErrorCode.INVALID_ARGUMENT,
                "messages[0].attributes", "32");
            many.remove("a32");
            assertEquals(1, admin.publishIds(topicId, new Msg("k", many)).size());

            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("k", Map.of("n".repeat(65), "v"))),
                ErrorCode.INVALID_ARGUMENT, "messages[0].attributes[0].name", "64");
            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("k", Map.of("", "v"))),
                ErrorCode.INVALID_ARGUMENT, "attributes[0].name");
            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("k", Map.of("n", "v".repeat(1025)))),
                ErrorCode.INVALID_ARGUMENT, "attributes[0].value", "1024");
            final Map<String, String> big = new java.util.LinkedHashMap<>();
            for (int i = 0; i < 5; i++)
            {
                big.put("n" + i, "v".repeat(1000));
            }
            assertRejectedWithoutEffect(() -> admin.publish(topicId, new Msg("k", big)), ErrorCode.INVALID_ARGUMENT,
                "messages[0].attributes", "4096");
            assertEquals(1, admin.publishIds(topicId, new Msg("k", Map.of("n", "v".repeat(1024), "e", ""))).size());
        }

        @Test
        void limitsAreConfigurable()
        {
            start(new EngineConfig().maxKeyBytes(8).maxAttributes(1));
            final int topicId = admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.publish(topicId, Msg.of("123456789")), ErrorCode.INVALID_ARGUMENT,
                "key", "8");
            assertRejectedWithoutEffect(() -> admin.publish(topicId, Msg.of("k", "a", "1", "b", "2")),
                ErrorCode.INVALID_ARGUMENT, "attributes", "1");
        }

        @Test
        void subscriptionReceivesOnlyMessagesPublishedAfterItWasCreated()
        {
            final int topicId = admin.newTopic("t", 2);
            admin.publishIds(topicId, msgs("before-1", "before-2"));
            admin.newSubscription("t", "s", SHARED);
            final List<MessageId> after = admin.publishIds(topicId, msgs("after-1", "after-2"));
            final long consumer = admin.attach("t", "s", null, 100);
            assertEquals(new HashSet<>(after), new HashSet<>(ids(driver.recorder().deliveries())));
        }

        @Test
        void subscriptionTypeNeverChanges()
        {
            admin.newTopic("t", 1);
            assertEquals(AdminOutcome.CREATED, admin.newSubscription("t", "s", KEY_SHARED));
            assertEquals(AdminOutcome.UNCHANGED, admin.newSubscription("t", "s", KEY_SHARED));
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED),
                ErrorCode.SUBSCRIPTION_TYPE_CONFLICT, "key_shared", "shared");
            assertRejectedWithoutEffect(() -> admin.subscribe("t", "s", MULTICAST, 10, "c"),
                ErrorCode.SUBSCRIPTION_TYPE_CONFLICT, "multicast");
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", KEY_SHARED, opts().ackTimeoutMs(5L)),
                ErrorCode.SUBSCRIPTION_EXISTS, "ackTimeoutMs");
        }

        @Test
        void firstConsumerNamingATypeCreatesTheSubscription()
        {
            admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.subscribe("t", "s", null, 10, "c"),
                ErrorCode.SUBSCRIPTION_NOT_FOUND, "'s'");
            final Event.ConsumerAttached attached =
                admin.answer(admin.subscribe("t", "s", MULTICAST, 10, "c"), Event.ConsumerAttached.class);
            assertEquals(MULTICAST, attached.subscriptionType());
            assertEquals(MULTICAST, admin.describe("t").subscription("s").subscriptionType());
            // a later consumer may omit the type
            admin.attach("t", "s", null, 10);
            assertEquals(2, admin.describe("t").subscription("s").consumers());
        }

        @Test
        void brokerNeverHasMoreThanPermitsOutstandingToAConsumer()
        {
            final int topicId = admin.newTopic("t", 4);
            final long consumer = admin.attach("t", "s", SHARED, 3);
            admin.publishIds(topicId, msgs("a", "b", "c", "d", "e", "f", "g"));
            final List<Event.Delivery> first = driver.recorder().drain().deliveries();
            assertEquals(3, first.size());
            assertTrue(admin.flow(consumer, 5).deliveries().size() == 2, "raising the window to 5 sends 2 more");
            final Event.AckReceipt receipt = admin.ackOk(consumer, first.get(0).id());
            assertEquals(1, receipt.done());
            assertEquals(1, driver.recorder().drain().deliveries().size() - 2, "the ack freed exactly one permit");
        }
    }

    private static <T> List<T> concat(final List<T> a, final List<T> b)
    {
        final List<T> list = new ArrayList<>(a);
        list.addAll(b);
        return list;
    }

    // ==================================================================================================== SPEC 2

    @Nested
    class Delivery
    {
        @Test
        void publishToATopicWithoutSubscriptionsIsAcceptedAndImmediatelyComplete()
        {
            final int topicId = admin.newTopic("t", 2);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b", "c"));
            assertEquals(3, ids.size());
            assertEquals(0, engine.liveMessages());
        }

        @Test
        void publishReceiptListsIdsInRequestOrder()
        {
            final int topicId = admin.newTopic("t", 8);
            admin.newSubscription("t", "s", SHARED);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("k1", "k2", "k3", "k4", "k5"));
            final long consumer = admin.attach("t", "s", null, 10);
            final Map<MessageId, String> keyOf = driver.recorder().deliveries().stream()
                .collect(Collectors.toMap(Event.Delivery::id, Event.Delivery::key));
            for (int i = 0; i < 5; i++)
            {
                assertEquals("k" + (i + 1), keyOf.get(ids.get(i)));
            }
        }

        @Test
        void deliveriesCarryKeyAttributesAndPublishTime()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 10);
            driver.at(T0 + 5);
            final Map<String, String> attributes = new java.util.LinkedHashMap<>();
            attributes.put("body", "s3://b/1");
            attributes.put("empty", "");
            attributes.put("ünï", "çødé");
            admin.publish(topicId, new Msg("key-ü", attributes));
            final Event.Delivery d = driver.recorder().deliveries().get(0);
            assertEquals("key-ü", d.key());
            assertEquals(attributes, d.attributes());
            assertEquals(List.copyOf(attributes.keySet()), List.copyOf(d.attributes().keySet()), "attribute order kept");
            assertEquals(T0 + 5, d.publishTimeMs());
            assertEquals(1, d.deliveryCount());
        }

        @Test
        void sharedSendsEachMessageToOneConsumerAtATime()
        {
            final int topicId = admin.newTopic("t", 4);
            final long c1 = admin.attach("t", "s", SHARED, 100);
            final long c2 = driver.session(2).attach("t", "s", null, 100);
            final List<MessageId> ids = admin.publishIds(topicId, msgs(keys(200)));
            final List<Event.Delivery> deliveries = driver.recorder().deliveries();
            assertEquals(200, deliveries.size());
            assertEquals(new HashSet<>(ids), new HashSet<>(ids(deliveries)), "each message once");
            final long toC1 = deliveries.stream().filter(d -> d.consumerId() == c1).count();
            assertTrue(toC1 == 100, "both consumers get their window's worth: " + toC1);
            assertTrue(deliveries.stream().filter(d -> d.consumerId() == c2).allMatch(d -> d.sessionId() == 2),
                "deliveries go to the consumer's session");
        }

        @Test
        void keySharedGivesEachKeyToOneConsumerInPublishOrder()
        {
            final int topicId = admin.newTopic("t", 4);
            final long c1 = admin.attach("t", "s", KEY_SHARED, 1000);
            final long c2 = admin.attach("t", "s", null, 1000);
            final List<Msg> batch = new ArrayList<>();
            for (int i = 0; i < 400; i++)
            {
                batch.add(Msg.of("key-" + (i % 40), "seq", Integer.toString(i)));
            }
            admin.publishIds(topicId, batch);
            final List<Event.Delivery> deliveries = driver.recorder().deliveries();
            assertEquals(400, deliveries.size(), "several messages of a key may be outstanding at once");
            final Map<String, Long> ownerOf = new HashMap<>();
            final Map<String, Integer> lastSeq = new HashMap<>();
            for (final Event.Delivery d : deliveries)
            {
                final Long owner = ownerOf.putIfAbsent(d.key(), d.consumerId());
                if (owner != null)
                {
                    assertEquals(owner, d.consumerId(), "key " + d.key() + " on one consumer");
                }
                final int seq = Integer.parseInt(d.attributes().get("seq"));
                final Integer last = lastSeq.put(d.key(), seq);
                assertTrue(last == null || last < seq, "publish order within key " + d.key());
            }
            assertTrue(ownerOf.containsValue(c1) && ownerOf.containsValue(c2), "keys spread over both consumers");
        }

        @Test
        void keySharedMaxInFlightPerKeyOneIsStrictlyOneAtATime()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", KEY_SHARED, 100, opts().maxInFlightPerKey(1));
            admin.publishIds(topicId, msgs("a", "a", "a", "b", "b"));
            List<Event.Delivery> sent = driver.recorder().drain().deliveries();
            assertEquals(List.of("a", "b"), sent.stream().map(Event.Delivery::key).collect(Collectors.toList()));
            final List<Event.Delivery> next = admin.ack(c, sent.get(0).id()).deliveries();
            assertEquals(1, next.size());
            assertEquals("a", next.get(0).key());
        }

        @Test
        void keySharedRedeliversANackedMessageBeforeLaterMessagesOfItsKey()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", KEY_SHARED, 2, opts().nackDelayMs(100L));
            final List<MessageId> ids = admin.publishIds(topicId, msgs("k", "k", "k", "k"));
            assertEquals(ids.subList(0, 2), ids(driver.recorder().drain().deliveries()));
            // nack the first, ack the second: a permit is free, but the third message must wait for the first
            admin.nackOk(c, ids.get(0));
            assertTrue(admin.ack(c, ids.get(1)).deliveries().isEmpty(), "later messages of the key wait for the nacked one");
            assertTrue(driver.advance(99).deliveries().isEmpty(), "not before the nack delay");
            final List<Event.Delivery> after = driver.advance(1).deliveries();
            assertEquals(ids.get(0), after.get(0).id(), "the nacked message comes first");
            assertEquals(2, after.get(0).deliveryCount());
            assertEquals(ids.get(2), after.get(1).id());
        }

        @Test
        void keySharedDrainsAKeyBeforeItMovesToANewConsumer()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = admin.attach("t", "s", KEY_SHARED, 1000);
            final List<Msg> batch = new ArrayList<>();
            for (int i = 0; i < 200; i++)
            {
                batch.add(Msg.of("key-" + (i % 50)));
            }
            admin.publishIds(topicId, batch);
            final List<Event.Delivery> toC1 = driver.recorder().drain().deliveries();
            assertEquals(200, toC1.size());

            // c2 joins while c1 holds every key: nothing may move until c1 finishes with a key
            final long c2 = driver.session(2).attach("t", "s", null, 1000);
            final List<Event.Delivery> more = admin.publish(topicId, msgs(keys(50))).deliveries();
            final Set<String> heldByC1 = toC1.stream().map(Event.Delivery::key).collect(Collectors.toSet());
            for (final Event.Delivery d : more)
            {
                assertTrue(d.consumerId() == c1 || !heldByC1.contains(d.key()),
                    "key " + d.key() + " went to c2 while outstanding on c1");
            }
            // after c1 acks everything, keys owned by c2 flow to c2
            admin.ackOk(c1, ids(toC1));
            final List<Event.Delivery> released = driver.recorder().drain().deliveries();
            final long toC2 = released.stream().filter(d -> d.consumerId() == c2).count();
            assertTrue(toC2 > 0, "some keys moved to the new consumer once drained");
        }

        @Test
        void multicastSendsEveryMessageToEveryAttachedConsumer()
        {
            final int topicId = admin.newTopic("t", 2);
            final long c1 = admin.attach("t", "s", MULTICAST, 100);
            final long c2 = driver.session(2).attach("t", "s", null, 100);
            final List<MessageId> ids = admin.publishIds(topicId, msgs(keys(20)));
            final List<Event.Delivery> deliveries = driver.recorder().drain().deliveries();
            assertEquals(new HashSet<>(ids),
                deliveries.stream().filter(d -> d.consumerId() == c1).map(Event.Delivery::id).collect(Collectors.toSet()));
            assertEquals(new HashSet<>(ids),
                deliveries.stream().filter(d -> d.consumerId() == c2).map(Event.Delivery::id).collect(Collectors.toSet()));

            // complete only when every consumer it went to acked it
            admin.ackOk(c1, ids);
            assertEquals(20, engine.liveMessages());
            driver.session(2).ackOk(c2, ids.subList(0, 10));
            assertEquals(10, engine.liveMessages());
            // ... or detached
            driver.session(2).closeConsumer(c2);
            assertEquals(0, engine.liveMessages());
        }

        @Test
        void multicastMessagesWaitForTheFirstConsumer()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.newSubscription("t", "s", MULTICAST);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b"));
            assertEquals(2, admin.describe("t").subscription("s").backlog());
            final long c1 = admin.attach("t", "s", null, 10);
            assertEquals(ids, ids(driver.recorder().drain().deliveries()));
            // a consumer attaching later does not get what was already dispatched
            final long c2 = admin.attach("t", "s", null, 10);
            assertTrue(driver.recorder().drain().deliveries().isEmpty());
        }

        @Test
        void multicastNackRedeliversToTheSameConsumer()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = admin.attach("t", "s", MULTICAST, 10, opts().nackDelayMs(10L));
            final long c2 = admin.attach("t", "s", null, 10);
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            driver.recorder().drain();
            admin.nackOk(c1, id);
            final List<Event.Delivery> again = driver.advance(10).deliveries();
            assertEquals(1, again.size());
            assertEquals(c1, again.get(0).consumerId());
            assertEquals(2, again.get(0).deliveryCount());
        }

        @Test
        void ackIsIdempotentAndCountsUnknownIds()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b"));
            Event.AckReceipt r = admin.ackOk(c, ids.get(0), ids.get(1), new MessageId(0, 999, 5), new MessageId(7, 1, 1));
            assertEquals(2, r.done());
            assertEquals(2, r.unknown());
            r = admin.ackOk(c, ids.get(0));
            assertEquals(0, r.done());
            assertEquals(1, r.unknown(), "acking an already complete id is counted, not an error");
            assertEquals(0, engine.liveMessages());
        }

        @Test
        void anyConsumerOfTheSubscriptionMayAck()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = admin.attach("t", "s", SHARED, 10);
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            final long c2 = admin.attach("t", "s", null, 10);
            assertEquals(1, admin.ackOk(c2, id).done());
            assertEquals(0, engine.liveMessages());
        }

        @Test
        void nackRedeliversAfterNackDelay()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10, opts().nackDelayMs(1000L));
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            driver.recorder().drain();
            assertEquals(1, admin.nackOk(c, id).done());
            assertEquals(T0 + 1000, engine.nextDeadlineMs());
            assertTrue(driver.advance(999).deliveries().isEmpty());
            final List<Event.Delivery> again = driver.advance(1).deliveries();
            assertEquals(List.of(id), ids(again));
            assertEquals(2, again.get(0).deliveryCount());
        }

        @Test
        void defaultNackDelayIs1000Ms()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10);
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            admin.nackOk(c, id);
            assertEquals(T0 + 1000, engine.nextDeadlineMs());
            assertEquals(1000, admin.describe("t").subscription("s").nackDelayMs());
            assertEquals(60_000, admin.describe("t").subscription("s").ackTimeoutMs());
        }

        @Test
        void ackTimeoutRedeliversAtOnce()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = admin.attach("t", "s", SHARED, 1, opts().ackTimeoutMs(500L));
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            assertEquals(1, driver.recorder().drain().deliveries().size());
            assertTrue(driver.advance(499).deliveries().isEmpty());
            final List<Event.Delivery> again = driver.advance(1).deliveries();
            assertEquals(List.of(id), ids(again));
            assertEquals(2, again.get(0).deliveryCount());
            assertEquals(1, admin.describe("t").subscription("s").redeliveries());
        }

        @Test
        void ackTimeoutZeroDisablesIt()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 1, opts().ackTimeoutMs(0L));
            admin.publishIds(topicId, msgs("a"));
            assertEquals(Long.MAX_VALUE, engine.nextDeadlineMs());
            assertTrue(driver.advance(10_000_000).deliveries().size() == 0);
        }

        @Test
        void detachedConsumersMessagesGoToAnotherConsumer()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = admin.attach("t", "s", SHARED, 10);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b"));
            driver.recorder().drain();
            final long c2 = driver.session(2).attach("t", "s", null, 10);
            final List<Event.Delivery> moved = admin.closeConsumer(c1).deliveries();
            assertEquals(new HashSet<>(ids), new HashSet<>(ids(moved)));
            assertTrue(moved.stream().allMatch(d -> d.consumerId() == c2 && d.deliveryCount() == 2));
        }

        @Test
        void closedSessionDetachesItsConsumers()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c1 = driver.session(5).attach("t", "s", KEY_SHARED, 10);
            final long c2 = driver.session(6).attach("t", "s", null, 10);
            admin.publishIds(topicId, msgs(keys(30)));
            final List<Event.Delivery> first = driver.recorder().drain().deliveries();
            final long onC1 = first.stream().filter(d -> d.consumerId() == c1).count();
            final long onC2 = first.stream().filter(d -> d.consumerId() == c2).count();
            final List<Event.Delivery> moved = driver.sessionClosed(5).deliveries();
            assertTrue(onC1 > 0);
            assertEquals(10 - onC2, moved.size(), "c2 now owns every key and fills its window");
            assertTrue(moved.stream().allMatch(d -> d.consumerId() == c2));
            assertEquals(1, admin.describe("t").subscription("s").consumers());
        }

        @Test
        void deliveryCountGrowsWithEachDelivery()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10, opts().nackDelayMs(0L));
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            assertEquals(1, driver.recorder().drain().deliveries().get(0).deliveryCount());
            for (int expected = 2; expected <= 5; expected++)
            {
                final List<Event.Delivery> again = admin.nack(c, id).deliveries();
                assertEquals(1, again.size());
                assertEquals(expected, again.get(0).deliveryCount());
            }
        }

        @Test
        void maxDeliveriesDeadLettersAndCompletesTheOriginal()
        {
            final int topicId = admin.newTopic("orders", 2);
            final long c = admin.attach("orders", "billing", SHARED, 10, opts().maxDeliveries(2).nackDelayMs(0L));
            final MessageId id = admin.publishIds(topicId, List.of(Msg.of("k1", "ref", "r1"))).get(0);
            driver.recorder().drain();
            assertEquals(1, admin.nack(c, id).deliveries().size(), "second delivery");
            assertTrue(admin.nack(c, id).deliveries().isEmpty(), "not a third time");

            final Event.TopicDescription dlq = admin.describe("orders.billing.dlq");
            assertEquals(1, dlq.partitions());
            assertEquals(1, admin.describe("orders").subscription("billing").deadLettered());
            assertEquals(0, engine.liveMessages(), "completed on the original; the DLQ has no subscription yet");

            // the dead-letter topic is a normal topic
            final long dc = admin.attach("orders.billing.dlq", "ops", SHARED, 10);
            final long c2 = admin.attach("orders", "billing", null, 10);
            final MessageId id2 = admin.publishIds(topicId, List.of(Msg.of("k2", "ref", "r2"))).get(0);
            final Event.Delivery d2 = driver.recorder().drain().deliveries().get(0);
            admin.nack(d2.consumerId(), id2);
            final Event.Delivery again = driver.recorder().drain().deliveries().get(0);
            admin.nack(again.consumerId(), id2);
            final List<Event.Delivery> dead = driver.recorder().drain().deliveries();
            assertEquals(1, dead.size());
            assertEquals(dc, dead.get(0).consumerId());
            assertEquals("k2", dead.get(0).key());
            assertEquals("r2", dead.get(0).attributes().get("ref"));
            assertEquals(id2.toString(), dead.get(0).attributes().get("magnetar.original-id"));
        }

        @Test
        void maxDeliveriesAppliesToAckTimeoutsToo()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 10, opts().maxDeliveries(1).ackTimeoutMs(100L));
            admin.publishIds(topicId, msgs("a"));
            driver.advance(100);
            assertEquals(1, admin.describe("t").subscription("s").deadLettered());
            assertEquals(0, engine.liveMessages() - 0 - 0, "no subscription on the dlq: nothing stays");
        }

        /**
         * A delivery count stops at {@link io.magnetar.engine.Delivery#MAX_DELIVERY_COUNT} (it shares an int with the state): a larger
         * limit could never be reached, so it is refused, naming the field and the bound.
         */
        @Test
        void maxDeliveriesIsBoundedByWhatADeliveryCounts()
        {
            admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED,
                opts().maxDeliveries(io.magnetar.engine.Delivery.MAX_DELIVERY_COUNT + 1)), ErrorCode.INVALID_ARGUMENT, "maxDeliveries",
                String.valueOf(io.magnetar.engine.Delivery.MAX_DELIVERY_COUNT));
            assertEquals(AdminOutcome.CREATED, admin.newSubscription("t", "s", SHARED,
                opts().maxDeliveries(io.magnetar.engine.Delivery.MAX_DELIVERY_COUNT)));
        }

        @Test
        void deadLetterTopicNameMustFit()
        {
            admin.newTopic("t".repeat(120), 1);
            assertRejectedWithoutEffect(() -> admin.createSubscription("t".repeat(120), "subscription", SHARED,
                opts().maxDeliveries(3)), ErrorCode.INVALID_ARGUMENT, "dead-letter");
        }

        @Test
        void messageIsDeletedWhenEverySubscriptionCompletedIt()
        {
            final int topicId = admin.newTopic("t", 1);
            final long a = admin.attach("t", "a", SHARED, 10);
            final long b = admin.attach("t", "b", KEY_SHARED, 10);
            final MessageId id = admin.publishIds(topicId, msgs("x")).get(0);
            assertEquals(1, engine.liveMessages());
            admin.ackOk(a, id);
            assertEquals(1, engine.liveMessages(), "b has not acked");
            admin.ackOk(b, id);
            assertEquals(0, engine.liveMessages());
            assertEquals(0, engine.liveBytes());
        }

        @Test
        void oneStuckMessageNeverRetainsOthers()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 1000);
            final List<MessageId> ids = admin.publishIds(topicId, msgs(keys(500)));
            admin.ackOk(c, ids.subList(1, 500));
            assertEquals(1, engine.liveMessages());
            final long perMessage = engine.liveBytes();
            final List<MessageId> more = admin.publishIds(topicId, msgs(keys(500)));
            admin.ackOk(c, more);
            assertEquals(1, engine.liveMessages());
            assertEquals(perMessage, engine.liveBytes());
        }
    }

    private static String[] keys(final int n)
    {
        final String[] keys = new String[n];
        for (int i = 0; i < n; i++)
        {
            keys[i] = "key-" + i;
        }
        return keys;
    }

    // ==================================================================================================== SPEC 3

    @Nested
    class Errors
    {
        @Test
        void unknownTopic()
        {
            assertRejectedWithoutEffect(() -> admin.publish(42, msgs("a")), ErrorCode.TOPIC_NOT_FOUND, "42");
            assertRejectedWithoutEffect(() -> admin.subscribe("nope", "s", SHARED, 1, "c"), ErrorCode.TOPIC_NOT_FOUND, "nope");
            assertRejectedWithoutEffect(() -> admin.createSubscription("nope", "s", SHARED), ErrorCode.TOPIC_NOT_FOUND);
            assertRejectedWithoutEffect(() -> admin.deleteTopic("nope"), ErrorCode.TOPIC_NOT_FOUND);
            assertError(admin.describeTopic("nope"), ErrorCode.TOPIC_NOT_FOUND);
        }

        @Test
        void unknownSubscriptionAndConsumer()
        {
            admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.deleteSubscription("t", "s"), ErrorCode.SUBSCRIPTION_NOT_FOUND);
            assertRejectedWithoutEffect(() -> admin.ack(77, new MessageId(0, 1, 0)), ErrorCode.CONSUMER_NOT_FOUND, "77");
            assertRejectedWithoutEffect(() -> admin.nack(77, new MessageId(0, 1, 0)), ErrorCode.CONSUMER_NOT_FOUND);
            assertRejectedWithoutEffect(() -> admin.flow(77, 10), ErrorCode.CONSUMER_NOT_FOUND);
            assertRejectedWithoutEffect(() -> admin.closeConsumer(77), ErrorCode.CONSUMER_NOT_FOUND);
        }

        @Test
        void aSessionCannotUseAnotherSessionsConsumer()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10);
            final MessageId id = admin.publishIds(topicId, msgs("a")).get(0);
            final EngineDriver.Session other = driver.session(9);
            assertRejectedWithoutEffect(() -> other.ack(c, id), ErrorCode.CONSUMER_NOT_FOUND);
            assertRejectedWithoutEffect(() -> other.closeConsumer(c), ErrorCode.CONSUMER_NOT_FOUND);
        }

        @Test
        void permitsMustBePositive()
        {
            admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.subscribe("t", "s", SHARED, 0, "c"), ErrorCode.INVALID_ARGUMENT, "permits");
            assertRejectedWithoutEffect(() -> admin.subscribe("t", "s", SHARED, -5, "c"), ErrorCode.INVALID_ARGUMENT, "permits");
            final long c = admin.attach("t", "s", SHARED, 1);
            assertRejectedWithoutEffect(() -> admin.flow(c, 0), ErrorCode.INVALID_ARGUMENT, "permits");
        }

        @Test
        void invalidSubscriptionOptions()
        {
            admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED, opts().ackTimeoutMs(-1L)),
                ErrorCode.INVALID_ARGUMENT, "ackTimeoutMs");
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED, opts().nackDelayMs(-1L)),
                ErrorCode.INVALID_ARGUMENT, "nackDelayMs");
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED, opts().maxDeliveries(-1)),
                ErrorCode.INVALID_ARGUMENT, "maxDeliveries");
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "s", SHARED, opts().maxInFlightPerKey(1)),
                ErrorCode.INVALID_ARGUMENT, "maxInFlightPerKey", "key_shared");
            assertRejectedWithoutEffect(() -> admin.createSubscription("t", "bad name", SHARED),
                ErrorCode.INVALID_ARGUMENT, "subscription");
        }

        @Test
        void emptyAndOversizedBatches()
        {
            final int topicId = admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.publish(topicId, List.of()), ErrorCode.INVALID_ARGUMENT, "messages");
            start(new EngineConfig().maxPublishBatch(3).maxAckBatch(2));
            final int t2 = admin.newTopic("t", 1);
            assertRejectedWithoutEffect(() -> admin.publish(t2, msgs("a", "b", "c", "d")), ErrorCode.INVALID_ARGUMENT, "3");
            final long c = admin.attach("t", "s", SHARED, 10);
            final List<MessageId> ids = admin.publishIds(t2, msgs("a", "b", "c"));
            assertRejectedWithoutEffect(() -> admin.ack(c, ids), ErrorCode.INVALID_ARGUMENT, "ids", "2");
        }

        @Test
        void backlogFullRefusesPublishesInsteadOfGrowing()
        {
            start(new EngineConfig().maxLiveMessages(5));
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 100);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b", "c", "d"));
            assertRejectedWithoutEffect(() -> admin.publish(topicId, msgs("e", "f")), ErrorCode.BACKLOG_FULL, "5");
            admin.ackOk(c, ids.get(0), ids.get(1));
            assertEquals(2, admin.publishIds(topicId, msgs("e", "f")).size(), "accepted again once acked");

            start(new EngineConfig().maxLiveBytes(100));
            final int t2 = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 100);
            assertRejectedWithoutEffect(() -> admin.publish(t2, new Msg("k", Map.of("v", "x".repeat(100)))),
                ErrorCode.BACKLOG_FULL, "bytes");
        }

        @Test
        void malformedFramesAreRejectedWithoutEffect()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 10);
            admin.publishIds(topicId, msgs("a"));

            final int length = driver.encoder().publish(99, topicId, msgs("b", "c"));
            final byte[] publish = driver.encoder().copy(length);
            for (int cut = 0; cut < length; cut++)
            {
                final byte[] truncated = java.util.Arrays.copyOf(publish, cut);
                assertRejectedWithoutEffect(() -> driver.sendFrame(1, truncated), ErrorCode.INVALID_ARGUMENT);
            }

            final byte[] unknownTemplate = publish.clone();
            unknownTemplate[2] = 45;
            assertRejectedWithoutEffect(() -> driver.sendFrame(1, unknownTemplate), ErrorCode.INVALID_ARGUMENT, "45");
            final byte[] wrongSchema = publish.clone();
            wrongSchema[4] = 9;
            assertRejectedWithoutEffect(() -> driver.sendFrame(1, wrongSchema), ErrorCode.INVALID_ARGUMENT, "schemaId");
            final byte[] newerVersion = publish.clone();
            newerVersion[6] = 7;
            assertRejectedWithoutEffect(() -> driver.sendFrame(1, newerVersion), ErrorCode.INVALID_ARGUMENT, "version");
            final byte[] hugeGroup = publish.clone();
            hugeGroup[8 + 12 + 2] = (byte)0xff;   // numInGroup of messages
            hugeGroup[8 + 12 + 3] = (byte)0x7f;
            assertRejectedWithoutEffect(() -> driver.sendFrame(1, hugeGroup), ErrorCode.INVALID_ARGUMENT);

            final int tick = driver.encoder().tick(T0);
            final byte[] internal = driver.encoder().copy(tick);
            assertRejectedWithoutEffect(() -> driver.sendFrame(1, internal), ErrorCode.INVALID_ARGUMENT, "internal");
        }

        @Test
        void errorsGoOnlyToTheSessionThatSentTheCommand()
        {
            final int topicId = admin.newTopic("t", 1);
            final long other = driver.session(2).attach("t", "s", SHARED, 10);
            final Events events = driver.session(3).publish(topicId, new Msg("", Map.of()));
            assertEquals(1, events.size());
            assertEquals(3, events.errors().get(0).sessionId());
        }
    }

    // ==================================================================================================== admin, restart

    @Nested
    class Lifecycle
    {
        @Test
        void deletingASubscriptionClosesItsConsumersAndReleasesItsMessages()
        {
            final int topicId = admin.newTopic("t", 1);
            final long a = admin.attach("t", "a", SHARED, 10);
            final long b = driver.session(2).attach("t", "b", MULTICAST, 10);
            admin.publishIds(topicId, msgs("x", "y"));
            admin.ackOk(a, ids(driver.recorder().drain().deliveries(a)));
            assertEquals(2, engine.liveMessages());
            final Events events = admin.deleteSubscription("t", "b");
            assertEquals(AdminOutcome.DELETED, admin.answer(events, Event.AdminResult.class).outcome());
            assertEquals(b, events.consumerClosed().get(0).consumerId());
            assertEquals(2, events.consumerClosed().get(0).sessionId());
            assertEquals(0, engine.liveMessages());
            assertError(admin.ack(b, new MessageId(0, 1, 0)), ErrorCode.CONSUMER_NOT_FOUND);
        }

        @Test
        void deletingATopicDiscardsEverything()
        {
            final int topicId = admin.newTopic("t", 3);
            admin.attach("t", "a", KEY_SHARED, 10);
            admin.newSubscription("t", "b", SHARED);
            admin.publishIds(topicId, msgs(keys(30)));
            assertEquals(30, engine.liveMessages());
            final Events events = admin.deleteTopic("t");
            assertEquals(1, events.consumerClosed().size());
            assertEquals(0, engine.liveMessages());
            assertTrue(admin.list().topics().isEmpty());
            assertError(admin.publish(topicId, msgs("a")), ErrorCode.TOPIC_NOT_FOUND);
            // the name can be used again; the old id stays dead
            final int again = admin.newTopic("t", 1);
            assertNotEquals(topicId, again);
        }

        @Test
        void describeReportsPerSubscriptionStats()
        {
            final int topicId = admin.newTopic("t", 2);
            final long c = admin.attach("t", "s", SHARED, 3, opts().nackDelayMs(50L));
            admin.publishIds(topicId, msgs(keys(10)));
            final List<Event.Delivery> sent = driver.recorder().drain().deliveries();
            admin.nackOk(c, sent.get(0).id());
            final Event.SubscriptionStats stats = admin.describe("t").subscription("s");
            assertEquals(SHARED, stats.subscriptionType());
            assertEquals(7, stats.backlog(), "6 never sent + 1 waiting for redelivery");
            assertEquals(3, stats.inFlight(), "the nack freed a permit, which took the next message");
            assertEquals(1, stats.consumers());
        }

        @Test
        void queriesChangeNothingAndDoNotMoveTime()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 10, opts().ackTimeoutMs(100L));
            admin.publishIds(topicId, msgs("a"));
            final long before = engine.stateHash();
            driver.at(T0 + 1_000);
            admin.describe("t");
            admin.list();
            assertEquals(before, engine.stateHash());
        }

        @Test
        void nodeStartedDetachesEveryConsumerOfThePreviousRun()
        {
            final int topicId = admin.newTopic("t", 1);
            final long c = admin.attach("t", "s", SHARED, 10);
            final List<MessageId> ids = admin.publishIds(topicId, msgs("a", "b"));
            driver.nodeStarted(1);
            assertEquals(0, admin.describe("t").subscription("s").consumers());
            assertEquals(2, admin.describe("t").subscription("s").backlog());
            assertError(admin.ack(c, ids.get(0)), ErrorCode.CONSUMER_NOT_FOUND);
            // delivery counts continue after a restart
            driver.recorder().drain();
            final long c2 = admin.attach("t", "s", null, 10);
            final List<Event.Delivery> again = driver.recorder().drain().deliveries();
            assertEquals(new HashSet<>(ids), new HashSet<>(ids(again)));
            assertTrue(again.stream().allMatch(d -> d.deliveryCount() == 2), again::toString);
        }

        @Test
        void topicListIsInCreationOrder()
        {
            admin.newTopic("b", 1);
            admin.newTopic("a", 2);
            final List<Event.TopicInfo> topics = admin.list().topics();
            assertEquals(List.of("b", "a"), topics.stream().map(Event.TopicInfo::name).collect(Collectors.toList()));
            assertEquals(2, topics.get(1).partitions());
            assertFalse(topics.get(0).topicId() == topics.get(1).topicId());
        }

        @Test
        void tickFiresDueTimersAndNextDeadlineFollowsThem()
        {
            final int topicId = admin.newTopic("t", 1);
            admin.attach("t", "s", SHARED, 10, opts().ackTimeoutMs(300L));
            assertEquals(Long.MAX_VALUE, engine.nextDeadlineMs());
            admin.publishIds(topicId, msgs("a"));
            assertEquals(T0 + 300, engine.nextDeadlineMs());
            driver.at(T0 + 300);
            final List<Event.Delivery> again = driver.tick().deliveries();
            assertEquals(1, again.size());
            assertEquals(T0 + 600, engine.nextDeadlineMs());
        }
    }

}
