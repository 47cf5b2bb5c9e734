package io.magnetar.engine.model;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.Engine;
import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.fixture.CommandEncoder;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;

/**
 * One seeded run of {@link RandomizedEngineTest}: a fresh Engine behind an {@link EngineDriver}, the
 * {@link ReferenceModel}, and a generator of random commands (its own bookkeeping only picks plausible arguments;
 * every expectation lives in the model). {@link #execute()} returns null or a failure report with the seed, the step
 * and the last steps with their events.
 */
final class RandomRun
{
    static final String[] SUBSCRIPTIONS = {"sh0", "sh1", "ks0", "ks1", "mc0", "mc1"};
    static final String[] ATTRIBUTE_NAMES = {"a", "ref", "trace-id"};
    static final String[] ATTRIBUTE_VALUES = {"", "x", "s3://bucket/object-17", "ünï", "0123456789"};
    static final int KEYS = 8;
    static final int TRACE_LENGTH = 40;
    /** every this many steps (and after the drain) every live topic is described: stats and traffic counters. */
    static final int COUNTER_CHECK_EVERY = 100;
    /**
     * Whether nacks may name pending (never or not currently sent) deliveries: ENGINE.md says they become
     * DELAYED; {@code -Dmagnetar.nackPending=false} leaves that case out (to look past a failure there).
     */
    static final boolean NACK_PENDING = Boolean.parseBoolean(System.getProperty("magnetar.nackPending", "true"));

    final long seed;
    final int steps;
    final boolean printTrace;
    final SplittableRandom rnd;
    final Engine engine;
    final EngineConfig config;
    final FrameLog frameLog;
    final FrameLog.HashingListener eventHash;
    final EngineDriver driver;
    final ReferenceModel model;
    final ArrayDeque<String> trace = new ArrayDeque<>();
    final List<Long> sessions = new ArrayList<>();
    final List<Long> closedConsumers = new ArrayList<>();
    final List<Integer> staleTopicIds = new ArrayList<>();
    final Map<String, SubscriptionOptions> optionsUsed = new HashMap<>();
    final Map<String, Integer> partitionsOf = new LinkedHashMap<>();
    boolean nackPending = NACK_PENDING;
    /** profile "steady" (seed % 4 == 1): hardly any deletions, restarts or session losses, larger windows. */
    final boolean steady;
    /** the key space: small (3) for seeds with seed % 5 == 2, for key_shared contention. */
    final int keys;
    long nextSession = 10;
    long startCount = 1;
    int step;

    RandomRun(final long seed, final int steps, final boolean printTrace)
    {
        this(seed, steps, printTrace, UnaryOperator.identity());
    }

    /**
     * @param interceptor fault injection: rewrites the engine's events before the model sees them (to show that
     * the model notices wrong engine output).
     */
    RandomRun(final long seed, final int steps, final boolean printTrace, final UnaryOperator<Events> interceptor)
    {
        this.seed = seed;
        this.steps = steps;
        this.printTrace = printTrace;
        this.rnd = new SplittableRandom(seed);
        this.steady = seed % 4 == 1;
        this.keys = seed % 5 == 2 ? 3 : KEYS;
        final long maxLive = seed % 3 == 0 ? 120 : 1_000_000;
        final int perEvent = seed % 2 == 0 ? 3 : 64;
        final EngineConfig config = new EngineConfig()
            .maxLiveMessages(maxLive)
            .maxDeliveriesPerEvent(perEvent)
            .maxPermits(1000)
            .keySharedLookahead(10_000)
            .conclude();
        this.config = config;
        final Engine[] holder = new Engine[1];
        final FrameLog[] log = new FrameLog[1];
        final FrameLog.HashingListener[] hashing = new FrameLog.HashingListener[1];
        this.driver = EngineDriver.create(listener ->
        {
            hashing[0] = new FrameLog.HashingListener(listener);
            holder[0] = new Engine(config, hashing[0]);
            log[0] = new FrameLog(holder[0]);
            return log[0];
        });
        this.frameLog = log[0];
        this.eventHash = hashing[0];
        this.driver.retainEvents(false).interceptor(interceptor);
        this.engine = holder[0];
        this.model = new ReferenceModel(config.defaultAckTimeoutMs(), config.defaultNackDelayMs(), maxLive, 1000,
            10_000);
        partitionsOf.put("t0", 4);
        partitionsOf.put("t1", 1);
        partitionsOf.put("t2", 3);
    }

    String execute()
    {
        String phase = "setup";
        try
        {
            driver.at(1_000_000);
            model.now(driver.now());
            for (final Map.Entry<String, Integer> topic : partitionsOf.entrySet())
            {
                createTopic(topic.getKey(), topic.getValue());
            }
            phase = "random";
            for (step = 0; step < steps; step++)
            {
                model.where = "seed " + seed + " step " + step;
                randomStep();
                settleAndCheck();
                if (step % COUNTER_CHECK_EVERY == COUNTER_CHECK_EVERY - 1)
                {
                    describeAll();
                }
            }
            phase = "drain";
            drain();
            describeAll();
            phase = "replay";
            checkReplay();
            return null;
        }
        catch (final Throwable t)
        {
            final StringBuilder b = new StringBuilder();
            b.append("SEED ").append(seed).append(" FAILED in ").append(phase).append(" at step ").append(step)
                .append(" (t=").append(driver.now()).append("): ").append(t.getMessage());
            if (!(t instanceof AssertionError))
            {
                final java.io.StringWriter w = new java.io.StringWriter();
                t.printStackTrace(new java.io.PrintWriter(w));
                b.append('\n').append(w);
            }
            b.append("\n  last steps:");
            for (final String line : trace)
            {
                b.append("\n    ").append(line);
            }
            return b.toString();
        }
    }

    // -------------------------------------------------------------- plumbing

    void record(final String action, final Events events)
    {
        String text = "#" + step + " t=" + driver.now() + " " + action + " -> " + events.all();
        if (text.length() > 900)
        {
            text = text.substring(0, 900) + "...";
        }
        if (printTrace)
        {
            System.out.println(text);
        }
        trace.addLast(text);
        if (trace.size() > TRACE_LENGTH)
        {
            trace.removeFirst();
        }
    }

    void settleAndCheck()
    {
        int guard = 0;
        while (engine.nextDeadlineMs() <= driver.now())
        {
            final long deadline = engine.nextDeadlineMs();
            final Events events = driver.tick(deadline);
            record("Tick(" + deadline + ")", events);
            model.onTick(events);
            if (++guard > 1000)
            {
                throw new AssertionError("engine keeps asking for Ticks at " + deadline + " (now " +
                    driver.now() + ")");
            }
        }
        model.checkAfterStep(engine.liveMessages(), engine.liveBytes(), engine.nextDeadlineMs());
    }

    void advance(final long delta)
    {
        final long target = driver.now() + delta;
        record("advance " + delta, new Events(List.of()));
        int guard = 0;
        while (true)
        {
            final long deadline = engine.nextDeadlineMs();
            if (deadline > target)
            {
                break;
            }
            driver.at(Math.max(driver.now(), deadline));
            model.now(driver.now());
            final Events events = driver.tick(deadline);
            record("Tick(" + deadline + ")", events);
            model.onTick(events);
            settleAndCheck();
            if (++guard > 100_000)
            {
                throw new AssertionError("too many Ticks while advancing to " + target);
            }
        }
        driver.at(target);
        model.now(target);
    }

    <T> T pick(final List<T> list)
    {
        return list.get(rnd.nextInt(list.size()));
    }

    boolean chance(final double p)
    {
        return rnd.nextDouble() < p;
    }

    long session()
    {
        if (sessions.isEmpty() || chance(0.15))
        {
            sessions.add(nextSession++);
        }
        return pick(sessions);
    }

    List<ReferenceModel.ConsumerM> attached()
    {
        return new ArrayList<>(model.consumers.values());
    }

    // -------------------------------------------------------------- actions

    void randomStep()
    {
        final int r = rnd.nextInt(1000);
        if (r < 240)
        {
            publish();
        }
        else if (r < 390)
        {
            ack();
        }
        else if (r < 450)
        {
            nack();
        }
        else if (r < 620)
        {
            advance(randomDelta());
        }
        else if (r < 680)
        {
            flow();
        }
        else if (r < 760)
        {
            subscribe();
        }
        else if (r < 790)
        {
            closeConsumer();
        }
        else if (r < 800)
        {
            closeSession();
        }
        else if (r < 825)
        {
            createSubscription();
        }
        else if (r < 832)
        {
            deleteSubscription();
        }
        else if (r < 860)
        {
            describe();
        }
        else if (r < 865)
        {
            listTopics();
        }
        else if (r < 868)
        {
            deleteTopic();
        }
        else if (r < 876)
        {
            recreateTopic();
        }
        else if (r < 878)
        {
            nodeStarted();
        }
        else if (r < 920)
        {
            ackOdd();
        }
        else if (r < 930)
        {
            malformed();
        }
        else
        {
            publish();
        }
    }

    long randomDelta()
    {
        final int r = rnd.nextInt(10);
        if (r < 2)
        {
            return 0;
        }
        if (r < 5)
        {
            return 1 + rnd.nextInt(10);
        }
        if (r < 8)
        {
            return 10 + rnd.nextInt(100);
        }
        return 100 + rnd.nextInt(600);
    }

    void createTopic(final String name, final int partitions)
    {
        final Events events = driver.session(1).createTopic(name, partitions);
        record("CreateTopic(" + name + ", " + partitions + ")", events);
        model.onCreateTopic(1, name, partitions, events);
        describeTopic(name);
    }

    void describeTopic(final String name)
    {
        final Events events = driver.session(1).describeTopic(name);
        record("DescribeTopic(" + name + ")", events);
        model.onDescribeTopic(1, name, events);
    }

    /**
     * DescribeTopic of every live topic: the model checks the stats and the traffic counters against what it
     * counted from the commands and the engine's events.
     */
    void describeAll()
    {
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            describeTopic(t.name);
        }
    }

    void publish()
    {
        int topicId = -1;
        final List<ReferenceModel.TopicM> candidates = new ArrayList<>();
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            if (partitionsOf.containsKey(t.name) && t.id != -1)
            {
                candidates.add(t);
            }
        }
        if (!staleTopicIds.isEmpty() && (candidates.isEmpty() || chance(0.02)))
        {
            topicId = pick(staleTopicIds);
        }
        else if (!candidates.isEmpty())
        {
            topicId = pick(candidates).id;
        }
        else
        {
            return;
        }
        final int n = 1 + rnd.nextInt(4);
        final List<Msg> batch = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            final Map<String, String> attributes = new LinkedHashMap<>();
            final int count = rnd.nextInt(3);
            for (int a = 0; a < count; a++)
            {
                attributes.put(ATTRIBUTE_NAMES[rnd.nextInt(ATTRIBUTE_NAMES.length)],
                    ATTRIBUTE_VALUES[rnd.nextInt(ATTRIBUTE_VALUES.length)]);
            }
            batch.add(new Msg("k" + rnd.nextInt(keys), attributes));
        }
        if (!staleTopicIds.contains(topicId) && chance(0.03))
        {
            batch.set(rnd.nextInt(n), invalidMessage());
        }
        final long sessionId = session();
        final Events events = driver.session(sessionId).publish(topicId, batch);
        record("Publish(session " + sessionId + ", topic " + topicId + ", " + batch + ")", events);
        model.onPublish(sessionId, topicId, batch, events);
    }

    /**
     * A message clearly over one of SPEC 1's limits (defaults), far from any boundary whose accounting could be read
     * two ways.
     */
    Msg invalidMessage()
    {
        final Map<String, String> attributes = new LinkedHashMap<>();
        switch (rnd.nextInt(7))
        {
            case 0:
                return new Msg("", attributes);
            case 1:
                return new Msg("k".repeat(257), attributes);
            case 2:
                for (int i = 0; i < 33; i++)
                {
                    attributes.put("n" + i, "v");
                }
                return new Msg("k1", attributes);
            case 3:
                attributes.put("n".repeat(65), "v");
                return new Msg("k1", attributes);
            case 4:
                attributes.put("a", "v".repeat(1025));
                return new Msg("k1", attributes);
            case 5:
                attributes.put("", "v");
                return new Msg("k1", attributes);
            default:
                for (int i = 0; i < 5; i++)
                {
                    attributes.put("n" + i, "v".repeat(1000));
                }
                return new Msg("k1", attributes);
        }
    }

    /**
     * Frames the engine must refuse with INVALID_ARGUMENT to the sender only, changing nothing: truncated frames,
     * unknown template or schema ids, internal commands from a client session.
     */
    void malformed()
    {
        final long sessionId = session();
        final CommandEncoder encoder = driver.encoder();
        final int kind = rnd.nextInt(5);
        String what;
        byte[] frame;
        if (kind == 0)
        {
            final int length;
            final int r = rnd.nextInt(3);
            if (r == 0)
            {
                length = encoder.publish(1, Math.max(1, model.maxTopicIdSeen), List.of(Msg.of("k1", "a", "b"),
                    Msg.of("k2")));
                what = "Publish";
            }
            else if (r == 1)
            {
                length = encoder.ack(1, 1, List.of(new MessageId(0, 1, 0), new MessageId(1, 1, 1)));
                what = "Ack";
            }
            else
            {
                length = encoder.subscribe(1, "t0", "sh0", SubscriptionType.SHARED, 5, "c",
                    new SubscriptionOptions(0L, 0L, null, null));
                what = "Subscribe";
            }
            frame = java.util.Arrays.copyOf(encoder.copy(length), rnd.nextInt(length));
            what = "truncated " + what + " (" + frame.length + " of " + length + " bytes)";
        }
        else if (kind == 1 || kind == 2)
        {
            frame = encoder.copy(encoder.listTopics(1));
            final org.agrona.concurrent.UnsafeBuffer buffer = new org.agrona.concurrent.UnsafeBuffer(frame);
            final io.magnetar.codecs.MessageHeaderEncoder header =
                new io.magnetar.codecs.MessageHeaderEncoder().wrap(buffer, 0);
            if (kind == 1)
            {
                final int templateId = rnd.nextInt(2) == 0 ? 49 : 150;
                header.templateId(templateId);
                what = "unknown template " + templateId;
            }
            else
            {
                header.schemaId(2);
                what = "schema id 2";
            }
        }
        else
        {
            final int r = rnd.nextInt(3);
            if (r == 0)
            {
                frame = encoder.copy(encoder.tick(driver.now()));
                what = "Tick from a client";
            }
            else if (r == 1)
            {
                frame = encoder.copy(encoder.sessionClosed(sessions.isEmpty() ? 99 : pick(sessions)));
                what = "SessionClosed from a client";
            }
            else
            {
                frame = encoder.copy(encoder.nodeStarted(startCount + 1));
                what = "NodeStarted from a client";
            }
        }
        final Events events = driver.sendFrame(sessionId, frame);
        record("Malformed(session " + sessionId + ", " + what + ")", events);
        model.onMalformed(sessionId, events);
    }

    SubscriptionType typeOf(final String subscription)
    {
        if (subscription.startsWith("sh") || subscription.equals("dlq"))
        {
            return SubscriptionType.SHARED;
        }
        return subscription.startsWith("ks") ? SubscriptionType.KEY_SHARED : SubscriptionType.MULTICAST;
    }

    SubscriptionOptions randomOptions(final SubscriptionType type)
    {
        final Long[] ackTimeouts = {0L, 0L, 30L, 100L, 400L};
        final Long[] nackDelays = {0L, 5L, 50L, 200L, null};
        final Integer[] maxDeliveries = {null, null, 0, 2, 3};
        final Integer[] maxInFlight = {null, 0, 1, 1, 2};
        return new SubscriptionOptions(
            ackTimeouts[rnd.nextInt(ackTimeouts.length)],
            nackDelays[rnd.nextInt(nackDelays.length)],
            maxDeliveries[rnd.nextInt(maxDeliveries.length)],
            type == SubscriptionType.KEY_SHARED ? maxInFlight[rnd.nextInt(maxInFlight.length)] : null);
    }

    /**
     * Before a shared / key_shared subscription with maxDeliveries comes to exist: create its dead-letter topic
     * with a shared subscription "dlq", so dead letters are live messages the model can follow.
     */
    void prepareDeadLetterTopic(final String topic, final String subscription, final SubscriptionOptions options)
    {
        final SubscriptionType type = typeOf(subscription);
        if (type == SubscriptionType.MULTICAST || options.maxDeliveries() == null || options.maxDeliveries() == 0)
        {
            return;
        }
        final String dlq = topic + "." + subscription + ".dlq";
        final ReferenceModel.TopicM existing = model.liveTopic(dlq);
        if (existing == null)
        {
            createTopic(dlq, 1);
        }
        if (model.liveTopic(dlq).subs.containsKey("dlq"))
        {
            return;
        }
        final SubscriptionOptions dlqOptions = new SubscriptionOptions(0L, 0L, null, null);
        final Events events = driver.session(1).createSubscription(dlq, "dlq", SubscriptionType.SHARED, dlqOptions);
        record("CreateSubscription(" + dlq + "/dlq)", events);
        model.onCreateSubscription(1, dlq, "dlq", SubscriptionType.SHARED, dlqOptions, events);
        optionsUsed.put(dlq + "/dlq", dlqOptions);
    }

    /**
     * @return a (topic, subscription) name pair: mostly the main topics' pool, sometimes a dead-letter topic's.
     */
    String[] randomSubscription()
    {
        final List<String> dlqTopics = new ArrayList<>();
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            if (t.subs.containsKey("dlq"))
            {
                dlqTopics.add(t.name);
            }
        }
        if (!dlqTopics.isEmpty() && chance(0.1))
        {
            return new String[] {pick(dlqTopics), "dlq"};
        }
        final List<String> names = new ArrayList<>(partitionsOf.keySet());
        return new String[] {pick(names), SUBSCRIPTIONS[rnd.nextInt(SUBSCRIPTIONS.length)]};
    }

    void subscribe()
    {
        final String[] ts = randomSubscription();
        final String topic = ts[0];
        final String subscription = ts[1];
        final SubscriptionType own = typeOf(subscription);
        final ReferenceModel.TopicM t = model.liveTopic(topic);
        final boolean exists = t != null && t.subs.containsKey(subscription);
        final int r = rnd.nextInt(100);
        final SubscriptionType type;
        if (r < 80)
        {
            type = own;
        }
        else if (r < 92 || !exists)
        {
            type = null;
        }
        else
        {
            // only for an existing subscription: a new one would be created with the wrong type for its name
            type = SubscriptionType.values()[(own.ordinal() + 1 + rnd.nextInt(2)) % 3];
        }
        final SubscriptionOptions options;
        if (!exists && t != null && type == own)
        {
            options = subscription.equals("dlq") ? new SubscriptionOptions(0L, 0L, null, null) :
                randomOptions(own);
            prepareDeadLetterTopic(topic, subscription, options);
            optionsUsed.put(topic + "/" + subscription, options);
        }
        else
        {
            options = chance(0.5) ? SubscriptionOptions.DEFAULTS : randomOptions(own).maxDeliveries(null);
        }
        final int permits = exists && type != null && type == own && chance(0.02) ? 0 :
            1 + rnd.nextInt(steady ? 16 : 6);
        final long sessionId = session();
        final Events events = driver.session(sessionId).subscribe(topic, subscription, type, permits,
            "c" + step, options);
        record("Subscribe(session " + sessionId + ", " + topic + "/" + subscription + ", " + type + ", permits " +
            permits + ", " + options + ")", events);
        model.onSubscribe(sessionId, topic, subscription, type, permits, options, events);
    }

    void createSubscription()
    {
        final String[] ts = randomSubscription();
        final String topic = ts[0];
        final String subscription = ts[1];
        final SubscriptionType own = typeOf(subscription);
        final ReferenceModel.TopicM t = model.liveTopic(topic);
        final boolean exists = t != null && t.subs.containsKey(subscription);
        SubscriptionType type = own;
        SubscriptionOptions options;
        if (exists)
        {
            final int r = rnd.nextInt(10);
            options = optionsUsed.get(topic + "/" + subscription);
            if (r < 2)
            {
                type = SubscriptionType.values()[(own.ordinal() + 1 + rnd.nextInt(2)) % 3];
            }
            else if (r < 4)
            {
                // other options, same type: SUBSCRIPTION_EXISTS unless they happen to resolve the same
                options = randomOptions(own).maxDeliveries(options.maxDeliveries());
            }
        }
        else
        {
            options = subscription.equals("dlq") ? new SubscriptionOptions(0L, 0L, null, null) :
                randomOptions(own);
            if (t != null)
            {
                prepareDeadLetterTopic(topic, subscription, options);
                optionsUsed.put(topic + "/" + subscription, options);
            }
        }
        final Events events = driver.session(1).createSubscription(topic, subscription, type, options);
        record("CreateSubscription(" + topic + "/" + subscription + ", " + type + ", " + options + ")", events);
        model.onCreateSubscription(1, topic, subscription, type, options, events);
    }

    void deleteSubscription()
    {
        if (steady && chance(0.9))
        {
            return;
        }
        final String[] ts = randomSubscription();
        final Events events = driver.session(1).deleteSubscription(ts[0], ts[1]);
        record("DeleteSubscription(" + ts[0] + "/" + ts[1] + ")", events);
        model.onDeleteSubscription(1, ts[0], ts[1], events);
    }

    void flow()
    {
        final List<ReferenceModel.ConsumerM> consumers = attached();
        final long consumerId;
        final long sessionId;
        if (consumers.isEmpty() || chance(0.03))
        {
            if (closedConsumers.isEmpty())
            {
                return;
            }
            consumerId = pick(closedConsumers);
            sessionId = session();
        }
        else
        {
            final ReferenceModel.ConsumerM c = pick(consumers);
            consumerId = c.id;
            sessionId = c.sessionId;
        }
        final int permits = chance(0.02) ? (chance(0.5) ? 0 : 1001) : 1 + rnd.nextInt(steady ? 20 : 8);
        if ((permits == 0 || permits > 1000) && !model.consumers.containsKey(consumerId))
        {
            return; // two errors at once: which one wins is not specified
        }
        final Events events = driver.session(sessionId).flow(consumerId, permits);
        record("Flow(consumer " + consumerId + ", " + permits + ")", events);
        model.onFlow(sessionId, consumerId, permits, events);
    }

    void ack()
    {
        final List<ReferenceModel.ConsumerM> withOutstanding = new ArrayList<>();
        for (final ReferenceModel.ConsumerM c : model.consumers.values())
        {
            if (!c.outstanding.isEmpty())
            {
                withOutstanding.add(c);
            }
        }
        if (withOutstanding.isEmpty())
        {
            return;
        }
        final ReferenceModel.ConsumerM c = pick(withOutstanding);
        final List<MessageId> ids = new ArrayList<>();
        for (final ReferenceModel.DeliveryM d : c.outstanding)
        {
            if (chance(0.6))
            {
                ids.add(d.msg.id);
            }
        }
        if (ids.isEmpty())
        {
            ids.add(c.outstanding.iterator().next().msg.id);
        }
        if (chance(0.05))
        {
            ids.add(ids.get(0)); // duplicate in one batch: the second is unknown
        }
        ReferenceModel.ConsumerM acker = c;
        if (c.sub.type != SubscriptionType.MULTICAST && c.sub.consumers.size() > 1 && chance(0.1))
        {
            acker = pick(new ArrayList<>(c.sub.consumers.values())); // acks are by subscription
        }
        sendAck(acker, ids);
    }

    void sendAck(final ReferenceModel.ConsumerM c, final List<MessageId> ids)
    {
        final Events events = driver.session(c.sessionId).ack(c.id, ids);
        record("Ack(consumer " + c.id + ", " + ids + ")", events);
        model.onAck(c.sessionId, c.id, ids, events);
    }

    /**
     * Acks that are not the plain "what I was sent": pending / delayed / others' messages of the subscription,
     * recently completed ids, never-issued ids, and acks from a closed consumer.
     */
    void ackOdd()
    {
        final List<ReferenceModel.ConsumerM> consumers = attached();
        if (consumers.isEmpty() || chance(0.05))
        {
            if (closedConsumers.isEmpty())
            {
                return;
            }
            final long consumerId = pick(closedConsumers);
            final long sessionId = session();
            final List<MessageId> ids = List.of(new MessageId(0, 1, 0));
            final Events events = driver.session(sessionId).ack(consumerId, ids);
            record("Ack(closed consumer " + consumerId + ")", events);
            model.onAck(sessionId, consumerId, ids, events);
            return;
        }
        final ReferenceModel.ConsumerM c = pick(consumers);
        final List<MessageId> ids = new ArrayList<>();
        final List<ReferenceModel.DeliveryM> owed = new ArrayList<>(
            c.sub.type == SubscriptionType.MULTICAST ? c.copies.values() : c.sub.deliveries.values());
        for (int i = 0; i < 3 && !owed.isEmpty(); i++)
        {
            final ReferenceModel.DeliveryM d = pick(owed);
            if (d.msg.id != null)
            {
                ids.add(d.msg.id);
            }
        }
        if (!c.sub.topic.recentIds.isEmpty())
        {
            ids.add(pick(new ArrayList<>(c.sub.topic.recentIds)));
        }
        if (chance(0.3))
        {
            ids.add(new MessageId(rnd.nextInt(4), 1, 1_000_000 + rnd.nextInt(100)));
        }
        if (ids.isEmpty())
        {
            return;
        }
        sendAck(c, ids);
    }

    void nack()
    {
        final List<ReferenceModel.ConsumerM> withOutstanding = new ArrayList<>();
        for (final ReferenceModel.ConsumerM c : model.consumers.values())
        {
            if (!c.outstanding.isEmpty())
            {
                withOutstanding.add(c);
            }
        }
        if (withOutstanding.isEmpty())
        {
            return;
        }
        final ReferenceModel.ConsumerM c = pick(withOutstanding);
        final List<MessageId> ids = new ArrayList<>();
        for (final ReferenceModel.DeliveryM d : c.outstanding)
        {
            if (chance(0.5))
            {
                ids.add(d.msg.id);
            }
        }
        if (ids.isEmpty())
        {
            ids.add(c.outstanding.iterator().next().msg.id);
        }
        if (nackPending && chance(0.1))
        {
            final List<ReferenceModel.DeliveryM> owed = new ArrayList<>(
                c.sub.type == SubscriptionType.MULTICAST ? c.copies.values() : c.sub.deliveries.values());
            if (!owed.isEmpty())
            {
                final ReferenceModel.DeliveryM d = pick(owed);
                if (d.msg.id != null && !ids.contains(d.msg.id) && model.nackIsDefined(c, d.msg.id, true))
                {
                    ids.add(d.msg.id);
                }
            }
        }
        if (chance(0.1) && !c.sub.topic.recentIds.isEmpty())
        {
            final MessageId id = pick(new ArrayList<>(c.sub.topic.recentIds));
            if (!ids.contains(id) && model.nackIsDefined(c, id, nackPending))
            {
                ids.add(id);
            }
        }
        final Events events = driver.session(c.sessionId).nack(c.id, ids);
        record("Nack(consumer " + c.id + ", " + ids + ")", events);
        model.onNack(c.sessionId, c.id, ids, events);
    }

    void closeConsumer()
    {
        final List<ReferenceModel.ConsumerM> consumers = attached();
        if (consumers.isEmpty() || chance(0.05))
        {
            if (closedConsumers.isEmpty())
            {
                return;
            }
            final long consumerId = pick(closedConsumers);
            final long sessionId = session();
            final Events events = driver.session(sessionId).closeConsumer(consumerId);
            record("CloseConsumer(closed " + consumerId + ")", events);
            model.onCloseConsumer(sessionId, consumerId, events);
            return;
        }
        final ReferenceModel.ConsumerM c = pick(consumers);
        final Events events = driver.session(c.sessionId).closeConsumer(c.id);
        record("CloseConsumer(" + c + ")", events);
        closedConsumers.add(c.id);
        model.onCloseConsumer(c.sessionId, c.id, events);
    }

    void closeSession()
    {
        if (steady && chance(0.9))
        {
            return;
        }
        if (sessions.isEmpty())
        {
            return;
        }
        final long sessionId = pick(sessions);
        sessions.remove(sessionId);
        for (final ReferenceModel.ConsumerM c : model.consumers.values())
        {
            if (c.sessionId == sessionId)
            {
                closedConsumers.add(c.id);
            }
        }
        final Events events = driver.sessionClosed(sessionId);
        record("SessionClosed(" + sessionId + ")", events);
        model.onSessionClosed(sessionId, events);
    }

    void nodeStarted()
    {
        if (steady && chance(0.9))
        {
            return;
        }
        for (final ReferenceModel.ConsumerM c : model.consumers.values())
        {
            closedConsumers.add(c.id);
        }
        sessions.clear();
        final Events events = driver.nodeStarted(++startCount);
        record("NodeStarted(" + startCount + ")", events);
        model.onNodeStarted(events);
    }

    void describe()
    {
        final List<String> names = new ArrayList<>();
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            names.add(t.name);
        }
        final String name = names.isEmpty() || chance(0.05) ? "no-such-topic" : pick(names);
        describeTopic(name);
    }

    void listTopics()
    {
        final Events events = driver.session(1).listTopics();
        record("ListTopics", events);
        model.onListTopics(1, events);
    }

    void deleteTopic()
    {
        if (steady && chance(0.9))
        {
            return;
        }
        final String name = chance(0.5) ? "t1" : "t2";
        final ReferenceModel.TopicM t = model.liveTopic(name);
        if (t != null)
        {
            staleTopicIds.add(t.id);
            for (final ReferenceModel.SubM s : t.subs.values())
            {
                for (final ReferenceModel.ConsumerM c : s.consumers.values())
                {
                    closedConsumers.add(c.id);
                }
            }
        }
        final Events events = driver.session(1).deleteTopic(name);
        record("DeleteTopic(" + name + ")", events);
        model.onDeleteTopic(1, name, events);
    }

    void recreateTopic()
    {
        final String name = chance(0.5) ? "t1" : "t2";
        final int partitions = chance(0.2) ? 2 : partitionsOf.get(name);
        if (model.liveTopic(name) == null)
        {
            partitionsOf.put(name, partitions);
            // forget options of the old incarnation's subscriptions
            optionsUsed.keySet().removeIf(k -> k.startsWith(name + "/"));
        }
        createTopic(name, partitions);
    }

    // -------------------------------------------------------------- replay

    /**
     * ENGINE.md: the same commands replayed through a new engine give the same stateHash(); the events must be the
     * same too (the engine is deterministic). Replaying without the queries (which are not journaled) must reach the
     * same state.
     */
    void checkReplay()
    {
        final FrameLog.HashingListener replayHash = new FrameLog.HashingListener(EventListener.MUTED);
        final Engine replayed = new Engine(config, replayHash);
        frameLog.replay(replayed, true);
        if (replayed.stateHash() != engine.stateHash())
        {
            throw new AssertionError("replaying " + frameLog.size() + " commands gives stateHash " +
                replayed.stateHash() + ", the original has " + engine.stateHash());
        }
        if (replayHash.hash() != eventHash.hash() || replayHash.frames() != eventHash.frames())
        {
            throw new AssertionError("replaying " + frameLog.size() + " commands gives other events: " +
                replayHash.frames() + " frames (hash " + replayHash.hash() + ") vs " + eventHash.frames() +
                " (hash " + eventHash.hash() + ")");
        }
        final Engine journaled = new Engine(config, EventListener.MUTED);
        frameLog.replay(journaled, false);
        if (journaled.stateHash() != engine.stateHash())
        {
            throw new AssertionError("replaying the " + frameLog.size() + " commands without the queries gives " +
                "stateHash " + journaled.stateHash() + ", the original has " + engine.stateHash() +
                " (do queries change state, e.g. the engine's clock?)");
        }
    }

    // -------------------------------------------------------------- drain

    void drain()
    {
        record("--- drain ---", new Events(List.of()));
        final long sessionId = nextSession++;
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            for (final ReferenceModel.SubM s : new ArrayList<>(t.subs.values()))
            {
                for (final ReferenceModel.ConsumerM c : new ArrayList<>(s.consumers.values()))
                {
                    final Events events = driver.session(c.sessionId).flow(c.id, 1000);
                    record("Flow(consumer " + c.id + ", 1000)", events);
                    model.onFlow(c.sessionId, c.id, 1000, events);
                }
                if (s.consumers.isEmpty())
                {
                    final Events events = driver.session(sessionId).subscribe(t.name, s.name, null, 1000, "drain");
                    record("Subscribe(drain " + t.name + "/" + s.name + ")", events);
                    model.onSubscribe(sessionId, t.name, s.name, null, 1000, SubscriptionOptions.DEFAULTS, events);
                }
                settleAndCheck();
            }
        }
        for (int round = 0; round < 100_000; round++)
        {
            // dead-letter topics of this phase may have been created after the loop above
            for (final ReferenceModel.TopicM t : model.liveTopics())
            {
                for (final ReferenceModel.SubM s : new ArrayList<>(t.subs.values()))
                {
                    if (s.consumers.isEmpty())
                    {
                        final Events events =
                            driver.session(sessionId).subscribe(t.name, s.name, null, 1000, "drain");
                        record("Subscribe(drain " + t.name + "/" + s.name + ")", events);
                        model.onSubscribe(sessionId, t.name, s.name, null, 1000, SubscriptionOptions.DEFAULTS,
                            events);
                    }
                }
            }
            if (model.incompleteCount() == 0)
            {
                break;
            }
            boolean acked = false;
            for (final ReferenceModel.ConsumerM c : new ArrayList<>(model.consumers.values()))
            {
                if (c.outstanding.isEmpty())
                {
                    continue;
                }
                final List<MessageId> ids = new ArrayList<>();
                for (final ReferenceModel.DeliveryM d : c.outstanding)
                {
                    ids.add(d.msg.id);
                }
                sendAck(c, ids);
                settleAndCheck();
                acked = true;
            }
            if (!acked)
            {
                final long deadline = engine.nextDeadlineMs();
                if (deadline == Long.MAX_VALUE)
                {
                    throw new AssertionError("drain stuck: " + model.incompleteCount() +
                        " incomplete deliveries, nothing outstanding, no deadline; " + stuck());
                }
                advance(deadline - driver.now());
                settleAndCheck();
            }
        }
        if (model.incompleteCount() != 0)
        {
            throw new AssertionError("drain did not finish: " + stuck());
        }
        model.checkAfterStep(engine.liveMessages(), engine.liveBytes(), engine.nextDeadlineMs());
        if (engine.liveMessages() != 0 || engine.liveBytes() != 0)
        {
            throw new AssertionError("after draining, the engine still holds " + engine.liveMessages() +
                " messages / " + engine.liveBytes() + " bytes");
        }
    }

    String stuck()
    {
        final StringBuilder b = new StringBuilder();
        int shown = 0;
        for (final ReferenceModel.TopicM t : model.liveTopics())
        {
            for (final ReferenceModel.SubM s : t.subs.values())
            {
                for (final ReferenceModel.DeliveryM d : s.deliveries.values())
                {
                    if (shown++ < 10)
                    {
                        b.append("\n  ").append(d);
                    }
                }
                if (!s.unassigned.isEmpty())
                {
                    b.append("\n  ").append(s).append(" unassigned ").append(s.unassigned.size());
                }
            }
        }
        for (final ReferenceModel.ConsumerM c : model.consumers.values())
        {
            for (final ReferenceModel.DeliveryM d : c.copies.values())
            {
                if (shown++ < 20)
                {
                    b.append("\n  ").append(d);
                }
            }
        }
        return b.toString();
    }
}
