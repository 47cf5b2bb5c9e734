package io.magnetar.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import org.agrona.DirectBuffer;
import org.junit.jupiter.api.Test;

import static io.magnetar.codecs.SubscriptionType.KEY_SHARED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The key_shared scan cursor ({@link Engine#dispatchKeyShared}): a message the dispatcher skipped (it is before the
 * cursor) goes out, in key order, after each event that can make it eligible — more permits, an ack, an ack timeout,
 * the end of a nack delay, a consumer leaving or joining — and the cursor survives the removal of the delivery it
 * stands on. Each scenario first checks (white box) that the cursor really is past the skipped message, so the event
 * is what lets it go. Then a differential run: random key_shared command streams into the cursor engine and into one
 * dispatching by the old full rescan ({@link Engine#keySharedFullRescan}), with small lookaheads: the same event
 * bytes for every command, the same state hash, and the cursor's invariants hold after every command.
 */
class KeySharedDispatchTest
{
    private static final long T0 = 1_732_780_800_000L;

    private Engine engine;
    private EngineDriver driver;
    private EngineDriver.Session admin;
    private int topicId;

    private void start()
    {
        driver = EngineDriver.create(listener ->
        {
            engine = new Engine(new EngineConfig(), listener);
            return engine;
        });
        driver.at(T0);
        driver.tick();
        admin = driver.session(1);
        topicId = admin.newTopic("t", 4);
    }

    private Subscription subscription()
    {
        return engine.snapshotSubscriptions().get(0);
    }

    /** Keys k0, k1, ... whose owner on the subscription's current ring is the consumer. */
    private List<String> keysOf(final long consumerId, final int count)
    {
        final List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++)
        {
            final String key = "k" + i;
            final byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
            if (subscription().ring.owner(Murmur3.keyHash(bytes, 0, bytes.length)).id == consumerId)
            {
                keys.add(key);
            }
        }
        return keys;
    }

    private MessageId publish(final String key)
    {
        return admin.publishIds(topicId, Msg.of(key)).get(0);
    }

    private static List<MessageId> ids(final Events events)
    {
        return events.deliveries().stream().map(Event.Delivery::id).collect(Collectors.toList());
    }

    private void assertSkippedBeforeCursor(final MessageId... skipped)
    {
        final Subscription s = subscription();
        assertEquals(skipped.length, s.scanSkipped, "deliveries before the scan cursor");
        final List<MessageId> before = new ArrayList<>();
        for (Delivery d = s.pending.head; before.size() < s.scanSkipped; d = d.next)
        {
            before.add(new MessageId(d.message().partition(), d.message().ledgerId(), d.message().entry));
        }
        assertEquals(List.of(skipped), before);
        checkScanState(engine);
    }

    @Test
    void messagesSkippedForWantOfPermitsGoAfterFlowInKeyOrder()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 1);
        final long b = driver.session(2).attach("t", "s", null, 100);
        final List<String> aKeys = keysOf(a, 2);
        final String x = aKeys.get(0);
        final String y = aKeys.get(1);
        final String bKey = keysOf(b, 1).get(0);

        final MessageId x1 = publish(x);
        final List<MessageId> toA = ids(driver.recorder().drain());
        assertEquals(List.of(x1), toA, "a's one permit");
        final MessageId x2 = publish(x);
        final MessageId y1 = publish(y);
        final MessageId x3 = publish(x);
        final MessageId b1 = publish(bKey);   // b has permits: the pass walks over a's keys to reach it
        assertEquals(List.of(b1), ids(driver.recorder().drain()));
        assertSkippedBeforeCursor(x2, y1, x3);
        final MessageId y2 = publish(y);
        assertTrue(driver.recorder().drain().deliveries().isEmpty());

        assertEquals(List.of(x2, y1), ids(admin.flow(a, 3)), "two more permits: the two oldest of a's backlog");
        assertEquals(List.of(x3), ids(admin.ack(a, x1)), "an ack: the next one");
        assertEquals(List.of(y2), ids(admin.ack(a, x2)));
    }

    @Test
    void messageSkippedAtMaxInFlightPerKeyGoesAfterTheAck()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 10, SubscriptionOptions.DEFAULTS.maxInFlightPerKey(1));
        final MessageId k1 = publish("k");
        final MessageId k2 = publish("k");
        final MessageId j1 = publish("j");
        assertEquals(List.of(k1, j1), ids(driver.recorder().drain()));
        final MessageId k3 = publish("k");
        assertSkippedBeforeCursor(k2, k3);
        final MessageId j2 = publish("j");
        assertTrue(driver.recorder().drain().deliveries().isEmpty(), "j1 is in flight: j2 waits too");

        assertEquals(List.of(k2, j2), ids(admin.ack(a, k1, j1)));
        assertEquals(List.of(k3), ids(admin.ack(a, k2)));
    }

    @Test
    void messageOfANackedKeyGoesAfterTheNackDelayBehindTheNackedOne()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 10, SubscriptionOptions.DEFAULTS.nackDelayMs(100L));
        final MessageId k1 = publish("k");
        admin.nackOk(a, k1);
        final MessageId k2 = publish("k");
        final MessageId j1 = publish("j");
        assertEquals(List.of(k1, j1), ids(driver.recorder().drain()));
        assertSkippedBeforeCursor(k2);

        assertTrue(driver.advance(99).deliveries().isEmpty());
        final List<Event.Delivery> after = driver.advance(1).deliveries();
        assertEquals(List.of(k1, k2), after.stream().map(Event.Delivery::id).collect(Collectors.toList()));
        assertEquals(2, after.get(0).deliveryCount());
    }

    @Test
    void ackTimeoutRedeliversBeforeTheSkippedMessagesOfItsKey()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 10,
            SubscriptionOptions.DEFAULTS.maxInFlightPerKey(1).ackTimeoutMs(100L));
        final MessageId k1 = publish("k");
        final MessageId k2 = publish("k");
        final MessageId j1 = publish("j");
        assertEquals(List.of(k1, j1), ids(driver.recorder().drain()));
        assertSkippedBeforeCursor(k2);

        final List<Event.Delivery> redelivered = driver.advance(100).deliveries();
        assertEquals(List.of(k1, j1), redelivered.stream().map(Event.Delivery::id).collect(Collectors.toList()),
            "timed out: sent again at once, still one per key in flight");
        assertEquals(2, redelivered.get(0).deliveryCount());
        assertEquals(List.of(k2), ids(admin.ack(a, k1)));
    }

    @Test
    void consumerLeavingGivesItsKeysSkippedBacklogToTheOtherInOrder()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 100);
        final long b = driver.session(2).attach("t", "s", null, 1);
        final List<String> bKeys = keysOf(b, 2);
        final String aKey = keysOf(a, 1).get(0);

        final MessageId p1 = publish(bKeys.get(0));
        final MessageId q1 = publish(bKeys.get(1));
        final MessageId p2 = publish(bKeys.get(0));
        final MessageId a1 = publish(aKey);
        assertEquals(List.of(p1, a1), ids(driver.recorder().drain()));
        assertSkippedBeforeCursor(q1, p2);

        final Events closed = driver.session(2).closeConsumer(b);
        final List<Event.Delivery> toA = closed.deliveries();
        assertEquals(List.of(p1, q1, p2), toA.stream().map(Event.Delivery::id).collect(Collectors.toList()),
            "b's outstanding message first (publish order), then its skipped backlog");
        assertTrue(toA.stream().allMatch(d -> d.consumerId() == a));
    }

    @Test
    void keyDrainingFromItsOldOwnerMovesToTheNewConsumerAfterTheAck()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 100, SubscriptionOptions.DEFAULTS.maxInFlightPerKey(1));
        // a key that will belong to the consumer attached next (consumer ids are assigned in order)
        final long bId = a + 1;
        String moving = null;
        for (int i = 0; moving == null; i++)
        {
            final HashRing ring = new HashRing();
            final Consumer ca = subscription().consumers.get(0);
            final Consumer cb = new Consumer(bId, 2, "b", subscription(), 1, 1);
            ring.rebuild(List.of(ca, cb));
            final byte[] bytes = ("m" + i).getBytes(StandardCharsets.UTF_8);
            if (ring.owner(Murmur3.keyHash(bytes, 0, bytes.length)) == cb)
            {
                moving = "m" + i;
            }
        }
        final MessageId m1 = publish(moving);
        final MessageId m2 = publish(moving);
        final MessageId o1 = publish("other-" + moving);
        final List<MessageId> first = ids(driver.recorder().drain());
        assertTrue(first.contains(m1) && !first.contains(m2));

        final long b = driver.session(2).attach("t", "s", null, 100);
        assertEquals(bId, b);
        assertTrue(driver.recorder().drain().deliveries().stream().noneMatch(d -> d.id().equals(m2)),
            "m2 waits while m1 is outstanding on a");
        final MessageId m3 = publish(moving);
        assertTrue(driver.recorder().drain().deliveries().isEmpty());
        assertTrue(subscription().scanSkipped >= 2, "the pass after b attached walked over the draining key");

        final List<Event.Delivery> moved = admin.ack(a, m1).deliveries();
        assertEquals(List.of(m2), moved.stream().map(Event.Delivery::id).collect(Collectors.toList()));
        assertEquals(b, moved.get(0).consumerId(), "drained: the key is b's now");
        assertEquals(List.of(m3), ids(driver.session(2).ack(b, m2)));
        assertNotNull(o1);
    }

    @Test
    void ackOfSkippedMessagesTakesThemOutOfThePrefix()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 10, SubscriptionOptions.DEFAULTS.maxInFlightPerKey(1));
        final MessageId k1 = publish("k");
        final MessageId k2 = publish("k");
        final MessageId j1 = publish("j");
        final MessageId k3 = publish("k");
        assertEquals(List.of(k1, j1), ids(driver.recorder().drain()));
        assertSkippedBeforeCursor(k2, k3);

        assertEquals(1, admin.ackOk(a, k3).done(), "a pending message may be acked");
        assertSkippedBeforeCursor(k2);
        final MessageId k4 = publish("k");
        assertSkippedBeforeCursor(k2, k4);
        assertEquals(1, admin.ackOk(a, k2).done());
        assertSkippedBeforeCursor(k4);
        assertEquals(1, admin.ackOk(a, k4).done());
        assertNull(subscription().scanAfter, "the prefix is empty: the cursor is at the head");
        assertSkippedBeforeCursor();

        final MessageId k5 = publish("k");
        assertSkippedBeforeCursor(k5);
        assertEquals(List.of(k5), ids(admin.ack(a, k1)), "k2 to k4 are gone: k5 is next");
    }

    @Test
    void redeliveryIntoAFullPrefixKeepsItWithinTheLookahead()
    {
        driver = EngineDriver.create(listener ->
        {
            engine = new Engine(new EngineConfig().keySharedLookahead(3), listener);
            return engine;
        });
        driver.at(T0);
        driver.tick();
        admin = driver.session(1);
        topicId = admin.newTopic("t", 1);
        final long a = admin.attach("t", "s", KEY_SHARED, 10,
            SubscriptionOptions.DEFAULTS.maxInFlightPerKey(1).nackDelayMs(0L));
        final MessageId k1 = publish("k");
        final MessageId j1 = publish("j");
        final MessageId k2 = publish("k");
        final MessageId j2 = publish("j");
        final MessageId k3 = publish("k");
        final MessageId i1 = publish("i");
        assertEquals(List.of(k1, j1), ids(driver.recorder().drain()), "i1 is beyond the lookahead of 3");
        assertSkippedBeforeCursor(k2, j2, k3);

        // nacked with no delay: j1 goes back into the pending list ahead of the prefix, which is full: k3 drops out
        // of it; j1 goes out again at once, and the pass stops at the lookahead
        assertEquals(List.of(j1), ids(admin.nack(a, j1)));
        assertSkippedBeforeCursor(k2, j2);
        assertEquals(List.of(k2), ids(admin.ack(a, k1)), "k3 is examined again: k2 is in flight now");
        assertSkippedBeforeCursor(j2, k3);
        assertEquals(List.of(j2, i1), ids(admin.ack(a, j1)), "within reach again: i1");
    }

    // ------------------------------------------------------------------------------------------ differential

    @Test
    void cursorDispatchMatchesTheFullRescanOnRandomStreams()
    {
        final int seeds = Integer.getInteger("magnetar.keyshared.seeds", 24);
        final int steps = Integer.getInteger("magnetar.keyshared.steps", 4000);
        long examinedCursor = 0;
        long examinedRescan = 0;
        long withCursor = 0;
        for (long seed = 1; seed <= seeds; seed++)
        {
            final DifferentialRun run = new DifferentialRun(seed);
            try
            {
                run.run(steps);
            }
            catch (final AssertionError e)
            {
                final AssertionError wrapped = new AssertionError("seed " + seed + " step " + run.step + " (" +
                    run.lastAction + "): " + e.getMessage(), e);
                throw wrapped;
            }
            System.out.println("seed " + seed + ": delivered " + run.delivered.get(0).size() + " + " +
                run.delivered.get(1).size() + ", published " + run.published.size() + ", examined " +
                run.tee.cursor.keySharedExamined + " / " + run.tee.rescan.keySharedExamined);
            withCursor += run.tee.withCursor;
            examinedCursor += run.tee.cursor.keySharedExamined;
            examinedRescan += run.tee.rescan.keySharedExamined;
        }
        System.out.printf("key_shared differential: %d seeds x %d steps, %d commands began with a cursor past the " +
            "head; deliveries examined: cursor %d, full rescan %d%n", seeds, steps, withCursor, examinedCursor,
            examinedRescan);
        assertTrue(withCursor > seeds * (long)steps / 10, "the streams exercise the cursor: " + withCursor);
    }

    /**
     * The cursor's derived state is what it claims: every consumer's count of pending deliveries of its keys, and
     * every delivery before the cursor ineligible now (with the per-consumer counts of them).
     */
    static void checkScanState(final Engine engine)
    {
        for (final Subscription s : engine.snapshotSubscriptions())
        {
            if (s.type != SubscriptionType.KEY_SHARED)
            {
                continue;
            }
            final IdentityHashMap<Consumer, Integer> owned = new IdentityHashMap<>();
            final IdentityHashMap<Consumer, Integer> skipped = new IdentityHashMap<>();
            if (!s.consumers.isEmpty())
            {
                for (Delivery d = s.pending.head; d != null; d = d.next)
                {
                    owned.merge(s.ring.owner(d.message().keyHash), 1, Integer::sum);
                }
            }
            assertTrue(!s.scanStale || s.consumers.isEmpty() || s.pending.head == null,
                "a stale prefix is re-examined by the pass at the end of the command");
            assertTrue(s.scanSkipped <= engine.config().keySharedLookahead, "the prefix is within the lookahead");
            int before = 0;
            if (s.scanAfter != null)
            {
                assertTrue(s.scanAfter.inList() && s.scanAfter.state() == Delivery.PENDING && s.scanAfter.subscription() == s, "cursor on a pending delivery");
                for (Delivery d = s.pending.head; ; d = d.next)
                {
                    assertNotNull(d, "the cursor is in the pending list");
                    before++;
                    final Consumer owner = s.ring.owner(d.message().keyHash);
                    assertTrue(s.scanStale || !Engine.keySharedEligible(s, d, owner, s.maxInFlightPerKey),
                        "delivery of sequence " + d.message().sequence + " before the cursor is eligible");
                    skipped.merge(owner, 1, Integer::sum);
                    if (d == s.scanAfter)
                    {
                        break;
                    }
                }
            }
            assertEquals(before, s.scanSkipped, "scanSkipped of '" + s.name + "'");
            for (final Consumer c : s.consumers)
            {
                assertEquals(owned.getOrDefault(c, 0), c.keySharedPending, "keySharedPending of consumer " + c.id);
                assertEquals(skipped.getOrDefault(c, 0), c.keySharedSkipped, "keySharedSkipped of consumer " + c.id);
            }
        }
    }

    /** Both engines get every command; their events must be the same bytes. */
    static final class Tee implements CommandHandler
    {
        final Engine cursor;
        final Engine rescan;
        private final ArrayList<byte[]> cursorEvents = new ArrayList<>();
        private final ArrayList<byte[]> rescanEvents = new ArrayList<>();
        /** commands that began with the cursor past the head of some subscription's pending list. */
        long withCursor;

        Tee(final EngineConfig config, final EventListener listener)
        {
            cursor = new Engine(config, (sessionId, buffer, offset, length) ->
            {
                cursorEvents.add(copy(sessionId, buffer, offset, length));
                listener.onEvent(sessionId, buffer, offset, length);
            });
            rescan = new Engine(config, (sessionId, buffer, offset, length) ->
                rescanEvents.add(copy(sessionId, buffer, offset, length)));
            rescan.keySharedFullRescan = true;
        }

        private static byte[] copy(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
        {
            final byte[] bytes = new byte[8 + length];
            for (int i = 0; i < 8; i++)
            {
                bytes[i] = (byte)(sessionId >>> (8 * i));
            }
            buffer.getBytes(offset, bytes, 8, length);
            return bytes;
        }

        @Override
        public void onCommand(final long sessionId, final long timestampMs, final DirectBuffer buffer, final int offset,
            final int length)
        {
            cursorEvents.clear();
            rescanEvents.clear();
            for (final Subscription s : cursor.snapshotSubscriptions())
            {
                if (s.scanSkipped > 0)
                {
                    withCursor++;
                    break;
                }
            }
            cursor.onCommand(sessionId, timestampMs, buffer, offset, length);
            rescan.onCommand(sessionId, timestampMs, buffer, offset, length);
            assertEquals(rescanEvents.size(), cursorEvents.size(), "number of events");
            for (int i = 0; i < cursorEvents.size(); i++)
            {
                assertArrayEquals(rescanEvents.get(i), cursorEvents.get(i), "event " + i);
            }
            assertEquals(rescan.nextDeadlineMs(), cursor.nextDeadlineMs(), "next deadline");
            assertTrue(cursor.keySharedExamined <= rescan.keySharedExamined, "the cursor never examines more");
            checkScanState(cursor);
        }

        @Override
        public long nextDeadlineMs()
        {
            return cursor.nextDeadlineMs();
        }
    }

    /**
     * Random key_shared traffic on one topic with two key_shared subscriptions (different options), up to four
     * consumers on three sessions, small windows and a small lookahead, so keys are skipped, drain, wait out nack
     * delays and hit maxInFlightPerKey all the time.
     */
    static final class DifferentialRun
    {
        private static final int[] LOOKAHEADS = {1, 2, 3, 5, 8, 13, 40, 10_000};
        private static final String[] SUBS = {"ks0", "ks1"};

        final SplittableRandom rnd;
        final Tee tee;
        final EngineDriver driver;
        final int keys;
        final int topicId;
        final List<long[]> consumers = new ArrayList<>();   // {consumerId, sessionId, subscription index}
        final List<MessageId> published = new ArrayList<>();
        final Map<Integer, List<MessageId>> delivered = new HashMap<>();   // by subscription index
        int step;
        String lastAction = "setup";

        DifferentialRun(final long seed)
        {
            rnd = new SplittableRandom(seed);
            final EngineConfig config = new EngineConfig()
                .keySharedLookahead(LOOKAHEADS[(int)(seed % LOOKAHEADS.length)])
                .maxDeliveriesPerEvent(seed % 2 == 0 ? 3 : 64)
                .maxPermits(1000)
                .conclude();
            keys = new int[] {2, 5, 30, 300}[(int)(seed % 4)];
            final Tee[] holder = new Tee[1];
            driver = EngineDriver.create(listener ->
            {
                holder[0] = new Tee(config, listener);
                return holder[0];
            });
            tee = holder[0];
            driver.retainEvents(false);
            driver.at(T0);
            driver.tick();
            final EngineDriver.Session admin = driver.session(1);
            topicId = admin.newTopic("t", 1 + (int)(seed % 3));
            admin.newSubscription("t", SUBS[0], KEY_SHARED, SubscriptionOptions.DEFAULTS.maxInFlightPerKey(2)
                .nackDelayMs(seed % 3 == 0 ? 0L : 50L).ackTimeoutMs(400L).maxDeliveries(seed % 5 == 0 ? 3 : 0));
            admin.newSubscription("t", SUBS[1], KEY_SHARED, SubscriptionOptions.DEFAULTS.nackDelayMs(30L)
                .ackTimeoutMs(seed % 2 == 0 ? 0L : 250L));
            delivered.put(0, new ArrayList<>());
            delivered.put(1, new ArrayList<>());
        }

        void run(final int steps)
        {
            for (step = 0; step < steps; step++)
            {
                final int op = rnd.nextInt(100);
                if (consumers.isEmpty() && op % 4 == 0)
                {
                    attach();
                }
                else if (op < 40)
                {
                    publish();
                }
                else if (op < 58)
                {
                    ackOrNack(true);
                }
                else if (op < 64)
                {
                    ackOrNack(false);
                }
                else if (op < 72)
                {
                    final long[] c = pick();
                    final int permits = 1 + rnd.nextInt(6);
                    lastAction = "flow " + c[0] + " " + permits;
                    track(driver.session(c[1]).flow(c[0], permits));
                }
                else if (op < 77)
                {
                    attach();
                }
                else if (op < 80)
                {
                    final long[] c = pick();
                    lastAction = "close " + c[0];
                    consumers.remove(c);
                    track(driver.session(c[1]).closeConsumer(c[0]));
                }
                else if (op < 81)
                {
                    final long session = 2 + rnd.nextInt(3);
                    lastAction = "session closed " + session;
                    consumers.removeIf(c -> c[1] == session);
                    track(driver.sessionClosed(session));
                }
                else if (op < 82 && rnd.nextInt(4) == 0)
                {
                    lastAction = "node started";
                    consumers.clear();
                    track(driver.nodeStarted(2 + step));
                }
                else
                {
                    final long ms = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 500 : 40);
                    lastAction = "advance " + ms;
                    track(driver.advance(ms));
                }
                if (step % 250 == 0)
                {
                    assertEquals(tee.rescan.stateHash(), tee.cursor.stateHash(), "state hash");
                }
            }
            assertEquals(tee.rescan.stateHash(), tee.cursor.stateHash(), "state hash at the end");
        }

        private long[] pick()
        {
            if (consumers.isEmpty())
            {
                attach();
            }
            return consumers.get(rnd.nextInt(consumers.size()));
        }

        private void attach()
        {
            if (consumers.size() >= 4)
            {
                return;
            }
            final long session = 2 + rnd.nextInt(3);
            final int sub = rnd.nextInt(2);
            final int permits = 1 + rnd.nextInt(rnd.nextInt(4) == 0 ? 40 : 5);
            lastAction = "attach " + SUBS[sub] + " session " + session + " permits " + permits;
            final long id = driver.session(session).attach("t", SUBS[sub], null, permits);
            consumers.add(new long[] {id, session, sub});
        }

        private void publish()
        {
            final int n = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(6) : 0);
            final List<Msg> batch = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                batch.add(Msg.of("key-" + rnd.nextInt(keys)));
            }
            lastAction = "publish " + batch.stream().map(Msg::key).collect(Collectors.toList());
            final Events events = driver.session(1).publish(topicId, batch);
            track(events);
            final Event.PublishReceipt receipt = events.first(Event.PublishReceipt.class);
            if (receipt != null)
            {
                published.addAll(receipt.ids());
            }
        }

        private void ackOrNack(final boolean ack)
        {
            final long[] c = pick();
            final List<MessageId> sent = delivered.get((int)c[2]);
            final int n = 1 + rnd.nextInt(3);
            final List<MessageId> ids = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                // mostly something delivered, sometimes any message (pending ones included), rarely an old one
                if (!sent.isEmpty() && rnd.nextInt(4) != 0)
                {
                    ids.add(sent.get(sent.size() - 1 - rnd.nextInt(Math.min(sent.size(), 12))));
                }
                else if (!published.isEmpty())
                {
                    ids.add(published.get(published.size() - 1 - rnd.nextInt(Math.min(published.size(), 60))));
                }
            }
            if (ids.isEmpty())
            {
                return;
            }
            lastAction = (ack ? "ack " : "nack ") + c[0] + " " + ids;
            final EngineDriver.Session session = driver.session(c[1]);
            track(ack ? session.ack(c[0], ids) : session.nack(c[0], ids));
        }

        private void track(final Events events)
        {
            for (final Event.Delivery d : events.deliveries())
            {
                for (final long[] c : consumers)
                {
                    if (c[0] == d.consumerId())
                    {
                        delivered.get((int)c[2]).add(d.id());
                    }
                }
            }
        }
    }

    @Test
    void checkScanStateNoticesAMissedResetAndWrongCounts()
    {
        start();
        final long a = admin.attach("t", "s", KEY_SHARED, 1);
        final long b = driver.session(2).attach("t", "s", null, 100);
        final String x = keysOf(a, 1).get(0);
        publish(x);
        final MessageId x2 = publish(x);
        publish(keysOf(b, 1).get(0));
        assertSkippedBeforeCursor(x2);

        final Consumer consumerA = subscription().consumers.get(0);
        consumerA.keySharedPending++;
        assertThrowsMentioning("keySharedPending", () -> checkScanState(engine));
        consumerA.keySharedPending--;

        consumerA.permits = 2;   // more permits behind the engine's back: no cursor reset
        assertThrowsMentioning("before the cursor is eligible", () -> checkScanState(engine));
    }

    private static void assertThrowsMentioning(final String fragment, final Runnable check)
    {
        try
        {
            check.run();
        }
        catch (final AssertionError expected)
        {
            assertTrue(expected.getMessage().contains(fragment), expected.getMessage());
            return;
        }
        fail("not noticed: " + fragment);
    }
}
