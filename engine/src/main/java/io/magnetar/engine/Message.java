package io.magnetar.engine;

/**
 * One stored message: id, the handle of its key and attributes, and its deliveries: the message object is itself
 * one of them (see {@link Delivery}; {@link #UNUSED} when it holds none), the others are chained through
 * {@link #nextOfMessage}. Pooled.
 * <p>
 * The data is a record in the engine's {@link DataSlab} (see there for its layout), not an array of the message's
 * own: one {@code int} here instead of the array's reference, its 16-byte header and padding and three length fields.
 * Pooled messages are kept in an array stack in the engine, not linked through a field: a live message carries no
 * pool link.
 */
final class Message extends Delivery
{
    /** topic, partition and ledger id in one reference: see {@link Ledger}. Null while pooled. */
    Ledger ledger;
    long entry;
    long sequence;
    /** the publish time's low 32 bits; the high ones are its ledger's era ({@link #publishTimeMs()}). */
    int publishTimeLow;
    int keyHash;
    /**
     * The message's record in the engine's {@link DataSlab}: its data (attributes, then the key) and their lengths
     * (data length, key length, attribute count), read through the slab. {@link DataSlab#NONE} while pooled: the
     * engine frees the record when it releases the message.
     */
    int dataHandle = DataSlab.NONE;

    Message()
    {
        setState(UNUSED);
    }

    /**
     * The first of the message's live deliveries, the chain going on through {@link #nextOfMessage}: the message
     * itself unless its own delivery is unused.
     */
    Delivery firstDelivery()
    {
        return state() != UNUSED ? this : nextOfMessage;
    }

    /**
     * Some subscription still has to process the message: while so, it stays stored.
     */
    boolean hasDeliveries()
    {
        return state() != UNUSED || nextOfMessage != null;
    }

    /**
     * Live deliveries: the length of the chain. Walks it; for snapshots and the state hash, not the command path.
     */
    int deliveries()
    {
        int n = 0;
        for (Delivery d = firstDelivery(); d != null; d = d.nextOfMessage)
        {
            n++;
        }
        return n;
    }

    Topic topic()
    {
        return ledger.topic;
    }

    int partition()
    {
        return ledger.partition;
    }

    long ledgerId()
    {
        return ledger.id;
    }

    long publishTimeMs()
    {
        return ledger.timeMs(publishTimeLow);
    }

    void reset()
    {
        clearDelivery(UNUSED);
        nextOfMessage = null;
        ledger = null;
        dataHandle = DataSlab.NONE;
    }
}
