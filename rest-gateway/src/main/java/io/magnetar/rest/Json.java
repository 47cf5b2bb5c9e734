package io.magnetar.rest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON in and out, strictly. Bodies are parsed under read limits (nesting depth, string and number length,
 * document length), duplicate keys and trailing content are errors, and every field is checked for its JSON type
 * without coercion ({@code "4"} is not a number, {@code 4.0} is not an integer). Unknown fields are rejected: a
 * misspelt optional setting ({@code "ackTimeotMs"}) would otherwise create a subscription whose options can never
 * change. Strings must be valid Unicode (an escaped lone surrogate such as {@code "\ud800"} is refused rather than
 * silently turned into {@code ?} on its way to UTF-8). Every failure is an {@link ApiException} naming the field.
 */
final class Json
{
    static final int MAX_NAME_IN_MESSAGE = 64;

    final ObjectMapper mapper;
    private final JsonFactory factory;

    Json(final RestConfig config)
    {
        final StreamReadConstraints constraints = StreamReadConstraints.builder()
            .maxNestingDepth(config.maxJsonDepth)
            .maxNumberLength(64)
            .maxStringLength((int)Math.min(Integer.MAX_VALUE, config.maxBodyBytes))
            .maxNameLength(64 * 1024)
            .maxDocumentLength(config.maxBodyBytes)
            .build();
        factory = JsonFactory.builder()
            .streamReadConstraints(constraints)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
        mapper = JsonMapper.builder(factory)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();
    }

    /**
     * @param body     the request body.
     * @param optional true if an empty body stands for {@code {}}.
     * @return the root object.
     */
    Obj parseObject(final byte[] body, final boolean optional)
    {
        if (isBlank(body))
        {
            if (optional)
            {
                return new Obj(mapper.createObjectNode(), "");
            }
            throw ApiException.invalid("body: a JSON object is required");
        }
        final JsonNode root;
        try
        {
            root = mapper.readTree(body);
        }
        catch (final StreamConstraintsException ex)
        {
            throw ApiException.invalid("body: " + clip(ex.getOriginalMessage(), 200));
        }
        catch (final JsonProcessingException ex)
        {
            final String where = null == ex.getLocation() ? "" :
                " at line " + ex.getLocation().getLineNr() + ", column " + ex.getLocation().getColumnNr();
            throw ApiException.invalid("body: malformed JSON" + where + ": " + clip(ex.getOriginalMessage(), 200));
        }
        catch (final IOException ex)
        {
            throw ApiException.invalid("body: unreadable: " + clip(ex.getMessage(), 200));
        }
        if (null == root || root.isMissingNode())
        {
            if (optional)
            {
                return new Obj(mapper.createObjectNode(), "");
            }
            throw ApiException.invalid("body: a JSON object is required");
        }
        if (!root.isObject())
        {
            throw ApiException.invalid("body: expected a JSON object, got " + kind(root));
        }
        return new Obj((ObjectNode)root, "");
    }

    private static boolean isBlank(final byte[] body)
    {
        for (final byte b : body)
        {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n')
            {
                return false;
            }
        }
        return true;
    }

    byte[] write(final JsonNode node)
    {
        try
        {
            return mapper.writeValueAsBytes(node);
        }
        catch (final JsonProcessingException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    ObjectNode object()
    {
        return mapper.createObjectNode();
    }

    byte[] error(final String code, final String message)
    {
        final ObjectNode root = mapper.createObjectNode();
        root.putObject("error").put("code", code).put("message", message);
        return write(root);
    }

    /**
     * Stream a response with a generator (for the large ones: fetched messages).
     */
    byte[] generate(final GeneratorBody body)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator generator = factory.createGenerator(out))
        {
            body.write(generator);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }

    @FunctionalInterface
    interface GeneratorBody
    {
        void write(JsonGenerator generator) throws IOException;
    }

    static String kind(final JsonNode node)
    {
        switch (node.getNodeType())
        {
            case ARRAY: return "an array";
            case OBJECT: return "an object";
            case STRING: return "a string";
            case NUMBER: return node.isIntegralNumber() ? "an integer" : "a number with a fraction";
            case BOOLEAN: return "a boolean";
            case NULL: return "null";
            default: return node.getNodeType().name().toLowerCase();
        }
    }

    /**
     * @return {@code text} cut to {@code max} chars, with control characters shown as {@code ?}, for error messages.
     */
    static String clip(final String text, final int max)
    {
        if (null == text)
        {
            return "";
        }
        final String cut = text.length() <= max ? text : text.substring(0, max) + "...";
        final StringBuilder sb = new StringBuilder(cut.length());
        for (int i = 0; i < cut.length(); i++)
        {
            final char c = cut.charAt(i);
            sb.append(c < 0x20 || Character.isSurrogate(c) ? '?' : c);
        }
        return sb.toString();
    }

    /**
     * @return the UTF-8 length of {@code s}, or -1 if it holds an unpaired surrogate (not valid Unicode).
     */
    static int utf8Length(final String s)
    {
        int bytes = 0;
        final int length = s.length();
        for (int i = 0; i < length; i++)
        {
            final char c = s.charAt(i);
            if (c < 0x80)
            {
                bytes++;
            }
            else if (c < 0x800)
            {
                bytes += 2;
            }
            else if (Character.isHighSurrogate(c))
            {
                if (i + 1 < length && Character.isLowSurrogate(s.charAt(i + 1)))
                {
                    bytes += 4;
                    i++;
                }
                else
                {
                    return -1;
                }
            }
            else if (Character.isLowSurrogate(c))
            {
                return -1;
            }
            else
            {
                bytes += 3;
            }
        }
        return bytes;
    }

    /**
     * A JSON object being validated; {@code path} prefixes every error (e.g. {@code messages[3].}).
     */
    static final class Obj
    {
        final ObjectNode node;
        final String path;

        Obj(final ObjectNode node, final String path)
        {
            this.node = node;
            this.path = path;
        }

        /**
         * Reject every field not in {@code allowed}.
         */
        Obj allowOnly(final Set<String> allowed)
        {
            final Iterator<String> names = node.fieldNames();
            while (names.hasNext())
            {
                final String name = names.next();
                if (!allowed.contains(name))
                {
                    throw ApiException.invalid(path + clip(name, MAX_NAME_IN_MESSAGE) +
                        ": unknown field (expected one of " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
                }
            }
            return this;
        }

        boolean has(final String name)
        {
            return node.has(name);
        }

        /**
         * @return the integer value, or {@code absent} if the field is missing.
         */
        long optLong(final String name, final long absent, final long min, final long max)
        {
            final JsonNode value = node.get(name);
            if (null == value)
            {
                return absent;
            }
            if (!value.isIntegralNumber())
            {
                throw ApiException.invalid(path + name + ": expected an integer, got " + kind(value));
            }
            if (!value.canConvertToLong() || value.longValue() < min || value.longValue() > max)
            {
                throw ApiException.invalid(path + name + ": " + clip(value.asText(), 40) + " is outside " + min + ".." + max);
            }
            return value.longValue();
        }

        long reqLong(final String name, final long min, final long max)
        {
            if (!node.has(name))
            {
                throw ApiException.invalid(path + name + ": required");
            }
            return optLong(name, 0, min, max);
        }

        /**
         * @return the string, or null if the field is missing.
         */
        String optString(final String name)
        {
            final JsonNode value = node.get(name);
            if (null == value)
            {
                return null;
            }
            if (!value.isTextual())
            {
                throw ApiException.invalid(path + name + ": expected a string, got " + kind(value));
            }
            final String text = value.textValue();
            if (utf8Length(text) < 0)
            {
                throw ApiException.invalid(path + name + ": not valid Unicode (unpaired surrogate)");
            }
            return text;
        }

        String reqString(final String name)
        {
            final String value = optString(name);
            if (null == value)
            {
                throw ApiException.invalid(path + name + ": required");
            }
            return value;
        }

        ArrayNode reqArray(final String name)
        {
            final JsonNode value = node.get(name);
            if (null == value)
            {
                throw ApiException.invalid(path + name + ": required");
            }
            if (!value.isArray())
            {
                throw ApiException.invalid(path + name + ": expected an array, got " + kind(value));
            }
            return (ArrayNode)value;
        }

        /**
         * @return the nested object, or null if the field is missing.
         */
        ObjectNode optObject(final String name)
        {
            final JsonNode value = node.get(name);
            if (null == value)
            {
                return null;
            }
            if (!value.isObject())
            {
                throw ApiException.invalid(path + name + ": expected an object, got " + kind(value));
            }
            return (ObjectNode)value;
        }
    }
}
