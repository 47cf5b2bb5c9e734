package io.magnetar.bench;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What every Magnetar benchmark inherits (JMH reads these annotations from the superclass): one fork that gets
 * the root pom's {@code magnetar.jvm.flags} (Agrona and Chronicle Queue need them; see ../shared/STACK.md),
 * short iterations so the whole suite runs in a few minutes, throughput in operations per second.
 * <p>
 * Generated: {@code bench/src/main/java-templates} is filtered by Maven, which splits the property on whitespace
 * into the string literals below, so the flags have one source, the root pom.
 * <p>
 * A {@code -jvmArgsAppend} on the command line <em>replaces</em> these flags (and Chronicle then fails to start):
 * pass extra JVM options with {@code -jvmArgsPrepend} instead.
 */
@Fork(value = 1, jvmArgsAppend = {"${magnetar.jvm.flags.java}"})
@Warmup(iterations = 2, time = 3, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 3, timeUnit = TimeUnit.SECONDS)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public abstract class MagnetarBenchmark
{
}
