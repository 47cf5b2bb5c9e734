package io.magnetar.broker;

import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.pipeline.Pipeline;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import net.openhft.chronicle.queue.RollCycle;

/**
 * The series only the broker process knows, registered into the embedded REST gateway's registry so that its
 * {@code GET /metrics} serves them beside the gateway's own (a standalone gateway has none of them). Every value is
 * read at scrape time from fields that are safe to read from any thread (volatile or atomic), never from the engine:
 * <ul>
 *   <li>pipeline: commands sequenced, journaled and applied this run (ring sequences), and the lags between them;</li>
 *   <li>ring: size and occupied slots (cursor minus the slowest handler);</li>
 *   <li>journal: entries appended this run, syncs, rolls, deleted cycles; the position (roll cycle and sequence in
 *       the cycle) of the last entry appended and of the last snapshot, and the entries after that snapshot;</li>
 *   <li>snapshots: written, failed, size and engine stall of the last one, longest stall;</li>
 *   <li>node: start count, sessions, engine failed; the transport's counters.</li>
 * </ul>
 */
final class NodeMetrics
{
    private NodeMetrics()
    {
    }

    static void register(
        final PrometheusRegistry registry,
        final Pipeline pipeline,
        final Supplier<Map<String, Long>> transportCounters,
        final IntSupplier sessions,
        final BooleanSupplier engineFailed)
    {
        final Journal journal = pipeline.journal();

        registry.register(CounterWithCallback.builder()
            .name("magnetar_pipeline_commands_total")
            .help("commands through the ring since the node started, by stage: sequenced (published by the ingress), " +
                "journaled (in the journal; queries pass without being written), applied (by the engine)")
            .labelNames("stage")
            .callback((callback) ->
            {
                // read the later stages first so that a scrape never shows a later stage ahead of an earlier one
                final long applied = pipeline.appliedSequence() + 1;
                final long journaled = pipeline.journaledSequence() + 1;
                final long sequenced = pipeline.publishedSequence() + 1;
                callback.call(sequenced, "sequenced");
                callback.call(journaled, "journaled");
                callback.call(applied, "applied");
            })
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_pipeline_lag_commands")
            .help("commands waiting in the ring: sequenced and not yet journaled (journal), journaled and not yet " +
                "applied (engine)")
            .labelNames("stage")
            .callback((callback) ->
            {
                final long applied = pipeline.appliedSequence();
                final long journaled = pipeline.journaledSequence();
                final long sequenced = pipeline.publishedSequence();
                callback.call(Math.max(0, sequenced - journaled), "journal");
                callback.call(Math.max(0, journaled - applied), "engine");
            })
            .build());

        registry.register(GaugeWithCallback.builder()
            .name("magnetar_ring_slots")
            .help("slots of the command ring (ring-size)")
            .callback((callback) -> callback.call(pipeline.ringSize()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_ring_occupied_slots")
            .help("ring slots holding a command not yet released by the slowest handler; at magnetar_ring_slots the " +
                "ingress is back-pressured")
            .callback((callback) -> callback.call(pipeline.ringOccupiedSlots()))
            .build());

        registry.register(CounterWithCallback.builder()
            .name("magnetar_journal_appended_entries_total")
            .help("journal entries appended since the node started (commands, ticks, snapshot markers)")
            .callback((callback) -> callback.call(journal.appendCount()))
            .build());
        registry.register(CounterWithCallback.builder()
            .name("magnetar_journal_syncs_total")
            .help("journal syncs to disk since the node started (durability sync: one per batch)")
            .callback((callback) -> callback.call(journal.syncCount()))
            .build());
        registry.register(CounterWithCallback.builder()
            .name("magnetar_journal_rolls_total")
            .help("journal cycle rolls asked for since the node started (one before each snapshot)")
            .callback((callback) -> callback.call(journal.rollCount()))
            .build());
        registry.register(CounterWithCallback.builder()
            .name("magnetar_journal_deleted_cycles_total")
            .help("journal cycle files deleted since the node started (wholly before the oldest snapshot kept)")
            .callback((callback) -> callback.call(journal.deletedCycleCount()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_journal_position_cycle")
            .help("roll cycle of the last journal entry appended (appended) and of the entry the last snapshot " +
                "was taken at (snapshot); absent before there is one")
            .labelNames("position")
            .callback((callback) -> positions(journal, pipeline, callback, true))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_journal_position_sequence")
            .help("sequence within its roll cycle of the last journal entry appended (appended) and of the last " +
                "snapshot's entry (snapshot)")
            .labelNames("position")
            .callback((callback) -> positions(journal, pipeline, callback, false))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_journal_entries_since_snapshot")
            .help("journal entries appended after the last snapshot's entry, which recovery would replay; exact " +
                "while both are in one roll cycle (the journal rolls at every snapshot), else the entries of the " +
                "current cycle (a lower bound); absent before the first snapshot")
            .callback((callback) ->
            {
                final long appended = journal.lastIndexAppended();
                final long snapshot = pipeline.lastSnapshotIndex();
                if (appended >= 0 && snapshot >= 0)
                {
                    final RollCycle cycle = journal.rollCycleInUse();
                    final long sequence = cycle.toSequenceNumber(appended);
                    callback.call(cycle.toCycle(appended) == cycle.toCycle(snapshot) ?
                        Math.max(0, sequence - cycle.toSequenceNumber(snapshot)) : sequence + 1);
                }
            })
            .build());

        registry.register(CounterWithCallback.builder()
            .name("magnetar_snapshots_total")
            .help("snapshots written since the node started")
            .callback((callback) -> callback.call(pipeline.snapshotCount()))
            .build());
        registry.register(CounterWithCallback.builder()
            .name("magnetar_snapshot_failures_total")
            .help("snapshots that failed to be written since the node started (logged; the journal is kept)")
            .callback((callback) -> callback.call(pipeline.snapshotFailures()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_snapshot_last_bytes")
            .help("size of the last snapshot written or recovered from")
            .callback((callback) -> callback.call(pipeline.lastSnapshotBytes()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_snapshot_stall_seconds")
            .help("how long the engine stalled writing a snapshot: the last one (last) and the longest (max) since " +
                "the node started")
            .labelNames("snapshot")
            .callback((callback) ->
            {
                callback.call(pipeline.lastSnapshotNs() / 1e9, "last");
                callback.call(pipeline.maxSnapshotNs() / 1e9, "max");
            })
            .build());

        registry.register(GaugeWithCallback.builder()
            .name("magnetar_node_start_count")
            .help("how many times this data directory's node has started, this start included")
            .callback((callback) -> callback.call(pipeline.startCount()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_node_sessions")
            .help("open client sessions (the embedded REST gateway is one)")
            .callback((callback) -> callback.call(sessions.getAsInt()))
            .build());
        registry.register(GaugeWithCallback.builder()
            .name("magnetar_node_engine_failed")
            .help("1 once the pipeline halted after a handler failure (fail-stop): the node applies no more commands")
            .callback((callback) -> callback.call(engineFailed.getAsBoolean() ? 1 : 0))
            .build());

        for (final String key : transportCounters.get().keySet())
        {
            registry.register(CounterWithCallback.builder()
                .name("magnetar_transport_" + snakeCase(key) + "_total")
                .help("transport counter '" + key + "' since the node started (also visible to AeronStat)")
                .callback((callback) ->
                {
                    final Long value = transportCounters.get().get(key);
                    if (null != value && value >= 0)
                    {
                        callback.call(value);
                    }
                })
                .build());
        }
    }

    private static void positions(
        final Journal journal, final Pipeline pipeline, final GaugeWithCallback.Callback callback, final boolean cycle)
    {
        final RollCycle rollCycle = journal.rollCycleInUse();
        final long appended = journal.lastIndexAppended();
        final long snapshot = pipeline.lastSnapshotIndex();
        if (appended >= 0)
        {
            callback.call(cycle ? rollCycle.toCycle(appended) : rollCycle.toSequenceNumber(appended), "appended");
        }
        if (snapshot >= 0)
        {
            callback.call(cycle ? rollCycle.toCycle(snapshot) : rollCycle.toSequenceNumber(snapshot), "snapshot");
        }
    }

    /**
     * {@code framesReceived} → {@code frames_received}.
     */
    static String snakeCase(final String camel)
    {
        final StringBuilder sb = new StringBuilder(camel.length() + 8);
        for (int i = 0; i < camel.length(); i++)
        {
            final char c = camel.charAt(i);
            if (Character.isUpperCase(c))
            {
                sb.append('_').append(Character.toLowerCase(c));
            }
            else
            {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
