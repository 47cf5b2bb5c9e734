package io.magnetar.engine.pipeline;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.LiteBlockingWaitStrategy;
import com.lmax.disruptor.PhasedBackoffWaitStrategy;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.EventListener;
import io.magnetar.engine.Snapshottable;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalRecovery;
import io.magnetar.engine.journal.JournalEntryFormat;
import net.openhft.chronicle.queue.RollCycle;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.EpochClock;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.SystemEpochClock;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.io.File;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Configuration of a {@link Pipeline}, in the style of an Aeron {@code Context}: fluent setters, defaults
 * from system properties ({@link Configuration}), and {@link #conclude()} to validate and fill in derived
 * values before use. A context is used by one pipeline and concluded once.
 * <p>
 * Required: {@link #commandHandler(CommandHandler)}, {@link #egress(MutableEventListener)} (the listener the
 * command handler emits through) and {@link #eventListener(EventListener)} (where events go after replay).
 */
public final class PipelineContext
{
    /**
     * Property names and defaults.
     */
    public static final class Configuration
    {
        /** Ring size: slots, a power of two. */
        public static final String RING_SIZE_PROP_NAME = "magnetar.pipeline.ring.size";
        /** Default ring size. */
        public static final int RING_SIZE_DEFAULT = 16 * 1024;

        /** Directory of the journal. */
        public static final String JOURNAL_DIR_PROP_NAME = "magnetar.journal.dir";
        /** Default journal directory, relative to the working directory. */
        public static final String JOURNAL_DIR_DEFAULT = "magnetar-journal";

        /** {@code sync} or {@code async} (SPEC section 4). */
        public static final String DURABILITY_PROP_NAME = "magnetar.journal.durability";
        /** Default durability: forced to disk before any effect is visible. */
        public static final Durability DURABILITY_DEFAULT = Durability.SYNC;

        /** Chronicle roll cycle name, see {@link Journal#rollCycle(String)}. */
        public static final String ROLL_CYCLE_PROP_NAME = "magnetar.journal.roll.cycle";
        /**
         * Default roll cycle: a file per ten minutes (up to 2^30 entries each); the journal also rolls at every
         * snapshot, which is what bounds its size under load.
         */
        public static final String ROLL_CYCLE_DEFAULT = "TEN_MINUTELY";

        /** {@code true} to take snapshots (when the command handler is {@link Snapshottable}). */
        public static final String SNAPSHOT_ENABLED_PROP_NAME = "magnetar.snapshot.enabled";
        /** Default: snapshots on. */
        public static final boolean SNAPSHOT_ENABLED_DEFAULT = true;

        /** Snapshot after this many journal entries (0: no entry trigger). */
        public static final String SNAPSHOT_INTERVAL_ENTRIES_PROP_NAME = "magnetar.snapshot.interval.entries";
        /** Default entry trigger. */
        public static final long SNAPSHOT_INTERVAL_ENTRIES_DEFAULT = 1_000_000;

        /** Snapshot after this many journal bytes (0: no byte trigger). */
        public static final String SNAPSHOT_INTERVAL_BYTES_PROP_NAME = "magnetar.snapshot.interval.bytes";
        /** Default byte trigger: 32 MiB. */
        public static final long SNAPSHOT_INTERVAL_BYTES_DEFAULT = 32L * 1024 * 1024;

        /** Snapshot when this long has passed since the last one and entries were journaled (0: no time trigger). */
        public static final String SNAPSHOT_INTERVAL_MS_PROP_NAME = "magnetar.snapshot.interval.ms";
        /** Default time trigger: ten minutes. */
        public static final long SNAPSHOT_INTERVAL_MS_DEFAULT = 10 * 60 * 1000;

        /** {@code true} to snapshot on graceful close. */
        public static final String SNAPSHOT_ON_CLOSE_PROP_NAME = "magnetar.snapshot.on.close";
        /** Default: snapshot on close. */
        public static final boolean SNAPSHOT_ON_CLOSE_DEFAULT = true;

        /** Snapshots kept; the journal is kept from the oldest of them. */
        public static final String SNAPSHOTS_RETAINED_PROP_NAME = "magnetar.snapshot.retained";
        /** Default: two, so recovery can fall back to the older if the newer is damaged. */
        public static final int SNAPSHOTS_RETAINED_DEFAULT = 2;

        /** Directory of the snapshots; empty for {@value #SNAPSHOT_DIR_DEFAULT} inside the journal directory. */
        public static final String SNAPSHOT_DIR_PROP_NAME = "magnetar.snapshot.dir";
        /** Default snapshot directory, inside the journal directory. */
        public static final String SNAPSHOT_DIR_DEFAULT = "snapshots";

        /** {@code shared} or {@code dedicated}, see {@link ThreadingMode}. */
        public static final String THREADING_MODE_PROP_NAME = "magnetar.pipeline.threading.mode";
        /** Default threading mode: one handler thread (small machines). */
        public static final ThreadingMode THREADING_MODE_DEFAULT = ThreadingMode.SHARED;

        /**
         * Disruptor wait strategy of the handler threads: {@code blocking}, {@code lite-blocking},
         * {@code sleeping}, {@code yielding}, {@code busy-spin}, {@code phased}.
         */
        public static final String WAIT_STRATEGY_PROP_NAME = "magnetar.pipeline.wait.strategy";
        /**
         * Default wait strategy: {@code phased} (spin 10 µs, yield up to 1 ms, then block on a lite lock that the
         * sequencer's publish signals). Polite on 2 cores: an idle node's pipeline thread costs ~1 % of a core
         * (measured 1.7 % for the whole idle node) where {@code sleeping} (100 ns parks, i.e. ~55 µs timer-slack
         * wake-ups) cost ~20 %; under load it never reaches the blocking phase.
         */
        public static final String WAIT_STRATEGY_DEFAULT = "phased";

        /**
         * Agrona idle strategy for the threads that drive the {@link Sequencer}: {@code backoff},
         * {@code sleeping}, {@code sleeping-millis}, {@code yielding}, {@code busy-spin}, {@code noop}.
         */
        public static final String IDLE_STRATEGY_PROP_NAME = "magnetar.pipeline.idle.strategy";
        /** Default idle strategy. */
        public static final String IDLE_STRATEGY_DEFAULT = "backoff";

        /** Longest command frame the sequencer accepts, bytes. */
        public static final String MAX_COMMAND_LENGTH_PROP_NAME = "magnetar.pipeline.max.command.length";
        /** Default longest command frame: 4 MiB. */
        public static final int MAX_COMMAND_LENGTH_DEFAULT = 4 * 1024 * 1024;

        /** Initial capacity of each slot's buffer, bytes; a slot grows when a command does not fit. */
        public static final String SLOT_CAPACITY_PROP_NAME = "magnetar.pipeline.slot.capacity";
        /** Default initial slot capacity. */
        public static final int SLOT_CAPACITY_DEFAULT = 256;

        /** How long {@link Pipeline#close()} waits for the ring to drain and the threads to stop, ms. */
        public static final String CLOSE_TIMEOUT_MS_PROP_NAME = "magnetar.pipeline.close.timeout.ms";
        /** Default close timeout. */
        public static final long CLOSE_TIMEOUT_MS_DEFAULT = 10_000;

        /** What start does with a journal damaged in the middle: {@code refuse} or {@code truncate}. */
        public static final String JOURNAL_RECOVERY_PROP_NAME = "magnetar.journal.recovery";
        /** Default: refuse to start. */
        public static final JournalRecovery JOURNAL_RECOVERY_DEFAULT = JournalRecovery.REFUSE;

        /** Usable bytes of the journal's file system below which publishes and creations are refused; 0: off. */
        public static final String JOURNAL_MIN_FREE_BYTES_PROP_NAME = "magnetar.journal.min.free.bytes";
        /**
         * Default: 256 MiB: twice the 64 MiB Chronicle maps a cycle file by, plus room for a snapshot and the acks and
         * deletes that free space.
         */
        public static final long JOURNAL_MIN_FREE_BYTES_DEFAULT = 256L * 1024 * 1024;

        /** How often the sequencer asks for the journal's usable space, ms. */
        public static final String JOURNAL_SPACE_CHECK_INTERVAL_MS_PROP_NAME = "magnetar.journal.space.check.interval.ms";
        /** Default: 100 ms (a statvfs call; also checked after every quarter of the minimum sequenced). */
        public static final long JOURNAL_SPACE_CHECK_INTERVAL_MS_DEFAULT = 100;

        /** Upper bound on a command frame: Chronicle keeps a document within a quarter of its block size. */
        static final int MAX_COMMAND_LENGTH_LIMIT = 16 * 1024 * 1024 - JournalEntryFormat.HEADER_LENGTH;

        private Configuration()
        {
        }

        /**
         * @return ring size from {@link #RING_SIZE_PROP_NAME}.
         */
        public static int ringSize()
        {
            return Integer.getInteger(RING_SIZE_PROP_NAME, RING_SIZE_DEFAULT);
        }

        /**
         * @return journal directory from {@link #JOURNAL_DIR_PROP_NAME}.
         */
        public static File journalDir()
        {
            return new File(System.getProperty(JOURNAL_DIR_PROP_NAME, JOURNAL_DIR_DEFAULT));
        }

        /**
         * @return durability from {@link #DURABILITY_PROP_NAME}.
         */
        public static Durability durability()
        {
            final String value = System.getProperty(DURABILITY_PROP_NAME);
            return null == value ? DURABILITY_DEFAULT : Durability.valueOf(value.trim().toUpperCase(Locale.ROOT));
        }

        /**
         * @return roll cycle name from {@link #ROLL_CYCLE_PROP_NAME}.
         */
        public static String rollCycle()
        {
            return System.getProperty(ROLL_CYCLE_PROP_NAME, ROLL_CYCLE_DEFAULT);
        }

        /**
         * @return from {@link #SNAPSHOT_ENABLED_PROP_NAME}.
         */
        public static boolean snapshotEnabled()
        {
            return Boolean.parseBoolean(System.getProperty(SNAPSHOT_ENABLED_PROP_NAME, "" + SNAPSHOT_ENABLED_DEFAULT));
        }

        /**
         * @return from {@link #SNAPSHOT_INTERVAL_ENTRIES_PROP_NAME}.
         */
        public static long snapshotIntervalEntries()
        {
            return Long.getLong(SNAPSHOT_INTERVAL_ENTRIES_PROP_NAME, SNAPSHOT_INTERVAL_ENTRIES_DEFAULT);
        }

        /**
         * @return from {@link #SNAPSHOT_INTERVAL_BYTES_PROP_NAME}.
         */
        public static long snapshotIntervalBytes()
        {
            return Long.getLong(SNAPSHOT_INTERVAL_BYTES_PROP_NAME, SNAPSHOT_INTERVAL_BYTES_DEFAULT);
        }

        /**
         * @return from {@link #SNAPSHOT_INTERVAL_MS_PROP_NAME}.
         */
        public static long snapshotIntervalMs()
        {
            return Long.getLong(SNAPSHOT_INTERVAL_MS_PROP_NAME, SNAPSHOT_INTERVAL_MS_DEFAULT);
        }

        /**
         * @return from {@link #SNAPSHOT_ON_CLOSE_PROP_NAME}.
         */
        public static boolean snapshotOnClose()
        {
            return Boolean.parseBoolean(System.getProperty(SNAPSHOT_ON_CLOSE_PROP_NAME, "" + SNAPSHOT_ON_CLOSE_DEFAULT));
        }

        /**
         * @return from {@link #SNAPSHOTS_RETAINED_PROP_NAME}.
         */
        public static int snapshotsRetained()
        {
            return Integer.getInteger(SNAPSHOTS_RETAINED_PROP_NAME, SNAPSHOTS_RETAINED_DEFAULT);
        }

        /**
         * @return from {@link #SNAPSHOT_DIR_PROP_NAME}, or null for the default (inside the journal directory).
         */
        public static File snapshotDir()
        {
            final String value = System.getProperty(SNAPSHOT_DIR_PROP_NAME);
            return null == value || value.isBlank() ? null : new File(value);
        }

        /**
         * @return threading mode from {@link #THREADING_MODE_PROP_NAME}.
         */
        public static ThreadingMode threadingMode()
        {
            final String value = System.getProperty(THREADING_MODE_PROP_NAME);
            return null == value ?
                THREADING_MODE_DEFAULT : ThreadingMode.valueOf(value.trim().toUpperCase(Locale.ROOT));
        }

        /**
         * @return wait strategy name from {@link #WAIT_STRATEGY_PROP_NAME}.
         */
        public static String waitStrategy()
        {
            return System.getProperty(WAIT_STRATEGY_PROP_NAME, WAIT_STRATEGY_DEFAULT);
        }

        /**
         * @return idle strategy name from {@link #IDLE_STRATEGY_PROP_NAME}.
         */
        public static String idleStrategy()
        {
            return System.getProperty(IDLE_STRATEGY_PROP_NAME, IDLE_STRATEGY_DEFAULT);
        }

        /**
         * @return longest command from {@link #MAX_COMMAND_LENGTH_PROP_NAME}.
         */
        public static int maxCommandLength()
        {
            return Integer.getInteger(MAX_COMMAND_LENGTH_PROP_NAME, MAX_COMMAND_LENGTH_DEFAULT);
        }

        /**
         * @return initial slot capacity from {@link #SLOT_CAPACITY_PROP_NAME}.
         */
        public static int slotCapacity()
        {
            return Integer.getInteger(SLOT_CAPACITY_PROP_NAME, SLOT_CAPACITY_DEFAULT);
        }

        /**
         * @return journal recovery from {@link #JOURNAL_RECOVERY_PROP_NAME}.
         */
        public static JournalRecovery journalRecovery()
        {
            final String value = System.getProperty(JOURNAL_RECOVERY_PROP_NAME);
            return null == value ? JOURNAL_RECOVERY_DEFAULT : JournalRecovery.of(value);
        }

        /**
         * @return minimum usable bytes from {@link #JOURNAL_MIN_FREE_BYTES_PROP_NAME}.
         */
        public static long journalMinFreeBytes()
        {
            return Long.getLong(JOURNAL_MIN_FREE_BYTES_PROP_NAME, JOURNAL_MIN_FREE_BYTES_DEFAULT);
        }

        /**
         * @return space check interval from {@link #JOURNAL_SPACE_CHECK_INTERVAL_MS_PROP_NAME}.
         */
        public static long journalSpaceCheckIntervalMs()
        {
            return Long.getLong(JOURNAL_SPACE_CHECK_INTERVAL_MS_PROP_NAME, JOURNAL_SPACE_CHECK_INTERVAL_MS_DEFAULT);
        }

        /**
         * @return close timeout from {@link #CLOSE_TIMEOUT_MS_PROP_NAME}.
         */
        public static long closeTimeoutMs()
        {
            return Long.getLong(CLOSE_TIMEOUT_MS_PROP_NAME, CLOSE_TIMEOUT_MS_DEFAULT);
        }

        /**
         * A new Disruptor wait strategy by name (case-insensitive; '-' and '_' ignored).
         *
         * @param name {@code blocking}, {@code lite-blocking}, {@code sleeping}, {@code yielding},
         *             {@code busy-spin} or {@code phased} (spin 10 µs, yield up to 1 ms, then lite blocking).
         * @return a new instance.
         * @throws IllegalArgumentException for an unknown name.
         */
        public static WaitStrategy newWaitStrategy(final String name)
        {
            switch (normalise(name))
            {
                case "blocking":
                    return new BlockingWaitStrategy();
                case "liteblocking":
                    return new LiteBlockingWaitStrategy();
                case "sleeping":
                    return new SleepingWaitStrategy();
                case "yielding":
                    return new YieldingWaitStrategy();
                case "busyspin":
                    return new BusySpinWaitStrategy();
                case "phased":
                    return PhasedBackoffWaitStrategy.withLiteLock(10, 1000, TimeUnit.MICROSECONDS);
                default:
                    throw new IllegalArgumentException("unknown wait strategy: " + name);
            }
        }

        /**
         * A new Agrona idle strategy by name (case-insensitive; '-' and '_' ignored).
         *
         * @param name {@code backoff}, {@code sleeping} (1 µs parks), {@code sleeping-millis} (1 ms sleeps),
         *             {@code yielding}, {@code busy-spin} or {@code noop}.
         * @return a new instance (idle strategies may hold state: one per thread).
         * @throws IllegalArgumentException for an unknown name.
         */
        public static IdleStrategy newIdleStrategy(final String name)
        {
            switch (normalise(name))
            {
                case "backoff":
                    return new BackoffIdleStrategy();
                case "sleeping":
                    return new SleepingIdleStrategy();
                case "sleepingmillis":
                    return new SleepingMillisIdleStrategy();
                case "yielding":
                    return new YieldingIdleStrategy();
                case "busyspin":
                    return new BusySpinIdleStrategy();
                case "noop":
                    return new NoOpIdleStrategy();
                default:
                    throw new IllegalArgumentException("unknown idle strategy: " + name);
            }
        }

        private static String normalise(final String name)
        {
            if (null == name)
            {
                throw new IllegalArgumentException("strategy name is null");
            }

            return name.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
        }
    }

    private boolean concluded;
    private int ringSize = Configuration.ringSize();
    private File journalDir = Configuration.journalDir();
    private Durability durability = Configuration.durability();
    private String rollCycleName = Configuration.rollCycle();
    private RollCycle rollCycle;
    private ThreadingMode threadingMode = Configuration.threadingMode();
    private String waitStrategyName = Configuration.waitStrategy();
    private Supplier<WaitStrategy> waitStrategySupplier;
    private String idleStrategyName = Configuration.idleStrategy();
    private Supplier<IdleStrategy> idleStrategySupplier;
    private int maxCommandLength = Configuration.maxCommandLength();
    private int slotCapacity = Configuration.slotCapacity();
    private long closeTimeoutMs = Configuration.closeTimeoutMs();
    private EpochClock epochClock;
    private CommandHandler commandHandler;
    private MutableEventListener egress;
    private EventListener eventListener;
    private Consumer<Throwable> onFatal;
    private String threadNamePrefix = "magnetar-";
    private boolean snapshotEnabled = Configuration.snapshotEnabled();
    private long snapshotIntervalEntries = Configuration.snapshotIntervalEntries();
    private long snapshotIntervalBytes = Configuration.snapshotIntervalBytes();
    private long snapshotIntervalMs = Configuration.snapshotIntervalMs();
    private boolean snapshotOnClose = Configuration.snapshotOnClose();
    private int snapshotsRetained = Configuration.snapshotsRetained();
    private File snapshotDir = Configuration.snapshotDir();
    private Snapshottable snapshottable;
    private JournalRecovery journalRecovery = Configuration.journalRecovery();
    private long journalMinFreeBytes = Configuration.journalMinFreeBytes();
    private long journalSpaceCheckIntervalMs = Configuration.journalSpaceCheckIntervalMs();
    private JournalSpaceProbe journalSpaceProbe;

    /**
     * Validate the settings and fill in what follows from them. Called by {@link Pipeline}'s constructor.
     *
     * @return this.
     * @throws IllegalStateException    if already concluded.
     * @throws IllegalArgumentException if a setting is invalid.
     */
    public PipelineContext conclude()
    {
        if (concluded)
        {
            throw new IllegalStateException("context already concluded");
        }

        require(ringSize >= 2 && Integer.bitCount(ringSize) == 1, "ringSize must be a power of 2 >= 2: " + ringSize);
        require(null != journalDir, "journalDir is required");
        require(null != durability, "durability is required");
        require(null != threadingMode, "threadingMode is required");
        require(maxCommandLength >= 8 && maxCommandLength <= Configuration.MAX_COMMAND_LENGTH_LIMIT,
            "maxCommandLength must be 8.." + Configuration.MAX_COMMAND_LENGTH_LIMIT + ": " + maxCommandLength);
        require(slotCapacity >= 64, "slotCapacity must be >= 64: " + slotCapacity);
        require(closeTimeoutMs > 0, "closeTimeoutMs must be positive: " + closeTimeoutMs);
        require(null != commandHandler, "commandHandler is required");
        require(null != egress, "egress (the MutableEventListener the command handler emits through) is required");
        require(null != eventListener, "eventListener is required (EventListener.MUTED to drop events)");
        require(snapshotIntervalEntries >= 0 && snapshotIntervalBytes >= 0 && snapshotIntervalMs >= 0,
            "snapshot intervals must be >= 0 (0: off)");
        require(snapshotsRetained >= 1, "snapshotsRetained must be >= 1: " + snapshotsRetained);
        require(null != journalRecovery, "journalRecovery is required");
        require(journalMinFreeBytes >= 0, "journalMinFreeBytes must be >= 0 (0: off): " + journalMinFreeBytes);
        require(journalSpaceCheckIntervalMs > 0,
            "journalSpaceCheckIntervalMs must be positive: " + journalSpaceCheckIntervalMs);

        if (null == snapshottable && commandHandler instanceof Snapshottable)
        {
            snapshottable = (Snapshottable)commandHandler;
        }
        if (null == snapshotDir)
        {
            snapshotDir = new File(journalDir, Configuration.SNAPSHOT_DIR_DEFAULT);
        }

        if (null == rollCycle)
        {
            rollCycle = Journal.rollCycle(rollCycleName);
        }
        if (null == waitStrategySupplier)
        {
            final String name = waitStrategyName;
            Configuration.newWaitStrategy(name);
            waitStrategySupplier = () -> Configuration.newWaitStrategy(name);
        }
        if (null == idleStrategySupplier)
        {
            final String name = idleStrategyName;
            Configuration.newIdleStrategy(name);
            idleStrategySupplier = () -> Configuration.newIdleStrategy(name);
        }
        if (null == epochClock)
        {
            epochClock = SystemEpochClock.INSTANCE;
        }
        if (null == onFatal)
        {
            onFatal = (ex) ->
            {
                System.err.println("magnetar pipeline failed, halted (fail-stop):");
                ex.printStackTrace(System.err);
            };
        }

        concluded = true;
        return this;
    }

    /**
     * @return true once {@link #conclude()} has run.
     */
    public boolean isConcluded()
    {
        return concluded;
    }

    /**
     * @return slots in the ring (a power of two).
     */
    public int ringSize()
    {
        return ringSize;
    }

    /**
     * @param ringSize slots in the ring, a power of two.
     * @return this.
     */
    public PipelineContext ringSize(final int ringSize)
    {
        this.ringSize = ringSize;
        return this;
    }

    /**
     * @return directory of the journal.
     */
    public File journalDir()
    {
        return journalDir;
    }

    /**
     * @param journalDir directory of the journal.
     * @return this.
     */
    public PipelineContext journalDir(final File journalDir)
    {
        this.journalDir = journalDir;
        return this;
    }

    /**
     * @return durability mode of the journal.
     */
    public Durability durability()
    {
        return durability;
    }

    /**
     * @param durability mode of the journal.
     * @return this.
     */
    public PipelineContext durability(final Durability durability)
    {
        this.durability = durability;
        return this;
    }

    /**
     * @return the roll cycle (after {@link #conclude()}), or null.
     */
    public RollCycle rollCycle()
    {
        return rollCycle;
    }

    /**
     * @param rollCycle the journal's roll cycle.
     * @return this.
     */
    public PipelineContext rollCycle(final RollCycle rollCycle)
    {
        this.rollCycle = rollCycle;
        return this;
    }

    /**
     * @param name of the journal's roll cycle, see {@link Journal#rollCycle(String)}.
     * @return this.
     */
    public PipelineContext rollCycleName(final String name)
    {
        this.rollCycleName = name;
        this.rollCycle = null;
        return this;
    }

    /**
     * @return the threading mode.
     */
    public ThreadingMode threadingMode()
    {
        return threadingMode;
    }

    /**
     * @param threadingMode of the handlers.
     * @return this.
     */
    public PipelineContext threadingMode(final ThreadingMode threadingMode)
    {
        this.threadingMode = threadingMode;
        return this;
    }

    /**
     * @return the wait strategy name.
     */
    public String waitStrategyName()
    {
        return waitStrategyName;
    }

    /**
     * @param name of the handlers' wait strategy, see {@link Configuration#newWaitStrategy}.
     * @return this.
     */
    public PipelineContext waitStrategyName(final String name)
    {
        this.waitStrategyName = name;
        this.waitStrategySupplier = null;
        return this;
    }

    /**
     * @return supplier of the handlers' wait strategy (after {@link #conclude()}).
     */
    public Supplier<WaitStrategy> waitStrategySupplier()
    {
        return waitStrategySupplier;
    }

    /**
     * @param supplier of the handlers' wait strategy, overriding the name.
     * @return this.
     */
    public PipelineContext waitStrategySupplier(final Supplier<WaitStrategy> supplier)
    {
        this.waitStrategySupplier = supplier;
        return this;
    }

    /**
     * @return the idle strategy name.
     */
    public String idleStrategyName()
    {
        return idleStrategyName;
    }

    /**
     * @param name of the idle strategy for sequencer callers, see {@link Configuration#newIdleStrategy}.
     * @return this.
     */
    public PipelineContext idleStrategyName(final String name)
    {
        this.idleStrategyName = name;
        this.idleStrategySupplier = null;
        return this;
    }

    /**
     * @return supplier of idle strategies for the threads that drive the sequencer (after {@link #conclude()}).
     */
    public Supplier<IdleStrategy> idleStrategySupplier()
    {
        return idleStrategySupplier;
    }

    /**
     * @param supplier of idle strategies for the threads that drive the sequencer.
     * @return this.
     */
    public PipelineContext idleStrategySupplier(final Supplier<IdleStrategy> supplier)
    {
        this.idleStrategySupplier = supplier;
        return this;
    }

    /**
     * @return the longest command frame accepted.
     */
    public int maxCommandLength()
    {
        return maxCommandLength;
    }

    /**
     * @param maxCommandLength longest command frame accepted, bytes.
     * @return this.
     */
    public PipelineContext maxCommandLength(final int maxCommandLength)
    {
        this.maxCommandLength = maxCommandLength;
        return this;
    }

    /**
     * @return initial capacity of a slot buffer.
     */
    public int slotCapacity()
    {
        return slotCapacity;
    }

    /**
     * @param slotCapacity initial capacity of a slot buffer, bytes.
     * @return this.
     */
    public PipelineContext slotCapacity(final int slotCapacity)
    {
        this.slotCapacity = slotCapacity;
        return this;
    }

    /**
     * @return how long close waits for draining and for the threads, ms.
     */
    public long closeTimeoutMs()
    {
        return closeTimeoutMs;
    }

    /**
     * @param closeTimeoutMs how long close waits for draining and for the threads, ms.
     * @return this.
     */
    public PipelineContext closeTimeoutMs(final long closeTimeoutMs)
    {
        this.closeTimeoutMs = closeTimeoutMs;
        return this;
    }

    /**
     * @return the clock the sequencer stamps commands with.
     */
    public EpochClock epochClock()
    {
        return epochClock;
    }

    /**
     * @param epochClock the clock the sequencer stamps commands with.
     * @return this.
     */
    public PipelineContext epochClock(final EpochClock epochClock)
    {
        this.epochClock = epochClock;
        return this;
    }

    /**
     * @return what applies the commands (the engine).
     */
    public CommandHandler commandHandler()
    {
        return commandHandler;
    }

    /**
     * @param commandHandler what applies the commands (the engine).
     * @return this.
     */
    public PipelineContext commandHandler(final CommandHandler commandHandler)
    {
        this.commandHandler = commandHandler;
        return this;
    }

    /**
     * @return the listener the command handler emits through; muted during replay.
     */
    public MutableEventListener egress()
    {
        return egress;
    }

    /**
     * @param egress the listener the command handler emits through; muted during replay.
     * @return this.
     */
    public PipelineContext egress(final MutableEventListener egress)
    {
        this.egress = egress;
        return this;
    }

    /**
     * @return where events go once replay is done.
     */
    public EventListener eventListener()
    {
        return eventListener;
    }

    /**
     * @param eventListener where events go once replay is done.
     * @return this.
     */
    public PipelineContext eventListener(final EventListener eventListener)
    {
        this.eventListener = eventListener;
        return this;
    }

    /**
     * @return told of the first handler failure (the broker exits).
     */
    public Consumer<Throwable> onFatal()
    {
        return onFatal;
    }

    /**
     * @param onFatal told of the first handler failure, on the handler thread, after the pipeline halted. It
     *                may call {@link Pipeline#close()}, must not otherwise wait for the pipeline.
     * @return this.
     */
    public PipelineContext onFatal(final Consumer<Throwable> onFatal)
    {
        this.onFatal = onFatal;
        return this;
    }

    /**
     * @return prefix of the handler threads' names.
     */
    public String threadNamePrefix()
    {
        return threadNamePrefix;
    }

    /**
     * @param prefix of the handler threads' names.
     * @return this.
     */
    public PipelineContext threadNamePrefix(final String prefix)
    {
        this.threadNamePrefix = prefix;
        return this;
    }

    /**
     * @return true if snapshots are taken (when there is a {@link #snapshottable()}).
     */
    public boolean snapshotEnabled()
    {
        return snapshotEnabled;
    }

    /**
     * @param enabled false to take no snapshots (existing ones are still used for recovery).
     * @return this.
     */
    public PipelineContext snapshotEnabled(final boolean enabled)
    {
        this.snapshotEnabled = enabled;
        return this;
    }

    /**
     * @return journal entries after which a snapshot is taken, 0 for none.
     */
    public long snapshotIntervalEntries()
    {
        return snapshotIntervalEntries;
    }

    /**
     * @param entries journal entries after which a snapshot is taken, 0 for none.
     * @return this.
     */
    public PipelineContext snapshotIntervalEntries(final long entries)
    {
        this.snapshotIntervalEntries = entries;
        return this;
    }

    /**
     * @return journal bytes after which a snapshot is taken, 0 for none.
     */
    public long snapshotIntervalBytes()
    {
        return snapshotIntervalBytes;
    }

    /**
     * @param bytes journal bytes after which a snapshot is taken, 0 for none.
     * @return this.
     */
    public PipelineContext snapshotIntervalBytes(final long bytes)
    {
        this.snapshotIntervalBytes = bytes;
        return this;
    }

    /**
     * @return time after which a snapshot is taken if anything was journaled, ms, 0 for none.
     */
    public long snapshotIntervalMs()
    {
        return snapshotIntervalMs;
    }

    /**
     * @param ms time after which a snapshot is taken if anything was journaled, 0 for none.
     * @return this.
     */
    public PipelineContext snapshotIntervalMs(final long ms)
    {
        this.snapshotIntervalMs = ms;
        return this;
    }

    /**
     * @return true to snapshot on graceful close.
     */
    public boolean snapshotOnClose()
    {
        return snapshotOnClose;
    }

    /**
     * @param snapshotOnClose true to snapshot on graceful close.
     * @return this.
     */
    public PipelineContext snapshotOnClose(final boolean snapshotOnClose)
    {
        this.snapshotOnClose = snapshotOnClose;
        return this;
    }

    /**
     * @return snapshots kept (the journal is kept from the oldest of them).
     */
    public int snapshotsRetained()
    {
        return snapshotsRetained;
    }

    /**
     * @param retained snapshots kept, at least 1 (2 lets recovery fall back if the newest is damaged).
     * @return this.
     */
    public PipelineContext snapshotsRetained(final int retained)
    {
        this.snapshotsRetained = retained;
        return this;
    }

    /**
     * @return the snapshot directory (after {@link #conclude()}: {@code <journalDir>/snapshots} unless set).
     */
    public File snapshotDir()
    {
        return snapshotDir;
    }

    /**
     * @param dir the snapshot directory.
     * @return this.
     */
    public PipelineContext snapshotDir(final File dir)
    {
        this.snapshotDir = dir;
        return this;
    }

    /**
     * @return what writes and loads snapshots (after {@link #conclude()}: the command handler if it is
     * {@link Snapshottable}), or null: then no snapshots are taken or loaded.
     */
    public Snapshottable snapshottable()
    {
        return snapshottable;
    }

    /**
     * @param snapshottable what writes and loads snapshots, if not the command handler.
     * @return this.
     */
    public PipelineContext snapshottable(final Snapshottable snapshottable)
    {
        this.snapshottable = snapshottable;
        return this;
    }

    /**
     * @return what start does with a journal damaged in the middle.
     */
    public JournalRecovery journalRecovery()
    {
        return journalRecovery;
    }

    /**
     * @param journalRecovery {@link JournalRecovery#REFUSE} (default) or {@link JournalRecovery#TRUNCATE}.
     * @return this.
     */
    public PipelineContext journalRecovery(final JournalRecovery journalRecovery)
    {
        this.journalRecovery = journalRecovery;
        return this;
    }

    /**
     * @return usable bytes of the journal's file system below which publishes and creations are refused (0: off).
     */
    public long journalMinFreeBytes()
    {
        return journalMinFreeBytes;
    }

    /**
     * @param bytes usable bytes of the journal's file system below which publishes and creations are refused with
     *              UNAVAILABLE (0: never).
     * @return this.
     */
    public PipelineContext journalMinFreeBytes(final long bytes)
    {
        this.journalMinFreeBytes = bytes;
        return this;
    }

    /**
     * @return how often the sequencer asks for the journal's usable space, ms.
     */
    public long journalSpaceCheckIntervalMs()
    {
        return journalSpaceCheckIntervalMs;
    }

    /**
     * @param ms how often the sequencer asks for the journal's usable space (it also asks after every quarter of
     *           {@link #journalMinFreeBytes()} sequenced).
     * @return this.
     */
    public PipelineContext journalSpaceCheckIntervalMs(final long ms)
    {
        this.journalSpaceCheckIntervalMs = ms;
        return this;
    }

    /**
     * @return what tells the journal's usable space, or null for the journal directory's file store.
     */
    public JournalSpaceProbe journalSpaceProbe()
    {
        return journalSpaceProbe;
    }

    /**
     * @param probe what tells the journal's usable space (tests); null for the journal directory's file store.
     * @return this.
     */
    public PipelineContext journalSpaceProbe(final JournalSpaceProbe probe)
    {
        this.journalSpaceProbe = probe;
        return this;
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(message);
        }
    }
}
