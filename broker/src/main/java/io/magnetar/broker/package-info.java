/**
 * The runnable node: {@link io.magnetar.broker.Main} ({@code java -jar magnetar-broker.jar}), its configuration
 * ({@link io.magnetar.broker.NodeConfig}: defaults &lt; {@code --config} file &lt; {@code MAGNETAR_*} environment &lt;
 * command line), the wiring and lifecycle of engine, journal and transport ({@link io.magnetar.broker.MagnetarNode}),
 * and one-line JSON logs ({@link io.magnetar.broker.JsonLogging}).
 */
package io.magnetar.broker;
