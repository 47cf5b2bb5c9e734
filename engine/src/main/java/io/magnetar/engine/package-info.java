/**
 * The Magnetar engine: a pure, single-threaded, deterministic state machine. SBE commands in
 * ({@link io.magnetar.engine.CommandHandler}), SBE events out ({@link io.magnetar.engine.EventListener}).
 * This package must not import Disruptor, Chronicle, Aeron, java.io or java.nio channels, nor read a clock:
 * a test holds that line. The journal, snapshot files and pipeline live in the sub-packages; the engine writes and
 * loads its snapshots as SBE records through {@link io.magnetar.engine.SnapshotSink} and
 * {@link io.magnetar.engine.SnapshotSource} ({@link io.magnetar.engine.Snapshottable}).
 */
package io.magnetar.engine;
