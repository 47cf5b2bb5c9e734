package io.magnetar.bench.compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * One workload of the side-by-side benchmark, read from a YAML file in {@code bench/workloads} (one file each, in the
 * spirit of the OpenMessaging Benchmark's workload files). Every field has a default; unknown fields are an error.
 */
public final class WorkloadSpec
{
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Short name (the file's by default), used in result file names and {@code --only}. */
    public String name;
    /** One line for the report. */
    public String title;
    /** native: each broker's Java client; rest: Magnetar's REST publish against Pulsar's REST producer. */
    public String mode = "native";
    public int partitions = 1;
    /** shared, key_shared, or fanout (Magnetar: a multicast subscription; Pulsar: one subscription per consumer). */
    public String subscriptionType = "shared";
    public int producers = 1;
    public int consumers = 1;
    public int keys = 1000;
    public int keyBytes = 16;
    public int attributeBytes = 64;
    /** Fixed rates in msg/s, one run each; empty: max rate. */
    public List<Long> rates = new ArrayList<>();
    /** Max rate: publishers pause while more than this many messages are published and not yet delivered. */
    public long maxOutstanding = 100_000;
    /** REST: concurrent publishers, and messages per request with batching off and on. */
    public int restPublishers = 16;
    public int restBatchOff = 1;
    public int restBatchOn = 10;
    /** Included in {@code --smoke} runs. */
    public boolean smoke;
    /** The target for this workload, if any. */
    public Target target;

    /**
     * A target as a ratio Magnetar / Pulsar of one metric.
     */
    public static final class Target
    {
        /** e2e-rate, publish-rate, e2e-p99. */
        public String metric;
        /** At least (rates) or at most (latencies) this ratio. */
        public Double atLeast;
        public Double atMost;
        /** Only for this fixed rate (latency workloads). */
        public Long rate;
        /** How the issue words it. */
        public String text;

        boolean met(final double ratio)
        {
            return (null == atLeast || ratio >= atLeast) && (null == atMost || ratio <= atMost);
        }
    }

    public static List<WorkloadSpec> loadAll(final Path dir)
    {
        if (!Files.isDirectory(dir))
        {
            throw new IllegalArgumentException("no workload directory " + dir.toAbsolutePath());
        }
        final List<WorkloadSpec> specs = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir))
        {
            for (final Path file : files.filter((f) -> f.toString().endsWith(".yaml")).sorted().toList())
            {
                specs.add(load(file));
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot list " + dir, ex);
        }
        if (specs.isEmpty())
        {
            throw new IllegalArgumentException("no *.yaml workload in " + dir.toAbsolutePath());
        }
        return specs;
    }

    public static WorkloadSpec load(final Path file)
    {
        final WorkloadSpec spec;
        try
        {
            spec = YAML.readValue(file.toFile(), WorkloadSpec.class);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("workload " + file + ": " + ex.getMessage(), ex);
        }
        if (null == spec)
        {
            throw new IllegalArgumentException("workload " + file + " is empty");
        }
        if (null == spec.name)
        {
            spec.name = file.getFileName().toString().replaceFirst("\\.yaml$", "");
        }
        spec.check(file.toString());
        return spec;
    }

    void check(final String where)
    {
        final String prefix = "workload " + where + ": ";
        if (!"native".equals(mode) && !"rest".equals(mode))
        {
            throw new IllegalArgumentException(prefix + "mode must be native or rest, not " + mode);
        }
        if (!List.of("shared", "key_shared", "fanout").contains(subscriptionType))
        {
            throw new IllegalArgumentException(prefix + "subscriptionType must be shared, key_shared or fanout, not " +
                subscriptionType);
        }
        if (partitions < 1 || producers < 1 || consumers < 0 || keys < 1 || keyBytes < 0 || attributeBytes < 1 ||
            restPublishers < 1 || restBatchOff < 1 || restBatchOn < 1 || maxOutstanding < 0)
        {
            throw new IllegalArgumentException(prefix + "partitions, producers, keys, attributeBytes, restPublishers and " +
                "restBatch* must be positive; consumers, keyBytes and maxOutstanding not negative");
        }
        if ("rest".equals(mode) && (consumers != 0 || !rates.isEmpty()))
        {
            throw new IllegalArgumentException(prefix + "rest publishes only, at max rate: consumers 0, no rates");
        }
        for (final Long rate : rates)
        {
            if (null == rate || rate < 1)
            {
                throw new IllegalArgumentException(prefix + "rates must be positive msg/s: " + rates);
            }
        }
        if (null != target)
        {
            if (!List.of("e2e-rate", "publish-rate", "e2e-p99").contains(target.metric))
            {
                throw new IllegalArgumentException(prefix + "target.metric must be e2e-rate, publish-rate or e2e-p99");
            }
            if (null == target.atLeast && null == target.atMost)
            {
                throw new IllegalArgumentException(prefix + "target needs atLeast or atMost");
            }
        }
        if (null == title)
        {
            title = name;
        }
    }

    boolean rest()
    {
        return "rest".equals(mode);
    }

    /**
     * @return the load tool's subscription type for this workload.
     */
    String magnetarSubscriptionType()
    {
        return "fanout".equals(subscriptionType) ? "multicast" : subscriptionType.toLowerCase(Locale.ROOT);
    }
}
