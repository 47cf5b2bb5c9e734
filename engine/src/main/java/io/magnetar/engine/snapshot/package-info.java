/**
 * Snapshot files: the I/O side of snapshots. The engine writes and reads its state as SBE records through
 * {@link io.magnetar.engine.SnapshotSink} and {@link io.magnetar.engine.SnapshotSource} (pure); this package puts
 * them in files and gets them back.
 * <p>
 * A snapshot file, {@code snapshot-<journal index, 16 hex digits>.snap} in the snapshot directory, is the
 * sequence of the snapshot's records, each preceded by its length (int32, little endian). It is written as
 * {@code .snap.tmp}, forced to disk and renamed, so a {@code .snap} file was complete when it was renamed; its
 * integrity is still checked on every read: the records must run from {@code SnapshotBegin} to {@code
 * SnapshotEnd} with no bytes after it, and {@code SnapshotEnd}'s record count and CRC32C must match
 * ({@link io.magnetar.engine.snapshot.SnapshotReader#verify()}).
 * <p>
 * {@link io.magnetar.engine.snapshot.SnapshotStore} manages the directory (newest first, retention, a marker
 * that says the journal no longer starts at its beginning); {@link io.magnetar.engine.snapshot.SnapshotPrinter}
 * prints a file.
 */
package io.magnetar.engine.snapshot;
