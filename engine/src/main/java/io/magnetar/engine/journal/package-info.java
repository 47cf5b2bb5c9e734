/**
 * The journal: every state-changing command, in the order the engine applied it, as SBE
 * {@code JournalEntry} records ({@code magnetar-journal.xml}) in a Chronicle Queue.
 * <p>
 * A record is the sequencer's stamp (time, session), a CRC32C of the command and the command frame
 * itself. {@link io.magnetar.engine.journal.JournalEntryFormat} lays a record out so that a ring slot
 * buffer <em>is</em> the record: the journal appends it with one write and the engine applies the command
 * bytes in place. {@link io.magnetar.engine.journal.Journal} appends (group commit under
 * {@link io.magnetar.engine.journal.Durability#SYNC}) and replays; a
 * {@link io.magnetar.engine.journal.JournalReader} verifies every record and stops at the first one that is
 * not intact, so a damaged record never reaches the engine.
 * <p>
 * Internal to the node: the pipeline ({@code io.magnetar.engine.pipeline}) is the only writer.
 */
package io.magnetar.engine.journal;
