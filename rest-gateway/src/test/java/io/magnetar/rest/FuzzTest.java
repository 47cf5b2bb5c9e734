package io.magnetar.rest;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import io.magnetar.engine.EngineConfig;
import org.junit.jupiter.api.Test;

import static io.magnetar.rest.GatewayFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded fuzz test: more than 10,000 malformed or hostile requests (garbage bytes, invalid UTF-8, deep nesting,
 * huge strings, wrong types, unicode edge cases, truncations, duplicate keys, trailing content, out-of-range and
 * unknown fields, hostile path and query parameters) across every route that takes input. Every answer must be a
 * 4xx with the SPEC error body. Meanwhile a well-behaved client publishes and consumes over REST on the same
 * gateway and must lose nothing. The seed is printed; rerun one with {@code -Dmagnetar.fuzz.seed=N}.
 * <p>
 * Routes without input ({@code GET /admin/v1/topics}, {@code /metrics}, {@code /health}, {@code /openapi.json})
 * ignore a body, so there is nothing to fuzz on them.
 */
class FuzzTest
{
    private static final int REQUESTS = Integer.getInteger("magnetar.fuzz.requests", 10_400);
    private static final int THREADS = Integer.getInteger("magnetar.fuzz.threads", 4);
    private static final long MAX_BODY = 1024 * 1024;

    @Test
    void hostileRequestsGetSpecErrorsAndAWellBehavedClientLosesNothing() throws Exception
    {
        final long seed = Long.getLong("magnetar.fuzz.seed", System.nanoTime());
        System.out.println("FuzzTest seed " + seed + " (-Dmagnetar.fuzz.seed=" + seed + ")");
        try (GatewayFixture fx = new GatewayFixture(new EngineConfig(), new RestConfig().maxBodyBytes(MAX_BODY)))
        {
            final String topic = "fuzz";
            fx.createTopic(topic, 2);
            fx.createSubscription(topic, "s", "{\"type\": \"shared\"}");
            final String consumer = fx.createConsumer(topic, "s", "{\"leaseMs\": 600000}");
            final Targets targets = new Targets(topic, consumer);

            final WellBehaved good = new WellBehaved(fx);
            final Thread goodThread = new Thread(good, "well-behaved");
            goodThread.start();

            final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            final AtomicInteger sent = new AtomicInteger();
            final List<String> failures = new CopyOnWriteArrayList<>();
            final Map<String, AtomicInteger> byStatus = new ConcurrentHashMap<>();
            final List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++)
            {
                final Random random = new Random(seed + t);
                futures.add(pool.submit(() ->
                {
                    Case previous = null;
                    while (sent.incrementAndGet() <= REQUESTS && failures.size() < 20)
                    {
                        final Case c = targets.next(random);
                        final GatewayFixture.Resp resp;
                        try
                        {
                            resp = fx.send(c.method, c.path, c.body);
                        }
                        catch (final AssertionError ex)
                        {
                            throw new AssertionError(ex.getMessage() + "; previous request on this thread: " +
                                (null == previous ? "none" : previous.kind + " " + previous.method + " " +
                                Json.clip(previous.path, 100) + " " + (null == previous.body ? 0 : previous.body.length) +
                                " bytes"), ex);
                        }
                        previous = c;
                        byStatus.computeIfAbsent(Integer.toString(resp.status()), (k) -> new AtomicInteger()).incrementAndGet();
                        try
                        {
                            assertTrue(resp.status() >= 400 && resp.status() < 500, "not a 4xx");
                            GatewayFixture.assertSpecError(resp);
                        }
                        catch (final AssertionError ex)
                        {
                            failures.add(c.kind + " " + c.method + " " + Json.clip(c.path, 200) + " body " +
                                Json.clip(new String(null == c.body ? new byte[0] : c.body, StandardCharsets.UTF_8), 300) +
                                " -> " + resp.status() + " " + Json.clip(resp.body(), 300) + ": " + ex.getMessage());
                        }
                    }
                    return null;
                }));
            }
            for (final Future<?> future : futures)
            {
                future.get(5, TimeUnit.MINUTES);
            }
            pool.shutdown();
            good.stop.set(true);
            goodThread.join(60_000);
            System.out.println("FuzzTest: " + Math.min(sent.get(), REQUESTS) + " hostile requests, answers by status " +
                byStatus + "; well-behaved client published " + good.published.size() + " messages");
            assertTrue(failures.isEmpty(), failures.size() + " bad answers, e.g.\n" + String.join("\n", failures));
            assertTrue(sent.get() >= 10_000);
            assertEquals(null, good.failure, "the well-behaved client failed");
            assertTrue(good.published.size() > 0);
            assertEquals(good.published, good.received, "the well-behaved client lost messages");
            assertEquals(200, fx.get("/health").status());
        }
    }

    /**
     * Publishes batches and consumes them with a REST consumer, acking each; records what it saw.
     */
    static final class WellBehaved implements Runnable
    {
        final GatewayFixture fx;
        final AtomicBoolean stop = new AtomicBoolean();
        final Set<String> published = new HashSet<>();
        final Set<String> received = new HashSet<>();
        volatile Throwable failure;

        WellBehaved(final GatewayFixture fx)
        {
            this.fx = fx;
        }

        public void run()
        {
            try
            {
                final String topic = "steady";
                fx.createTopic(topic, 3);
                fx.createSubscription(topic, "s", "{\"type\": \"shared\"}");
                final String consumer = fx.createConsumer(topic, "s", "{\"permits\": 500}");
                int batch = 0;
                while (!stop.get())
                {
                    final List<String> keys = new ArrayList<>();
                    for (int i = 0; i < 20; i++)
                    {
                        keys.add("k" + batch + "-" + i);
                    }
                    published.addAll(fx.publish(topic, keys));
                    batch++;
                    consume(consumer, 0);
                }
                await("the well-behaved consumer to catch up", 30_000, () ->
                {
                    consume(consumer, 200);
                    return received.size() >= published.size();
                });
            }
            catch (final Throwable ex)
            {
                failure = ex;
            }
        }

        private void consume(final String consumer, final long waitMs)
        {
            final List<JsonNode> messages = fx.fetch(consumer, 500, waitMs);
            final List<String> ids = new ArrayList<>();
            for (final JsonNode message : messages)
            {
                ids.add(message.get("id").asText());
            }
            if (!ids.isEmpty())
            {
                received.addAll(ids);
                fx.ack(consumer, ids);
            }
        }
    }

    /**
     * One hostile request.
     */
    record Case(String kind, String method, String path, byte[] body)
    {
    }

    /**
     * The routes that take input, and the hostile inputs for each.
     */
    static final class Targets
    {
        private final String topic;
        private final String consumer;

        Targets(final String topic, final String consumer)
        {
            this.topic = topic;
            this.consumer = consumer;
        }

        Case next(final Random random)
        {
            final int route = random.nextInt(10);
            switch (route)
            {
                case 0:
                    return body(random, "PUT", "/admin/v1/topics/" + topic, Valid.TOPIC);
                case 1:
                    return body(random, "PUT", "/admin/v1/topics/" + topic + "/subscriptions/s", Valid.SUBSCRIPTION);
                case 2:
                case 3:
                    return body(random, "POST", "/v1/topics/" + topic + "/messages", Valid.PUBLISH);
                case 4:
                    return body(random, "POST", "/v1/topics/" + topic + "/subscriptions/s/consumers", Valid.CONSUMER);
                case 5:
                    return body(random, "POST", "/v1/consumers/" + consumer + "/acks", Valid.IDS);
                case 6:
                    return body(random, "POST", "/v1/consumers/" + consumer + "/nacks", Valid.IDS);
                case 7:
                    return query(random);
                default:
                    return pathParameter(random);
            }
        }

        private Case query(final Random random)
        {
            final String[] hostile = {"-1", "0", "1e3", "1.5", "", "%00", "99999999999999999999", "NaN", "0x10",
                "%F0%9F%98%80", "10001", "abc", "%FF%FE", "%2B5", "%205", "5%20"};
            final String max = hostile[random.nextInt(hostile.length)];
            final String query;
            if (random.nextBoolean() || "0".equals(max) || "10001".equals(max))
            {
                // max is never valid here (0 and 10001 are out of its range)
                query = "max=" + max + "&waitMs=" + (random.nextBoolean() ? "0" : hostile[random.nextInt(hostile.length)]);
            }
            else
            {
                query = "waitMs=" + max; // the rest of the list is not an integer in 0..60000
            }
            return new Case("query", "GET", "/v1/consumers/" + consumer + "/messages?" + query, null);
        }

        private Case pathParameter(final Random random)
        {
            final String name = hostileName(random);
            switch (random.nextInt(6))
            {
                case 0: return new Case("path", "GET", "/admin/v1/topics/" + name, null);
                case 1: return new Case("path", "DELETE", "/admin/v1/topics/" + name, null);
                case 2: return new Case("path", "DELETE", "/admin/v1/topics/" + topic + "/subscriptions/" + name, null);
                case 3: return new Case("path", "GET", "/v1/consumers/" + name + "/messages?waitMs=0", null);
                case 4: return new Case("path", "DELETE", "/v1/consumers/" + name, null);
                default:
                    return new Case("path", "POST", "/v1/topics/" + name + "/messages",
                        "{\"messages\": [{\"key\": \"k\"}]}".getBytes(StandardCharsets.UTF_8));
            }
        }

        /**
         * A path segment naming nothing that exists (and often nothing that could).
         */
        private static String hostileName(final Random random)
        {
            final String[] raw = {"nope-" + random.nextInt(1_000_000), "a b", "..", "%2e%2e", "%00", "\u00e9\u00e8",
                "\ud83d\ude00", "x".repeat(200 + random.nextInt(2000)), "-lead", "tab\t", "q?x=1", "%FF%FE%FD",
                "\u202e", "\ufeffbom", "a%2Fb", "CON", "null", "1:2:3", "${jndi:ldap://x}", "<script>"};
            final String pick = raw[random.nextInt(raw.length)];
            if (pick.startsWith("%") || pick.contains("%2"))
            {
                return pick;
            }
            return URLEncoder.encode(pick, StandardCharsets.UTF_8).replace("+", "%20");
        }

        private Case body(final Random random, final String method, final String path, final String valid)
        {
            final int kind = random.nextInt(14);
            switch (kind)
            {
                case 0: return new Case("garbage", method, path, garbage(random));
                case 1: return new Case("truncated", method, path, truncated(random, valid));
                case 2: return new Case("deep", method, path, deep(random));
                case 3: return new Case("huge-string", method, path, hugeString(random, valid));
                case 4: return new Case("wrong-type", method, path, Valid.wrongType(random, valid));
                case 5: return new Case("bad-utf8", method, path, badUtf8(random, valid));
                case 6: return new Case("unicode", method, path, unicode(random, valid));
                case 7: return new Case("trailing", method, path, trailing(random, valid));
                case 8: return new Case("duplicate", method, path, utf8(Valid.duplicate(valid)));
                case 9: return new Case("unknown-field", method, path, utf8(Valid.unknownField(random, valid)));
                case 10: return new Case("numbers", method, path, utf8(Valid.badNumber(random, valid)));
                case 11: return new Case("out-of-range", method, path, utf8(Valid.outOfRange(random, valid)));
                case 12: return new Case("not-an-object", method, path, utf8(notAnObject(random)));
                default: return new Case("oversize", method, path, oversize(random));
            }
        }

        private static byte[] garbage(final Random random)
        {
            final byte[] bytes = new byte[1 + random.nextInt(2000)];
            random.nextBytes(bytes);
            if (random.nextBoolean())
            {
                bytes[0] = '{'; // looks like JSON for a byte
            }
            else if (bytes[0] == '{' || bytes[0] == '[' || bytes[0] == '"' || (bytes[0] >= '0' && bytes[0] <= '9'))
            {
                bytes[0] = '#';
            }
            return bytes;
        }

        private static byte[] truncated(final Random random, final String valid)
        {
            final byte[] bytes = utf8(valid);
            return java.util.Arrays.copyOf(bytes, 1 + random.nextInt(bytes.length - 1)); // a proper prefix: never valid
        }

        private static byte[] deep(final Random random)
        {
            final int depth = 33 + random.nextInt(random.nextBoolean() ? 100 : 50_000);
            final StringBuilder sb = new StringBuilder(depth * 6);
            final boolean objects = random.nextBoolean();
            for (int i = 0; i < depth; i++)
            {
                sb.append(objects ? "{\"a\":" : "[");
            }
            sb.append("1");
            if (random.nextBoolean())
            {
                for (int i = 0; i < depth; i++)
                {
                    sb.append(objects ? "}" : "]");
                }
            }
            return utf8(sb.toString());
        }

        private static byte[] hugeString(final Random random, final String valid)
        {
            // a string far over any field's limit, in a field that exists, or as the only content
            final int length = random.nextInt(10) < 8 ? 1_100 + random.nextInt(60_000) : 200_000 + random.nextInt(800_000);
            final String huge = (random.nextBoolean() ? "x" : "\u00e9").repeat(length);
            return utf8(Valid.replaceFirstString(valid, huge));
        }

        private static byte[] badUtf8(final Random random, final String valid)
        {
            final byte[][] sequences = {
                {(byte)0xff}, {(byte)0xfe, (byte)0xff}, {(byte)0xc0, (byte)0xaf}, {(byte)0xe0, (byte)0x80, (byte)0xaf},
                {(byte)0xed, (byte)0xa0, (byte)0x80}, {(byte)0xf8, (byte)0x88, (byte)0x80, (byte)0x80, (byte)0x80},
                {(byte)0xc3}, {(byte)0xe2, (byte)0x82}, {(byte)0xf4, (byte)0x90, (byte)0x80, (byte)0x80}, {(byte)0x80}};
            final byte[] bad = sequences[random.nextInt(sequences.length)];
            final String marker = "@@MARK@@";
            final String text = Valid.replaceFirstString(valid, "ok" + marker + "ok");
            final int at = text.indexOf(marker);
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(utf8(text.substring(0, at)));
            out.writeBytes(bad);
            out.writeBytes(utf8(text.substring(at + marker.length())));
            return out.toByteArray();
        }

        /**
         * Unicode edge cases, each in a place that makes the request invalid: lone surrogates (escaped), and valid
         * but unusual characters (NUL, BOM, U+FFFF, RTL override, emoji, combining marks) as unknown field names or
         * in over-long keys.
         */
        private static byte[] unicode(final Random random, final String valid)
        {
            final String[] lone = {"\\ud800", "\\udfff", "\\udbff\\u0041", "x\\ud83d", "\\ude00x"};
            final String[] odd = {"\u0000", "\ufeff", "\uffff", "\u202e", "\ud83d\ude00", "e\u0301", "\u2028", "\ufffd"};
            switch (random.nextInt(4))
            {
                case 0:
                    return utf8(Valid.replaceFirstStringRaw(valid, lone[random.nextInt(lone.length)]));
                case 1:
                    return utf8(valid.replaceFirst("\\{", "{\"" + GatewayFixture.quote(odd[random.nextInt(odd.length)])
                        .replace("\"", "") + "\": 1, "));
                case 2:
                    return utf8("\ufeff" + valid.replace("}", "") + odd[random.nextInt(odd.length)]); // BOM and broken
                default:
                    return utf8(Valid.replaceFirstString(valid, odd[random.nextInt(odd.length)].repeat(1_100)));
            }
        }

        private static byte[] trailing(final Random random, final String valid)
        {
            final String[] tails = {"{}", "]", "x", "\"", "0", "null", ", {}", "}"};
            return utf8(Valid.invalidated(valid) + tails[random.nextInt(tails.length)]);
        }

        private static String notAnObject(final Random random)
        {
            final String[] values = {"[]", "1", "\"s\"", "null", "true", "[{}]", "-0", "1e999", "\"{}\""};
            return values[random.nextInt(values.length)];
        }

        private static byte[] oversize(final Random random)
        {
            final int size = (int)MAX_BODY + 1 + random.nextInt(512 * 1024);
            final byte[] body = new byte[size];
            java.util.Arrays.fill(body, (byte)' ');
            body[0] = '{';
            body[size - 1] = '}';
            return body;
        }
    }

    /**
     * Valid bodies and ways to make them invalid. Every mutation below yields a body the route must refuse.
     */
    static final class Valid
    {
        // existing topic (2 partitions): a valid-looking PUT with 3 partitions would be a 409, still a 4xx
        static final String TOPIC = "{\"partitions\": 3}";
        static final String SUBSCRIPTION = "{\"type\": \"multicast\", \"ackTimeoutMs\": 1000}";
        static final String PUBLISH = "{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": \"b\"}}]}";
        static final String CONSUMER = "{\"name\": \"w\", \"type\": \"multicast\", \"permits\": 10, \"leaseMs\": 1000}";
        static final String IDS = "{\"ids\": [\"0:0:1\", \"1:2:3\"]}";

        /**
         * Make a body that, as it is, would be accepted invalid; the ones above are already refused where they are
         * sent (topic exists with other partitions, subscription is shared not multicast) except publish and ids.
         */
        static String invalidated(final String valid)
        {
            if (valid == PUBLISH)
            {
                return "{\"messages\": [{\"key\": \"\"}]}";
            }
            if (valid == IDS)
            {
                return "{\"ids\": [\"0:0\"]}";
            }
            return valid;
        }

        static String replaceFirstString(final String valid, final String replacement)
        {
            return replaceFirstStringRaw(valid, GatewayFixture.quote(replacement).replaceAll("^\"|\"$", ""));
        }

        /**
         * Replace the content of the first string value (not a field name) with {@code raw} (already escaped).
         */
        static String replaceFirstStringRaw(final String valid, final String raw)
        {
            // a string not followed by a colon is a value, not a field name
            final java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"[^\"]*\"(?!\\s*:)").matcher(valid);
            if (m.find())
            {
                return valid.substring(0, m.start()) + "\"" + raw + "\"" + valid.substring(m.end());
            }
            // no string value (the topic body): the string goes where the number was
            return valid.replaceFirst(": [0-9]+", ": \"" + java.util.regex.Matcher.quoteReplacement(raw) + "\"");
        }

        static byte[] wrongType(final Random random, final String valid)
        {
            final String[] others = {"null", "true", "[]", "{}", "\"7\"", "7", "7.5", "[\"a\"]", "{\"a\": 1}"};
            final String other = others[random.nextInt(others.length)];
            // replace one value (a string, a number, an array or an object after a colon) with another type
            final java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                ": (\"[^\"]*\"|[0-9]+|\\[[^\\]]*]|\\{[^{}]*})").matcher(valid);
            final List<int[]> spots = new ArrayList<>();
            while (m.find())
            {
                spots.add(new int[]{m.start(1), m.end(1)});
            }
            final int[] spot = spots.get(random.nextInt(spots.size()));
            final String original = valid.substring(spot[0], spot[1]);
            String replacement = other;
            if (sameType(original, other))
            {
                replacement = original.startsWith("\"") ? "null" : "\"7\"";
            }
            return utf8(valid.substring(0, spot[0]) + replacement + valid.substring(spot[1]));
        }

        private static boolean sameType(final String a, final String b)
        {
            return a.charAt(0) == b.charAt(0) || (Character.isDigit(a.charAt(0)) && Character.isDigit(b.charAt(0)));
        }

        static String duplicate(final String valid)
        {
            final int colon = valid.indexOf(':');
            final int open = valid.indexOf('"');
            final String firstName = valid.substring(open, colon);
            return valid.replaceFirst("\\{", "{" + java.util.regex.Matcher.quoteReplacement(firstName) + ": null, ");
        }

        static String unknownField(final Random random, final String valid)
        {
            final String[] names = {"extra", "Partitions", "TYPE", "keys", "value", "\\u0000", "__proto__", "constructor", ""};
            return valid.replaceFirst("\\{", "{\"" + java.util.regex.Matcher.quoteReplacement(names[random.nextInt(names.length)]) +
                "\": 1, ");
        }

        static String badNumber(final Random random, final String valid)
        {
            final String[] numbers = {"1e999", "-0.0", "1.0", "99999999999999999999999999", "NaN", "Infinity", "-Infinity",
                "0x10", "007", "+1", ".5", "1.", "-", "1e", "--1", "1_000"};
            final String number = numbers[random.nextInt(numbers.length)];
            if (valid == TOPIC || valid == CONSUMER)
            {
                final String field = valid == TOPIC ? "partitions" : "permits";
                return valid.replaceFirst("\"" + field + "\": [0-9]+", "\"" + field + "\": " + number);
            }
            if (valid == SUBSCRIPTION)
            {
                return valid.replaceFirst("\"ackTimeoutMs\": [0-9]+", "\"ackTimeoutMs\": " + number);
            }
            return valid.replaceFirst("\\{", "{\"n\": " + number + ", ");
        }

        static String outOfRange(final Random random, final String valid)
        {
            if (valid == TOPIC)
            {
                final String[] values = {"0", "-1", "4097", "2147483648", "9223372036854775807"};
                return "{\"partitions\": " + values[random.nextInt(values.length)] + "}";
            }
            if (valid == SUBSCRIPTION)
            {
                final String[] bodies = {"{\"type\": \"shared\", \"ackTimeoutMs\": -1}", "{\"type\": \"shared\", \"maxDeliveries\": -1}",
                    "{\"type\": \"shared\", \"maxInFlightPerKey\": 2}", "{\"type\": \"Shared\"}", "{\"type\": \"\"}",
                    "{\"type\": \"shared\", \"nackDelayMs\": 99999999999999}"};
                return bodies[random.nextInt(bodies.length)];
            }
            if (valid == CONSUMER)
            {
                final String[] bodies = {"{\"permits\": 0}", "{\"permits\": 10001}", "{\"leaseMs\": 1}", "{\"leaseMs\": 3600001}",
                    "{\"name\": \"\"}", "{\"type\": \"exclusive\"}", "{\"permits\": -5}"};
                return bodies[random.nextInt(bodies.length)];
            }
            if (valid == IDS)
            {
                final String[] bodies = {"{\"ids\": [\"0:0\"]}", "{\"ids\": [\"-1:0:0\"]}", "{\"ids\": [\"a:b:c\"]}",
                    "{\"ids\": [\"0:0:99999999999999999999\"]}", "{\"ids\": [\"\"]}", "{\"ids\": [\" 1:2:3\"]}"};
                return bodies[random.nextInt(bodies.length)];
            }
            final String[] bodies = {"{\"messages\": []}", "{\"messages\": [{\"key\": \"" + "k".repeat(257) + "\"}]}",
                "{\"messages\": [{\"key\": \"k\", \"attributes\": {\"\": \"v\"}}]}",
                "{\"messages\": [{\"key\": \"k\", \"attributes\": {\"a\": \"" + "v".repeat(1025) + "\"}}]}",
                "{\"messages\": [{\"key\": \"ok\"}, {}]}"};
            return bodies[random.nextInt(bodies.length)];
        }
    }

    static byte[] utf8(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
