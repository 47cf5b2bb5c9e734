package io.magnetar.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import io.magnetar.codecs.snapshot.DeliveryListKind;
import io.magnetar.codecs.snapshot.DeliveryListRecordDecoder;
import io.magnetar.codecs.snapshot.DeliveryListRecordEncoder;
import io.magnetar.codecs.snapshot.MessageHeaderDecoder;
import io.magnetar.codecs.snapshot.MessageHeaderEncoder;
import io.magnetar.codecs.snapshot.SnapshotEndDecoder;
import io.magnetar.codecs.snapshot.SnapshotEndEncoder;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.magnetar.codecs.SubscriptionType.KEY_SHARED;
import static io.magnetar.codecs.SubscriptionType.MULTICAST;
import static io.magnetar.codecs.SubscriptionType.SHARED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A detach finds the deliveries bound to the consumer by scanning the subscription's lists (a consumer keeps only a
 * count): one session holds outstanding deliveries of a shared, a key_shared and a multicast subscription (the latter
 * also a copy delayed after a nack and copies pending for it) and of a shared subscription whose deliveries are on
 * their last allowed send, then closes. Exactly the right deliveries go to exactly the right consumers, dead letters in
 * the order the consumer was sent them (not publish order), and every multicast copy of the consumer is gone. The same
 * outcome after a snapshot and restore, also of a snapshot whose owned lists are in another order (old snapshots have
 * the order of binding); owned lists that repeat or miss a delivery are refused.
 */
class ConsumerDetachTest
{
    private static final long T0 = 1_732_780_800_000L;
    private static final long NACK_DELAY = 1_000;
    private static final SubscriptionOptions OPTIONS = SubscriptionOptions.DEFAULTS.ackTimeoutMs(0L).nackDelayMs(NACK_DELAY);

    /** The state before the detach, and who was sent what. */
    private static final class Scenario
    {
        Engine engine;
        EngineDriver driver;
        int topicId;
        List<MessageId> ids;
        long a;
        long b;
        long ka;
        long kb;
        long ma;
        long mb;
        long da;
        long r;
        /** a's outstanding deliveries (one of its three was acked). */
        final List<MessageId> onA = new ArrayList<>();
        final List<MessageId> onKa = new ArrayList<>();
    }

    private static Scenario prepare()
    {
        final Scenario s = new Scenario();
        s.driver = EngineDriver.create((listener) -> s.engine = new Engine(new EngineConfig().conclude(), listener));
        final EngineDriver driver = s.driver;
        driver.at(T0);
        driver.tick();
        final EngineDriver.Session admin = driver.session(1);
        final EngineDriver.Session leaving = driver.session(2);
        final EngineDriver.Session staying = driver.session(3);
        s.topicId = admin.newTopic("t", 1);
        admin.newSubscription("t", "s", SHARED, OPTIONS);
        admin.newSubscription("t", "k", KEY_SHARED, OPTIONS);
        admin.newSubscription("t", "m", MULTICAST, OPTIONS);
        admin.newTopic("t.d.dlq", 1);
        admin.newSubscription("t.d.dlq", "r", SHARED, OPTIONS);
        s.r = driver.session(4).attach("t.d.dlq", "r", null, 100);

        s.a = leaving.attach("t", "s", null, 3);
        s.b = staying.attach("t", "s", null, 10);
        s.ka = leaving.attach("t", "k", null, 100);
        s.kb = staying.attach("t", "k", null, 100);
        s.ma = leaving.attach("t", "m", null, 2);
        s.mb = staying.attach("t", "m", null, 100);
        driver.recorder().drain();

        final List<Msg> messages = new ArrayList<>();
        for (int i = 0; i < 6; i++)
        {
            messages.add(Msg.of("key-" + i));
        }
        s.ids = new ArrayList<>(admin.publishIds(s.topicId, messages.subList(0, 3)));
        // d sees only the last three: nothing waits behind da's window to fill the permits its nacks free
        admin.newSubscription("t", "d", SHARED, OPTIONS.maxDeliveries(2));
        s.da = leaving.attach("t", "d", null, 3);
        s.ids.addAll(admin.publishIds(s.topicId, messages.subList(3, 6)));
        final Events sent = driver.recorder().drain();
        final List<MessageId> toA = ids(sent.deliveries(s.a));
        assertEquals(3, toA.size(), "a fills its window");
        assertEquals(3, sent.deliveries(s.b).size());
        s.onKa.addAll(ids(sent.deliveries(s.ka)));
        assertTrue(!s.onKa.isEmpty() && s.onKa.size() < 6, "both key_shared consumers hold keys: " + s.onKa);
        assertEquals(s.ids.subList(0, 2), ids(sent.deliveries(s.ma)), "ma's window is two");
        assertEquals(s.ids, ids(sent.deliveries(s.mb)));
        assertEquals(s.ids.subList(3, 6), ids(sent.deliveries(s.da)));

        leaving.ackOk(s.a, toA.get(1));
        s.onA.add(toA.get(0));
        s.onA.add(toA.get(2));

        // da is sent 4, 5, 6; nacks 5, then 4: they come back to it in that order, on their last allowed send, so
        // its outstanding deliveries are 6, 5, 4 in the order it was sent them
        leaving.nackOk(s.da, s.ids.get(4));
        driver.advance(1);
        leaving.nackOk(s.da, s.ids.get(3));
        final Events back = driver.advance(NACK_DELAY);
        assertEquals(List.of(s.ids.get(4), s.ids.get(3)), ids(back.deliveries(s.da)));
        assertTrue(back.deliveries(s.da).stream().allMatch((d) -> d.deliveryCount() == 2));

        // ma: copy 1 delayed after its nack, 2 and 3 outstanding, 4 to 6 pending for it
        final Events afterNack = leaving.nack(s.ma, s.ids.get(0));
        assertEquals(List.of(s.ids.get(2)), ids(afterNack.deliveries(s.ma)));
        driver.recorder().drain();
        return s;
    }

    /**
     * The detach and what follows, on the scenario's engine or one restored from a snapshot of it (driven by
     * {@code driver}). Returns every event from the detach on, with correlation ids and frame numbers left out (a
     * fresh driver numbers them from the start).
     */
    private static List<String> detachAndDrain(final Scenario s, final EngineDriver driver, final Engine engine)
    {
        final List<String> outcome = new ArrayList<>();
        final Events detached = driver.sessionClosed(2);
        outcome.addAll(normalized(detached));
        final Events later = driver.advance(10 * NACK_DELAY);
        outcome.addAll(normalized(later));
        final long db = driver.session(3).attach("t", "d", null, 10);
        final Events attached = driver.recorder().drain();
        outcome.addAll(normalized(attached));

        final EngineDriver.Session staying = driver.session(3);
        for (final long consumer : new long[] {s.b, s.kb, s.mb, db})
        {
            outcome.addAll(normalized(staying.ack(consumer, s.ids)));
        }
        outcome.addAll(normalized(driver.session(4).ack(s.r, ids(detached.deliveries(s.r)))));
        outcome.add("live messages " + engine.liveMessages());
        outcome.add("state hash " + engine.stateHash());
        return outcome;
    }

    @Test
    void aDetachRedeliversExactlyTheConsumersOutstandingDeliveriesAndDropsAllItsMulticastCopies()
    {
        final Scenario s = prepare();
        final EngineDriver driver = s.driver;
        final Events detached = driver.sessionClosed(2);

        assertEquals(s.onA, ids(detached.deliveries(s.b)), "a's unacked deliveries go to b, in publish order");
        assertEquals(s.onKa, ids(detached.deliveries(s.kb)), "ka's deliveries go to kb");
        assertTrue(detached.deliveries(s.b).stream().allMatch((d) -> d.deliveryCount() == 2));
        assertTrue(detached.deliveries(s.kb).stream().allMatch((d) -> d.deliveryCount() == 2));
        assertEquals(List.of("0:" + s.ids.get(4).ledger() + ":" + s.ids.get(4).entry(),
                "0:" + s.ids.get(3).ledger() + ":" + s.ids.get(3).entry()),
            detached.deliveries(s.r).stream().map((d) -> d.attributes().get("magnetar.original-id")).toList(),
            "dead letters in the order da was sent them, not in publish order");
        final int expected = s.onA.size() + s.onKa.size() + 2;
        assertEquals(expected, detached.deliveries().size(), "nothing else is sent (mb, which holds all, gets nothing)");

        // ma's delayed copy does not come back, to anyone
        assertEquals(List.of(), driver.advance(10 * NACK_DELAY).deliveries());
        // da's first delivery, on its first send, went back to d's pending list
        final long db = driver.session(3).attach("t", "d", null, 10);
        final List<Event.Delivery> toDb = driver.recorder().drain().deliveries(db);
        assertEquals(List.of(s.ids.get(5)), ids(toDb));
        assertEquals(2, toDb.get(0).deliveryCount());

        // once the staying consumers acked everything, nothing is live: none of ma's copies was left behind
        final EngineDriver.Session staying = driver.session(3);
        for (final long consumer : new long[] {s.b, s.kb, s.mb, db})
        {
            staying.ackOk(consumer, s.ids);
        }
        assertEquals(2, s.engine.liveMessages(), "the two dead letters");
        driver.session(4).ackOk(s.r, ids(detached.deliveries(s.r)));
        assertEquals(0, s.engine.liveMessages());
    }

    @Test
    void aRestoredEngineDetachesTheSameWay()
    {
        final List<String> direct = detachAndDrain(prepare(), null);
        final List<String> restored = detachAndDrain(prepare(), UnaryOperator.identity());
        assertEquals(direct, restored);
    }

    /**
     * Snapshots of before had each consumer's owned list in the order of binding; this one writes them in the order of
     * the state lists. The loader takes any order.
     */
    @Test
    void aSnapshotWithOwnedListsInAnotherOrderRestoresTheSameEngine()
    {
        final List<String> direct = detachAndDrain(prepare(), null);
        final List<String> reversed = detachAndDrain(prepare(), (records) -> rewriteOwned(records, (ordinals) ->
        {
            final List<Integer> copy = new ArrayList<>(ordinals);
            Collections.reverse(copy);
            return copy;
        }));
        assertEquals(direct, reversed);
    }

    @Test
    void ownedListsThatRepeatOrMissADeliveryAreRefused()
    {
        final Scenario s = prepare();
        final List<byte[]> records = SnapshotRecords.take(s.engine);
        assertTrue(ownedLists(records).stream().anyMatch((l) -> l.size() >= 2));

        final List<byte[]> repeated = rewriteOwned(records, (ordinals) ->
        {
            final List<Integer> copy = new ArrayList<>(ordinals);
            copy.set(1, copy.get(0));
            return copy;
        });
        final Engine fresh = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final long freshHash = fresh.stateHash();
        SnapshotLoadException ex = assertThrows(SnapshotLoadException.class, () -> fresh.loadSnapshot((sink) -> SnapshotRecords.replay(repeated, sink)));
        assertTrue(ex.getMessage().contains("owns a delivery twice"), ex.getMessage());
        assertEquals(freshHash, fresh.stateHash());

        final List<byte[]> missing = rewriteOwned(records, (ordinals) -> ordinals.subList(1, ordinals.size()));
        ex = assertThrows(SnapshotLoadException.class, () -> fresh.loadSnapshot((sink) -> SnapshotRecords.replay(missing, sink)));
        assertTrue(ex.getMessage().contains("bound to consumers"), ex.getMessage());
        assertEquals(freshHash, fresh.stateHash());

        fresh.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink));
        assertEquals(s.engine.stateHash(), fresh.stateHash());
    }

    /**
     * The snapshot's owned lists hold exactly the deliveries bound to each consumer: every outstanding one of a, of
     * ka and of da, and for ma its delayed copy, its two outstanding ones and its three pending ones.
     */
    @Test
    void theOwnedListsAreDerivedFromTheStateLists()
    {
        final Scenario s = prepare();
        final List<List<Integer>> owned = ownedLists(SnapshotRecords.take(s.engine));
        final List<Integer> sizes = owned.stream().map(List::size).sorted().toList();
        final List<Integer> expected = new ArrayList<>(List.of(s.onA.size(), 3, s.onKa.size(), 6 - s.onKa.size(),
            1 + 2 + 3, 6, 3));   // a, b, ka, kb, ma, mb, da
        Collections.sort(expected);
        assertEquals(expected, sizes);
        for (final Consumer c : s.engine.snapshotConsumers())
        {
            assertEquals(c.subscription.type == MULTICAST ? c.outstanding + c.multicastPending.size +
                (c.id == s.ma ? 1 : 0) : c.outstanding, c.ownedCount, "consumer " + c.id);
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * @param transform null: detach on the scenario's own engine; else on a fresh one loaded from a snapshot of it,
     * passed through {@code transform} first.
     */
    private static List<String> detachAndDrain(final Scenario s, final UnaryOperator<List<byte[]>> transform)
    {
        if (transform == null)
        {
            return detachAndDrain(s, s.driver, s.engine);
        }
        final List<byte[]> records = transform.apply(SnapshotRecords.take(s.engine));
        final Engine[] restored = new Engine[1];
        final EngineDriver driver = EngineDriver.create((listener) ->
        {
            restored[0] = new Engine(new EngineConfig().conclude(), listener);
            restored[0].loadSnapshot((sink) -> SnapshotRecords.replay(records, sink));
            return restored[0];
        });
        assertEquals(s.engine.stateHash(), restored[0].stateHash());
        driver.at(s.driver.now());
        return detachAndDrain(s, driver, restored[0]);
    }

    private static List<String> normalized(final Events events)
    {
        return events.all().stream()
            .map((e) -> e.toString().replaceAll("correlationId=\\d+, ", "").replaceAll(", frame=\\d+", ""))
            .collect(Collectors.toList());
    }

    private static List<MessageId> ids(final List<Event.Delivery> deliveries)
    {
        return deliveries.stream().map(Event.Delivery::id).toList();
    }

    private static DeliveryListRecordDecoder ownedList(final byte[] record)
    {
        final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(new UnsafeBuffer(record), 0);
        if (header.templateId() != DeliveryListRecordDecoder.TEMPLATE_ID)
        {
            return null;
        }
        final DeliveryListRecordDecoder list = new DeliveryListRecordDecoder()
            .wrapAndApplyHeader(new UnsafeBuffer(record), 0, new MessageHeaderDecoder());
        return list.kind() == DeliveryListKind.CONSUMER_OWNED ? list : null;
    }

    private static List<List<Integer>> ownedLists(final List<byte[]> records)
    {
        final List<List<Integer>> lists = new ArrayList<>();
        for (final byte[] record : records)
        {
            final DeliveryListRecordDecoder list = ownedList(record);
            if (list != null)
            {
                final List<Integer> ordinals = new ArrayList<>();
                for (final DeliveryListRecordDecoder.DeliveriesDecoder d : list.deliveries())
                {
                    ordinals.add(d.ordinal());
                }
                lists.add(ordinals);
            }
        }
        return lists;
    }

    /**
     * A copy of the snapshot with each owned list of at least two deliveries passed through {@code change}, and the
     * SnapshotEnd's checksum made to fit.
     */
    private static List<byte[]> rewriteOwned(final List<byte[]> records, final UnaryOperator<List<Integer>> change)
    {
        final List<byte[]> result = new ArrayList<>();
        final SnapshotChecksum checksum = new SnapshotChecksum();
        final Set<Long> changed = new TreeSet<>();
        for (final byte[] record : records)
        {
            byte[] out = record;
            final DeliveryListRecordDecoder list = ownedList(record);
            final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(new UnsafeBuffer(record), 0);
            if (list != null)
            {
                final long owner = list.owner();
                final List<Integer> ordinals = new ArrayList<>();
                for (final DeliveryListRecordDecoder.DeliveriesDecoder d : list.deliveries())
                {
                    ordinals.add(d.ordinal());
                }
                if (ordinals.size() >= 2)
                {
                    changed.add(owner);
                    final List<Integer> now = change.apply(ordinals);
                    final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
                    final DeliveryListRecordEncoder encoder = new DeliveryListRecordEncoder()
                        .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
                    final DeliveryListRecordEncoder.DeliveriesEncoder group = encoder.kind(DeliveryListKind.CONSUMER_OWNED)
                        .owner(owner)
                        .deliveriesCount(now.size());
                    for (final int ordinal : now)
                    {
                        group.next().ordinal(ordinal);
                    }
                    out = new byte[MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength()];
                    buffer.getBytes(0, out);
                }
            }
            else if (header.templateId() == SnapshotEndDecoder.TEMPLATE_ID)
            {
                final SnapshotEndDecoder end = new SnapshotEndDecoder()
                    .wrapAndApplyHeader(new UnsafeBuffer(record), 0, new MessageHeaderDecoder());
                out = record.clone();
                new SnapshotEndEncoder()
                    .wrap(new UnsafeBuffer(out), MessageHeaderEncoder.ENCODED_LENGTH)
                    .journalIndex(end.journalIndex())
                    .recordCount(end.recordCount())
                    .checksum(checksum.value());
                result.add(out);
                continue;
            }
            checksum.update(new UnsafeBuffer(out), 0, out.length);
            result.add(out);
        }
        assertTrue(changed.size() >= 2, "owned lists changed: " + changed);
        return result;
    }
}
