package io.magnetar.client;

/**
 * One subscription of a topic (SPEC section 5's per-subscription stats, plus its options).
 *
 * @param name              its name.
 * @param type              its type.
 * @param backlog           messages not yet delivered (pending, or waiting for redelivery).
 * @param inFlight          delivered and not yet acknowledged.
 * @param consumers         attached consumers.
 * @param redeliveries      redeliveries so far.
 * @param deadLettered      messages sent to the dead-letter topic so far.
 * @param ackTimeoutMs      its ack timeout (0 = off).
 * @param nackDelayMs       its negative-ack redelivery delay.
 * @param maxDeliveries     its max deliveries (0 = unlimited).
 * @param maxInFlightPerKey its max in flight per key (0 = unlimited).
 * @param delivered         deliveries since the node started, redeliveries included.
 * @param acked             deliveries acknowledged since the node started.
 * @param nacked            outstanding deliveries negatively acknowledged since the node started.
 *                          <p>
 *                          {@code redeliveries} and {@code deadLettered} are part of the subscription's state and
 *                          survive a restart; {@code delivered}, {@code acked} and {@code nacked} count since the node
 *                          started (0 from a broker speaking protocol version 0).
 */
public record SubscriptionStats(
    String name,
    SubscriptionType type,
    long backlog,
    long inFlight,
    int consumers,
    long redeliveries,
    long deadLettered,
    long ackTimeoutMs,
    long nackDelayMs,
    int maxDeliveries,
    int maxInFlightPerKey,
    long delivered,
    long acked,
    long nacked)
{
}
