package io.magnetar.engine;

import org.agrona.DirectBuffer;

/**
 * Where the engine's events go: SBE {@code magnetar-protocol} event frames (templates 100..149), each
 * addressed to a session. The buffer is only valid during the call; copy what you keep.
 * During replay the pipeline installs a listener that drops everything (egress muted).
 */
@FunctionalInterface
public interface EventListener
{
    EventListener MUTED = (sessionId, buffer, offset, length) -> {};

    void onEvent(long sessionId, DirectBuffer buffer, int offset, int length);
}
