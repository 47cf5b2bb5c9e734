package io.magnetar.bench;

import io.magnetar.codecs.AckEncoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.PublishEncoder;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.fixture.CommandEncoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The engine alone, on the benchmark thread: one operation publishes a batch of {@code batch} messages
 * ({@code Engine.onCommand}), which the engine dispatches to the consumers at once, then acks deliveries, oldest
 * first, so that {@code unacked} messages stay delivered and unacked (0: everything delivered in the operation is
 * acked in it). Acks are one {@code Ack} command, or one per consumer for multicast, whose copies are acked by
 * the consumer that got them. No journal, no ring, no threads: this is the ceiling the pipeline can reach.
 * {@code unacked} sets how many messages the engine holds (its working set); the pipeline benchmark runs with
 * about 10,000.
 * <p>
 * Commands are encoded with the generated SBE encoders into one reused buffer and events are decoded with
 * flyweights ({@link EventCounter}), so the loop allocates nothing (check with {@code -prof gc}). Messages carry
 * a 17-byte key from a set of {@code keys} and one attribute ({@code body} = a 63-byte object-store reference),
 * like {@code SteadyStateAllocationTest}.
 * <p>
 * Verified every operation: the engine receipted {@code batch} ids, delivered exactly {@code batch} messages
 * (times {@code consumers} for multicast) and counted every id acked as done; at the end of the trial, after
 * acking the rest, every message was delivered once (first deliveries only) and acked once, and nothing is left
 * live. Any {@code CommandError} fails the benchmark.
 * <p>
 * Secondary results: {@code commands} and {@code messages} (messages published, each delivered and acked) per
 * second; the primary score counts publish-deliver-ack rounds.
 */
@State(Scope.Thread)
public class EngineApplyBenchmark extends MagnetarBenchmark
{
    private static final long SESSION = 1;

    @Param({"SHARED", "KEY_SHARED", "MULTICAST"})
    public SubscriptionType type;

    @Param({"1", "100"})
    public int batch;

    @Param({"1000"})
    public int keys;

    @Param({"1"})
    public int consumers;

    @Param({"0"})
    public int unacked;

    private ExpandableArrayBuffer command;
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final PublishEncoder publish = new PublishEncoder();
    private final AckEncoder ack = new AckEncoder();
    private final MessageFactory messageFactory = new MessageFactory();

    private Engine engine;
    private EventCounter events;
    private IdRing[] delivered;
    private int copies;
    private long now = 1_000_000;
    private long correlationId;
    private long published;

    /**
     * Rates reported next to the primary score (JMH divides them by the iteration's time).
     */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Rates
    {
        /** Commands applied: the publish and the acks. */
        public long commands;
        /** Messages published, delivered and acked. */
        public long messages;

        @Setup(Level.Iteration)
        public void reset()
        {
            commands = 0;
            messages = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp()
    {
        if (batch < 1 || consumers < 1 || keys < 1 || unacked < 0)
        {
            throw new IllegalArgumentException("batch, consumers and keys must be positive, unacked not negative");
        }

        // room for the largest Ack (every unacked id at the end of the trial), so it never grows while measured
        command = new ExpandableArrayBuffer(Math.max(64 * 1024, 1024 + 20 * (unacked + batch)));

        // multicast: each consumer acks its own copies; shared, key_shared: one FIFO of the subscription's ids
        copies = type == SubscriptionType.MULTICAST ? consumers : 1;
        delivered = new IdRing[copies];
        for (int i = 0; i < copies; i++)
        {
            delivered[i] = new IdRing(unacked + batch);
        }
        final EventCounter.IdSink sink = copies == 1 ? delivered[0] :
            (consumerIndex, partition, ledger, entry) -> delivered[consumerIndex].onId(0, partition, ledger, entry);
        events = new EventCounter(consumers, sink);
        engine = new Engine(new EngineConfig(), events);
        messageFactory.keys(keys);

        final CommandEncoder setup = new CommandEncoder();
        apply(setup.buffer(), setup.createTopic(++correlationId, "bench", 16));
        for (int c = 0; c < consumers; c++)
        {
            // permits: more than is ever unacked, so the window never holds a delivery back
            apply(setup.buffer(), setup.subscribe(++correlationId, "bench", "s", type, unacked + 2 * batch, "c" + c));
        }
        events.requireNoErrors();
        if (events.attached() != consumers)
        {
            throw new IllegalStateException("setup: " + events.attached() + " of " + consumers + " consumers attached");
        }
    }

    @Benchmark
    public void publishDeliverAck(final Rates rates)
    {
        now++;
        final long receiptedBefore = events.receipted();
        final long deliveredBefore = events.delivered();

        final PublishEncoder.MessagesEncoder messages = publish.wrapAndApplyHeader(command, 0, header)
            .correlationId(++correlationId)
            .topicId(events.topicId())
            .messagesCount(batch);
        for (int m = 0; m < batch; m++)
        {
            messageFactory.encode(messages.next(), published++);
        }
        apply(command, MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength());

        if (events.receipted() - receiptedBefore != batch || events.delivered() - deliveredBefore != batch * copies)
        {
            throw new IllegalStateException("publish of " + batch + " x " + copies + " copies: " + events.describe());
        }

        rates.commands += 1 + ackAllBut(unacked);
        rates.messages += batch;
    }

    @TearDown(Level.Trial)
    public void verify()
    {
        ackAllBut(0);
        events.requireNoErrors();
        final long expected = published * copies;
        if (engine.liveMessages() != 0 || events.receipted() != published || events.delivered() != expected ||
            events.acked() != expected || events.redelivered() != 0 || events.unknownAcks() != 0)
        {
            throw new IllegalStateException("published " + published + " x " + copies + " copies, live " +
                engine.liveMessages() + ": " + events.describe());
        }
    }

    /**
     * Ack the oldest deliveries of each FIFO until {@code keep} are left unacked in it.
     *
     * @return Ack commands applied.
     */
    private int ackAllBut(final int keep)
    {
        int commands = 0;
        for (int i = 0; i < delivered.length; i++)
        {
            final IdRing ring = delivered[i];
            final int count = ring.available() - keep;
            if (count <= 0)
            {
                continue;
            }

            final AckEncoder.IdsEncoder ids = ack.wrapAndApplyHeader(command, 0, header)
                .correlationId(++correlationId)
                .consumerId(events.consumerId(i))
                .idsCount(count);
            ring.encode(ids, count);
            final long ackedBefore = events.acked();
            apply(command, MessageHeaderEncoder.ENCODED_LENGTH + ack.encodedLength());
            if (events.acked() - ackedBefore != count)
            {
                throw new IllegalStateException("acked " + (events.acked() - ackedBefore) + " of " + count + ": " +
                    events.describe());
            }
            ring.consume(count);
            commands++;
        }

        return commands;
    }

    private void apply(final DirectBuffer buffer, final int length)
    {
        engine.onCommand(SESSION, now, buffer, 0, length);
    }
}
