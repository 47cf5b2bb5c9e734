package io.magnetar.bench.load;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What a run counts and measures, shared by the publishing, consuming and reporting threads.
 * <p>
 * <b>Latencies</b> (nanoseconds, HdrHistogram {@link Recorder}s, 3 significant digits, up to 2 minutes):
 * <ul>
 *     <li>publish: from the message's <i>start time</i> to the moment its receipt (the broker's id, sent once the
 *     message is journaled) reaches the publisher;</li>
 *     <li>publish→deliver: from the start time to the moment the consumer's listener (or long poll) has it.</li>
 * </ul>
 * The start time is the <b>intended</b> send time at a fixed rate ({@code start + i / rate}), so time a message spends
 * waiting behind a stalled publisher counts (coordinated omission corrected), and the actual time of the send call
 * at max rate (where there is no schedule to fall behind). Both timestamps travel in the message's attribute, so the
 * publish→deliver latency from the actual send ({@link #e2eFromSent}) and the publisher's lateness
 * ({@link #sendLag}) are reported too. Only messages whose intended send time falls inside the measured window count.
 * <p>
 * <b>Verification</b>: every confirmed (receipted) message's sequence is recorded per publisher, every delivered one per
 * delivery group (the subscription; for multicast each consumer), so loss, duplicates and deliveries of unconfirmed
 * messages are exact, not inferred from counters. Key_shared: per publisher and key, first deliveries must come in
 * sequence order.
 */
final class LoadStats
{
    static final long HIGHEST_NS = TimeUnit.MINUTES.toNanos(2);

    final int publishers;
    final int groups;
    final String[] keys;
    final boolean checkKeyOrder;
    final boolean fixedRate;

    final LongAdder sent = new LongAdder();
    final LongAdder confirmed = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder firstDeliveries = new LongAdder();
    final LongAdder redeliveries = new LongAdder();
    final LongAdder duplicates = new LongAdder();
    final LongAdder acked = new LongAdder();
    final LongAdder foreign = new LongAdder();
    final LongAdder keyMismatches = new LongAdder();
    final LongAdder orderViolations = new LongAdder();
    final LongAdder httpRequests = new LongAdder();
    final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    final LatencyMetric publishLatency = new LatencyMetric();
    final LatencyMetric e2eLatency = new LatencyMetric();
    final LatencyMetric e2eFromSent = new LatencyMetric();
    final LatencyMetric sendLag = new LatencyMetric();

    private final SeqSet[] confirmedSeqs;
    private final SeqSet[][] deliveredSeqs;
    private final AtomicLongArray lastSeqByKey;

    private volatile long windowStartNs = Long.MAX_VALUE;
    private volatile long windowEndNs = Long.MAX_VALUE;

    /**
     * @param keyBytes 0: keys {@code key-0, key-1, ...}; otherwise keys of exactly this many characters,
     *                 {@code key-} and the number zero-padded ({@code key-000000000042} for 16).
     */
    LoadStats(final int publishers, final int groups, final int keyCount, final int keyBytes, final boolean checkKeyOrder,
        final boolean fixedRate)
    {
        this.publishers = publishers;
        this.groups = groups;
        this.checkKeyOrder = checkKeyOrder;
        this.fixedRate = fixedRate;
        keys = new String[keyCount];
        for (int i = 0; i < keyCount; i++)
        {
            keys[i] = keyBytes <= 0 ? "key-" + i : padded(i, keyBytes);
        }
        confirmedSeqs = new SeqSet[publishers];
        deliveredSeqs = new SeqSet[groups][publishers];
        for (int p = 0; p < publishers; p++)
        {
            confirmedSeqs[p] = new SeqSet();
            for (int g = 0; g < groups; g++)
            {
                deliveredSeqs[g][p] = new SeqSet();
            }
        }
        if (checkKeyOrder && (long)publishers * keyCount > 16_000_000L)
        {
            throw new IllegalArgumentException("the key order check tracks publishers x keys sequences: at most 16 M");
        }
        if (checkKeyOrder)
        {
            lastSeqByKey = new AtomicLongArray(publishers * keyCount);
            for (int i = 0; i < lastSeqByKey.length(); i++)
            {
                lastSeqByKey.set(i, -1);
            }
        }
        else
        {
            lastSeqByKey = null;
        }
    }

    /**
     * Wait until every sent publish is confirmed or failed, polling every 5 ms.
     *
     * @param deadlineNs a {@link System#nanoTime()} value.
     * @return false if the deadline passed first.
     */
    boolean awaitAnswered(final long deadlineNs) throws InterruptedException
    {
        while (sent.sum() > confirmed.sum() + failed.sum())
        {
            if (System.nanoTime() - deadlineNs >= 0)
            {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    private static String padded(final int index, final int length)
    {
        final String number = Integer.toString(index);
        if (length < 4 + number.length())
        {
            throw new IllegalArgumentException("keys of " + length + " characters cannot hold key-" + number);
        }
        return "key-" + "0".repeat(length - 4 - number.length()) + number;
    }

    void window(final long startNs, final long endNs)
    {
        windowStartNs = startNs;
        windowEndNs = endNs;
    }

    long windowStartNs()
    {
        return windowStartNs;
    }

    long windowEndNs()
    {
        return windowEndNs;
    }

    /**
     * @return 0 before the measured window, 1 inside, 2 after (by intended send time).
     */
    private int phase(final long intendedNs)
    {
        return intendedNs - windowStartNs < 0 ? 0 : intendedNs - windowEndNs < 0 ? 1 : 2;
    }

    /**
     * One latency: each sample is recorded once, into the recorder of its phase (warm-up, window, drain); the reporter
     * thread (or, at the end, the main thread) takes the interval histograms, shows them all live and adds the
     * window's to {@link #total()}.
     */
    static final class LatencyMetric
    {
        private final Recorder[] phases = { new Recorder(HIGHEST_NS, 3), new Recorder(HIGHEST_NS, 3), new Recorder(HIGHEST_NS, 3) };
        private final Histogram[] intervals = new Histogram[3];
        private final Histogram total = new Histogram(HIGHEST_NS, 3);
        private final Histogram live = new Histogram(HIGHEST_NS, 3);

        void record(final int phase, final long ns, final long count)
        {
            phases[phase].recordValueWithCount(clamp(ns), count);
        }

        /**
         * Take what was recorded since the last call (one reading thread at a time).
         *
         * @return every phase's samples of the interval (reused on the next call).
         */
        Histogram interval()
        {
            live.reset();
            for (int i = 0; i < phases.length; i++)
            {
                intervals[i] = phases[i].getIntervalHistogram(intervals[i]);
                live.add(intervals[i]);
                if (1 == i)
                {
                    total.add(intervals[i]);
                }
            }
            return live;
        }

        /**
         * @return the measured window's samples taken so far; call {@link #interval()} once more first.
         */
        Histogram total()
        {
            return total;
        }
    }

    /**
     * @return the key of publisher {@code publisher}'s message {@code seq}: keys are used round-robin over the
     * interleaved messages of all publishers.
     */
    int keyIndex(final int publisher, final long seq)
    {
        return (int)((seq * publishers + publisher) % keys.length);
    }

    String key(final int publisher, final long seq)
    {
        return keys[keyIndex(publisher, seq)];
    }

    /**
     * Max rate, end-to-end window: wait while more than {@code maxOutstanding} messages are sent and not yet delivered
     * to every group. Checked by each publisher every few messages (summing the adders is not free).
     */
    void awaitOutstandingBelow(final long maxOutstanding)
    {
        if (maxOutstanding <= 0 || 0 == groups)
        {
            return;
        }
        int idle = 0;
        while (sent.sum() * groups - firstDeliveries.sum() - failed.sum() * groups > maxOutstanding * groups)
        {
            if (++idle < 10)
            {
                Thread.yield();
            }
            else
            {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000);
            }
        }
    }

    void onSent(final long intendedNs, final long sentNs, final int count)
    {
        sent.add(count);
        if (fixedRate)
        {
            sendLag.record(phase(intendedNs), sentNs - intendedNs, count);
        }
    }

    /**
     * A receipt: {@code count} messages {@code firstSeq..} of a publisher, all started at {@code intendedNs}.
     */
    void onConfirmed(
        final int publisher, final long firstSeq, final int count, final long intendedNs, final long sentNs, final long nowNs)
    {
        final SeqSet seqs = confirmedSeqs[publisher];
        for (int i = 0; i < count; i++)
        {
            seqs.add(firstSeq + i);
        }
        confirmed.add(count);
        publishLatency.record(phase(intendedNs), nowNs - (fixedRate ? intendedNs : sentNs), count);
    }

    void onPublishFailed(final int count, final String error)
    {
        failed.add(count);
        error(error, count);
    }

    void error(final String error, final long count)
    {
        String text = null == error ? "null" : error;
        if (text.length() > 200)
        {
            text = text.substring(0, 200) + "...";
        }
        if (errors.size() < 100 || errors.containsKey(text))
        {
            errors.computeIfAbsent(text, (ignore) -> new LongAdder()).add(count);
        }
    }

    /**
     * A delivery to consumer group {@code group}.
     *
     * @param decoded the decoded payload (null if the message was not a load-tool payload).
     * @param key     the key it carried, or null if not known.
     */
    void onDelivered(final int group, final Payload.Decoded decoded, final String key, final int deliveryCount, final long nowNs)
    {
        delivered.increment();
        if (null == decoded || decoded.publisher < 0 || decoded.publisher >= publishers)
        {
            foreign.increment();
            return;
        }
        final int publisher = decoded.publisher;
        final long seq = decoded.seq;
        if (deliveryCount > 1)
        {
            redeliveries.increment();
        }
        if (!deliveredSeqs[group][publisher].add(seq))
        {
            duplicates.increment();
            return;
        }
        firstDeliveries.increment();
        final int keyIndex = keyIndex(publisher, seq);
        if (null != key && !keys[keyIndex].equals(key))
        {
            keyMismatches.increment();
        }
        if (null != lastSeqByKey && deliveryCount <= 1)
        {
            final long previous = lastSeqByKey.getAndAccumulate(publisher * keys.length + keyIndex, seq, Math::max);
            if (previous > seq)
            {
                orderViolations.increment();
            }
        }
        final int phase = phase(decoded.intendedNs);
        e2eLatency.record(phase, nowNs - decoded.intendedNs, 1);
        if (fixedRate)
        {
            e2eFromSent.record(phase, nowNs - decoded.sentNs, 1);
        }
    }

    /**
     * @return confirmed messages that some delivery group never received (over all groups).
     */
    long lost()
    {
        long lost = 0;
        for (int g = 0; g < groups; g++)
        {
            for (int p = 0; p < publishers; p++)
            {
                lost += confirmedSeqs[p].countNotIn(deliveredSeqs[g][p]);
            }
        }
        return lost;
    }

    /**
     * @return a description of the first lost message, or null.
     */
    String firstLost()
    {
        for (int g = 0; g < groups; g++)
        {
            for (int p = 0; p < publishers; p++)
            {
                final long seq = confirmedSeqs[p].firstNotIn(deliveredSeqs[g][p]);
                if (seq >= 0)
                {
                    return "group " + g + ", publisher " + p + ", seq " + seq + " (key " + key(p, seq) + ")";
                }
            }
        }
        return null;
    }

    /**
     * @return messages delivered although their publish was never confirmed (a failed or timed-out publish that the
     * broker did store: legal, at-least-once, but reported).
     */
    long deliveredUnconfirmed()
    {
        long count = 0;
        for (int g = 0; g < groups; g++)
        {
            for (int p = 0; p < publishers; p++)
            {
                count += deliveredSeqs[g][p].countNotIn(confirmedSeqs[p]);
            }
        }
        return count;
    }

    static long clamp(final long ns)
    {
        return ns < 0 ? 0 : Math.min(ns, HIGHEST_NS);
    }
}
