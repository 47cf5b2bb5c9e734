package io.magnetar.bench.load;

import java.util.ArrayList;
import java.util.List;

import org.HdrHistogram.Histogram;

/**
 * What one run measured and verified (filled by {@link LoadTool}).
 */
public final class LoadResult
{
    /** Problems that fail the verification (loss, failed publishes, unacknowledged deliveries, order...). */
    public final List<String> problems = new ArrayList<>();
    /** Things worth knowing that do not fail it (duplicates, deliveries of publishes that timed out). */
    public final List<String> warnings = new ArrayList<>();

    public String description;
    public double measuredSeconds;
    public String loadAverageAtStart;
    public String loadAverageAtEnd;
    /** CPU use during the measured window: the machine's, this JVM's, the other processes'. */
    public String cpu;
    /** CPU per thread (group) of this JVM during the window, % of one core. */
    public String threadCpu;
    /** CPU during the window, % of one core: the machine's (all cores), this JVM's, the watched process's; -1 unknown. */
    public double machineCpuPercent = -1;
    public double processCpuPercent = -1;
    public double watchedCpuPercent = -1;
    /** Resident set size of the watched process (the broker) at the end of the window, bytes; -1 unknown. */
    public long watchedRssBytes = -1;

    // totals over the whole run, warm-up and drain included
    public long sent;
    public long confirmed;
    public long failed;
    public long delivered;
    public long firstDeliveries;
    public long redeliveries;
    public long duplicates;
    public long acked;
    public long lost;
    public long deliveredUnconfirmed;
    public long orderViolations;
    public long keyMismatches;
    public long foreign;
    public long httpRequests;
    /** The subscription's backlog and in-flight count at the broker after the drain; -1 when not known. */
    public long brokerBacklog = -1;
    public long brokerInFlight = -1;
    public int groups;

    // over the measured window
    public double publishRate;
    public double confirmRate;
    public double deliverRate;
    public double ackRate;
    public Histogram publishLatency;
    public Histogram e2eLatency;
    public Histogram e2eFromSent;
    public Histogram sendLag;

    /**
     * @return true if every confirmed message was delivered (to every group) and acknowledged, no publish failed, and
     * (key_shared) every key's messages arrived in order.
     */
    public boolean verified()
    {
        return problems.isEmpty();
    }
}
