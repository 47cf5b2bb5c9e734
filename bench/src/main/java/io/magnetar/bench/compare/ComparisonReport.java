package io.magnetar.bench.compare;

import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

import io.magnetar.bench.load.LoadRunner;

/**
 * The side-by-side benchmark's Markdown report: conditions, idle footprint, throughput, latency, broker resources and
 * the targets, Magnetar next to Pulsar with the ratio Magnetar / Pulsar. A side whose run did not verify
 * (loss, failed publishes, unacknowledged deliveries, key order violations) or produced no result is shown as
 * invalid, with the reason, instead of its figures; no ratio is computed from it.
 */
final class ComparisonReport
{
    static final String PULSAR_VERSION = "4.0.8";

    final PulsarComparison config;
    final List<WorkloadSpec> specs;
    final List<Row> rows = new ArrayList<>();
    Instant started = Instant.now();
    String loadAverageAtStart = "?";
    String loadAverageAtEnd = "?";
    double totalSeconds;
    double magnetarStartupSeconds = -1;
    double pulsarStartupSeconds = -1;
    double magnetarIdleCpu = -1;
    double pulsarIdleCpu = -1;
    long magnetarIdleRss = -1;
    long pulsarIdleRss = -1;
    Path magnetarLog;

    ComparisonReport(final PulsarComparison config, final List<WorkloadSpec> specs)
    {
        this.config = config;
        this.specs = specs;
    }

    Row add(final WorkloadSpec spec, final boolean batched, final long rate)
    {
        final Row row = new Row(spec, batched, rate);
        rows.add(row);
        return row;
    }

    /**
     * @return true if every run of both sides verified.
     */
    boolean valid()
    {
        return !rows.isEmpty() && rows.stream().allMatch((r) -> null == r.invalid(r.magnetar, r.magnetarError) &&
            null == r.invalid(r.pulsar, r.pulsarError));
    }

    /**
     * One workload variant, both sides.
     */
    static final class Row
    {
        final WorkloadSpec spec;
        final boolean batched;
        final long rate;
        Properties magnetar;
        Properties pulsar;
        String magnetarError;
        String pulsarError;

        Row(final WorkloadSpec spec, final boolean batched, final long rate)
        {
            this.spec = spec;
            this.batched = batched;
            this.rate = rate;
        }

        String id()
        {
            return spec.name + (rate > 0 ? "-" + rate : "") + (batched ? "-batched" : "-unbatched");
        }

        String label()
        {
            return spec.title + (rate > 0 ? String.format(Locale.ROOT, " @ %,d msg/s", rate) : "");
        }

        String batching()
        {
            if (spec.rest())
            {
                final int perRequest = batched ? spec.restBatchOn : spec.restBatchOff;
                return perRequest + " msg/request";
            }
            return batched ? "on" : "off";
        }

        /**
         * @return why a side's run is not reported, or null if it verified.
         */
        String invalid(final Properties result, final String error)
        {
            if (null != error)
            {
                return error;
            }
            if (null == result)
            {
                return "not run";
            }
            if (!"true".equals(result.getProperty("verified")))
            {
                return "verification failed: " + result.getProperty("problems", "?");
            }
            return null;
        }

        boolean bothValid()
        {
            return null == invalid(magnetar, magnetarError) && null == invalid(pulsar, pulsarError);
        }

        String oneLine()
        {
            final StringBuilder text = new StringBuilder(id()).append(": ");
            text.append("Magnetar ").append(summary(magnetar, magnetarError)).append(" | Pulsar ").append(summary(pulsar, pulsarError));
            return text.toString();
        }

        private String summary(final Properties result, final String error)
        {
            final String invalid = invalid(result, error);
            if (null != invalid)
            {
                return "INVALID (" + invalid + ")";
            }
            return String.format(Locale.ROOT, "publish %,.0f/s, end-to-end %,.0f/s, e2e p99 %s µs", number(result, "confirmRate"),
                number(result, "ackRate"), micros(result, "e2e.p99"));
        }
    }

    static double number(final Properties result, final String key)
    {
        final String value = null == result ? null : result.getProperty(key);
        if (null == value || value.isEmpty())
        {
            return Double.NaN;
        }
        return Double.parseDouble(value);
    }

    static String micros(final Properties result, final String key)
    {
        final double ns = number(result, key);
        return Double.isNaN(ns) ? "–" : LoadRunner.micros((long)ns);
    }

    static String ratio(final double magnetar, final double pulsar)
    {
        if (Double.isNaN(magnetar) || Double.isNaN(pulsar) || pulsar <= 0)
        {
            return "–";
        }
        final double ratio = magnetar / pulsar;
        return ratio >= 10 ? String.format(Locale.ROOT, "%,.0f×", ratio) :
            ratio >= 0.1 ? String.format(Locale.ROOT, "%.2f×", ratio) : String.format(Locale.ROOT, "1/%,.0f", 1 / ratio);
    }

    static String rate(final Properties result, final String key)
    {
        final double value = number(result, key);
        return Double.isNaN(value) ? "–" : String.format(Locale.ROOT, "%,.0f", value);
    }

    private static String mib(final long bytes)
    {
        return bytes < 0 ? "?" : String.format(Locale.ROOT, "%,d MiB", bytes >> 20);
    }

    private static String percentiles(final Properties result, final String metric)
    {
        if (null == result || 0 == (long)number(result, metric + ".count"))
        {
            return "–";
        }
        return micros(result, metric + ".p50") + " / " + micros(result, metric + ".p99") + " / " +
            micros(result, metric + ".p99.9") + " / " + micros(result, metric + ".max");
    }

    private static String cpu(final Properties result, final String key)
    {
        final double value = number(result, key);
        return Double.isNaN(value) || value < 0 ? "?" : String.format(Locale.ROOT, "%.0f %%", value);
    }

    private static String invalidCell(final String reason)
    {
        return "**invalid**: " + reason.replace("|", "/").replace("\n", " ");
    }

    // ============================================================================================== markdown

    String markdown()
    {
        final StringBuilder md = new StringBuilder();
        final String nl = "\n";
        md.append("### Run of ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(" (UTC)").append(nl).append(nl);
        md.append("- **Command**: `").append(config.commandLine).append("`, ").append(String.format(Locale.ROOT,
            "%d:%02d", (long)totalSeconds / 60, (long)totalSeconds % 60)).append(" min for the runs (")
            .append(String.format(Locale.ROOT, "%.1f s warm-up + %.1f s measured per run, both brokers' JIT warmed by one %.0f s " +
                "unreported run first", config.warmup, config.duration, config.brokerWarmup)).append(")").append(nl);
        md.append("- **Machine**: ").append(LoadRunner.machine().replaceFirst(", heap max.*$", "")).append("; load average ")
            .append(loadAverageAtStart).append(" at start, ").append(loadAverageAtEnd).append(" at end").append(nl);
        md.append("- **Versions**: Magnetar ").append(config.magnetarVersion).append("; Apache Pulsar ").append(PULSAR_VERSION)
            .append(" standalone (broker + one bookie + RocksDB metadata store, no functions worker, no stream storage, " +
                "`bench/pulsar/conf/standalone.conf`), Pulsar Java client ").append(PULSAR_VERSION).append(nl);
        final boolean sync = "sync".equals(config.durability);
        md.append("- **Durability**: Magnetar `--durability ").append(config.durability).append("` (")
            .append(sync ? "journal forced to disk with msync, group commit, before any receipt" :
                "written to the memory-mapped journal before any receipt, no msync")
            .append("); Pulsar bookie `journalSyncData=").append(sync).append("` (")
            .append(sync ? "journal fsync'd, group commit `journalMaxGroupWaitMSec=1`, before an add is acknowledged" :
                "journal written, not fsync'd, before an add is acknowledged — Pulsar standalone's default")
            .append("), ensemble / write / ack quorum 1").append(nl);
        md.append("- **Processes**: each broker in its own JVM (Pulsar `-Xms").append(config.pulsarHeap).append(" -Xmx")
            .append(config.pulsarHeap).append(" -XX:MaxDirectMemorySize=4g -XX:+UseZGC`, as its `pulsar_env.sh`; Magnetar `-Xmx")
            .append(config.magnetarHeap).append("`, G1), each workload's clients in a third JVM (`-Xmx").append(config.driverHeap)
            .append("`): Magnetar's load tool over Aeron IPC (`--broker external`), `PulsarDriver` with Pulsar's client. " +
                "Everything shares the machine's cores.").append(nl);
        md.append("- **Messages**: a 16-byte key (1,000 keys round-robin) and one 64-byte attribute; Pulsar gets the same 64 " +
            "bytes as its payload. Every message acknowledged individually (each client's default ack grouping: Magnetar " +
            "≤ 100 ids / 1 ms, Pulsar ≤ 1,000 / 100 ms). Batching off: Magnetar batches of 1 with no linger, Pulsar " +
            "`enableBatching(false)`; on: ≤ 1,000 messages / 1 ms linger on both (Pulsar's key-based batcher for " +
            "key_shared). ≤ 10,000 pending messages per producer, receiver queue / permits 1,000.").append(nl);
        md.append("- **Latency**: HdrHistogram, µs, p50 / p99 / p99.9 / max. Publish = send → receipt; publish→deliver = " +
            "send → the consumer's listener. At a fixed rate both are measured from each message's *intended* send time " +
            "(coordinated omission corrected); at max rate from the send call, under saturation (queueing included). " +
            "End-to-end rate = messages acknowledged per second in the measured window.").append(nl);
        md.append("- **Verification** (same code both sides, `LoadRunner`): every publish confirmed, every confirmed message " +
            "delivered (to each consumer for fan-out) and acknowledged, the broker's own subscription stats at 0 after " +
            "the drain, per-key order for key_shared. A side that fails is marked invalid and not reported.").append(nl);
        md.append(nl);

        md.append("**Idle** (after start-up, before any load):").append(nl).append(nl);
        md.append("| | Magnetar | Pulsar | Magnetar / Pulsar |").append(nl).append("| --- | --- | --- | --- |").append(nl);
        md.append(String.format(Locale.ROOT, "| start-up to ready | %.1f s | %.1f s | %s |%n", magnetarStartupSeconds,
            pulsarStartupSeconds, ratio(magnetarStartupSeconds, pulsarStartupSeconds)));
        md.append(String.format(Locale.ROOT, "| RSS (VmRSS) | %s | %s | %s |%n", mib(magnetarIdleRss), mib(pulsarIdleRss),
            ratio(magnetarIdleRss, pulsarIdleRss)));
        md.append(String.format(Locale.ROOT, "| CPU, %% of one core | %.1f %% | %.1f %% | %s |%n", magnetarIdleCpu, pulsarIdleCpu,
            ratio(magnetarIdleCpu, pulsarIdleCpu)));
        md.append(nl);

        md.append("**Throughput** (msg/s in the measured window; publish = confirmed publishes, end-to-end = acknowledged " +
            "deliveries; fan-out counts each consumer's copy):").append(nl).append(nl);
        md.append("| workload | batching | publish Magnetar | publish Pulsar | ratio | end-to-end Magnetar | end-to-end Pulsar | ratio |")
            .append(nl).append("| --- | --- | --- | --- | --- | --- | --- | --- |").append(nl);
        for (final Row row : rows)
        {
            md.append("| ").append(row.label()).append(" | ").append(row.batching()).append(" | ");
            final String mInvalid = row.invalid(row.magnetar, row.magnetarError);
            final String pInvalid = row.invalid(row.pulsar, row.pulsarError);
            final boolean consumers = row.spec.consumers > 0;
            md.append(null != mInvalid ? invalidCell(mInvalid) : rate(row.magnetar, "confirmRate")).append(" | ");
            md.append(null != pInvalid ? invalidCell(pInvalid) : rate(row.pulsar, "confirmRate")).append(" | ");
            md.append(row.bothValid() ? ratio(number(row.magnetar, "confirmRate"), number(row.pulsar, "confirmRate")) : "–").append(" | ");
            if (consumers)
            {
                md.append(null != mInvalid ? "–" : rate(row.magnetar, "ackRate")).append(" | ");
                md.append(null != pInvalid ? "–" : rate(row.pulsar, "ackRate")).append(" | ");
                md.append(row.bothValid() ? ratio(number(row.magnetar, "ackRate"), number(row.pulsar, "ackRate")) : "–");
            }
            else
            {
                md.append("(publish only) | | ");
            }
            md.append(" |").append(nl);
        }
        md.append(nl);

        md.append("**Latency** (µs, p50 / p99 / p99.9 / max):").append(nl).append(nl);
        md.append("| workload | batching | publish Magnetar | publish Pulsar | publish→deliver Magnetar | publish→deliver Pulsar | " +
            "p99 publish→deliver ratio |").append(nl).append("| --- | --- | --- | --- | --- | --- | --- |").append(nl);
        for (final Row row : rows)
        {
            final boolean mValid = null == row.invalid(row.magnetar, row.magnetarError);
            final boolean pValid = null == row.invalid(row.pulsar, row.pulsarError);
            md.append("| ").append(row.label()).append(" | ").append(row.batching()).append(" | ")
                .append(mValid ? percentiles(row.magnetar, "publish") : "invalid").append(" | ")
                .append(pValid ? percentiles(row.pulsar, "publish") : "invalid").append(" | ")
                .append(mValid ? percentiles(row.magnetar, "e2e") : "invalid").append(" | ")
                .append(pValid ? percentiles(row.pulsar, "e2e") : "invalid").append(" | ")
                .append(row.bothValid() && row.spec.consumers > 0 ?
                    ratio(number(row.magnetar, "e2e.p99"), number(row.pulsar, "e2e.p99")) : "–")
                .append(" |").append(nl);
        }
        md.append(nl);

        md.append("**Broker resources during the measured window** (CPU of the broker process from `/proc/PID/stat`, % of " +
            "one core; RSS = `VmRSS` at the end of the window; machine = all cores busy, % of one core, and the share of " +
            "processes other than the broker and the client JVM):").append(nl).append(nl);
        md.append("| workload | batching | CPU Magnetar | CPU Pulsar | RSS Magnetar | RSS Pulsar | machine / others (Magnetar run) | " +
            "machine / others (Pulsar run) |").append(nl).append("| --- | --- | --- | --- | --- | --- | --- | --- |").append(nl);
        for (final Row row : rows)
        {
            md.append("| ").append(row.label()).append(" | ").append(row.batching()).append(" | ")
                .append(cpu(row.magnetar, "watchedCpuPercent")).append(" | ").append(cpu(row.pulsar, "watchedCpuPercent")).append(" | ")
                .append(mib((long)orMinus(number(row.magnetar, "watchedRssBytes")))).append(" | ")
                .append(mib((long)orMinus(number(row.pulsar, "watchedRssBytes")))).append(" | ")
                .append(machine(row.magnetar)).append(" | ").append(machine(row.pulsar)).append(" |").append(nl);
        }
        md.append(nl);

        md.append("**Targets** (issue 6; ratios Magnetar / Pulsar from this run):").append(nl).append(nl);
        md.append("| target | measured | met? |").append(nl).append("| --- | --- | --- |").append(nl);
        for (final WorkloadSpec spec : specs)
        {
            if (null == spec.target)
            {
                continue;
            }
            for (final Row row : rows)
            {
                if (row.spec != spec || (null != spec.target.rate && spec.target.rate != row.rate))
                {
                    continue;
                }
                final String key = switch (spec.target.metric)
                {
                    case "e2e-rate" -> "ackRate";
                    case "publish-rate" -> "confirmRate";
                    default -> "e2e.p99";
                };
                md.append("| ").append(null != spec.target.text ? spec.target.text : spec.target.metric).append(" — ")
                    .append(row.label()).append(", batching ").append(row.batching()).append(" | ");
                if (!row.bothValid())
                {
                    md.append("no valid pair of runs | **not measured** |").append(nl);
                    continue;
                }
                final double m = number(row.magnetar, key);
                final double p = number(row.pulsar, key);
                final boolean latency = key.startsWith("e2e.");
                md.append(latency ? micros(row.magnetar, key) + " vs " + micros(row.pulsar, key) + " µs" :
                    rate(row.magnetar, key) + " vs " + rate(row.pulsar, key) + " msg/s").append(" = ").append(ratio(m, p))
                    .append(" | ").append(spec.target.met(m / p) ? "yes" : "**no**").append(" |").append(nl);
            }
        }
        final double rssRatio = magnetarIdleRss > 0 && pulsarIdleRss > 0 ? (double)magnetarIdleRss / pulsarIdleRss : Double.NaN;
        md.append("| idle RSS ≤ 1/4 of Pulsar's | ").append(mib(magnetarIdleRss)).append(" vs ").append(mib(pulsarIdleRss))
            .append(" = ").append(ratio(magnetarIdleRss, pulsarIdleRss)).append(" | ")
            .append(Double.isNaN(rssRatio) ? "**not measured**" : rssRatio <= 0.25 ? "yes" : "**no**").append(" |").append(nl);
        md.append(nl);
        md.append(valid() ? "Every run of both sides verified." : "**Some runs did not verify**: they are marked invalid above " +
            "and their figures are not reported.").append(nl);
        return md.toString();
    }

    private static double orMinus(final double value)
    {
        return Double.isNaN(value) ? -1 : value;
    }

    private static String machine(final Properties result)
    {
        if (null == result)
        {
            return "–";
        }
        final double machine = number(result, "machineCpuPercent");
        final double process = number(result, "processCpuPercent");
        final double watched = number(result, "watchedCpuPercent");
        if (Double.isNaN(machine) || machine < 0)
        {
            return "?";
        }
        final double others = Math.max(0, machine - Math.max(0, process) - Math.max(0, watched));
        return String.format(Locale.ROOT, "%.0f / %.0f %%", machine, others);
    }
}
