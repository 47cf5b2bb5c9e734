package io.magnetar.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.magnetar.engine.EngineConfig;
import io.magnetar.engine.journal.Durability;
import io.magnetar.engine.pipeline.ThreadingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeConfigTest
{
    @TempDir
    Path tmp;

    @Test
    void defaults()
    {
        final NodeConfig config = NodeConfig.load(new String[0], Map.of()).conclude();
        assertEquals(Path.of("./data"), config.dataDir());
        assertEquals(Durability.SYNC, config.durability());
        assertEquals("aeron:ipc", config.ipcChannel());
        assertEquals("aeron:udp?endpoint=localhost:40100", config.udpChannel());
        assertEquals(100, config.ingressStreamId());
        assertEquals(ThreadingMode.SHARED, config.threadingMode());
        assertEquals("backoff", config.idleStrategy());
        assertEquals("phased", config.waitStrategy());
        assertEquals(16384, config.ringSize());
        assertEquals(1000, config.heartbeatIntervalMs());
        assertEquals(10_000, config.sessionTimeoutMs());
        assertEquals(8080, config.httpPort());
        assertTrue(config.httpEnabled());
        assertEquals("127.0.0.1", config.httpHost());
        assertTrue(config.embeddedDriver());
        assertEquals(4 * 1024 * 1024, config.intSize(NodeConfig.Option.IPC_TERM_LENGTH));
        assertEquals(NodeConfig.Source.DEFAULT, config.source(NodeConfig.Option.DATA_DIR));
        assertNull(config.get(NodeConfig.Option.MAX_KEY_BYTES), "engine limits default to the engine's own");
        assertFalse(config.helpRequested());
        assertTrue(config.describeSources().isEmpty());
    }

    @Test
    void commandLineOverridesEnvironmentOverridesFileOverridesDefaults() throws IOException
    {
        final Path file = tmp.resolve("magnetar.properties");
        Files.writeString(file, String.join("\n",
            "# a comment",
            "data-dir = /from/file",
            "durability = async",
            "ring.size = 1024",
            "udp_channel = aeron:udp?endpoint=localhost:41000",
            "session-timeout-ms = 5000",
            "max-key-bytes = 100"));
        final Map<String, String> env = Map.of(
            "MAGNETAR_DATA_DIR", "/from/env",
            "MAGNETAR_RING_SIZE", "2048",
            "MAGNETAR_IDLE_STRATEGY", "sleeping",
            "MAGNETAR_NO_SUCH_THING", "x",
            "PATH", "/usr/bin");
        final String[] args = {
            "--config", file.toString(),
            "--data-dir", "/from/cli",
            "--idle-strategy=yielding",
            "--ipc-channel", "none",
            "--embedded-driver",
            "--heartbeat-interval-ms", "250" };

        final NodeConfig config = NodeConfig.load(args, env).conclude();

        assertEquals(Path.of("/from/cli"), config.dataDir());
        assertEquals(NodeConfig.Source.COMMAND_LINE, config.source(NodeConfig.Option.DATA_DIR));
        assertEquals(2048, config.ringSize());
        assertEquals(NodeConfig.Source.ENVIRONMENT, config.source(NodeConfig.Option.RING_SIZE));
        assertEquals("yielding", config.idleStrategy());
        assertEquals(NodeConfig.Source.COMMAND_LINE, config.source(NodeConfig.Option.IDLE_STRATEGY));
        assertEquals(Durability.ASYNC, config.durability());
        assertEquals(NodeConfig.Source.FILE, config.source(NodeConfig.Option.DURABILITY));
        assertEquals("aeron:udp?endpoint=localhost:41000", config.udpChannel());
        assertNull(config.ipcChannel(), "none disables the IPC channel");
        assertTrue(config.embeddedDriver());
        assertEquals(250, config.heartbeatIntervalMs());
        assertEquals(5000, config.sessionTimeoutMs());
        assertEquals(8080, config.httpPort());
        assertEquals(file, config.configFile());
        assertEquals(1, config.warnings().size());
        assertTrue(config.warnings().get(0).contains("MAGNETAR_NO_SUCH_THING"));
        assertEquals("command_line", config.describeSources().get("data-dir"));
        assertEquals("file", config.describeSources().get("durability"));

        final EngineConfig engineConfig = MagnetarNode.engineConfig(config);
        assertEquals(100, engineConfig.maxKeyBytes());
    }

    @Test
    void configFileFromTheEnvironmentAndCommandLineWins() throws IOException
    {
        final Path envFile = tmp.resolve("env.properties");
        Files.writeString(envFile, "durability=async\nring-size=64\n");
        final Path cliFile = tmp.resolve("cli.properties");
        Files.writeString(cliFile, "ring-size=128\n");

        final NodeConfig fromEnv = NodeConfig.load(new String[0], Map.of("MAGNETAR_CONFIG", envFile.toString()));
        assertEquals(Durability.ASYNC, fromEnv.durability());
        assertEquals(64, fromEnv.ringSize());

        final NodeConfig fromCli = NodeConfig.load(
            new String[]{ "--config=" + cliFile }, Map.of("MAGNETAR_CONFIG", envFile.toString()));
        assertEquals(Durability.SYNC, fromCli.durability());
        assertEquals(128, fromCli.ringSize());
    }

    @Test
    void sizesAndBooleans()
    {
        final NodeConfig config = NodeConfig.load(new String[]{
            "--ipc-term-length", "64k", "--udp-term-length", "16MiB", "--max-live-bytes", "1g",
            "--embedded-driver", "no", "--egress-buffer-length", "1_048_576" }, Map.of()).conclude();
        assertEquals(64 * 1024, config.size(NodeConfig.Option.IPC_TERM_LENGTH));
        assertEquals(16 * 1024 * 1024, config.size(NodeConfig.Option.UDP_TERM_LENGTH));
        assertEquals(1L << 30, config.size(NodeConfig.Option.MAX_LIVE_BYTES));
        assertEquals(1 << 20, config.size(NodeConfig.Option.EGRESS_BUFFER_LENGTH));
        assertFalse(config.embeddedDriver());

        final NodeConfig snapshots = NodeConfig.load(new String[]{ "--snapshot-interval-bytes", "4m" }, Map.of())
            .conclude();
        assertEquals(4L << 20, snapshots.snapshotIntervalBytes());
        assertNull(new NodeConfig().conclude().get(NodeConfig.Option.SNAPSHOT_INTERVAL_BYTES), "pipeline default");
    }

    @Test
    void helpIsRecognisedAndUsageListsEveryOption()
    {
        assertTrue(NodeConfig.load(new String[]{ "--help" }, Map.of()).helpRequested());
        assertTrue(NodeConfig.load(new String[]{ "-h" }, Map.of()).helpRequested());
        final String usage = NodeConfig.usage();
        for (final NodeConfig.Option option : NodeConfig.Option.values())
        {
            assertTrue(usage.contains(option.flag()), option.flag());
        }
        assertTrue(usage.contains("--config FILE"));
    }

    @Test
    void errorsNameTheOptionAndItsSource() throws IOException
    {
        assertMessage("unknown option --no-such", () -> NodeConfig.load(new String[]{ "--no-such", "1" }, Map.of()));
        assertMessage("--data-dir needs a value", () -> NodeConfig.load(new String[]{ "--data-dir" }, Map.of()));
        assertMessage("unexpected argument 'stray'", () -> NodeConfig.load(new String[]{ "stray" }, Map.of()));

        final Path file = tmp.resolve("bad.properties");
        Files.writeString(file, "data-dirr=/x\n");
        assertMessage("unknown option 'data-dirr'",
            () -> NodeConfig.load(new String[]{ "--config", file.toString() }, Map.of()));
        assertMessage("cannot read config file",
            () -> NodeConfig.load(new String[]{ "--config", tmp.resolve("missing").toString() }, Map.of()));

        assertMessage("durability = 'maybe' (from environment): expected sync or async",
            () -> NodeConfig.load(new String[0], Map.of("MAGNETAR_DURABILITY", "maybe")).conclude());
        assertMessage("ring-size = '-4' (from command_line): must be positive",
            () -> NodeConfig.load(new String[]{ "--ring-size", "-4" }, Map.of()).conclude());
        assertMessage("idle-strategy = 'lazy'",
            () -> NodeConfig.load(new String[]{ "--idle-strategy", "lazy" }, Map.of()).conclude());
        assertMessage("ipc-term-length = '4x'",
            () -> NodeConfig.load(new String[]{ "--ipc-term-length", "4x" }, Map.of()).conclude());
        assertMessage("snapshot-interval-bytes = '0' (from command_line): must be positive",
            () -> NodeConfig.load(new String[]{ "--snapshot-interval-bytes", "0" }, Map.of()).conclude());
        assertMessage("snapshots-retained = '0' (from command_line): must be positive",
            () -> NodeConfig.load(new String[]{ "--snapshots-retained", "0" }, Map.of()).conclude());
        assertMessage("both disabled",
            () -> NodeConfig.load(new String[]{ "--ipc-channel", "none", "--udp-channel", "off" }, Map.of()).conclude());
    }

    @Test
    void httpOptions()
    {
        final NodeConfig ephemeral = NodeConfig.load(
            new String[]{ "--http-port", "0", "--http-host", "0.0.0.0" }, Map.of()).conclude();
        assertTrue(ephemeral.httpEnabled());
        assertEquals(0, ephemeral.httpPort());
        assertEquals("0.0.0.0", ephemeral.httpHost());

        for (final String off : new String[]{ "none", "off", "false", "disabled", "NONE" })
        {
            final NodeConfig disabled = NodeConfig.load(new String[]{ "--http-port", off }, Map.of()).conclude();
            assertFalse(disabled.httpEnabled(), off);
            assertEquals(-1, disabled.httpPort(), off);
        }
        assertFalse(NodeConfig.load(new String[0], Map.of("MAGNETAR_HTTP_PORT", "none")).conclude().httpEnabled());
        assertEquals(9090, NodeConfig.load(new String[0], Map.of("MAGNETAR_HTTP_PORT", "9090")).conclude().httpPort());
        assertFalse(new NodeConfig().disableHttp().conclude().httpEnabled());

        // without IPC the gateway's client goes over the node's UDP channel, wildcard endpoints made loopback
        assertTrue(NodeConfig.load(new String[]{ "--ipc-channel", "none" }, Map.of()).conclude().httpEnabled());
        assertEquals("aeron:ipc", MagnetarNode.gatewayIngressChannel("aeron:ipc", "aeron:udp?endpoint=localhost:1"));
        assertEquals("aeron:udp?endpoint=localhost:40100",
            MagnetarNode.gatewayIngressChannel(null, "aeron:udp?endpoint=localhost:40100"));
        assertEquals("aeron:udp?endpoint=127.0.0.1:40100",
            MagnetarNode.gatewayIngressChannel(null, "aeron:udp?endpoint=0.0.0.0:40100"));
        assertEquals("aeron:udp?endpoint=[::1]:40100",
            MagnetarNode.gatewayIngressChannel(null, "aeron:udp?endpoint=[::]:40100"));
        assertEquals("aeron:udp?endpoint=10.1.2.3:40100",
            MagnetarNode.gatewayIngressChannel(null, "aeron:udp?endpoint=10.1.2.3:40100"));
        assertMessage("http-port = '65536' (from command_line): expected 0..65535 or none",
            () -> NodeConfig.load(new String[]{ "--http-port", "65536" }, Map.of()).conclude());
        assertMessage("http-port = 'eighty'",
            () -> NodeConfig.load(new String[]{ "--http-port", "eighty" }, Map.of()).conclude());
        assertMessage("http-host = '' (from command_line): a value is required",
            () -> NodeConfig.load(new String[]{ "--http-host", "" }, Map.of()).conclude());
    }

    @Test
    void restConfigCarriesTheAddressAndTheEngineLimits()
    {
        final NodeConfig config = NodeConfig.load(new String[]{
            "--http-host", "0.0.0.0", "--http-port", "0", "--max-publish-batch", "500", "--max-ack-batch", "700",
            "--max-permits", "50", "--max-key-bytes", "64" }, Map.of()).conclude();
        final io.magnetar.rest.RestConfig rest = MagnetarNode.restConfig(config, MagnetarNode.engineConfig(config));
        rest.conclude();
        assertEquals("0.0.0.0", rest.host());
        assertEquals(0, rest.port());
        assertEquals(500, rest.maxPublishBatch());
        assertEquals(700, rest.maxAckBatch());
        assertTrue(rest.toString().contains("maxPermits=50"), rest::toString);

        final io.magnetar.rest.RestConfig defaults = MagnetarNode.restConfig(
            NodeConfig.load(new String[0], Map.of()).conclude(), MagnetarNode.engineConfig(new NodeConfig()));
        assertEquals("127.0.0.1", defaults.host());
        assertEquals(8080, defaults.port());
        assertEquals(10_000, defaults.maxPublishBatch());
        assertEquals(10_000, defaults.maxAckBatch());
        assertTrue(defaults.conclude().toString().contains("maxPermits=10000"), defaults::toString);
    }

    private static void assertMessage(final String expected, final org.junit.jupiter.api.function.Executable executable)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(ex.getMessage().contains(expected), () -> "'" + ex.getMessage() + "' does not contain '" + expected + "'");
    }
}
