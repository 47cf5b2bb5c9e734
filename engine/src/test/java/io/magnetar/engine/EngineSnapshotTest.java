package io.magnetar.engine;

import java.util.ArrayList;
import java.util.List;

import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.SnapshotReason;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.codecs.TakeSnapshotEncoder;
import io.magnetar.codecs.snapshot.MessageRecordDecoder;
import io.magnetar.codecs.snapshot.MessageRecordEncoder;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's side of snapshots: the {@code TakeSnapshot} marker is a no-op (not even the clock moves), and
 * {@link Engine#loadSnapshot} refuses anything but one complete snapshot into a fresh engine, leaving it fresh.
 * (Equality of restored engines on random streams: {@code model.SnapshotEqualityTest}; files:
 * {@code snapshot.SnapshotFilesTest}.)
 */
class EngineSnapshotTest
{
    private final Engine[] engine = new Engine[1];
    private final EngineDriver driver = EngineDriver.create((listener) -> engine[0] =
        new Engine(new EngineConfig().conclude(), listener));

    @Test
    void theTakeSnapshotMarkerChangesNothingNotEvenTheClock()
    {
        busy();
        final long hash = engine[0].stateHash();
        final long now = engine[0].nowMs();
        final long deadline = engine[0].nextDeadlineMs();
        assertTrue(deadline < Long.MAX_VALUE, "an ack timeout is pending");

        final Events events = driver.sendFrame(0, takeSnapshot());
        assertTrue(events.all().isEmpty(), () -> "no events: " + events.all());
        assertEquals(hash, engine[0].stateHash());
        assertEquals(now, engine[0].nowMs());

        driver.at(deadline + 1);
        final Events later = driver.sendFrame(0, takeSnapshot());
        assertTrue(later.all().isEmpty(), "its time stamp fires no timer");
        assertEquals(hash, engine[0].stateHash());
    }

    @Test
    void theMarkerIsInternal()
    {
        final Events events = driver.sendFrame(5, takeSnapshot());
        final Event.CommandError error = (Event.CommandError)events.all().get(0);
        assertEquals(ErrorCode.INVALID_ARGUMENT, error.code());
        assertEquals(TakeSnapshotEncoder.TEMPLATE_ID, error.commandTemplateId());
    }

    @Test
    void aSnapshotLoadsOnlyIntoAFreshEngine()
    {
        busy();
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        final Engine used = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        used.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink));
        assertThrows(IllegalStateException.class, () -> used.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink)));
    }

    @Test
    void incompleteOrDisorderedSnapshotsAreRefusedAndLeaveTheEngineFresh()
    {
        busy();
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        assertTrue(records.size() > 10);

        final List<byte[]> noEnd = new ArrayList<>(records.subList(0, records.size() - 1));
        assertRefused(noEnd, "without SnapshotEnd");

        final List<byte[]> noBegin = new ArrayList<>(records.subList(1, records.size()));
        assertRefused(noBegin, "out of order");

        final List<byte[]> swapped = new ArrayList<>(records);
        final byte[] second = swapped.get(1);
        swapped.set(1, swapped.get(2));
        swapped.set(2, second);
        assertRefused(swapped, "");

        final List<byte[]> missingMiddle = new ArrayList<>(records);
        missingMiddle.remove(records.size() / 2);
        assertRefused(missingMiddle, "");

        final List<byte[]> extra = new ArrayList<>(records);
        extra.add(records.get(1));
        assertRefused(extra, "after SnapshotEnd");

        assertRefused(List.of(), "empty");
    }

    /**
     * A message derives its key offset and payload bytes from its data (they are not kept), so a record whose fields
     * disagree with its data is refused rather than silently corrected.
     */
    @Test
    void aMessageRecordWhoseKeyOffsetOrPayloadBytesDisagreeWithItsDataIsRefused()
    {
        busy();
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        final int at = firstMessageRecord(records);

        final List<byte[]> payload = new ArrayList<>(records);
        payload.set(at, tamperMessage(records.get(at), false));
        assertRefused(payload, "payload bytes");

        final List<byte[]> keyOffset = new ArrayList<>(records);
        keyOffset.set(at, tamperMessage(records.get(at), true));
        assertRefused(keyOffset, "does not end its");
    }

    @Test
    void maxAttributesLeavesRoomForTheDeadLetterAttribute()
    {
        new EngineConfig().maxAttributes(EngineConfig.MAX_ATTRIBUTES).conclude();
        assertThrows(IllegalArgumentException.class,
            () -> new EngineConfig().maxAttributes(EngineConfig.MAX_ATTRIBUTES + 1).conclude());
    }

    private static int firstMessageRecord(final List<byte[]> records)
    {
        final io.magnetar.codecs.snapshot.MessageHeaderDecoder header = new io.magnetar.codecs.snapshot.MessageHeaderDecoder();
        for (int i = 0; i < records.size(); i++)
        {
            if (header.wrap(new UnsafeBuffer(records.get(i)), 0).templateId() == MessageRecordDecoder.TEMPLATE_ID)
            {
                return i;
            }
        }
        throw new AssertionError("no message record");
    }

    /**
     * A delivery's count is packed with its state into an int and counts up to {@link Delivery#MAX_DELIVERY_COUNT}: a
     * snapshot's count outside 0..that is refused, not wrapped or cut (a negative count would have dead-lettered the
     * message at its next redelivery).
     */
    @Test
    void aDeliveryCountOutsideWhatADeliveryHoldsIsRefused()
    {
        busy();
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        final int at = firstMessageRecord(records);
        for (final int count : new int[]{-1, Delivery.MAX_DELIVERY_COUNT + 1})
        {
            final List<byte[]> tampered = new ArrayList<>(records);
            tampered.set(at, withFirstDeliveryCount(records.get(at), count));
            assertRefused(tampered, "sent " + count + " times");
        }
    }

    /** A copy of the message record whose first delivery has the given count. */
    private static byte[] withFirstDeliveryCount(final byte[] record, final int count)
    {
        final byte[] copy = record.clone();
        final UnsafeBuffer buffer = new UnsafeBuffer(copy);
        final MessageRecordDecoder decoder = new MessageRecordDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.magnetar.codecs.snapshot.MessageHeaderDecoder());
        final int at = io.magnetar.codecs.snapshot.MessageHeaderDecoder.ENCODED_LENGTH + decoder.sbeBlockLength() +
            MessageRecordDecoder.DeliveriesDecoder.sbeHeaderSize() +
            MessageRecordDecoder.DeliveriesDecoder.deliveryCountEncodingOffset();
        assertTrue(decoder.deliveries().count() >= 1);
        buffer.putInt(at, count, java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(count, new MessageRecordDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.magnetar.codecs.snapshot.MessageHeaderDecoder())
            .deliveries().next().deliveryCount(), "the count the loader reads");
        return copy;
    }

    /** A copy of the record with its key offset (or its payload bytes) one less. */
    private static byte[] tamperMessage(final byte[] record, final boolean keyOffset)
    {
        final byte[] copy = record.clone();
        final UnsafeBuffer buffer = new UnsafeBuffer(copy);
        final MessageRecordDecoder decoder = new MessageRecordDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.magnetar.codecs.snapshot.MessageHeaderDecoder());
        final MessageRecordEncoder encoder = new MessageRecordEncoder()
            .wrap(buffer, io.magnetar.codecs.snapshot.MessageHeaderEncoder.ENCODED_LENGTH);
        if (keyOffset)
        {
            encoder.keyOffset(decoder.keyOffset() - 1);
        }
        else
        {
            encoder.payloadBytes(decoder.payloadBytes() - 1);
        }
        return copy;
    }

    private void assertRefused(final List<byte[]> records, final String messagePart)
    {
        final Engine fresh = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final long freshHash = fresh.stateHash();
        final SnapshotLoadException ex = assertThrows(SnapshotLoadException.class,
            () -> fresh.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink)));
        assertTrue(ex.getMessage().contains(messagePart), ex.getMessage());
        assertEquals(freshHash, fresh.stateHash());

        // and it is still fresh enough to take the real one
        fresh.loadSnapshot((sink) -> SnapshotRecords.replay(SnapshotRecords.take(engine[0]), sink));
        assertEquals(engine[0].stateHash(), fresh.stateHash());
    }

    /**
     * The taker writes each partition's messages in entry order, so the loader fills every partition's index in
     * ascending order and nothing lands in its overflow - even when a subscription's outstanding window is older than
     * its pending list (written list by list, the pending messages came first and the older outstanding ones went to
     * the overflow at up to 48 B each).
     */
    @Test
    void aRestoredEngineKeepsEveryMessageInItsIndexPages()
    {
        driver.at(1_000_000);
        final EngineDriver.Session admin = driver.session(1);
        final int topic = admin.newTopic("t", 2);
        admin.newSubscription("t", "s", SubscriptionType.SHARED);
        driver.session(2).attach("t", "s", SubscriptionType.SHARED, 1_000);
        final Msg[] batch = new Msg[500];
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < batch.length; i++)
            {
                batch[i] = Msg.of("k" + (round * batch.length + i));
            }
            admin.publishIds(topic, batch);   // the first 1,000 go out at once (the window), the rest wait
        }

        final Engine restored = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        restored.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink));
        assertEquals(engine[0].stateHash(), restored.stateHash());
        assertEquals(3_000, restored.liveMessages());
        int inPages = 0;
        for (final Topic t : restored.snapshotTopics())
        {
            for (int p = 0; p < t.partitionCount; p++)
            {
                assertEquals(0, t.messages[p].overflowSize(), "partition " + p + " has messages in its overflow");
                inPages += t.messages[p].size();
            }
        }
        assertEquals(3_000, inPages);
    }

    /**
     * A message keeps the low 32 bits of its publish time, its ledger object the high ones (one object per 2^32 ms era,
     * {@link Ledger}): messages published on both sides of an era boundary, in one partition, keep their exact times
     * in deliveries, in the state hash and through a snapshot and its restore; and a restored engine publishing into
     * the next era does too.
     */
    @Test
    void publishTimesOnBothSidesOfAnEraBoundaryStayExact()
    {
        final long boundary = 1L << 32;
        final EngineDriver.Session admin = driver.session(1);
        driver.at(boundary - 5);
        final int topic = admin.newTopic("t", 1);
        admin.newSubscription("t", "s", SubscriptionType.SHARED);
        admin.publishIds(topic, Msg.of("a"));
        driver.at(boundary + 7);
        admin.publishIds(topic, Msg.of("b"));
        driver.at(3 * boundary + 11);   // two eras further
        admin.publishIds(topic, Msg.of("c"));

        final Engine restored = new Engine(new EngineConfig().conclude(), EventListener.MUTED);
        final List<byte[]> records = SnapshotRecords.take(engine[0]);
        restored.loadSnapshot((sink) -> SnapshotRecords.replay(records, sink));
        assertEquals(engine[0].stateHash(), restored.stateHash(), "the state hash covers publish times");
        assertEquals(List.of(boundary - 5, boundary + 7, 3 * boundary + 11), publishTimes(SnapshotRecords.take(restored)));

        final Events attached = driver.session(2).subscribe("t", "s", SubscriptionType.SHARED, 10, "c");
        final List<Long> delivered = new ArrayList<>();
        for (final Event.Delivery d : attached.deliveries())
        {
            delivered.add(d.publishTimeMs());
        }
        assertEquals(List.of(boundary - 5, boundary + 7, 3 * boundary + 11), delivered);
    }

    private static List<Long> publishTimes(final List<byte[]> records)
    {
        final List<Long> times = new ArrayList<>();
        final MessageRecordDecoder decoder = new MessageRecordDecoder();
        final io.magnetar.codecs.snapshot.MessageHeaderDecoder header = new io.magnetar.codecs.snapshot.MessageHeaderDecoder();
        for (final byte[] record : records)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(record);
            header.wrap(buffer, 0);
            if (header.templateId() == MessageRecordDecoder.TEMPLATE_ID)
            {
                decoder.wrapAndApplyHeader(buffer, 0, header);
                times.add(decoder.publishTimeMs());
            }
        }
        return times;
    }

    private void busy()
    {
        driver.at(1_000_000);
        final EngineDriver.Session admin = driver.session(1);
        final int topic = admin.newTopic("t", 2);
        admin.newSubscription("t", "s", SubscriptionType.SHARED);
        admin.newSubscription("t", "m", SubscriptionType.MULTICAST);
        final long consumer = driver.session(2).attach("t", "s", SubscriptionType.SHARED, 2);
        driver.session(2).attach("t", "m", SubscriptionType.MULTICAST, 5);
        final List<MessageId> ids = admin.publishIds(topic, Msg.of("a"), Msg.of("b", "x", "y"), Msg.of("c"));
        driver.session(2).nackOk(consumer, ids.get(0));
    }

    private static byte[] takeSnapshot()
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64);
        new TakeSnapshotEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder()).reason(SnapshotReason.REQUESTED);
        final byte[] frame = new byte[MessageHeaderEncoder.ENCODED_LENGTH + TakeSnapshotEncoder.BLOCK_LENGTH];
        buffer.getBytes(0, frame);
        return frame;
    }
}
