package io.magnetar.bench.load;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import io.magnetar.client.SubscriptionType;

/**
 * The load tool's options: parsed from {@code --name value} / {@code --name=value} arguments (see {@link #usage()}),
 * or set in code (the smoke test). Plain mutable fields; {@link #conclude()} fills derived defaults and validates.
 */
public final class LoadOptions
{
    public enum Mode
    {
        NATIVE, REST
    }

    public enum Pacing
    {
        /** park until the intended send time (polite; oversleeps by the kernel's timer slack, ~50-100 µs). */
        PARK,
        /** yield until the intended send time (precise; keeps a core busy between sends). */
        YIELD,
        /** park while more than 200 µs remain, then yield. */
        HYBRID
    }

    // what and where
    public Mode mode = Mode.NATIVE;
    public boolean embeddedBroker = true;
    public String durability = "async";
    public final Map<String, String> brokerOptions = new LinkedHashMap<>();
    public String transport = "ipc";
    public String aeronDir;
    public String aeronDirPrefix = "/dev/shm/magnetar-bench-";
    public String ingressChannel;
    public String responseChannel;
    public int ingressStreamId = 100;
    public boolean clientEmbeddedDriver;
    public String httpUrl;
    public int httpPort;

    // workload
    public String topic;
    public int partitions = 16;
    public String subscription = "load";
    public SubscriptionType subscriptionType = SubscriptionType.SHARED;
    public int producers = 1;
    public int consumers = 2;
    public int keys = 1000;
    /** Messages per second over all producers; 0 = as fast as possible. */
    public long rate;
    public Pacing pacing = Pacing.HYBRID;
    /**
     * Max rate with consumers: publishers pause while more than this many messages are published and not yet
     * delivered (to every group), so the run measures the sustainable end-to-end rate instead of filling the broker's
     * backlog. 0 = no limit.
     */
    public long maxOutstanding = 100_000;
    public int attributeBytes = 64;
    /** Length of every key (0: {@code key-N} unpadded); the side-by-side benchmark uses 16. */
    public int keyBytes;
    public double warmupSeconds = 5;
    public double durationSeconds = 30;
    public double drainTimeoutSeconds = 30;
    public boolean deleteTopic = true;

    // native client
    public int batchMaxMessages = 100;
    public long batchDelayUs = 1000;
    public int batchMaxBytes = 128 * 1024;
    public int maxPending = 10_000;
    public int receiverQueueSize = 1000;
    public int ackGroupSize = 100;
    public long ackGroupUs = 1000;
    public int producerClients = 1;
    public int consumerClients = 1;
    public boolean singleClient;
    public boolean inlineCallbacks;
    /** Idle strategy of the load tool's client agents; null = the client's default (backoff 100 spins, 10 yields, 1 µs..1 ms parks). */
    public String clientIdle;

    // REST
    public int restPublishers = 4;
    public int restBatch = 100;
    public int restFetchMax = 1000;
    public long restWaitMs = 200;
    public int restPermits = 2000;

    // output
    public boolean progress = true;
    /** A process (the external broker) whose CPU use during the window the report shows apart; 0 = none. */
    public long watchPid;
    public boolean quiet;
    /** Also write the result as a properties file here ({@link ResultFile}); null = no. */
    public String resultFile;

    private boolean concluded;

    /**
     * @return the options of a command line.
     * @throws IllegalArgumentException on an unknown option or a bad value.
     */
    public static LoadOptions parse(final String[] args)
    {
        final LoadOptions options = new LoadOptions();
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if ("--help".equals(arg) || "-h".equals(arg))
            {
                return null;
            }
            if (!arg.startsWith("--"))
            {
                throw new IllegalArgumentException("unexpected argument '" + arg + "' (options are --name value)");
            }
            final int eq = arg.indexOf('=');
            final String name;
            final String value;
            if (eq > 0)
            {
                name = arg.substring(2, eq);
                value = arg.substring(eq + 1);
            }
            else if (isFlag(arg.substring(2)) && (i + 1 >= args.length || args[i + 1].startsWith("--")))
            {
                name = arg.substring(2);
                value = "true";
            }
            else if (i + 1 < args.length)
            {
                name = arg.substring(2);
                value = args[++i];
            }
            else
            {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            options.set(name, value);
        }
        return options;
    }

    private static boolean isFlag(final String name)
    {
        switch (name)
        {
            case "inline-callbacks":
            case "single-client":
            case "client-embedded-driver":
            case "quiet":
            case "rest-single":
                return true;
            default:
                return false;
        }
    }

    /**
     * Set one option by its command-line name.
     *
     * @return this.
     */
    public LoadOptions set(final String name, final String value)
    {
        switch (name)
        {
            case "mode": mode = Mode.valueOf(value.toUpperCase(Locale.ROOT)); break;
            case "broker":
                if ("embedded".equals(value))
                {
                    embeddedBroker = true;
                }
                else if ("external".equals(value) || "remote".equals(value))
                {
                    embeddedBroker = false;
                }
                else
                {
                    throw new IllegalArgumentException("--broker embedded|external: " + value);
                }
                break;
            case "durability": durability = oneOf(name, value, "async", "sync"); break;
            case "broker-opt":
            {
                final int eq = value.indexOf('=');
                if (eq <= 0)
                {
                    throw new IllegalArgumentException("--broker-opt name=value: " + value);
                }
                brokerOptions.put(value.substring(0, eq), value.substring(eq + 1));
                break;
            }
            case "transport": transport = oneOf(name, value, "ipc", "udp"); break;
            case "aeron-dir": aeronDir = value; break;
            case "aeron-dir-prefix": aeronDirPrefix = value; break;
            case "ingress-channel": ingressChannel = value; break;
            case "response-channel": responseChannel = value; break;
            case "ingress-stream-id": ingressStreamId = Integer.parseInt(value); break;
            case "client-embedded-driver": clientEmbeddedDriver = Boolean.parseBoolean(value); break;
            case "http-url": httpUrl = value; break;
            case "http-port": httpPort = Integer.parseInt(value); break;
            case "topic": topic = value; break;
            case "partitions": partitions = positive(name, value); break;
            case "subscription": subscription = value; break;
            case "subscription-type":
                subscriptionType = SubscriptionType.valueOf(value.toUpperCase(Locale.ROOT).replace('-', '_'));
                break;
            case "producers": producers = nonNegative(name, value); break;
            case "consumers": consumers = nonNegative(name, value); break;
            case "keys": keys = positive(name, value); break;
            case "rate":
                rate = "max".equals(value) ? 0 : parseCount(value);
                break;
            case "max-rate": rate = 0; break;
            case "max-outstanding": maxOutstanding = parseCount(value); break;
            case "pacing": pacing = Pacing.valueOf(value.toUpperCase(Locale.ROOT)); break;
            case "attribute-bytes": attributeBytes = nonNegative(name, value); break;
            case "warmup": warmupSeconds = seconds(value); break;
            case "duration": durationSeconds = seconds(value); break;
            case "drain-timeout": drainTimeoutSeconds = seconds(value); break;
            case "delete-topic": deleteTopic = Boolean.parseBoolean(value); break;
            case "batch-max-messages": batchMaxMessages = positive(name, value); break;
            case "batch-delay-us": batchDelayUs = Long.parseLong(value); break;
            case "batch-max-bytes": batchMaxBytes = (int)parseCount(value); break;
            case "max-pending": maxPending = positive(name, value); break;
            case "receiver-queue-size": receiverQueueSize = positive(name, value); break;
            case "ack-group-size": ackGroupSize = positive(name, value); break;
            case "ack-group-us": ackGroupUs = Long.parseLong(value); break;
            case "producer-clients": producerClients = positive(name, value); break;
            case "consumer-clients": consumerClients = positive(name, value); break;
            case "single-client": singleClient = Boolean.parseBoolean(value); break;
            case "inline-callbacks": inlineCallbacks = Boolean.parseBoolean(value); break;
            case "client-idle": clientIdle = value; break;
            case "rest-publishers": restPublishers = positive(name, value); break;
            case "rest-batch": restBatch = positive(name, value); break;
            case "rest-single": if (Boolean.parseBoolean(value)) { restBatch = 1; } break;
            case "rest-fetch-max": restFetchMax = positive(name, value); break;
            case "rest-wait-ms": restWaitMs = Long.parseLong(value); break;
            case "rest-permits": restPermits = positive(name, value); break;
            case "watch-pid": watchPid = Long.parseLong(value); break;
            case "progress": progress = Boolean.parseBoolean(value); break;
            case "quiet": quiet = Boolean.parseBoolean(value); break;
            case "result-file": resultFile = value; break;
            case "key-bytes": keyBytes = nonNegative(name, value); break;
            default:
                throw new IllegalArgumentException("unknown option --" + name + " (--help lists them)");
        }
        return this;
    }

    /**
     * Derive what was left open and check the combination.
     *
     * @return this.
     */
    public LoadOptions conclude()
    {
        if (concluded)
        {
            return this;
        }
        if (null == topic)
        {
            topic = "load-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 24);
        }
        if (null == ingressChannel)
        {
            ingressChannel = "ipc".equals(transport) ? "aeron:ipc" : null; // udp: the embedded broker's port, or 40100
        }
        if (!embeddedBroker && null == ingressChannel)
        {
            ingressChannel = "aeron:udp?endpoint=localhost:40100";
        }
        if (Mode.REST == mode && !embeddedBroker && null == httpUrl)
        {
            httpUrl = "http://127.0.0.1:8080";
        }
        if (null != httpUrl && httpUrl.endsWith("/"))
        {
            httpUrl = httpUrl.substring(0, httpUrl.length() - 1);
        }
        if (Mode.NATIVE == mode && producers < 1)
        {
            throw new IllegalArgumentException("at least one producer is needed");
        }
        if (durationSeconds <= 0)
        {
            throw new IllegalArgumentException("--duration must be positive");
        }
        if (warmupSeconds < 0)
        {
            throw new IllegalArgumentException("--warmup must not be negative");
        }
        if (keys > 1_000_000)
        {
            throw new IllegalArgumentException("--keys at most 1,000,000");
        }
        concluded = true;
        return this;
    }

    /**
     * @return producers that publish: native producers, or concurrent REST publishers.
     */
    public int publishers()
    {
        return Mode.REST == mode ? restPublishers : producers;
    }

    public boolean fixedRate()
    {
        return rate > 0;
    }

    /**
     * @return a one-line description of the run for the report.
     */
    public String describe(final String brokerDescription)
    {
        final StringBuilder text = new StringBuilder();
        text.append(Mode.NATIVE == mode ? "native client over " + transport.toUpperCase(Locale.ROOT) : "REST");
        text.append(", ").append(brokerDescription);
        text.append(", topic ").append(topic).append(" (").append(partitions).append(" partitions)");
        text.append(", ").append(subscriptionType.name().toLowerCase(Locale.ROOT)).append(" subscription '")
            .append(subscription).append('\'');
        if (Mode.NATIVE == mode)
        {
            text.append(", ").append(producers).append(" producer(s), ").append(consumers).append(" consumer(s)");
            text.append(singleClient ? ", one client" :
                ", " + Math.min(producerClients, Math.max(1, producers)) + "+" + Math.min(consumerClients, Math.max(1, consumers)) + " client(s)");
            text.append(", batches of ≤ ").append(batchMaxMessages).append(" / ").append(batchDelayUs).append(" µs linger");
            text.append(", ≤ ").append(maxPending).append(" pending per producer, permits ").append(receiverQueueSize);
            text.append(", acks grouped ≤ ").append(ackGroupSize).append(" / ").append(ackGroupUs).append(" µs");
            if (null != clientIdle)
            {
                text.append(", client idle ").append(clientIdle);
            }
            if (inlineCallbacks)
            {
                text.append(", callbacks and listeners INLINE on the client agent (diagnostic)");
            }
        }
        else
        {
            text.append(", ").append(restPublishers).append(" concurrent publisher(s) posting ").append(restBatch)
                .append(" message(s) per request, ").append(consumers).append(" long-poll consumer(s) (max ")
                .append(restFetchMax).append(", waitMs ").append(restWaitMs).append(", permits ").append(restPermits)
                .append(", one ack request per fetch)");
        }
        text.append(", ").append(keys).append(" keys, ").append(attributeBytes).append("-byte attribute");
        text.append(", ").append(fixedRate() ? "fixed rate " + String.format(Locale.ROOT, "%,d", rate) + " msg/s (pacing " +
            pacing.name().toLowerCase(Locale.ROOT) + ")" : "max rate" + (maxOutstanding > 0 && consumers > 0 ?
            String.format(Locale.ROOT, " (at most %,d published and not yet delivered)", maxOutstanding) : ""));
        return text.toString();
    }

    private static String oneOf(final String name, final String value, final String... allowed)
    {
        for (final String candidate : allowed)
        {
            if (candidate.equals(value))
            {
                return value;
            }
        }
        throw new IllegalArgumentException("--" + name + " must be one of " + String.join("|", allowed) + ": " + value);
    }

    private static int positive(final String name, final String value)
    {
        final long parsed = parseCount(value);
        if (parsed < 1 || parsed > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("--" + name + " must be a positive integer: " + value);
        }
        return (int)parsed;
    }

    private static int nonNegative(final String name, final String value)
    {
        final long parsed = parseCount(value);
        if (parsed < 0 || parsed > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("--" + name + " must be a non-negative integer: " + value);
        }
        return (int)parsed;
    }

    /**
     * @return a count with an optional {@code k} / {@code m} suffix (powers of 1000) or {@code _} separators.
     */
    static long parseCount(final String text)
    {
        String value = text.trim().replace("_", "").replace(",", "").toLowerCase(Locale.ROOT);
        long multiplier = 1;
        if (value.endsWith("k"))
        {
            multiplier = 1000;
            value = value.substring(0, value.length() - 1);
        }
        else if (value.endsWith("m"))
        {
            multiplier = 1_000_000;
            value = value.substring(0, value.length() - 1);
        }
        return Math.round(Double.parseDouble(value) * multiplier);
    }

    private static double seconds(final String text)
    {
        final String value = text.trim().toLowerCase(Locale.ROOT);
        if (value.endsWith("ms"))
        {
            return Double.parseDouble(value.substring(0, value.length() - 2)) / 1000.0;
        }
        if (value.endsWith("s"))
        {
            return Double.parseDouble(value.substring(0, value.length() - 1));
        }
        return Double.parseDouble(value);
    }

    static String usage()
    {
        final List<String> lines = new ArrayList<>();
        lines.add("Magnetar end-to-end load tool: publish -> deliver -> ack through a broker, with live rates and");
        lines.add("HdrHistogram latency percentiles. Every option is --name value (or --name=value).");
        lines.add("");
        lines.add("  java -jar bench/target/magnetar-load.jar [options]");
        lines.add("  java <root pom's magnetar.jvm.flags> -cp bench/target/magnetar-bench.jar io.magnetar.bench.load.LoadTool [options]");
        lines.add("");
        lines.add("where the broker is");
        lines.add("  --mode native|rest            native Java client over Aeron (default), or REST over HTTP");
        lines.add("  --broker embedded|external    embedded (default): a MagnetarNode in this JVM, journal in a temp dir,");
        lines.add("                                Aeron in a unique /dev/shm/magnetar-bench-<random>, both deleted after;");
        lines.add("                                external: a running broker (--aeron-dir, --ingress-channel, --http-url)");
        lines.add("  --durability async|sync       embedded broker's journal mode (default async)");
        lines.add("  --broker-opt name=value       any other broker option (see java -jar magnetar-broker.jar --help); repeatable");
        lines.add("  --transport ipc|udp           native client channel (default ipc; udp = loopback)");
        lines.add("  --aeron-dir DIR               external broker's Aeron directory (default Aeron's); embedded: use this one");
        lines.add("  --ingress-channel CH          default aeron:ipc, or aeron:udp?endpoint=localhost:<port> for udp");
        lines.add("  --response-channel CH         default: the client's (aeron:ipc, or aeron:udp?endpoint=localhost:0)");
        lines.add("  --ingress-stream-id N         default 100");
        lines.add("  --client-embedded-driver      udp only: the clients run their own media driver (as a remote host would)");
        lines.add("  --http-url URL                REST, external broker (default http://127.0.0.1:8080)");
        lines.add("  --http-port N                 REST, embedded broker's port (default 0 = any free port)");
        lines.add("workload");
        lines.add("  --topic NAME                  default load-<random>; created with --partitions (default 16)");
        lines.add("  --subscription NAME           default load");
        lines.add("  --subscription-type T         shared (default), key_shared, multicast");
        lines.add("  --producers N                 native producers, one thread each (default 1)");
        lines.add("  --consumers N                 consumers (default 2; 0 = publish only)");
        lines.add("  --keys N                      distinct keys, used round-robin (default 1000)");
        lines.add("  --rate N|max                  messages/s over all publishers (default max); fixed rate measures latency");
        lines.add("                                from each message's INTENDED send time (coordinated omission)");
        lines.add("  --pacing park|yield|hybrid    how a fixed-rate publisher waits for the next send (default hybrid)");
        lines.add("  --max-outstanding N           max rate: publishers pause while more than N messages are published and");
        lines.add("                                not yet delivered, so the rate is the sustainable end-to-end one (default");
        lines.add("                                100000; 0 = no limit, the broker's backlog grows if consumers lag)");
        lines.add("  --key-bytes N                 every key exactly N characters, key-000...42 (default 0: key-42)");
        lines.add("  --attribute-bytes N           length of the one attribute carrying sequence and timestamps (default 64)");
        lines.add("  --warmup S, --duration S      seconds (defaults 5 and 30); the report covers the duration only");
        lines.add("  --drain-timeout S             after the run, how long to wait for every delivery and ack (default 30)");
        lines.add("  --delete-topic true|false     delete the topic at the end (default true)");
        lines.add("native client");
        lines.add("  --batch-max-messages N        producer batch (default 100)");
        lines.add("  --batch-delay-us N            producer linger (default 1000; 0 = send at once)");
        lines.add("  --batch-max-bytes N           default 131072");
        lines.add("  --max-pending N               unconfirmed messages per producer; sendAsync blocks beyond (default 10000)");
        lines.add("  --receiver-queue-size N       consumer permits (default 1000)");
        lines.add("  --ack-group-size N, --ack-group-us N   ack grouping (defaults 100 and 1000)");
        lines.add("  --producer-clients N, --consumer-clients N   MagnetarClient instances (default 1 each)");
        lines.add("  --single-client               producers and consumers share one MagnetarClient");
        lines.add("  --inline-callbacks            diagnostic: futures and listeners run on the client agent thread");
        lines.add("  --client-idle NAME            client agents' idle strategy: backoff, sleeping, yielding, busy-spin, noop");
        lines.add("                                (the broker's names; default: the client's own backoff)");
        lines.add("REST");
        lines.add("  --rest-publishers N           concurrent publishing threads (default 4)");
        lines.add("  --rest-batch N                messages per POST (default 100); --rest-single = 1");
        lines.add("  --rest-fetch-max N            max per long poll (default 1000)");
        lines.add("  --rest-wait-ms N              long-poll wait (default 200)");
        lines.add("  --rest-permits N              permits per REST consumer (default 2000)");
        lines.add("output");
        lines.add("  --progress true|false         a line per second (default true); --quiet prints only the report");
        lines.add("  --watch-pid PID               report this process's CPU use and RSS apart (an external broker), Linux only");
        lines.add("  --result-file FILE            also write the result as Java properties (rates, percentiles, counts)");
        return String.join(System.lineSeparator(), lines);
    }
}
