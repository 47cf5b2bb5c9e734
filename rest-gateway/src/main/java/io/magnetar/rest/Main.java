package io.magnetar.rest;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import io.magnetar.client.ClientBuilder;
import io.magnetar.client.MagnetarClient;

/**
 * The gateway on its own, in front of a broker running elsewhere (the broker node also serves REST itself):
 * <pre>
 * java $JVM_FLAGS -cp ... io.magnetar.rest.Main --http-port 8080 --ingress-channel aeron:udp?endpoint=broker:40100 \
 *     --response-channel aeron:udp?endpoint=this-host:0 --embedded-media-driver true
 * </pre>
 * Options: {@code --http-host} (default 127.0.0.1), {@code --http-port} (8080), {@code --aeron-dir},
 * {@code --ingress-channel} (aeron:ipc), {@code --ingress-stream-id} (100), {@code --response-channel},
 * {@code --embedded-media-driver} (false; true for UDP from a host with no media driver), {@code --max-body-bytes}.
 * SIGTERM closes the gateway, then the client.
 */
public final class Main
{
    private Main()
    {
    }

    public static void main(final String[] args) throws InterruptedException
    {
        final Map<String, String> options = parse(args);
        final RestConfig config = new RestConfig()
            .host(options.getOrDefault("http-host", "127.0.0.1"))
            .port(Integer.parseInt(options.getOrDefault("http-port", "8080")));
        if (options.containsKey("max-body-bytes"))
        {
            config.maxBodyBytes(Long.parseLong(options.get("max-body-bytes")));
        }
        config.conclude();

        final ClientBuilder builder = MagnetarClient.builder()
            .clientName("magnetar-rest-gateway")
            .ingressChannel(options.getOrDefault("ingress-channel", "aeron:ipc"))
            .ingressStreamId(Integer.parseInt(options.getOrDefault("ingress-stream-id", "100")))
            .embeddedMediaDriver(Boolean.parseBoolean(options.getOrDefault("embedded-media-driver", "false")));
        if (options.containsKey("aeron-dir"))
        {
            builder.aeronDirectory(options.get("aeron-dir"));
        }
        if (options.containsKey("response-channel"))
        {
            builder.responseChannel(options.get("response-channel"));
        }

        final MagnetarClient client = builder.build();
        final RestGateway gateway = RestGateway.start(config, client);
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
        {
            gateway.close();
            client.close();
            stopped.countDown();
        }, "magnetar-rest-shutdown"));
        System.out.println("{\"event\":\"rest.ready\",\"host\":\"" + config.host() + "\",\"port\":" + gateway.port() + "}");
        stopped.await();
    }

    private static Map<String, String> parse(final String[] args)
    {
        final Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if ("--help".equals(arg) || "-h".equals(arg))
            {
                System.out.println("options: --http-host H --http-port N --aeron-dir D --ingress-channel C " +
                    "--ingress-stream-id N --response-channel C --embedded-media-driver true|false --max-body-bytes N");
                System.exit(0);
            }
            if (!arg.startsWith("--"))
            {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            final int eq = arg.indexOf('=');
            if (eq > 0)
            {
                options.put(arg.substring(2, eq), arg.substring(eq + 1));
            }
            else if (i + 1 < args.length)
            {
                options.put(arg.substring(2), args[++i]);
            }
            else
            {
                throw new IllegalArgumentException(arg + " needs a value");
            }
        }
        return options;
    }
}
