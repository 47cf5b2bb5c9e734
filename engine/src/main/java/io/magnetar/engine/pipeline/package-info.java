/**
 * The pipeline that puts commands into the engine: a single-producer Disruptor ring whose handlers
 * journal every state-changing command (group commit at the end of each batch) <em>before</em> the
 * engine applies it, and stop everything at the first failure (fail-stop).
 * <pre>
 *   ingress thread --offer()--&gt; [ring of CommandSlot] --&gt; journal handler --&gt; engine handler (CommandHandler)
 *   (Sequencer: stamps time and session, injects Tick      (DEDICATED: two threads; SHARED: one)
 *    and TakeSnapshot markers)                              (after a TakeSnapshot: Snapshotter writes the snapshot)
 * </pre>
 * A ring slot's buffer is laid out as a journal record ({@link io.magnetar.engine.journal.JournalEntryFormat}),
 * so journaling is one write of the slot and the engine applies the command bytes in place.
 * {@link io.magnetar.engine.pipeline.Pipeline#start()} recovers with egress muted (the latest complete snapshot,
 * then the journal entries after it; see docs/ENGINE.md, "Snapshots and the bounded journal"), journals a
 * {@code NodeStarted} command, and only then accepts commands. Snapshots are commands in the stream: the journal
 * rolls to a new cycle file before each {@code TakeSnapshot} marker, the engine thread writes the state at the
 * marker's index, and journal cycles before the oldest snapshot kept are deleted.
 * <p>
 * Wiring: {@link io.magnetar.engine.pipeline.PipelineContext} (configuration),
 * {@link io.magnetar.engine.pipeline.Pipeline} (lifecycle), {@link io.magnetar.engine.pipeline.Sequencer}
 * (the only producer API).
 */
package io.magnetar.engine.pipeline;
