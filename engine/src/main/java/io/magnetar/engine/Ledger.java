package io.magnetar.engine;

/**
 * One ledger of one partition of a topic: what a message's id {@code (partition, ledger, entry)} names besides the
 * entry. Messages refer to their ledger instead of each carrying the topic, the partition and the ledger id: one
 * 4-byte reference instead of 16 bytes of fields, for every live message (docs/ENGINE.md, "Live-message layout").
 * A partition has one current ledger ({@link Topic#ledgers}); a message keeps the one it was stored in, so a later
 * change of ledger (a partition moving between nodes) does not rename it.
 */
final class Ledger
{
    final Topic topic;
    final int partition;
    final long id;

    Ledger(final Topic topic, final int partition, final long id)
    {
        this.topic = topic;
        this.partition = partition;
        this.id = id;
    }
}
