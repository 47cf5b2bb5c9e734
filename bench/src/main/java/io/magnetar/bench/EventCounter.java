package io.magnetar.bench;

import java.util.concurrent.atomic.AtomicLong;

import io.magnetar.codecs.AckReceiptDecoder;
import io.magnetar.codecs.CommandErrorDecoder;
import io.magnetar.codecs.ConsumerAttachedDecoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.engine.EventListener;
import org.agrona.DirectBuffer;

/**
 * The benchmarks' egress: decodes the engine's events with flyweights (no allocation) and counts what the
 * benchmarks verify: ids receipted, messages delivered (and redelivered), ids acked, errors. Every delivered id
 * goes to an {@link IdSink}, from which the benchmark builds its acks.
 * <p>
 * Written by the thread that runs the engine; the counters are {@link AtomicLong}s set with {@code lazySet}
 * (a release store, no fence on x86), so a producer thread may read them while the engine runs.
 */
final class EventCounter implements EventListener
{
    /**
     * Receives every delivered message id, on the engine's thread.
     */
    interface IdSink
    {
        /**
         * @param consumerIndex which consumer got it: the order of attachment, 0 for the first.
         */
        void onId(int consumerIndex, int partition, long ledger, long entry);
    }

    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final DeliveriesDecoder deliveries = new DeliveriesDecoder();
    private final PublishReceiptDecoder publishReceipt = new PublishReceiptDecoder();
    private final AckReceiptDecoder ackReceipt = new AckReceiptDecoder();
    private final ConsumerAttachedDecoder consumerAttached = new ConsumerAttachedDecoder();
    private final CommandErrorDecoder commandError = new CommandErrorDecoder();
    private final IdSink sink;
    private final long[] consumerIds;

    private final AtomicLong receipted = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong redelivered = new AtomicLong();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong unknownAcks = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong deliveryEvents = new AtomicLong();
    private volatile int attached;
    private volatile int topicId;
    private volatile String firstError;

    /**
     * @param consumers how many consumers the benchmark attaches.
     * @param sink      for every delivered id.
     */
    EventCounter(final int consumers, final IdSink sink)
    {
        this.consumerIds = new long[consumers];
        this.sink = sink;
    }

    public void onEvent(final long sessionId, final DirectBuffer buffer, final int offset, final int length)
    {
        header.wrap(buffer, offset);
        switch (header.templateId())
        {
            case DeliveriesDecoder.TEMPLATE_ID:
                onDeliveries(buffer, offset);
                break;
            case PublishReceiptDecoder.TEMPLATE_ID:
                publishReceipt.wrapAndApplyHeader(buffer, offset, header);
                receipted.lazySet(receipted.get() + publishReceipt.ids().count());
                break;
            case AckReceiptDecoder.TEMPLATE_ID:
                ackReceipt.wrapAndApplyHeader(buffer, offset, header);
                acked.lazySet(acked.get() + ackReceipt.done());
                unknownAcks.lazySet(unknownAcks.get() + ackReceipt.unknown());
                break;
            case ConsumerAttachedDecoder.TEMPLATE_ID:
                consumerAttached.wrapAndApplyHeader(buffer, offset, header);
                if (attached < consumerIds.length)
                {
                    consumerIds[attached] = consumerAttached.consumerId();
                    topicId = consumerAttached.topicId();
                    attached = attached + 1;
                }
                break;
            case CommandErrorDecoder.TEMPLATE_ID:
                commandError.wrapAndApplyHeader(buffer, offset, header);
                if (null == firstError)
                {
                    firstError = commandError.toString();
                }
                errors.lazySet(errors.get() + 1);
                break;
            default:
                break;
        }
    }

    private void onDeliveries(final DirectBuffer buffer, final int offset)
    {
        deliveries.wrapAndApplyHeader(buffer, offset, header);
        final int consumerIndex = consumerIndex(deliveries.consumerId());
        final DeliveriesDecoder.MessagesDecoder messages = deliveries.messages();
        int count = 0;
        int again = 0;
        while (messages.hasNext())
        {
            messages.next();
            sink.onId(consumerIndex, messages.partition(), messages.ledger(), messages.entry());
            if (messages.deliveryCount() != 1)
            {
                again++;
            }
            count++;
            final DeliveriesDecoder.MessagesDecoder.AttributesDecoder attributes = messages.attributes();
            while (attributes.hasNext())
            {
                attributes.next();
                attributes.skipName();
                attributes.skipValue();
            }
            messages.skipKey();
        }

        delivered.lazySet(delivered.get() + count);
        deliveryEvents.lazySet(deliveryEvents.get() + 1);
        if (again != 0)
        {
            redelivered.lazySet(redelivered.get() + again);
        }
    }

    private int consumerIndex(final long consumerId)
    {
        for (int i = 0, n = attached; i < n; i++)
        {
            if (consumerIds[i] == consumerId)
            {
                return i;
            }
        }

        throw new IllegalStateException("deliveries for unknown consumer " + consumerId);
    }

    /** @return consumers attached so far. */
    int attached()
    {
        return attached;
    }

    /** @return id of the consumer attached {@code index}-th. */
    long consumerId(final int index)
    {
        return consumerIds[index];
    }

    /** @return the topic id from the first ConsumerAttached, 0 before. */
    int topicId()
    {
        return topicId;
    }

    /** @return ids in PublishReceipts. */
    long receipted()
    {
        return receipted.get();
    }

    /** @return messages in Deliveries. */
    long delivered()
    {
        return delivered.get();
    }

    /** @return Deliveries events. */
    long deliveryEvents()
    {
        return deliveryEvents.get();
    }

    /** @return deliveries whose deliveryCount was not 1. */
    long redelivered()
    {
        return redelivered.get();
    }

    /** @return ids the AckReceipts counted as done. */
    long acked()
    {
        return acked.get();
    }

    /** @return ids the AckReceipts counted as unknown. */
    long unknownAcks()
    {
        return unknownAcks.get();
    }

    /** @return CommandErrors. */
    long errors()
    {
        return errors.get();
    }

    /**
     * @throws IllegalStateException if the engine answered any command with an error.
     */
    void requireNoErrors()
    {
        if (errors.get() != 0)
        {
            throw new IllegalStateException(errors.get() + " CommandError(s), first: " + firstError);
        }
    }

    /**
     * @return a summary for failure messages.
     */
    String describe()
    {
        return "receipted=" + receipted() + " delivered=" + delivered() + " redelivered=" + redelivered() +
            " acked=" + acked() + " unknownAcks=" + unknownAcks() + " errors=" + errors() +
            (null == firstError ? "" : " firstError=" + firstError);
    }
}
