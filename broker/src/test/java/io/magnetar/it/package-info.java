/**
 * Integration tests: the Java client ({@code io.magnetar.client}) against a {@link io.magnetar.broker.MagnetarNode}
 * launched in this JVM ({@link io.magnetar.it.NodeFixture}: temporary data directory, unique Aeron directory under
 * /dev/shm, unique UDP port, all removed afterwards), over IPC and over UDP loopback
 * ({@link io.magnetar.it.Transport}). Waits poll a condition against a deadline ({@link io.magnetar.it.Await}).
 */
package io.magnetar.it;
