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
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The engine alone, key_shared with a standing backlog: the case of the side-by-side benchmark's workload 3 with
 * publish batching off. Two consumers of one key_shared subscription, {@code keys} keys over 16 partitions: "slow"
 * has one permit, "fast" a million. Setup publishes one message per command until {@code backlog} messages of
 * slow's keys wait in the pending list (fast acks everything at once). One operation then publishes one message
 * (the next key, round robin) and acks what that let go: fast's new message, or, when the message joined slow's
 * backlog, slow's outstanding one, so that the head of the backlog goes to slow. The backlog stays at
 * {@code backlog}; every operation is 2 commands and 1 message published, delivered and acked. Keep {@code backlog}
 * below the engine's {@code keySharedLookahead} (10,000): a message of fast's keys behind that many of slow's is out
 * of the dispatcher's reach until the backlog moves, and an operation would then deliver two.
 * <p>
 * Verified every operation: exactly one message delivered; at the end no error and no redelivery. Allocation-free
 * like {@link EngineApplyBenchmark}.
 */
@State(Scope.Thread)
public class KeySharedBacklogBenchmark extends MagnetarBenchmark
{
    private static final long SESSION = 1;
    private static final int SLOW = 0;
    private static final int FAST = 1;

    @Param({"5000"})
    public int backlog;

    @Param({"1000"})
    public int keys;

    private final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64 * 1024);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final PublishEncoder publish = new PublishEncoder();
    private final AckEncoder ack = new AckEncoder();
    private final MessageFactory messageFactory = new MessageFactory();
    private final IdRing[] delivered = {new IdRing(16), new IdRing(1024)};

    private Engine engine;
    private EventCounter events;
    private long now = 1_000_000;
    private long correlationId;
    private long published;

    @Setup(Level.Trial)
    public void setUp()
    {
        if (backlog < 0 || backlog >= 9_000 || keys < 2)
        {
            throw new IllegalArgumentException("backlog must be 0..8999 (below the lookahead), keys at least 2");
        }
        events = new EventCounter(2, (consumer, partition, ledger, entry) ->
            delivered[consumer].onId(consumer, partition, ledger, entry));
        engine = new Engine(new EngineConfig(), events);
        messageFactory.keys(keys);

        final CommandEncoder setup = new CommandEncoder();
        apply(setup.buffer(), setup.createTopic(++correlationId, "bench", 16));
        apply(setup.buffer(), setup.subscribe(++correlationId, "bench", "s", SubscriptionType.KEY_SHARED, 1, "slow"));
        apply(setup.buffer(), setup.subscribe(++correlationId, "bench", "s", SubscriptionType.KEY_SHARED, 1_000_000,
            "fast"));
        events.requireNoErrors();
        while (published - events.delivered() < backlog)
        {
            publishOne();
            ackAll(FAST);
            if (published > 100L * backlog + 10 * keys)
            {
                throw new IllegalStateException("setup: no backlog builds up: " + events.describe());
            }
        }
        if (delivered[SLOW].available() != 1)
        {
            throw new IllegalStateException("setup: slow should hold one message: " + events.describe());
        }
    }

    @Benchmark
    public void publishOneWithABacklog()
    {
        now++;
        final long before = events.delivered();
        publishOne();
        if (delivered[FAST].available() > 0)
        {
            ackAll(FAST);
        }
        else
        {
            ackAll(SLOW);   // the new message joined the backlog: the oldest one goes to slow
        }
        if (events.delivered() - before != 1)
        {
            throw new IllegalStateException("one operation delivered " + (events.delivered() - before) + ": " +
                events.describe());
        }
    }

    @TearDown(Level.Trial)
    public void verify()
    {
        events.requireNoErrors();
        if (events.redelivered() != 0 || published - events.delivered() != backlog)
        {
            throw new IllegalStateException("published " + published + ", backlog " + backlog + ": " +
                events.describe());
        }
    }

    private void publishOne()
    {
        final PublishEncoder.MessagesEncoder messages = publish.wrapAndApplyHeader(command, 0, header)
            .correlationId(++correlationId)
            .topicId(events.topicId())
            .messagesCount(1);
        messageFactory.encode(messages.next(), published++);
        apply(command, MessageHeaderEncoder.ENCODED_LENGTH + publish.encodedLength());
    }

    private void ackAll(final int consumer)
    {
        final IdRing ring = delivered[consumer];
        final int count = ring.available();
        final AckEncoder.IdsEncoder ids = ack.wrapAndApplyHeader(command, 0, header)
            .correlationId(++correlationId)
            .consumerId(events.consumerId(consumer))
            .idsCount(count);
        ring.encode(ids, count);
        apply(command, MessageHeaderEncoder.ENCODED_LENGTH + ack.encodedLength());
        ring.consume(count);
    }

    private void apply(final DirectBuffer buffer, final int length)
    {
        engine.onCommand(SESSION, now, buffer, 0, length);
    }
}
