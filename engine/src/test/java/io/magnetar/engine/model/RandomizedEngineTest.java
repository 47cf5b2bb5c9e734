package io.magnetar.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.magnetar.engine.Engine;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded randomized differential test: long random command streams against the real {@link Engine}, every step
 * checked by the {@link ReferenceModel} (see its Javadoc for what is checked and how SPEC / ENGINE.md are read).
 * Ends each run with a drain phase: every subscription gets a consumer with a large window, everything delivered
 * is acked and time moves past every delay, until the model has nothing incomplete; then the engine must hold
 * no message. Finally the whole command stream is replayed into a fresh engine: same stateHash and same events
 * (with and without the queries, which are not journaled).
 * <p>
 * Profiles by seed: seed % 3 == 0 runs with maxLiveMessages = 120 (BACKLOG_FULL, dead letters past the limit);
 * seed % 2 == 0 with maxDeliveriesPerEvent = 3 (deliveries split over frames); seed % 4 == 1 "steady" (hardly any
 * deletions or restarts, larger windows); seed % 5 == 2 uses only 3 keys (key_shared contention).
 * <p>
 * System properties: {@code magnetar.seed=N} reruns one seed; {@code magnetar.seeds} (default 20) and
 * {@code magnetar.steps} (default 3000) size the run; {@code magnetar.trace=true} prints every step of a single
 * seed; {@code magnetar.nackPending=false} stops nacking pending deliveries.
 */
class RandomizedEngineTest
{
    @Test
    void randomCommandStreamsMatchTheReferenceModel()
    {
        final String single = System.getProperty("magnetar.seed");
        final int seeds = Integer.getInteger("magnetar.seeds", 20);
        final int steps = Integer.getInteger("magnetar.steps", 3000);
        final List<Long> toRun = new ArrayList<>();
        if (single != null)
        {
            toRun.add(Long.parseLong(single));
        }
        else
        {
            for (long s = 1; s <= seeds; s++)
            {
                toRun.add(s);
            }
        }
        final List<String> failures = new ArrayList<>();
        final long start = System.nanoTime();
        for (final long seed : toRun)
        {
            final RandomRun run = new RandomRun(seed, steps, single != null && Boolean.getBoolean("magnetar.trace"));
            final String failure = run.execute();
            if (failure != null)
            {
                failures.add(failure);
                System.out.println(failure);
            }
            else
            {
                System.out.println("seed " + seed + " ok: " + run.model.summary());
            }
            for (final Map.Entry<String, String> soft : run.model.softFindings.entrySet())
            {
                final String line = "  note (" + run.model.softCounts.get(soft.getKey()) + "x): " + soft.getKey() +
                    "\n    first: " + soft.getValue();
                System.out.println(line);
            }
        }
        System.out.printf("%d seeds x %d steps in %.1f s%n", toRun.size(), steps, (System.nanoTime() - start) / 1e9);
        if (!failures.isEmpty())
        {
            fail(failures.size() + " of " + toRun.size() + " seeds failed (rerun one with -Dmagnetar.seed=N):\n\n" +
                String.join("\n\n", failures));
        }
    }
}
