package io.magnetar.engine;

import org.agrona.DirectBuffer;

/**
 * What the pipeline drives: one command frame at a time, in journal order, on one thread.
 * <p>
 * The frame is a {@code magnetar-protocol} SBE message (header included). {@code sessionId} and
 * {@code timestampMs} are the sequencer's stamp: the session the command came from (0 for internal
 * commands) and the node's time when it was sequenced. Time never enters the engine any other way.
 */
public interface CommandHandler
{
    void onCommand(long sessionId, long timestampMs, DirectBuffer buffer, int offset, int length);

    /**
     * {@link #onCommand(long, long, DirectBuffer, int, int)} with hints the producer computed off this thread: for a
     * {@code Publish}, the {@link Murmur3#keyHash key hash} of each message, in message order
     * ({@link PublishKeyHashes}). Hints change nothing but where the work is done: the journal does not carry them and
     * replay applies the same command without them, so a handler must reach the same state either way. A handler
     * uses them only when {@code keyHashCount} equals the frame's message count (else it computes what it needs), and
     * must not keep the array after returning.
     *
     * @param keyHashes    the key hashes (only the first {@code keyHashCount} entries are meaningful), or null.
     * @param keyHashCount how many there are; 0 for none (not a {@code Publish}, or one the producer could not read).
     */
    default void onCommand(
        final long sessionId,
        final long timestampMs,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int[] keyHashes,
        final int keyHashCount)
    {
        onCommand(sessionId, timestampMs, buffer, offset, length);
    }

    /**
     * @return the earliest time at which the engine has work to do without a new command (an ack
     * timeout or a nack delay expiring), or {@link Long#MAX_VALUE} when there is none. The sequencer
     * injects a {@code Tick} command when this time has come.
     */
    long nextDeadlineMs();
}
