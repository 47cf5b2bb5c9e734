/**
 * The REST gateway (SPEC section 5): {@link io.magnetar.rest.RestGateway} serves the REST API with Javalin 7 over one
 * native {@link io.magnetar.client.MagnetarClient}, so REST calls travel the same Aeron session protocol and command
 * stream as every Java client. {@link io.magnetar.rest.RestConfig} holds where it listens and its limits;
 * {@link io.magnetar.rest.Main} runs it on its own against a remote broker.
 * <p>
 * Inside: {@code Json} (strict parsing under read limits), {@code ErrorMapping} (the one table of error codes and
 * HTTP statuses), {@code Publisher} (one producer per topic), {@code RestConsumers} / {@code RestConsumer} (leases,
 * buffers, parked long polls), {@code GatewayMetrics} (Prometheus), {@code JettyErrors} (Jetty's own refusals in the
 * SPEC error body). The OpenAPI document is the resource {@code openapi.json} beside these classes.
 */
package io.magnetar.rest;
