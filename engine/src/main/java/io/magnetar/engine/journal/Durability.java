package io.magnetar.engine.journal;

/**
 * When a journaled command counts as durable (SPEC section 4).
 */
public enum Durability
{
    /**
     * Written to the memory-mapped journal before any effect is visible: survives a process crash
     * ({@code kill -9}), may lose the last moments on an OS crash or power cut.
     */
    ASYNC,

    /**
     * Forced to disk (msync) once per batch before any effect of the batch is visible (group commit):
     * survives an OS crash or power cut as well.
     */
    SYNC
}
