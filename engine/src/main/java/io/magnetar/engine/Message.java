package io.magnetar.engine;

/**
 * One stored message: id, the handle of its key and attributes, and the head of its chain of deliveries. Pooled.
 * <p>
 * The data is a record in the engine's {@link DataSlab} (see there for its layout), not an array of the message's
 * own: one {@code int} here instead of the array's reference, its 16-byte header and padding and three length fields.
 * Pooled messages are kept in an array stack in the engine, not linked through a field: a live message carries no
 * pool link.
 */
final class Message
{
    Topic topic;
    int partition;
    long ledger;
    long entry;
    long sequence;
    long publishTimeMs;
    int keyHash;
    /**
     * The message's record in the engine's {@link DataSlab}: its data (attributes, then the key) and their lengths
     * (data length, key length, attribute count), read through the slab. {@link DataSlab#NONE} while pooled: the
     * engine frees the record when it releases the message.
     */
    int dataHandle = DataSlab.NONE;
    /**
     * The chain of live deliveries through {@link Delivery#nextOfMessage}; the message is deleted when it is empty.
     * No count is kept beside it (see {@link #deliveries()}): 4 bytes per live message.
     */
    Delivery firstDelivery;

    /**
     * Live deliveries: the length of the chain. Walks it; for snapshots and the state hash, not the command path.
     */
    int deliveries()
    {
        int n = 0;
        for (Delivery d = firstDelivery; d != null; d = d.nextOfMessage)
        {
            n++;
        }
        return n;
    }

    void reset()
    {
        topic = null;
        firstDelivery = null;
        dataHandle = DataSlab.NONE;
    }
}
