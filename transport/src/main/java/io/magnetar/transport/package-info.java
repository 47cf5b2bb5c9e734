/**
 * The broker side of the native session protocol (docs/PROTOCOL.md): SBE frames over Aeron, IPC and UDP.
 * <pre>
 *   client publications --&gt; [ingress Subscriptions] --&gt; IngressAgent --offer()--&gt; Sequencer --&gt; ring --&gt; journal --&gt; engine
 *                                                       (Connect, Heartbeat, Disconnect, liveness,       |
 *                                                        validation, BrokerHeartbeat, SessionEnded)       v
 *   client subscriptions &lt;-- [session ConcurrentPublications] &lt;---------------------------------- EgressPublisher
 * </pre>
 * <ul>
 *   <li>{@link io.magnetar.transport.TransportContext}: configuration (channels, stream, timeouts, idle strategy,
 *       embedded media driver settings), Aeron {@code Context} style with {@code conclude()}.</li>
 *   <li>{@link io.magnetar.transport.MediaDriverLauncher}: the embedded media driver, polite defaults for small
 *       machines and safe handling of a directory left behind by a killed process.</li>
 *   <li>{@link io.magnetar.transport.IngressAgent}: the one thread that polls the ingress channels and the only
 *       producer into the engine's ring; owns the session life cycle.</li>
 *   <li>{@link io.magnetar.transport.EgressPublisher}: the engine's {@link io.magnetar.engine.EventListener}; routes
 *       each event to its session's publication without ever blocking the engine thread.</li>
 *   <li>{@link io.magnetar.transport.SessionRegistry}: the open sessions, shared by those two threads
 *       (copy-on-write, allocation-free lookups).</li>
 * </ul>
 */
package io.magnetar.transport;
