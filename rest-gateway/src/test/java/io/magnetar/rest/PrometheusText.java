package io.magnetar.rest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: every line is {@code # HELP name text},
 * {@code # TYPE name type}, another comment, a sample {@code name{label="value",...} value [timestamp]}, or empty;
 * metric and label names follow Prometheus' rules, label values use only the format's escapes, a family has at most
 * one HELP and one TYPE (before its samples), every sample belongs to the family of the TYPE line above it (with the
 * suffixes its type allows), and no series appears twice. Anything else throws {@link IllegalArgumentException}
 * naming the line.
 * <pre>{@code
 * PrometheusText metrics = PrometheusText.parse(body);
 * double published = metrics.value("magnetar_topic_published_messages_total", "topic", "orders");
 * }</pre>
 */
public final class PrometheusText
{
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    /**
     * One sample.
     *
     * @param name   the sample's metric name (with suffix, e.g. {@code _total}, {@code _bucket}).
     * @param labels its labels, sorted by name.
     * @param value  its value.
     */
    public record Sample(String name, Map<String, String> labels, double value)
    {
    }

    private final Map<String, String> types = new LinkedHashMap<>();
    private final Map<String, String> help = new LinkedHashMap<>();
    private final List<Sample> samples = new ArrayList<>();

    private PrometheusText()
    {
    }

    /**
     * @param text a scrape.
     * @return its families and samples.
     * @throws IllegalArgumentException naming the first line that breaks the format.
     */
    public static PrometheusText parse(final String text)
    {
        final PrometheusText parsed = new PrometheusText();
        final Set<String> series = new java.util.HashSet<>();
        String family = null;
        String familyType = null;
        final String[] lines = text.split("\n", -1);
        if (!text.isEmpty() && !text.endsWith("\n"))
        {
            throw new IllegalArgumentException("the text does not end with a line feed");
        }
        for (int i = 0; i < lines.length; i++)
        {
            final String line = lines[i];
            final String where = "line " + (i + 1) + " '" + line + "': ";
            if (line.isEmpty())
            {
                continue;
            }
            if (line.startsWith("#"))
            {
                final String[] parts = line.split(" ", 4);
                if (parts.length >= 3 && ("HELP".equals(parts[1]) || "TYPE".equals(parts[1])))
                {
                    final String name = parts[2];
                    require(METRIC_NAME.matcher(name).matches(), where + "bad metric name");
                    if ("TYPE".equals(parts[1]))
                    {
                        require(parts.length == 4 && TYPES.contains(parts[3]), where + "bad type");
                        require(null == parsed.types.put(name, parts[3]), where + "second TYPE for " + name);
                        family = name;
                        familyType = parts[3];
                    }
                    else
                    {
                        require(null == parsed.help.put(name, parts.length == 4 ? parts[3] : ""), where + "second HELP");
                        require(!parsed.types.containsKey(name) || name.equals(family), where + "HELP after the family");
                    }
                }
                continue;
            }
            final Sample sample = parseSample(line, where);
            require(null != family && belongs(sample.name(), family, familyType),
                where + "sample outside its family (last TYPE: " + family + ")");
            require(series.add(sample.name() + sample.labels()), where + "duplicate series");
            parsed.samples.add(sample);
        }
        return parsed;
    }

    private static boolean belongs(final String name, final String family, final String type)
    {
        switch (type)
        {
            case "counter":
                return name.equals(family + "_total") || name.equals(family + "_created") || name.equals(family);
            case "histogram":
                return name.equals(family + "_bucket") || name.equals(family + "_count") || name.equals(family + "_sum") ||
                    name.equals(family + "_created");
            case "summary":
                return name.equals(family) || name.equals(family + "_count") || name.equals(family + "_sum") ||
                    name.equals(family + "_created");
            default:
                return name.equals(family);
        }
    }

    private static Sample parseSample(final String line, final String where)
    {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ')
        {
            i++;
        }
        final String name = line.substring(0, i);
        require(METRIC_NAME.matcher(name).matches(), where + "bad metric name '" + name + "'");
        final Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{')
        {
            i++;
            while (line.charAt(i) != '}')
            {
                final int eq = line.indexOf('=', i);
                require(eq > i, where + "label without '='");
                final String label = line.substring(i, eq);
                require(LABEL_NAME.matcher(label).matches() && !label.startsWith("__"), where + "bad label name '" + label + "'");
                require(eq + 1 < line.length() && line.charAt(eq + 1) == '"', where + "label value not quoted");
                final StringBuilder value = new StringBuilder();
                int j = eq + 2;
                while (true)
                {
                    require(j < line.length(), where + "unterminated label value");
                    final char c = line.charAt(j);
                    if (c == '"')
                    {
                        break;
                    }
                    if (c == '\\')
                    {
                        require(j + 1 < line.length(), where + "dangling escape");
                        final char e = line.charAt(j + 1);
                        require(e == '\\' || e == '"' || e == 'n', where + "bad escape \\" + e);
                        value.append(e == 'n' ? '\n' : e);
                        j += 2;
                    }
                    else
                    {
                        value.append(c);
                        j++;
                    }
                }
                require(null == labels.put(label, value.toString()), where + "label twice: " + label);
                i = j + 1;
                require(i < line.length(), where + "unterminated labels");
                if (line.charAt(i) == ',')
                {
                    i++;
                }
                else
                {
                    require(line.charAt(i) == '}', where + "expected ',' or '}'");
                }
            }
            i++;
        }
        require(i < line.length() && line.charAt(i) == ' ', where + "no space before the value");
        final String[] rest = line.substring(i + 1).split(" ", -1);
        require(rest.length == 1 || (rest.length == 2 && rest[1].matches("-?[0-9]+")), where + "bad value/timestamp");
        return new Sample(name, Collections.unmodifiableMap(labels), parseValue(rest[0], where));
    }

    private static double parseValue(final String text, final String where)
    {
        switch (text)
        {
            case "NaN":
                return Double.NaN;
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            default:
                require(text.matches("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?"), where + "bad value '" + text + "'");
                return Double.parseDouble(text);
        }
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * @return family name to type, in order of appearance.
     */
    public Map<String, String> types()
    {
        return types;
    }

    /**
     * @return family name to help text.
     */
    public Map<String, String> help()
    {
        return help;
    }

    /**
     * @return every sample, in order.
     */
    public List<Sample> samples()
    {
        return samples;
    }

    /**
     * @param name        a sample name.
     * @param labelValues label name, value, name, value...: the sample must have at least these.
     * @return the samples that match.
     */
    public List<Sample> find(final String name, final String... labelValues)
    {
        final List<Sample> found = new ArrayList<>();
        for (final Sample sample : samples)
        {
            if (!sample.name().equals(name))
            {
                continue;
            }
            boolean match = true;
            for (int i = 0; i < labelValues.length; i += 2)
            {
                match &= labelValues[i + 1].equals(sample.labels().get(labelValues[i]));
            }
            if (match)
            {
                found.add(sample);
            }
        }
        return found;
    }

    /**
     * @return the value of the one sample that matches.
     * @throws AssertionError if none or several match.
     */
    public double value(final String name, final String... labelValues)
    {
        final List<Sample> found = find(name, labelValues);
        if (found.size() != 1)
        {
            throw new AssertionError(found.size() + " samples of " + name + " " + List.of(labelValues) + ": " + found);
        }
        return found.get(0).value();
    }

    /**
     * @return the value of the one sample that matches, or null if none does.
     */
    public Double valueOrNull(final String name, final String... labelValues)
    {
        final List<Sample> found = find(name, labelValues);
        return found.isEmpty() ? null : value(name, labelValues);
    }
}
