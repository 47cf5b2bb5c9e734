package io.magnetar.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

import io.magnetar.bench.load.LoadResult;
import io.magnetar.bench.load.ResultFile;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The side-by-side benchmark's parts that need no Pulsar (CI runs the whole thing with Pulsar in .ci/run's smoke):
 * every workload file in bench/workloads is valid, a result survives its properties file, and the report computes
 * ratios and targets from valid pairs only, marking a run that did not verify as invalid.
 */
class ComparisonReportTest
{
    @TempDir
    Path dir;

    @Test
    void everyWorkloadFileIsValidAndTheIssuesWorkloadsAreThere()
    {
        final List<WorkloadSpec> specs = WorkloadSpec.loadAll(Path.of("workloads"));
        assertEquals(7, specs.size(), specs.toString());
        assertTrue(specs.stream().anyMatch((s) -> "key_shared".equals(s.subscriptionType) && s.keys == 1000 && s.consumers == 2));
        assertTrue(specs.stream().anyMatch((s) -> "fanout".equals(s.subscriptionType)));
        assertTrue(specs.stream().anyMatch((s) -> s.rates.contains(10_000L) && s.rates.contains(50_000L)));
        assertTrue(specs.stream().anyMatch(WorkloadSpec::rest));
        assertTrue(specs.stream().anyMatch((s) -> s.smoke));
        for (final WorkloadSpec spec : specs)
        {
            assertEquals(16, spec.keyBytes, spec.name);
            assertEquals(64, spec.attributeBytes, spec.name);
        }
    }

    @Test
    void badWorkloadFilesAreRejectedNamingTheField() throws Exception
    {
        final Path unknown = dir.resolve("unknown.yaml");
        Files.writeString(unknown, "partitons: 4\n");
        final IllegalArgumentException typo = assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.load(unknown));
        assertTrue(typo.getMessage().contains("partitons"), typo.getMessage());

        final Path badType = dir.resolve("bad-type.yaml");
        Files.writeString(badType, "subscriptionType: exclusive\n");
        final IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.load(badType));
        assertTrue(type.getMessage().contains("subscriptionType"), type.getMessage());

        final Path restWithConsumers = dir.resolve("rest.yaml");
        Files.writeString(restWithConsumers, "mode: rest\nconsumers: 2\n");
        assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.load(restWithConsumers));
    }

    @Test
    void resultFileRoundTrip()
    {
        final LoadResult result = new LoadResult();
        result.confirmRate = 1234.5;
        result.ackRate = 1200;
        result.watchedRssBytes = 300L << 20;
        result.publishLatency = new Histogram(3);
        result.e2eLatency = new Histogram(3);
        for (int i = 1; i <= 1000; i++)
        {
            result.publishLatency.recordValue(i * 1000L);
            result.e2eLatency.recordValue(i * 2000L);
        }
        final Path file = dir.resolve("r.properties");
        ResultFile.write(result, true, file);
        final Properties read = ResultFile.read(file);
        assertEquals("true", read.getProperty("verified"));
        assertEquals(1234.5, Double.parseDouble(read.getProperty("confirmRate")), 1e-9);
        assertEquals(result.e2eLatency.getValueAtPercentile(99), Long.parseLong(read.getProperty("e2e.p99")));
        assertEquals(result.publishLatency.getValueAtPercentile(99.9), Long.parseLong(read.getProperty("publish.p99.9")));
        assertEquals(result.e2eLatency.getMaxValue(), Long.parseLong(read.getProperty("e2e.max")));
        assertEquals(Long.toString(300L << 20), read.getProperty("watchedRssBytes"));
    }

    private static Properties result(final boolean verified, final double publishRate, final double e2eRate, final long e2eP99)
    {
        final Properties p = new Properties();
        p.setProperty("verified", Boolean.toString(verified));
        p.setProperty("problems", verified ? "" : "3 confirmed messages never delivered");
        p.setProperty("confirmRate", Double.toString(publishRate));
        p.setProperty("ackRate", Double.toString(e2eRate));
        p.setProperty("e2e.count", "100");
        p.setProperty("e2e.p50", Long.toString(e2eP99 / 2));
        p.setProperty("e2e.p99", Long.toString(e2eP99));
        p.setProperty("e2e.p99.9", Long.toString(e2eP99));
        p.setProperty("e2e.max", Long.toString(e2eP99));
        p.setProperty("watchedCpuPercent", "50");
        p.setProperty("watchedRssBytes", Long.toString(200L << 20));
        return p;
    }

    @Test
    void reportGivesRatiosOfValidPairsAndMarksFailedRunsInvalid()
    {
        final WorkloadSpec throughput = new WorkloadSpec();
        throughput.name = "w2";
        throughput.title = "two";
        throughput.consumers = 2;
        throughput.target = new WorkloadSpec.Target();
        throughput.target.metric = "e2e-rate";
        throughput.target.atLeast = 20.0;
        throughput.target.text = "e2e ≥ 20×";
        throughput.check("test");
        final WorkloadSpec latency = new WorkloadSpec();
        latency.name = "w5";
        latency.title = "five";
        latency.consumers = 2;
        latency.rates = List.of(10_000L);
        latency.target = new WorkloadSpec.Target();
        latency.target.metric = "e2e-p99";
        latency.target.atMost = 0.01;
        latency.target.rate = 10_000L;
        latency.target.text = "p99 ≤ 1/100";
        latency.check("test");

        final PulsarComparison config = new PulsarComparison(dir);
        final ComparisonReport report = new ComparisonReport(config, List.of(throughput, latency));
        report.magnetarIdleRss = 200L << 20;
        report.pulsarIdleRss = 1000L << 20;
        final ComparisonReport.Row good = report.add(throughput, false, 0);
        good.magnetar = result(true, 500_000, 250_000, 2_000_000);
        good.pulsar = result(true, 10_000, 10_000, 20_000_000);
        final ComparisonReport.Row bad = report.add(latency, false, 10_000);
        bad.magnetar = result(false, 10_000, 10_000, 100_000);
        bad.pulsar = result(true, 10_000, 10_000, 20_000_000);

        final String md = report.markdown();
        assertFalse(report.valid());
        assertTrue(md.contains("| 500,000 | 10,000 | 50× | 250,000 | 10,000 | 25× |"), md);
        assertTrue(md.contains("250,000 vs 10,000 msg/s = 25× | yes |"), md);
        assertTrue(md.contains("**invalid**: verification failed: 3 confirmed messages never delivered"), md);
        assertTrue(md.contains("no valid pair of runs | **not measured** |"), md);
        assertTrue(md.contains("200 MiB vs 1,000 MiB = 0.20× | yes |"), md);
        assertTrue(md.contains("Some runs did not verify"), md);

        bad.magnetar = result(true, 10_000, 10_000, 400_000);
        final String md2 = report.markdown();
        assertTrue(report.valid());
        assertTrue(md2.contains("400 vs 20,000 µs = 1/50 | **no** |"), md2);
    }
}
