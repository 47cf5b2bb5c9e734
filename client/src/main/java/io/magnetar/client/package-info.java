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
 * lock-free queues (sends through a preallocated array queue per producer, acks as primitives through a ring per
 * consumer); the agent hands a Deliveries frame's messages to the consumer's queue in one locked step; futures are
 * completed and listeners run on executors, never on the agent thread.
 * <p>
 * Allocation per message, publish to ack: the future (which is also the pending message) with one array of its
 * encoded key and attributes, the {@code MessageId} it completes with, and the delivered {@code Message} with one
 * array of its key and attribute bytes, decoded into strings only when asked (about 370 bytes for a 64-byte
 * attribute; {@code ClientAllocationTest} in the broker module keeps it there).
 * Everything that is not public API is package-private.
 */
package io.magnetar.client;
