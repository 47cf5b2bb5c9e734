package io.magnetar.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import io.magnetar.engine.fixture.Event;
import io.magnetar.engine.fixture.Events;
import io.magnetar.engine.fixture.MessageId;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The checker checks: a run that passes against the engine must fail once a single engine event is falsified
 * (fault injection through {@link io.magnetar.engine.fixture.EngineDriver#interceptor}).
 */
class ModelSensitivityTest
{
    private static final long SEED = 1;
    private static final int STEPS = 1500;
    private static final int FROM_STEP = 300;

    enum Fault
    {
        DROP_DELIVERY(events -> rewriteFirst(events, Event.Delivery.class, d -> null)),
        DUPLICATE_DELIVERY(events -> duplicateFirstDelivery(events)),
        DELIVERY_COUNT(events -> rewriteFirst(events, Event.Delivery.class, d -> new Event.Delivery(d.sessionId(),
            d.consumerId(), d.id(), d.key(), d.attributes(), d.publishTimeMs(), d.deliveryCount() + 1, d.frame()))),
        DELIVERY_SESSION(events -> rewriteFirst(events, Event.Delivery.class, d -> new Event.Delivery(
            d.sessionId() + 1000, d.consumerId(), d.id(), d.key(), d.attributes(), d.publishTimeMs(),
            d.deliveryCount(), d.frame()))),
        DELIVERY_KEY(events -> rewriteFirst(events, Event.Delivery.class, d -> new Event.Delivery(d.sessionId(),
            d.consumerId(), d.id(), d.key() + "x", d.attributes(), d.publishTimeMs(), d.deliveryCount(),
            d.frame()))),
        ACK_COUNTS(events -> rewriteFirst(events, Event.AckReceipt.class, a -> a.done() == 0 ? a :
            new Event.AckReceipt(a.sessionId(), a.correlationId(), a.consumerId(), a.done() - 1, a.unknown() + 1))),
        RECEIPT_ID(events -> rewriteFirst(events, Event.PublishReceipt.class, r ->
        {
            final List<MessageId> ids = new ArrayList<>(r.ids());
            final MessageId id = ids.get(0);
            ids.set(0, new MessageId(id.partition(), id.ledger(), id.entry() + 1));
            return new Event.PublishReceipt(r.sessionId(), r.correlationId(), r.topicId(), ids);
        })),
        DROP_CONSUMER_CLOSED(events -> rewriteFirst(events, Event.ConsumerClosed.class, c -> null));

        final UnaryOperator<Events> mutation;

        Fault(final UnaryOperator<Events> mutation)
        {
            this.mutation = mutation;
        }
    }

    private static Boolean baselinePasses;

    private static synchronized boolean baselinePasses()
    {
        if (baselinePasses == null)
        {
            final RandomRun baseline = new RandomRun(SEED, STEPS, false);
            baseline.nackPending = false;
            baselinePasses = baseline.execute() == null;
        }
        return baselinePasses;
    }

    @ParameterizedTest
    @EnumSource(Fault.class)
    void aSingleFalsifiedEventFailsTheRun(final Fault fault)
    {
        Assumptions.assumeTrue(baselinePasses(), "the baseline run must pass against the engine");

        final RandomRun[] holder = new RandomRun[1];
        final boolean[] injected = new boolean[1];
        final RandomRun run = new RandomRun(SEED, STEPS, false, events ->
        {
            if (injected[0] || holder[0] == null || holder[0].step < FROM_STEP)
            {
                return events;
            }
            final Events mutated = fault.mutation.apply(events);
            if (!mutated.all().equals(events.all()))
            {
                injected[0] = true;
            }
            return mutated;
        });
        holder[0] = run;
        run.nackPending = false;
        final String failure = run.execute();
        Assumptions.assumeTrue(injected[0], "no opportunity to inject " + fault);
        assertNotNull(failure, fault + " was injected but the model did not notice");
        System.out.println(fault + " caught: " + failure.lines().findFirst().orElse(""));
    }

    private static <T extends Event> Events rewriteFirst(
        final Events events, final Class<T> type, final Function<T, Event> rewrite)
    {
        final List<Event> out = new ArrayList<>();
        boolean done = false;
        for (final Event e : events.all())
        {
            if (!done && type.isInstance(e))
            {
                final Event replaced = rewrite.apply(type.cast(e));
                done = replaced != e;
                if (replaced != null)
                {
                    out.add(replaced);
                }
                continue;
            }
            out.add(e);
        }
        return new Events(out, events.correlationId());
    }

    private static Events duplicateFirstDelivery(final Events events)
    {
        final List<Event> out = new ArrayList<>();
        boolean done = false;
        for (final Event e : events.all())
        {
            out.add(e);
            if (!done && e instanceof Event.Delivery)
            {
                out.add(e);
                done = true;
            }
        }
        return new Events(out, events.correlationId());
    }
}
