/**
 * The Magnetar Java client: producers, consumers and admin calls over Aeron (IPC on one host, UDP between hosts)
 * with the SBE commands of {@code magnetar-protocol.xml} and the session protocol of {@code docs/PROTOCOL.md}.
 * <p>
 * Public API: {@link io.magnetar.client.MagnetarClient} and its {@link io.magnetar.client.ClientBuilder},
 * {@link io.magnetar.client.Producer}, {@link io.magnetar.client.Consumer}, {@link io.magnetar.client.Admin},
 * {@link io.magnetar.client.Message}, {@link io.magnetar.client.MessageId} and
 * {@link io.magnetar.client.MagnetarException} with its {@link io.magnetar.client.ErrorCode}.
 * <p>
 * Threads: one client agent thread ({@code ClientAgent}) owns the Aeron publication and subscription, encodes
 * every frame, batches publishes and acks, sends heartbeats and reconnects. User threads hand work to it through
 * lock-free queues; futures are completed and listeners run on executors, never on the agent thread.
 * Everything that is not public API is package-private.
 */
package io.magnetar.client;
