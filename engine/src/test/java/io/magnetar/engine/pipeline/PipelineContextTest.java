package io.magnetar.engine.pipeline;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.LiteBlockingWaitStrategy;
import com.lmax.disruptor.PhasedBackoffWaitStrategy;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.journal.Durability;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.SystemEpochClock;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

import static io.magnetar.engine.pipeline.PipelineContext.Configuration.newIdleStrategy;
import static io.magnetar.engine.pipeline.PipelineContext.Configuration.newWaitStrategy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineContextTest
{
    private final MutableEventListener egress = new MutableEventListener();

    private PipelineContext valid()
    {
        return new PipelineContext()
            .journalDir(new File("unused"))
            .commandHandler(new PipelineTest.NoOpCommandHandler())
            .egress(egress)
            .eventListener(EventListener.MUTED);
    }

    @Test
    void defaultsSuitATwoCoreMachine()
    {
        final PipelineContext ctx = valid().conclude();

        assertTrue(ctx.isConcluded());
        assertEquals(16 * 1024, ctx.ringSize());
        assertEquals(ThreadingMode.SHARED, ctx.threadingMode());
        assertEquals(Durability.SYNC, ctx.durability());
        assertEquals("phased", ctx.waitStrategyName());
        assertInstanceOf(PhasedBackoffWaitStrategy.class, ctx.waitStrategySupplier().get());
        assertInstanceOf(BackoffIdleStrategy.class, ctx.idleStrategySupplier().get());
        assertNotSame(ctx.idleStrategySupplier().get(), ctx.idleStrategySupplier().get());
        assertEquals("TEN_MINUTELY", ((Enum<?>)ctx.rollCycle()).name());
        assertSame(SystemEpochClock.INSTANCE, ctx.epochClock());
        assertNotNull(ctx.onFatal());
        assertTrue(ctx.snapshotEnabled());
        assertEquals(1_000_000, ctx.snapshotIntervalEntries());
        assertEquals(32L * 1024 * 1024, ctx.snapshotIntervalBytes());
        assertEquals(600_000, ctx.snapshotIntervalMs());
        assertTrue(ctx.snapshotOnClose());
        assertEquals(2, ctx.snapshotsRetained());
        assertEquals(new java.io.File(ctx.journalDir(), "snapshots"), ctx.snapshotDir());
    }

    @Test
    void systemPropertiesSetTheDefaults()
    {
        System.setProperty(PipelineContext.Configuration.RING_SIZE_PROP_NAME, "64");
        System.setProperty(PipelineContext.Configuration.THREADING_MODE_PROP_NAME, "dedicated");
        System.setProperty(PipelineContext.Configuration.DURABILITY_PROP_NAME, "async");
        System.setProperty(PipelineContext.Configuration.WAIT_STRATEGY_PROP_NAME, "yielding");
        System.setProperty(PipelineContext.Configuration.IDLE_STRATEGY_PROP_NAME, "sleeping-millis");
        try
        {
            final PipelineContext ctx = valid().conclude();
            assertEquals(64, ctx.ringSize());
            assertEquals(ThreadingMode.DEDICATED, ctx.threadingMode());
            assertEquals(Durability.ASYNC, ctx.durability());
            assertInstanceOf(YieldingWaitStrategy.class, ctx.waitStrategySupplier().get());
            assertInstanceOf(SleepingMillisIdleStrategy.class, ctx.idleStrategySupplier().get());
        }
        finally
        {
            System.clearProperty(PipelineContext.Configuration.RING_SIZE_PROP_NAME);
            System.clearProperty(PipelineContext.Configuration.THREADING_MODE_PROP_NAME);
            System.clearProperty(PipelineContext.Configuration.DURABILITY_PROP_NAME);
            System.clearProperty(PipelineContext.Configuration.WAIT_STRATEGY_PROP_NAME);
            System.clearProperty(PipelineContext.Configuration.IDLE_STRATEGY_PROP_NAME);
        }
    }

    @Test
    void concludeRejectsInvalidSettings()
    {
        assertThrows(IllegalArgumentException.class, () -> valid().ringSize(1000).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().ringSize(1).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().commandHandler(null).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().egress(null).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().eventListener(null).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().journalDir(null).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().maxCommandLength(7).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().maxCommandLength(64 * 1024 * 1024).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().slotCapacity(16).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().waitStrategyName("spinning-wheel").conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().idleStrategyName("nap").conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().rollCycleName("fortnightly").conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().snapshotsRetained(0).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().snapshotIntervalEntries(-1).conclude());
        assertThrows(IllegalArgumentException.class, () -> valid().snapshotIntervalMs(-1).conclude());

        final PipelineContext ctx = valid().conclude();
        assertThrows(IllegalStateException.class, ctx::conclude);
    }

    @Test
    void waitStrategiesByName()
    {
        assertInstanceOf(BlockingWaitStrategy.class, newWaitStrategy("blocking"));
        assertInstanceOf(LiteBlockingWaitStrategy.class, newWaitStrategy("lite-blocking"));
        assertInstanceOf(LiteBlockingWaitStrategy.class, newWaitStrategy("liteBlocking"));
        assertInstanceOf(SleepingWaitStrategy.class, newWaitStrategy("SLEEPING"));
        assertInstanceOf(YieldingWaitStrategy.class, newWaitStrategy("yielding"));
        assertInstanceOf(BusySpinWaitStrategy.class, newWaitStrategy("busy_spin"));
        assertInstanceOf(PhasedBackoffWaitStrategy.class, newWaitStrategy("phased"));
    }

    @Test
    void idleStrategiesByName()
    {
        assertInstanceOf(BackoffIdleStrategy.class, newIdleStrategy("backoff"));
        assertInstanceOf(SleepingIdleStrategy.class, newIdleStrategy("sleeping"));
        assertInstanceOf(SleepingMillisIdleStrategy.class, newIdleStrategy("sleeping-millis"));
        assertInstanceOf(YieldingIdleStrategy.class, newIdleStrategy("yielding"));
        assertInstanceOf(BusySpinIdleStrategy.class, newIdleStrategy("busy-spin"));
        assertInstanceOf(NoOpIdleStrategy.class, newIdleStrategy("noop"));
    }

    @Test
    void mutableEventListenerForwardsToItsCurrentDelegate()
    {
        final List<Long> seen = new ArrayList<>();
        final EventListener recorder = (sessionId, buffer, offset, length) -> seen.add(sessionId);
        final MutableEventListener listener = new MutableEventListener();
        final DirectBuffer buffer = new org.agrona.concurrent.UnsafeBuffer(new byte[8]);

        assertTrue(listener.isMuted());
        listener.onEvent(1, buffer, 0, 8);
        listener.delegate(recorder);
        assertFalse(listener.isMuted());
        listener.onEvent(2, buffer, 0, 8);
        listener.delegate(EventListener.MUTED);
        listener.onEvent(3, buffer, 0, 8);

        assertEquals(List.of(2L), seen);
        assertThrows(NullPointerException.class, () -> listener.delegate(null));
    }

    @Test
    void failStopKeepsTheFirstFailureAndHaltsOnce()
    {
        final List<Throwable> fatal = new ArrayList<>();
        final int[] halts = new int[1];
        final FailStopExceptionHandler failStop = new FailStopExceptionHandler(() -> halts[0]++, fatal::add);
        final RuntimeException first = new RuntimeException("first");
        final RuntimeException second = new RuntimeException("second");

        assertFalse(failStop.isFailed());
        failStop.handleEventException(first, 7, null);
        failStop.handleEventException(second, 8, null);

        assertTrue(failStop.isFailed());
        assertSame(first, failStop.cause());
        assertEquals(7, failStop.failedSequence());
        assertEquals(1, failStop.laterFailures());
        assertEquals(1, halts[0]);
        assertEquals(List.of(first), fatal);
    }
}
