/**
 * The pipeline that puts commands into the engine: a single-producer Disruptor ring whose handlers
 * journal every state-changing command (group commit at the end of each batch) <em>before</em> the
 * engine applies it, and stop everything at the first failure (fail-stop).
 * <pre>
 *   ingress thread --offer()--&gt; [ring of CommandSlot] --&gt; journal handler --&gt; engine handler (CommandHandler)
 *   (Sequencer: stamps time and session, injects Tick)      (DEDICATED: two threads; SHARED: one)
 * </pre>
 * A ring slot's buffer is laid out as a journal record ({@link io.magnetar.engine.journal.JournalEntryFormat}),
 * so journaling is one write of the slot and the engine applies the command bytes in place.
 * {@link io.magnetar.engine.pipeline.Pipeline#start()} replays the journal through the engine with egress
 * muted, journals a {@code NodeStarted} command, and only then accepts commands.
 * <p>
 * Wiring: {@link io.magnetar.engine.pipeline.PipelineContext} (configuration),
 * {@link io.magnetar.engine.pipeline.Pipeline} (lifecycle), {@link io.magnetar.engine.pipeline.Sequencer}
 * (the only producer API).
 */
package io.magnetar.engine.pipeline;
