package io.magnetar.engine.pipeline;

/**
 * How the pipeline's handlers map to threads.
 */
public enum ThreadingMode
{
    /**
     * One thread journals, another applies: the engine applies batch N while the journal writes batch N+1.
     * Best with spare cores.
     */
    DEDICATED,

    /**
     * One thread journals each batch, syncs it, then applies it. Half the threads, no cross-thread hand-off
     * between journal and engine; the default for small (2-core) machines.
     */
    SHARED
}
