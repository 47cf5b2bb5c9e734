package io.magnetar.bench.load;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

import org.HdrHistogram.Histogram;

/**
 * A {@link LoadResult} as a Java properties file: what the load tool ({@code --result-file}) and the Pulsar driver of
 * the side-by-side benchmark write, and what the comparison reads back. Rates in msg/s over the measured window,
 * latencies in ns ({@code publish.p50}, {@code e2e.p99.9}, ...), counts over the whole run, CPU in % of one core.
 */
public final class ResultFile
{
    /** Percentiles written for each latency; {@code max} too. */
    public static final double[] PERCENTILES = { 50, 99, 99.9 };

    private ResultFile()
    {
    }

    public static void write(final LoadResult result, final boolean fixedRate, final Path file)
    {
        final Properties p = new Properties();
        p.setProperty("verified", Boolean.toString(result.verified()));
        p.setProperty("problems", String.join(" | ", result.problems));
        p.setProperty("warnings", String.join(" | ", result.warnings));
        p.setProperty("description", String.valueOf(result.description));
        p.setProperty("fixedRate", Boolean.toString(fixedRate));
        p.setProperty("measuredSeconds", number(result.measuredSeconds));
        p.setProperty("loadAverageAtStart", String.valueOf(result.loadAverageAtStart));
        p.setProperty("loadAverageAtEnd", String.valueOf(result.loadAverageAtEnd));
        p.setProperty("cpu", String.valueOf(result.cpu));
        p.setProperty("machineCpuPercent", number(result.machineCpuPercent));
        p.setProperty("processCpuPercent", number(result.processCpuPercent));
        p.setProperty("watchedCpuPercent", number(result.watchedCpuPercent));
        p.setProperty("watchedRssBytes", Long.toString(result.watchedRssBytes));
        p.setProperty("publishRate", number(result.publishRate));
        p.setProperty("confirmRate", number(result.confirmRate));
        p.setProperty("deliverRate", number(result.deliverRate));
        p.setProperty("ackRate", number(result.ackRate));
        p.setProperty("groups", Integer.toString(result.groups));
        p.setProperty("sent", Long.toString(result.sent));
        p.setProperty("confirmed", Long.toString(result.confirmed));
        p.setProperty("failed", Long.toString(result.failed));
        p.setProperty("delivered", Long.toString(result.delivered));
        p.setProperty("firstDeliveries", Long.toString(result.firstDeliveries));
        p.setProperty("duplicates", Long.toString(result.duplicates));
        p.setProperty("acked", Long.toString(result.acked));
        p.setProperty("lost", Long.toString(result.lost));
        p.setProperty("orderViolations", Long.toString(result.orderViolations));
        p.setProperty("httpRequests", Long.toString(result.httpRequests));
        p.setProperty("brokerBacklog", Long.toString(result.brokerBacklog));
        p.setProperty("brokerInFlight", Long.toString(result.brokerInFlight));
        latency(p, "publish", result.publishLatency);
        latency(p, "e2e", result.e2eLatency);
        try
        {
            final Path parent = file.toAbsolutePath().getParent();
            if (null != parent)
            {
                Files.createDirectories(parent);
            }
            final Path temp = file.resolveSibling(file.getFileName() + ".tmp");
            try (Writer out = Files.newBufferedWriter(temp, StandardCharsets.UTF_8))
            {
                p.store(out, "load run result (io.magnetar.bench.load.ResultFile)");
            }
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the result file " + file, ex);
        }
    }

    public static Properties read(final Path file)
    {
        final Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            p.load(in);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read the result file " + file, ex);
        }
        return p;
    }

    /**
     * @return the key of a latency percentile: {@code e2e.p99.9}, {@code publish.max}, {@code e2e.count}.
     */
    public static String key(final String latency, final double percentile)
    {
        return latency + ".p" + (percentile == Math.rint(percentile) ? Long.toString((long)percentile) : Double.toString(percentile));
    }

    private static void latency(final Properties p, final String name, final Histogram histogram)
    {
        final long count = null == histogram ? 0 : histogram.getTotalCount();
        p.setProperty(name + ".count", Long.toString(count));
        if (count > 0)
        {
            for (final double percentile : PERCENTILES)
            {
                p.setProperty(key(name, percentile), Long.toString(histogram.getValueAtPercentile(percentile)));
            }
            p.setProperty(name + ".max", Long.toString(histogram.getMaxValue()));
        }
    }

    private static String number(final double value)
    {
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
