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
     * @return the earliest time at which the engine has work to do without a new command (an ack
     * timeout or a nack delay expiring), or {@link Long#MAX_VALUE} when there is none. The sequencer
     * injects a {@code Tick} command when this time has come.
     */
    long nextDeadlineMs();
}
