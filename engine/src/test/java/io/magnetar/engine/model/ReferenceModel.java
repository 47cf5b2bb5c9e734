package io.magnetar.engine.model;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.google.common.hash.Hashing;
import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.SubscriptionType;
import io.magnetar.engine.fixture.EngineDriver;
import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import io.magnetar.engine.fixture.Msg;
import io.magnetar.engine.fixture.SubscriptionOptions;

/**
 * A deliberately naive reference model of what SPEC sections 1-3 and docs/ENGINE.md promise, in plain collections.
 * <p>
 * It does <b>not</b> choose which consumer gets which message: it is told every command and the events the engine
 * answered with, predicts the answers that are fully determined (errors, admin outcomes, ack/nack counts, publish
 * acceptance), applies the state change, and validates every delivery the engine chose against the rules:
 * <ul>
 *   <li>the message exists, belongs to the consumer's subscription, is not complete, not outstanding anywhere
 *       (shared / key_shared: one consumer at a time; multicast: per copy), and not in its nack delay;</li>
 *   <li>key, attributes and publish time are what was published; deliveryCount = sends so far + 1;</li>
 *   <li>the consumer is attached, the event goes to its session, and its window is not exceeded;</li>
 *   <li>key_shared: a key is outstanding on one consumer at a time, at most maxInFlightPerKey at once, first
 *       deliveries of a key are in publish order, and a message that was nacked / timed out / detached is
 *       redelivered before any later never-delivered message of its key.</li>
 * </ul>
 * It also predicts every answer that is determined: admin outcomes and errors, ConsumerAttached, AckReceipt
 * done/unknown counts, publish receipts (partition = murmur3 of the key, entries consecutive, ids unique), backlog
 * refusals, INVALID_ARGUMENT for over-limit messages (whole batch refused) and malformed frames, ConsumerClosed on
 * deletions, TopicDescription stats and TopicList; any event it cannot account for is a violation.
 * <p>
 * Traffic counters (TopicDescription, see EngineCountersTest for the definitions) are derived by the model, never
 * read from the engine: per topic published (accepted publishes, incl. to topics without subscriptions, plus every
 * dead-letter copy stored into a .dlq topic), delivered (every Delivery event, each multicast copy and each
 * redelivery), redelivered (Delivery events with deliveryCount &gt; 1), acked / nacked (ids the model says changed
 * state; a nack that dead-letters counts too), deadLettered (dead letters the model performed, by the source
 * topic); per subscription delivered / acked / nacked, for every subscription type. All are zeroed on NodeStarted
 * and compared exactly on every DescribeTopic (RandomRun describes every live topic every
 * {@link RandomRun#COUNTER_CHECK_EVERY} steps and after the drain).
 * <p>
 * After every step {@link #checkAfterStep} compares the engine's live message count and bytes with the model's
 * (exactly: a message is live while any subscription that existed at its publish has not completed it, counting a
 * multicast message waiting for its first consumer and one copy per consumer it was assigned to; a copy completes on
 * ack or when its consumer detaches; dead letters are new live messages in the DLQ topic if it has subscriptions),
 * checks that no ack-timeout or nack-delay deadline is reported late, and that the engine is not idle while a
 * consumer with free permits could be given a message (work conservation).
 * <p>
 * Interpretations where SPEC / ENGINE.md leave room (also in the report):
 * <ol>
 *   <li>Dead-lettering happens at the moment the N-th send is nacked / times out / is detached (not when the nack
 *       delay would have expired); the delivery is complete at that moment and the DLQ copy is a new live message
 *       if (and only if) the DLQ topic has subscriptions.</li>
 *   <li>Timers (ack timeout, nack delay) take effect at the first Tick whose timestamp is at or past them; the test
 *       ticks at every deadline the engine reports, so no command ever arrives with an overdue timer.</li>
 *   <li>Work conservation: after a command (and the Ticks due at its time) the engine has dispatched everything it
 *       could. For key_shared this is only asserted for a key with nothing outstanding anywhere whose earliest
 *       incomplete message is ready, and only when every consumer of the subscription has a free permit (the model
 *       does not know the hash ring).</li>
 *   <li>Backlog: a publish must be accepted if live + batch &lt;= maxLiveMessages and must be refused if the batch
 *       would actually make live exceed it; a batch to a topic without subscriptions adds nothing to live, so in
 *       between either answer is accepted.</li>
 *   <li>Stats of multicast subscriptions (backlog / inFlight per copy or per message?) are not checked, only their
 *       consumer count and options. {@code redeliveries} is not checked (sends after the first, or nack/timeout
 *       events?).</li>
 *   <li>Message ids: ledger &gt;= 1 and never decreasing per partition, entries 0, 1, 2 ... within a ledger.</li>
 *   <li>The answer to CloseConsumer is not specified: any non-error answer (or none) is accepted.</li>
 *   <li>Keys are compared by string; ENGINE.md treats keys with equal 32-bit hash as one key, which with the small
 *       key space of the test never happens.</li>
 * </ol>
 */
public final class ReferenceModel
{
    public static final String ORIGINAL_ID = "magnetar.original-id";

    enum State
    {
        PENDING, DELAYED, OUTSTANDING, DONE
    }

    enum Outcome
    {
        NONE, ACKED, DEAD_LETTERED, DROPPED, DISCARDED
    }

    final class TopicM
    {
        final String name;
        final int partitions;
        final boolean engineCreated;
        int id = -1;
        boolean deleted;
        final Map<String, SubM> subs = new LinkedHashMap<>();
        final Map<MessageId, MsgM> stored = new HashMap<>();
        final Map<String, MsgM> unboundDlq = new HashMap<>();
        final Set<MessageId> issued = new HashSet<>();
        final Map<Integer, long[]> lastId = new HashMap<>();
        final ArrayDeque<MessageId> recentIds = new ArrayDeque<>();
        /** traffic counters derived by the model (this run, since the last NodeStarted). */
        long cPublished;
        long cDelivered;
        long cAcked;
        long cNacked;
        long cRedelivered;
        long cDeadLettered;

        TopicM(final String name, final int partitions, final boolean engineCreated)
        {
            this.name = name;
            this.partitions = partitions;
            this.engineCreated = engineCreated;
        }

        boolean hasSubscriptions()
        {
            return !subs.isEmpty();
        }

        @Override
        public String toString()
        {
            return name + "#" + id;
        }
    }

    final class MsgM
    {
        final TopicM topic;
        MessageId id;
        final String key;
        final Map<String, String> attributes;
        final long publishTimeMs;
        final long seq;
        final long bytes;
        int incomplete;

        MsgM(final TopicM topic, final MessageId id, final String key, final Map<String, String> attributes,
            final long publishTimeMs)
        {
            this.topic = topic;
            this.id = id;
            this.key = key;
            this.attributes = attributes;
            this.publishTimeMs = publishTimeMs;
            this.seq = nextSeq++;
            long b = key.getBytes(StandardCharsets.UTF_8).length;
            for (final Map.Entry<String, String> a : attributes.entrySet())
            {
                b += a.getKey().getBytes(StandardCharsets.UTF_8).length;
                b += a.getValue().getBytes(StandardCharsets.UTF_8).length;
            }
            this.bytes = b;
        }

        @Override
        public String toString()
        {
            return topic.name + "/" + (id == null ? "dlq-unbound" : id) + "(" + key + ",seq " + seq + ")";
        }
    }

    final class SubM
    {
        final TopicM topic;
        final String name;
        final SubscriptionType type;
        final long ackTimeoutMs;
        final long nackDelayMs;
        final int maxDeliveries;
        final int maxInFlightPerKey;
        boolean deleted;
        long deadLettered;
        /** traffic counters derived by the model (this run, since the last NodeStarted). */
        long cDelivered;
        long cAcked;
        long cNacked;
        final LinkedHashMap<Long, ConsumerM> consumers = new LinkedHashMap<>();
        /** shared / key_shared: the incomplete delivery of each message, in publish order. */
        final LinkedHashMap<MsgM, DeliveryM> deliveries = new LinkedHashMap<>();
        /** multicast: messages waiting for the first consumer. */
        final LinkedHashSet<MsgM> unassigned = new LinkedHashSet<>();
        /** key_shared: incomplete deliveries per key, by publish sequence. */
        final Map<String, TreeMap<Long, DeliveryM>> byKey = new HashMap<>();

        SubM(final TopicM topic, final String name, final SubscriptionType type, final SubscriptionOptions options)
        {
            this.topic = topic;
            this.name = name;
            this.type = type;
            this.ackTimeoutMs = options.ackTimeoutMs() == null ? defaultAckTimeoutMs : options.ackTimeoutMs();
            this.nackDelayMs = options.nackDelayMs() == null ? defaultNackDelayMs : options.nackDelayMs();
            this.maxDeliveries = options.maxDeliveries() == null ? 0 : options.maxDeliveries();
            this.maxInFlightPerKey = options.maxInFlightPerKey() == null ? 0 : options.maxInFlightPerKey();
        }

        boolean sameOptions(final SubscriptionOptions options)
        {
            final long ackTimeout = options.ackTimeoutMs() == null ? defaultAckTimeoutMs : options.ackTimeoutMs();
            final long nackDelay = options.nackDelayMs() == null ? defaultNackDelayMs : options.nackDelayMs();
            final int deliveries = options.maxDeliveries() == null ? 0 : options.maxDeliveries();
            final int inFlight = options.maxInFlightPerKey() == null ? 0 : options.maxInFlightPerKey();
            return ackTimeout == ackTimeoutMs && nackDelay == nackDelayMs && deliveries == maxDeliveries &&
                inFlight == maxInFlightPerKey;
        }

        @Override
        public String toString()
        {
            return topic.name + "/" + name + "(" + type + ")";
        }
    }

    final class DeliveryM
    {
        final SubM sub;
        final MsgM msg;
        /** multicast: the consumer this copy belongs to; null otherwise. */
        final ConsumerM copyOwner;
        State state = State.PENDING;
        Outcome outcome = Outcome.NONE;
        ConsumerM on;
        long sentAtMs;
        long delayedUntilMs;
        int sends;
        /** key_shared: nacked / timed out / detached and not yet redelivered: later new messages of the key wait. */
        boolean blocking;

        DeliveryM(final SubM sub, final MsgM msg, final ConsumerM copyOwner)
        {
            this.sub = sub;
            this.msg = msg;
            this.copyOwner = copyOwner;
        }

        boolean ready()
        {
            return state == State.PENDING || (state == State.DELAYED && delayedUntilMs <= nowMs);
        }

        @Override
        public String toString()
        {
            return sub + " " + msg + (copyOwner == null ? "" : " copy@" + copyOwner.id) + " " + state +
                (on == null ? "" : "@" + on.id) + " sends=" + sends;
        }
    }

    final class ConsumerM
    {
        final long id;
        final long sessionId;
        final SubM sub;
        int window;
        boolean attached = true;
        final LinkedHashSet<DeliveryM> outstanding = new LinkedHashSet<>();
        /** multicast: this consumer's incomplete copies. */
        final LinkedHashMap<MsgM, DeliveryM> copies = new LinkedHashMap<>();

        ConsumerM(final long id, final long sessionId, final SubM sub, final int window)
        {
            this.id = id;
            this.sessionId = sessionId;
            this.sub = sub;
            this.window = window;
        }

        @Override
        public String toString()
        {
            return "consumer " + id + "(" + sub + ", session " + sessionId + ", window " + window + ", out " +
                outstanding.size() + ")";
        }
    }

    // ------------------------------------------------------------------ state

    final long defaultAckTimeoutMs;
    final long defaultNackDelayMs;
    final long maxLiveMessages;
    final int maxPermits;
    final int keySharedLookahead;
    long nowMs;
    long nextSeq;
    long liveCount;
    long liveBytes;
    final Map<String, TopicM> topics = new LinkedHashMap<>();
    final Map<Integer, TopicM> topicsById = new HashMap<>();
    final Map<Long, ConsumerM> consumers = new LinkedHashMap<>();
    final Set<Long> consumerIdsSeen = new HashSet<>();
    final Set<DeliveryM> outstandingAll = new LinkedHashSet<>();
    final Set<DeliveryM> delayedAll = new LinkedHashSet<>();
    int maxTopicIdSeen;
    final Map<Outcome, Long> outcomes = new HashMap<>();
    /** deviations that are not contract violations: category -> first example. */
    final Map<String, String> softFindings = new LinkedHashMap<>();
    final Map<String, Long> softCounts = new LinkedHashMap<>();
    String where = "";
    long deliveriesSeen;
    final Map<SubscriptionType, Long> deliveriesByType = new java.util.EnumMap<>(SubscriptionType.class);
    final Map<ErrorCode, Long> errorsSeen = new java.util.EnumMap<>(ErrorCode.class);
    long redeliveriesSeen;
    long countersChecked;

    public ReferenceModel(
        final long defaultAckTimeoutMs,
        final long defaultNackDelayMs,
        final long maxLiveMessages,
        final int maxPermits,
        final int keySharedLookahead)
    {
        this.defaultAckTimeoutMs = defaultAckTimeoutMs;
        this.defaultNackDelayMs = defaultNackDelayMs;
        this.maxLiveMessages = maxLiveMessages;
        this.maxPermits = maxPermits;
        this.keySharedLookahead = keySharedLookahead;
    }

    public void now(final long timeMs)
    {
        if (timeMs < nowMs)
        {
            throw new IllegalStateException("time went backwards");
        }
        nowMs = timeMs;
    }

    public long liveCount()
    {
        return liveCount;
    }

    public long liveBytes()
    {
        return liveBytes;
    }

    static AssertionError violation(final String message)
    {
        return new AssertionError(message);
    }

    static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw violation(message);
        }
    }

    TopicM liveTopic(final String name)
    {
        final TopicM t = topics.get(name);
        return t == null || t.deleted ? null : t;
    }

    // ------------------------------------------------------------------ answers

    /**
     * @return the single non-delivery event addressed to {@code sessionId} with correlation id {@code corr}
     * (any correlation id when {@code corr} is -1), or null.
     */
    private static Event answerOf(final Events events, final long sessionId, final long corr)
    {
        Event found = null;
        for (final Event e : events.all())
        {
            if (e instanceof Event.Delivery || e instanceof Event.ConsumerClosed)
            {
                continue;
            }
            if (e.sessionId() == sessionId && (corr == -1 || EngineDriver.correlationIdOf(e) == corr))
            {
                check(found == null, "two answers to one command: " + found + " and " + e);
                found = e;
            }
        }
        return found;
    }

    private static Event expectAnswer(final Events events, final long sessionId, final long corr)
    {
        final Event answer = answerOf(events, sessionId, corr);
        check(answer != null, "no answer for session " + sessionId + " corr " + corr + " in " + events);
        return answer;
    }

    private void expectError(final Event answer, final ErrorCode code)
    {
        check(answer instanceof Event.CommandError e && e.code() == code,
            "expected CommandError " + code + " but got " + answer);
        errorsSeen.merge(code, 1L, Long::sum);
    }

    private static <T extends Event> T expectType(final Event answer, final Class<T> type)
    {
        check(type.isInstance(answer), "expected " + type.getSimpleName() + " but got " + answer);
        return type.cast(answer);
    }

    /**
     * Validates all events of one command in order: the answer (already applied) is skipped, deliveries are
     * validated and applied, ConsumerClosed must be for a consumer in {@code closable}; the consumers in
     * {@code mustClose} must each get one. Anything else is a violation.
     */
    private void processEvents(
        final Events events, final Event answer, final Map<Long, Long> closable, final Set<Long> mustClose)
    {
        final Set<Long> closed = new HashSet<>();
        for (final Event e : events.all())
        {
            if (e == answer)
            {
                continue;
            }
            if (e instanceof Event.Delivery d)
            {
                onDelivery(d);
            }
            else if (e instanceof Event.ConsumerClosed c)
            {
                final Long session = closable == null ? null : closable.get(c.consumerId());
                check(session != null, "unexpected ConsumerClosed " + c);
                check(session == c.sessionId(), "ConsumerClosed to the wrong session: " + c + " (want " + session + ")");
                check(closed.add(c.consumerId()), "ConsumerClosed twice: " + c);
            }
            else
            {
                throw violation("unexpected event " + e + " (answer was " + answer + ")");
            }
        }
        if (mustClose != null)
        {
            for (final long id : mustClose)
            {
                check(closed.contains(id), "consumer " + id + " was detached by a deletion but got no ConsumerClosed");
            }
        }
    }

    private void processEvents(final Events events, final Event answer)
    {
        processEvents(events, answer, null, null);
    }

    // ------------------------------------------------------------------ admin

    public void onCreateTopic(final long sessionId, final String name, final int partitions, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM existing = liveTopic(name);
        if (existing != null)
        {
            if (existing.partitions == partitions)
            {
                check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.UNCHANGED,
                    "re-creating " + name + " identically: want UNCHANGED, got " + answer);
            }
            else
            {
                expectError(answer, ErrorCode.TOPIC_EXISTS);
            }
        }
        else
        {
            check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.CREATED,
                "creating " + name + ": want CREATED, got " + answer);
            final TopicM old = topics.get(name);
            if (old != null)
            {
                check(old.deleted, "topic present twice");
            }
            topics.put(name, new TopicM(name, partitions, false));
        }
        processEvents(events, answer);
    }

    public void onDeleteTopic(final long sessionId, final String name, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = liveTopic(name);
        if (t == null)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.DELETED,
            "deleting topic " + name + ": want DELETED, got " + answer);
        final Map<Long, Long> closable = new HashMap<>();
        for (final SubM s : new ArrayList<>(t.subs.values()))
        {
            closable.putAll(deleteSubscription(s));
        }
        t.deleted = true;
        check(t.stored.isEmpty() && t.unboundDlq.isEmpty(), "model: messages left in deleted topic " + t);
        processEvents(events, answer, closable, closable.keySet());
    }

    public void onCreateSubscription(
        final long sessionId,
        final String topic,
        final String name,
        final SubscriptionType type,
        final SubscriptionOptions options,
        final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = liveTopic(topic);
        if (t == null)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
        }
        else
        {
            final SubM s = t.subs.get(name);
            if (s == null)
            {
                check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.CREATED,
                    "creating subscription " + topic + "/" + name + ": want CREATED, got " + answer);
                t.subs.put(name, new SubM(t, name, type, options));
            }
            else if (s.type != type)
            {
                expectError(answer, ErrorCode.SUBSCRIPTION_TYPE_CONFLICT);
            }
            else if (s.sameOptions(options))
            {
                check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.UNCHANGED,
                    "re-creating subscription " + s + " identically: want UNCHANGED, got " + answer);
            }
            else
            {
                expectError(answer, ErrorCode.SUBSCRIPTION_EXISTS);
            }
        }
        processEvents(events, answer);
    }

    public void onDeleteSubscription(final long sessionId, final String topic, final String name, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = liveTopic(topic);
        if (t == null)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        final SubM s = t.subs.get(name);
        if (s == null)
        {
            expectError(answer, ErrorCode.SUBSCRIPTION_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        check(expectType(answer, Event.AdminResult.class).outcome() == AdminOutcome.DELETED,
            "deleting subscription " + s + ": want DELETED, got " + answer);
        final Map<Long, Long> closable = deleteSubscription(s);
        processEvents(events, answer, closable, closable.keySet());
    }

    /**
     * @return consumer id -> session of the consumers this detached.
     */
    private Map<Long, Long> deleteSubscription(final SubM s)
    {
        final Map<Long, Long> closed = new HashMap<>();
        for (final ConsumerM c : new ArrayList<>(s.consumers.values()))
        {
            closed.put(c.id, c.sessionId);
            c.attached = false;
            consumers.remove(c.id);
            for (final DeliveryM d : new ArrayList<>(c.copies.values()))
            {
                complete(d, Outcome.DISCARDED);
            }
            for (final DeliveryM d : new ArrayList<>(c.outstanding))
            {
                release(d, State.PENDING);
            }
        }
        s.consumers.clear();
        for (final DeliveryM d : new ArrayList<>(s.deliveries.values()))
        {
            complete(d, Outcome.DISCARDED);
        }
        for (final MsgM m : new ArrayList<>(s.unassigned))
        {
            s.unassigned.remove(m);
            decrement(m);
        }
        s.deleted = true;
        s.topic.subs.remove(s.name);
        return closed;
    }

    public void onDescribeTopic(final long sessionId, final String name, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = liveTopic(name);
        if (t == null)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        final Event.TopicDescription d = expectType(answer, Event.TopicDescription.class);
        bindTopicId(t, d.topicId());
        check(d.partitions() == t.partitions, "partitions of " + t + ": " + d);
        check(d.topicName().equals(name), "topic name in description: " + d);
        check(d.subscriptions().size() == t.subs.size(), "subscriptions of " + t + ": model " + t.subs.keySet() +
            ", engine " + d.subscriptions());
        for (final SubM s : t.subs.values())
        {
            final Event.SubscriptionStats stats = d.subscription(s.name);
            check(stats != null, "subscription " + s + " missing from " + d);
            check(stats.subscriptionType() == s.type, "type of " + s + ": " + stats);
            check(stats.consumers() == s.consumers.size(), "consumers of " + s + ": model " + s.consumers.size() +
                ", engine " + stats);
            check(stats.ackTimeoutMs() == s.ackTimeoutMs && stats.nackDelayMs() == s.nackDelayMs &&
                stats.maxDeliveries() == s.maxDeliveries && stats.maxInFlightPerKey() == s.maxInFlightPerKey,
                "options of " + s + ": " + stats);
            if (s.type != SubscriptionType.MULTICAST)
            {
                long inFlight = 0;
                long backlog = 0;
                for (final DeliveryM dm : s.deliveries.values())
                {
                    if (dm.state == State.OUTSTANDING)
                    {
                        inFlight++;
                    }
                    else
                    {
                        backlog++;
                    }
                }
                check(stats.inFlight() == inFlight && stats.backlog() == backlog,
                    "backlog/inFlight of " + s + ": model " + backlog + "/" + inFlight + ", engine " + stats);
                check(stats.deadLettered() == s.deadLettered,
                    "deadLettered of " + s + ": model " + s.deadLettered + ", engine " + stats);
            }
            check(stats.delivered() == s.cDelivered && stats.acked() == s.cAcked && stats.nacked() == s.cNacked,
                "counters delivered/acked/nacked of " + s + ": model " + s.cDelivered + "/" + s.cAcked + "/" +
                    s.cNacked + ", engine " + stats.delivered() + "/" + stats.acked() + "/" + stats.nacked());
        }
        final Event.TopicCounters want = new Event.TopicCounters(t.cPublished, t.cDelivered, t.cAcked, t.cNacked,
            t.cRedelivered, t.cDeadLettered);
        check(want.equals(d.counters()), "traffic counters of " + t + ": model " + want + ", engine " +
            d.counters());
        countersChecked++;
        processEvents(events, answer);
    }

    public void onListTopics(final long sessionId, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final Event.TopicList list = expectType(answer, Event.TopicList.class);
        final Map<String, Event.TopicInfo> byName = new HashMap<>();
        for (final Event.TopicInfo info : list.topics())
        {
            check(byName.put(info.name(), info) == null, "topic listed twice: " + list);
        }
        int live = 0;
        for (final TopicM t : topics.values())
        {
            if (t.deleted)
            {
                continue;
            }
            live++;
            final Event.TopicInfo info = byName.get(t.name);
            check(info != null, "topic " + t + " missing from " + list);
            check(info.partitions() == t.partitions, "partitions of " + t + " in " + list);
            bindTopicId(t, info.topicId());
        }
        check(live == list.topics().size(), "topic list has extra topics: " + list + " model " + topics.keySet());
        processEvents(events, answer);
    }

    private void bindTopicId(final TopicM t, final int id)
    {
        if (t.id == -1)
        {
            final TopicM holder = topicsById.get(id);
            check(holder == null, "topic id " + id + " of " + t.name + " was already " + holder);
            if (!t.engineCreated)
            {
                // explicitly created topics are bound right after creation, so their ids must grow
                check(id > maxTopicIdSeen, "topic ids must be assigned in order: " + t.name + " got " + id +
                    " after " + maxTopicIdSeen);
            }
            t.id = id;
            maxTopicIdSeen = Math.max(maxTopicIdSeen, id);
            topicsById.put(id, t);
        }
        else
        {
            check(t.id == id, "topic id of " + t + " changed to " + id);
        }
    }

    // ------------------------------------------------------------------ consumers

    public void onSubscribe(
        final long sessionId,
        final String topic,
        final String name,
        final SubscriptionType typeOrNull,
        final int permits,
        final SubscriptionOptions options,
        final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = liveTopic(topic);
        final SubM existing = t == null ? null : t.subs.get(name);
        if (permits < 1 || permits > maxPermits)
        {
            expectError(answer, ErrorCode.INVALID_ARGUMENT);
            processEvents(events, answer);
            return;
        }
        if (t == null)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        if (existing == null && typeOrNull == null)
        {
            expectError(answer, ErrorCode.SUBSCRIPTION_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        if (existing != null && typeOrNull != null && typeOrNull != existing.type)
        {
            expectError(answer, ErrorCode.SUBSCRIPTION_TYPE_CONFLICT);
            processEvents(events, answer);
            return;
        }
        final Event.ConsumerAttached attached = expectType(answer, Event.ConsumerAttached.class);
        bindTopicId(t, attached.topicId());
        check(attached.partitions() == t.partitions, "ConsumerAttached partitions: " + attached);
        final SubM s;
        if (existing == null)
        {
            s = new SubM(t, name, typeOrNull, options);
            t.subs.put(name, s);
        }
        else
        {
            s = existing;
        }
        check(attached.subscriptionType() == s.type, "ConsumerAttached type: " + attached + " for " + s);
        check(consumerIdsSeen.add(attached.consumerId()), "consumer id reused: " + attached);
        final ConsumerM c = new ConsumerM(attached.consumerId(), sessionId, s, permits);
        final boolean wasEmpty = s.consumers.isEmpty();
        s.consumers.put(c.id, c);
        consumers.put(c.id, c);
        final int answerIndex = events.all().indexOf(answer);
        for (int i = 0; i < answerIndex; i++)
        {
            check(!(events.all().get(i) instanceof Event.Delivery d && d.consumerId() == c.id),
                "delivery to consumer " + c.id + " before its ConsumerAttached: " + events);
        }
        if (s.type == SubscriptionType.MULTICAST && wasEmpty)
        {
            for (final MsgM m : new ArrayList<>(s.unassigned))
            {
                s.unassigned.remove(m);
                final DeliveryM d = new DeliveryM(s, m, c);
                c.copies.put(m, d);
                // the message stays live: the waiting slot becomes this copy (incomplete count unchanged)
            }
        }
        processEvents(events, answer);
    }

    public void onFlow(final long sessionId, final long consumerId, final int permits, final Events events)
    {
        final ConsumerM c = consumers.get(consumerId);
        final Event answer = answerOf(events, sessionId, -1);
        if (c == null)
        {
            check(answer != null, "Flow for unknown consumer " + consumerId + " not refused: " + events);
            expectError(answer, ErrorCode.CONSUMER_NOT_FOUND);
        }
        else if (permits < 1 || permits > maxPermits)
        {
            check(answer != null, "Flow with permits " + permits + " not refused: " + events);
            expectError(answer, ErrorCode.INVALID_ARGUMENT);
        }
        else
        {
            check(answer == null, "Flow answered: " + answer);
            c.window = permits;
        }
        processEvents(events, answer);
    }

    public void onCloseConsumer(final long sessionId, final long consumerId, final Events events)
    {
        final ConsumerM c = consumers.get(consumerId);
        final Event answer = answerOf(events, sessionId, events.correlationId());
        if (c == null)
        {
            check(answer != null, "CloseConsumer of unknown consumer " + consumerId + " not refused: " + events);
            expectError(answer, ErrorCode.CONSUMER_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        check(!(answer instanceof Event.CommandError), "CloseConsumer refused: " + answer);
        detach(c);
        final Map<Long, Long> closable = Map.of(c.id, c.sessionId);
        processEvents(events, answer, closable, null);
    }

    public void onSessionClosed(final long closedSessionId, final Events events)
    {
        final Map<Long, Long> closable = new HashMap<>();
        for (final ConsumerM c : new ArrayList<>(consumers.values()))
        {
            if (c.sessionId == closedSessionId)
            {
                closable.put(c.id, c.sessionId);
                detach(c);
            }
        }
        processEvents(events, null, closable, null);
    }

    public void onNodeStarted(final Events events)
    {
        // traffic counters count one run of the node (EngineCountersTest)
        for (final TopicM t : topics.values())
        {
            t.cPublished = t.cDelivered = t.cAcked = t.cNacked = t.cRedelivered = t.cDeadLettered = 0;
            for (final SubM s : t.subs.values())
            {
                s.cDelivered = s.cAcked = s.cNacked = 0;
            }
        }
        final Map<Long, Long> closable = new HashMap<>();
        for (final ConsumerM c : new ArrayList<>(consumers.values()))
        {
            closable.put(c.id, c.sessionId);
            detach(c);
        }
        processEvents(events, null, closable, null);
    }

    /**
     * SPEC 2.7 / ENGINE detach: outstanding deliveries are redelivered at once (or dead-lettered after their last
     * allowed send); a multicast consumer's copies are dropped (complete for it).
     */
    private void detach(final ConsumerM c)
    {
        c.attached = false;
        consumers.remove(c.id);
        c.sub.consumers.remove(c.id);
        if (c.sub.type == SubscriptionType.MULTICAST)
        {
            for (final DeliveryM d : new ArrayList<>(c.copies.values()))
            {
                complete(d, Outcome.DROPPED);
            }
        }
        else
        {
            for (final DeliveryM d : new ArrayList<>(c.outstanding))
            {
                redeliverNow(d);
            }
        }
        check(c.outstanding.isEmpty(), "model: outstanding left on detached " + c);
    }

    // ------------------------------------------------------------------ publish

    /**
     * @return why the message breaks a SPEC 1 limit (default configuration), or null if it is valid.
     */
    static String invalidReason(final Msg m)
    {
        final int keyBytes = m.key().getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes < 1 || keyBytes > 256)
        {
            return "key of " + keyBytes + " bytes";
        }
        if (m.attributes().size() > 32)
        {
            return m.attributes().size() + " attributes";
        }
        int total = 0;
        for (final Map.Entry<String, String> a : m.attributes().entrySet())
        {
            final int name = a.getKey().getBytes(StandardCharsets.UTF_8).length;
            final int value = a.getValue().getBytes(StandardCharsets.UTF_8).length;
            if (name < 1 || name > 64)
            {
                return "attribute name of " + name + " bytes";
            }
            if (value > 1024)
            {
                return "attribute value of " + value + " bytes";
            }
            total += name + value;
        }
        return total > 4096 ? "attributes of " + total + " bytes" : null;
    }

    public void onMalformed(final long sessionId, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, -1);
        expectError(answer, ErrorCode.INVALID_ARGUMENT);
        processEvents(events, answer);
    }

    public void onPublish(final long sessionId, final int topicId, final List<Msg> batch, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final TopicM t = topicsById.get(topicId);
        if (t == null || t.deleted)
        {
            expectError(answer, ErrorCode.TOPIC_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        final boolean mustAccept = liveCount + batch.size() <= maxLiveMessages;
        final boolean mustRefuse = t.hasSubscriptions() && liveCount + batch.size() > maxLiveMessages;
        String invalid = null;
        for (int i = 0; i < batch.size() && invalid == null; i++)
        {
            invalid = invalidReason(batch.get(i));
        }
        if (invalid != null)
        {
            // all or nothing; if the backlog is full too, either refusal is right
            check(answer instanceof Event.CommandError e && (e.code() == ErrorCode.INVALID_ARGUMENT ||
                (e.code() == ErrorCode.BACKLOG_FULL && !mustAccept)),
                "publish with an invalid message (" + invalid + ") not refused with INVALID_ARGUMENT: " + answer);
            errorsSeen.merge(((Event.CommandError)answer).code(), 1L, Long::sum);
            processEvents(events, answer);
            return;
        }
        if (answer instanceof Event.CommandError error)
        {
            errorsSeen.merge(error.code(), 1L, Long::sum);
            check(error.code() == ErrorCode.BACKLOG_FULL && !mustAccept,
                "publish of " + batch.size() + " with " + liveCount + " live (max " + maxLiveMessages +
                    ") refused: " + error);
            processEvents(events, answer);
            return;
        }
        final Event.PublishReceipt receipt = expectType(answer, Event.PublishReceipt.class);
        check(!mustRefuse, "publish of " + batch.size() + " with " + liveCount + " live (max " + maxLiveMessages +
            ") accepted");
        check(receipt.topicId() == topicId, "receipt topic id: " + receipt);
        check(receipt.ids().size() == batch.size(), "receipt has " + receipt.ids().size() + " ids for " +
            batch.size() + " messages");
        for (int i = 0; i < batch.size(); i++)
        {
            final Msg msg = batch.get(i);
            final MessageId id = receipt.ids().get(i);
            final int partition = (Hashing.murmur3_32_fixed(0).hashString(msg.key(), StandardCharsets.UTF_8).asInt()
                & 0x7fffffff) % t.partitions;
            check(id.partition() == partition, "message " + i + " key " + msg.key() + " got partition " +
                id.partition() + ", murmur3 says " + partition);
            checkNewId(t, id);
            final MsgM m = new MsgM(t, id, msg.key(), msg.attributes(), nowMs);
            store(t, m);
            t.cPublished++;
        }
        processEvents(events, answer);
    }

    private void checkNewId(final TopicM t, final MessageId id)
    {
        check(t.issued.add(id), "message id " + id + " issued twice in " + t);
        check(id.ledger() >= 1, "ledger < 1: " + id);
        final long[] last = t.lastId.get(id.partition());
        if (last == null || id.ledger() > last[0])
        {
            check(last == null || id.ledger() > last[0], "ledger went back: " + id);
            check(id.entry() == 0, "first entry of a ledger is not 0: " + id);
        }
        else
        {
            check(id.ledger() == last[0], "ledger went back: " + id + " after " + last[0]);
            check(id.entry() == last[1] + 1, "entries not consecutive: " + id + " after " + last[1]);
        }
        t.lastId.put(id.partition(), new long[] {id.ledger(), id.entry()});
        t.recentIds.addLast(id);
        if (t.recentIds.size() > 200)
        {
            t.recentIds.removeFirst();
        }
    }

    /**
     * A new message enters every subscription of its topic (SPEC 1: those existing when it was accepted).
     */
    private void store(final TopicM t, final MsgM m)
    {
        for (final SubM s : t.subs.values())
        {
            if (s.type == SubscriptionType.MULTICAST)
            {
                if (s.consumers.isEmpty())
                {
                    s.unassigned.add(m);
                    increment(m);
                }
                else
                {
                    for (final ConsumerM c : s.consumers.values())
                    {
                        c.copies.put(m, new DeliveryM(s, m, c));
                        increment(m);
                    }
                }
            }
            else
            {
                final DeliveryM d = new DeliveryM(s, m, null);
                s.deliveries.put(m, d);
                if (s.type == SubscriptionType.KEY_SHARED)
                {
                    s.byKey.computeIfAbsent(m.key, k -> new TreeMap<>()).put(m.seq, d);
                }
                increment(m);
            }
        }
        if (m.incomplete > 0)
        {
            if (m.id != null)
            {
                t.stored.put(m.id, m);
            }
            else
            {
                t.unboundDlq.put(m.attributes.get(ORIGINAL_ID), m);
            }
        }
    }

    private void increment(final MsgM m)
    {
        if (m.incomplete++ == 0)
        {
            liveCount++;
            liveBytes += m.bytes;
        }
    }

    private void decrement(final MsgM m)
    {
        check(m.incomplete > 0, "model: decrement below 0 for " + m);
        if (--m.incomplete == 0)
        {
            liveCount--;
            liveBytes -= m.bytes;
            if (m.id != null)
            {
                m.topic.stored.remove(m.id);
            }
            else
            {
                m.topic.unboundDlq.remove(m.attributes.get(ORIGINAL_ID));
            }
        }
    }

    // ------------------------------------------------------------------ acks

    /**
     * @return the incomplete delivery an ack / nack of {@code id} by {@code c} refers to, or null (unknown).
     */
    DeliveryM resolve(final ConsumerM c, final MessageId id)
    {
        final MsgM m = c.sub.topic.stored.get(id);
        if (m == null)
        {
            return null;
        }
        return c.sub.type == SubscriptionType.MULTICAST ? c.copies.get(m) : c.sub.deliveries.get(m);
    }

    public void onAck(final long sessionId, final long consumerId, final List<MessageId> ids, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final ConsumerM c = consumers.get(consumerId);
        if (c == null)
        {
            expectError(answer, ErrorCode.CONSUMER_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        int done = 0;
        int unknown = 0;
        for (final MessageId id : ids)
        {
            final DeliveryM d = resolve(c, id);
            if (d == null)
            {
                unknown++;
            }
            else
            {
                complete(d, Outcome.ACKED);
                d.sub.cAcked++;
                d.sub.topic.cAcked++;
                done++;
            }
        }
        final Event.AckReceipt receipt = expectType(answer, Event.AckReceipt.class);
        check(receipt.consumerId() == consumerId && receipt.done() == done && receipt.unknown() == unknown,
            "ack of " + ids + " by " + c + ": want done " + done + " unknown " + unknown + ", got " + receipt);
        processEvents(events, answer);
    }

    /**
     * @return whether a nack of {@code id} by {@code c} is well defined by ENGINE.md (outstanding on c, pending,
     * complete or unknown) — the generator only sends those.
     */
    boolean nackIsDefined(final ConsumerM c, final MessageId id, final boolean pendingToo)
    {
        final DeliveryM d = resolve(c, id);
        return d == null || (pendingToo && d.state != State.OUTSTANDING) || (d.state == State.OUTSTANDING && d.on == c);
    }

    public void onNack(final long sessionId, final long consumerId, final List<MessageId> ids, final Events events)
    {
        final Event answer = expectAnswer(events, sessionId, events.correlationId());
        final ConsumerM c = consumers.get(consumerId);
        if (c == null)
        {
            expectError(answer, ErrorCode.CONSUMER_NOT_FOUND);
            processEvents(events, answer);
            return;
        }
        int done = 0;
        int unknown = 0;
        for (final MessageId id : ids)
        {
            final DeliveryM d = resolve(c, id);
            if (d == null)
            {
                unknown++;
                continue;
            }
            if (d.state == State.OUTSTANDING && d.on == c)
            {
                release(d, State.PENDING);
                done++;
                d.sub.cNacked++;
                d.sub.topic.cNacked++;
                if (!deadLetterIfSpent(d))
                {
                    delay(d);
                    d.blocking = true;
                }
            }
            else if (d.state != State.OUTSTANDING)
            {
                unknown++;   // ENGINE.md: a nack acts on outstanding deliveries only; pending or delayed ids are counted
            }
            else
            {
                throw new IllegalStateException("generator sent an ambiguous nack: " + d);
            }
        }
        final Event.AckReceipt receipt = expectType(answer, Event.AckReceipt.class);
        check(receipt.consumerId() == consumerId && receipt.done() == done && receipt.unknown() == unknown,
            "nack of " + ids + " by " + c + ": want done " + done + " unknown " + unknown + ", got " + receipt);
        processEvents(events, answer);
    }

    // ------------------------------------------------------------------ time

    public void onTick(final Events events)
    {
        for (final DeliveryM d : new ArrayList<>(outstandingAll))
        {
            if (d.sub.ackTimeoutMs > 0 && d.sentAtMs + d.sub.ackTimeoutMs <= nowMs)
            {
                redeliverNow(d);
            }
        }
        for (final DeliveryM d : new ArrayList<>(delayedAll))
        {
            if (d.delayedUntilMs <= nowMs)
            {
                delayedAll.remove(d);
                d.state = State.PENDING;
            }
        }
        processEvents(events, null);
    }

    /**
     * @return the earliest ack timeout or nack delay still to come, or Long.MAX_VALUE.
     */
    long earliestDeadline()
    {
        long earliest = Long.MAX_VALUE;
        for (final DeliveryM d : outstandingAll)
        {
            if (d.sub.ackTimeoutMs > 0)
            {
                earliest = Math.min(earliest, d.sentAtMs + d.sub.ackTimeoutMs);
            }
        }
        for (final DeliveryM d : delayedAll)
        {
            earliest = Math.min(earliest, d.delayedUntilMs);
        }
        return earliest;
    }

    // ------------------------------------------------------------------ transitions

    private void release(final DeliveryM d, final State next)
    {
        if (d.state == State.OUTSTANDING)
        {
            d.on.outstanding.remove(d);
            outstandingAll.remove(d);
            d.on = null;
        }
        else if (d.state == State.DELAYED)
        {
            delayedAll.remove(d);
        }
        d.state = next;
    }

    private void delay(final DeliveryM d)
    {
        d.state = State.DELAYED;
        d.delayedUntilMs = nowMs + d.sub.nackDelayMs;
        delayedAll.add(d);
    }

    /**
     * Timeout or detach of an outstanding delivery: dead letter if spent, else pending at once.
     */
    private void redeliverNow(final DeliveryM d)
    {
        release(d, State.PENDING);
        if (!deadLetterIfSpent(d))
        {
            d.blocking = true;
        }
    }

    private boolean deadLetterIfSpent(final DeliveryM d)
    {
        if (d.sub.maxDeliveries > 0 && d.sends >= d.sub.maxDeliveries)
        {
            complete(d, Outcome.DEAD_LETTERED);
            d.sub.deadLettered++;
            d.sub.topic.cDeadLettered++;
            republishToDeadLetterTopic(d);
            return true;
        }
        return false;
    }

    private void republishToDeadLetterTopic(final DeliveryM d)
    {
        final String name = d.sub.topic.name + "." + d.sub.name + ".dlq";
        TopicM t = liveTopic(name);
        if (t == null)
        {
            t = new TopicM(name, 1, true);
            topics.put(name, t);
        }
        t.cPublished++;   // the dead-letter copy is stored into the .dlq topic, with or without subscriptions
        if (!t.hasSubscriptions())
        {
            return;
        }
        final Map<String, String> attributes = new LinkedHashMap<>(d.msg.attributes);
        attributes.put(ORIGINAL_ID, d.msg.id.toString());
        final MsgM m = new MsgM(t, null, d.msg.key, attributes, nowMs);
        check(!t.unboundDlq.containsKey(d.msg.id.toString()), "model: dead-lettered twice " + d);
        store(t, m);
    }

    private void complete(final DeliveryM d, final Outcome outcome)
    {
        check(d.state != State.DONE, "model: completing twice " + d);
        release(d, State.DONE);
        d.outcome = outcome;
        d.blocking = false;
        outcomes.merge(outcome, 1L, Long::sum);
        if (d.copyOwner != null)
        {
            d.copyOwner.copies.remove(d.msg);
        }
        else
        {
            d.sub.deliveries.remove(d.msg);
            if (d.sub.type == SubscriptionType.KEY_SHARED)
            {
                final TreeMap<Long, DeliveryM> ofKey = d.sub.byKey.get(d.msg.key);
                ofKey.remove(d.msg.seq);
                if (ofKey.isEmpty())
                {
                    d.sub.byKey.remove(d.msg.key);
                }
            }
        }
        decrement(d.msg);
    }

    // ------------------------------------------------------------------ deliveries

    private void onDelivery(final Event.Delivery e)
    {
        final ConsumerM c = consumers.get(e.consumerId());
        check(c != null, "delivery to a consumer that is not attached: " + e);
        check(e.sessionId() == c.sessionId, "delivery to the wrong session: " + e + " for " + c);
        final SubM s = c.sub;
        final TopicM t = s.topic;
        MsgM m = t.stored.get(e.id());
        if (m == null && e.attributes().containsKey(ORIGINAL_ID))
        {
            m = t.unboundDlq.get(e.attributes().get(ORIGINAL_ID));
            if (m != null)
            {
                check(e.id().partition() == 0, "dead-letter topic has 1 partition: " + e);
                check(t.issued.add(e.id()), "dead-letter message id issued twice: " + e);
                t.unboundDlq.remove(m.attributes.get(ORIGINAL_ID));
                m.id = e.id();
                t.stored.put(m.id, m);
            }
        }
        check(m != null, "delivery of a message that is complete or unknown in " + t + ": " + e + " to " + c);
        check(m.key.equals(e.key()) && m.attributes.equals(e.attributes()),
            "delivered key/attributes differ from published " + m.key + " " + m.attributes + ": " + e);
        check(m.publishTimeMs == e.publishTimeMs(), "publish time " + m.publishTimeMs + " but delivered " + e);
        final DeliveryM d = s.type == SubscriptionType.MULTICAST ? c.copies.get(m) : s.deliveries.get(m);
        check(d != null, "delivery of a message not (or no longer) owed to " + c + ": " + e +
            (s.type == SubscriptionType.MULTICAST ? " (not attached when it was dispatched, or copy complete)" : ""));
        check(d.state != State.OUTSTANDING, "delivery of " + m + " to " + c + " while outstanding on consumer " +
            (d.on == null ? "?" : d.on.id));
        check(d.ready(), "delivery of " + m + " to " + c + " during its nack delay (until " + d.delayedUntilMs +
            ", now " + nowMs + ")");
        check(c.outstanding.size() + 1 <= c.window, "permits exceeded: " + c + " got " + e);
        check(e.deliveryCount() == d.sends + 1, "deliveryCount " + e.deliveryCount() + " but it is send #" +
            (d.sends + 1) + " of " + d);
        if (s.type == SubscriptionType.KEY_SHARED)
        {
            checkKeyShared(d, c, e);
        }
        release(d, State.OUTSTANDING);
        d.state = State.OUTSTANDING;
        d.on = c;
        d.sentAtMs = nowMs;
        d.sends++;
        d.blocking = false;
        c.outstanding.add(d);
        outstandingAll.add(d);
        s.cDelivered++;
        t.cDelivered++;
        if (e.deliveryCount() > 1)
        {
            t.cRedelivered++;
        }
        deliveriesSeen++;
        deliveriesByType.merge(s.type, 1L, Long::sum);
        if (d.sends > 1)
        {
            redeliveriesSeen++;
        }
    }

    private void checkKeyShared(final DeliveryM d, final ConsumerM c, final Event.Delivery e)
    {
        final SubM s = d.sub;
        final TreeMap<Long, DeliveryM> ofKey = s.byKey.get(d.msg.key);
        int outstandingOfKey = 0;
        for (final DeliveryM other : ofKey.values())
        {
            if (other.state == State.OUTSTANDING)
            {
                check(other.on == c, "key " + d.msg.key + " of " + s + " delivered to consumer " + c.id +
                    " while " + other.msg + " is outstanding on consumer " + other.on.id + ": " + e);
                outstandingOfKey++;
            }
        }
        if (s.maxInFlightPerKey > 0)
        {
            check(outstandingOfKey + 1 <= s.maxInFlightPerKey, "maxInFlightPerKey " + s.maxInFlightPerKey +
                " exceeded for key " + d.msg.key + " of " + s + ": " + e);
        }
        if (d.sends == 0)
        {
            for (final DeliveryM earlier : ofKey.headMap(d.msg.seq, false).values())
            {
                check(earlier.sends > 0, "first delivery of " + d.msg + " before earlier never-delivered " +
                    earlier.msg + " of key " + d.msg.key + " in " + s + ": " + e);
                check(!earlier.blocking, "first delivery of " + d.msg + " before redelivery of nacked / timed out /" +
                    " detached " + earlier.msg + " of key " + d.msg.key + " in " + s + ": " + e);
            }
        }
    }

    // ------------------------------------------------------------------ invariants

    /**
     * After every step (command plus the Ticks due at its time).
     */
    public void checkAfterStep(final long engineLive, final long engineLiveBytes, final long engineNextDeadline)
    {
        check(engineLive == liveCount, "liveMessages: engine " + engineLive + ", model " + liveCount +
            describeLive());
        check(engineLiveBytes == liveBytes, "liveBytes: engine " + engineLiveBytes + ", model " + liveBytes);
        for (final DeliveryM d : new ArrayList<>(delayedAll))
        {
            if (d.delayedUntilMs <= nowMs)
            {
                delayedAll.remove(d);
                d.state = State.PENDING;
            }
        }
        final long earliest = earliestDeadline();
        check(earliest > nowMs, "a timer at " + earliest + " is overdue at " + nowMs +
            " (the engine never asked for a Tick at it)");
        check(engineNextDeadline <= earliest,
            "nextDeadlineMs " + engineNextDeadline + " is later than the earliest model timer " + earliest);
        checkWorkConserving();
    }

    private String describeLive()
    {
        final StringBuilder b = new StringBuilder("\n  model live messages by topic:");
        for (final TopicM t : topics.values())
        {
            if (!t.stored.isEmpty() || !t.unboundDlq.isEmpty())
            {
                b.append("\n    ").append(t).append(": ").append(t.stored.size()).append(" stored, ")
                    .append(t.unboundDlq.size()).append(" dead letters not yet delivered");
            }
            for (final SubM s : t.subs.values())
            {
                b.append("\n      ").append(s).append(": ").append(s.deliveries.size()).append(" incomplete, ")
                    .append(s.unassigned.size()).append(" unassigned, consumers ").append(s.consumers.keySet());
            }
        }
        return b.toString();
    }

    private void checkWorkConserving()
    {
        for (final TopicM t : topics.values())
        {
            for (final SubM s : t.subs.values())
            {
                if (s.consumers.isEmpty())
                {
                    continue;
                }
                switch (s.type)
                {
                    case SHARED -> checkSharedIdle(s);
                    case KEY_SHARED -> checkKeySharedIdle(s);
                    case MULTICAST -> checkMulticastIdle(s);
                    default -> throw new IllegalStateException();
                }
            }
        }
    }

    private static boolean hasFreePermit(final ConsumerM c)
    {
        return c.outstanding.size() < c.window;
    }

    private void checkSharedIdle(final SubM s)
    {
        ConsumerM free = null;
        for (final ConsumerM c : s.consumers.values())
        {
            if (hasFreePermit(c))
            {
                free = c;
                break;
            }
        }
        if (free == null)
        {
            return;
        }
        for (final DeliveryM d : s.deliveries.values())
        {
            check(!d.ready(), "idle: " + d + " is ready and " + free + " has a free permit");
        }
    }

    private void checkKeySharedIdle(final SubM s)
    {
        for (final ConsumerM c : s.consumers.values())
        {
            if (!hasFreePermit(c))
            {
                return;
            }
        }
        if (s.deliveries.size() >= keySharedLookahead)
        {
            return;
        }
        for (final TreeMap<Long, DeliveryM> ofKey : s.byKey.values())
        {
            boolean anyOutstanding = false;
            for (final DeliveryM d : ofKey.values())
            {
                if (d.state == State.OUTSTANDING)
                {
                    anyOutstanding = true;
                    break;
                }
            }
            if (anyOutstanding)
            {
                continue;
            }
            final DeliveryM first = ofKey.firstEntry().getValue();
            if (!first.ready())
            {
                continue;
            }
            boolean laterDelayed = false;
            for (final DeliveryM d : ofKey.values())
            {
                laterDelayed |= d.state == State.DELAYED && !d.ready();
            }
            final String message = "idle: " + first + " is the first of its key, nothing of the key is " +
                "outstanding, and every consumer of " + s + " has a free permit " + s.consumers.values();
            if (laterDelayed)
            {
                // ENGINE.md holds a message back while an *earlier* message of its key is delayed; holding the first
                // one back because a later one is in its nack delay only adds latency (bounded by nackDelayMs)
                soft("key_shared: a ready message is held back while a LATER message of its key is in its nack delay",
                    message);
            }
            else
            {
                throw violation(message);
            }
        }
    }

    private void checkMulticastIdle(final SubM s)
    {
        check(s.unassigned.isEmpty(), "model: unassigned multicast messages with consumers attached " + s);
        for (final ConsumerM c : s.consumers.values())
        {
            if (!hasFreePermit(c))
            {
                continue;
            }
            for (final DeliveryM d : c.copies.values())
            {
                check(!d.ready(), "idle: " + d + " is ready and " + c + " has a free permit");
            }
        }
    }

    private void soft(final String category, final String example)
    {
        softFindings.putIfAbsent(category, where + ": " + example);
        softCounts.merge(category, 1L, Long::sum);
    }

    // ------------------------------------------------------------------ queries for the generator

    /**
     * @return incomplete deliveries, unassigned multicast messages and undelivered dead letters in all
     * subscriptions of live topics.
     */
    long incompleteCount()
    {
        long n = 0;
        for (final TopicM t : topics.values())
        {
            for (final SubM s : t.subs.values())
            {
                n += s.deliveries.size() + s.unassigned.size();
            }
        }
        for (final ConsumerM c : consumers.values())
        {
            n += c.copies.size();
        }
        return n;
    }

    List<TopicM> liveTopics()
    {
        final List<TopicM> result = new ArrayList<>();
        for (final TopicM t : topics.values())
        {
            if (!t.deleted)
            {
                result.add(t);
            }
        }
        return result;
    }

    String summary()
    {
        return "deliveries " + deliveriesSeen + " " + deliveriesByType + " (redeliveries " + redeliveriesSeen +
            "), outcomes " + outcomes + ", counter checks " + countersChecked + ", expected errors " + errorsSeen + ", topics " + topics.size();
    }

}
