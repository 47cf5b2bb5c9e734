package io.magnetar.broker;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One-line JSON logs on standard output through {@code java.util.logging} (which {@link System.Logger} and, via
 * {@code slf4j-jdk14}, Chronicle also use): no logging framework.
 * <pre>
 * {"ts":"2026-11-28T08:00:00.123Z","level":"INFO","logger":"io.magnetar.broker","event":"ready","dataDir":"./data"}
 * </pre>
 * <b>Convention:</b> a record whose message is a single word (an event name such as {@code session.opened}) and whose
 * parameters are name/value pairs becomes {@code "event": name} plus one field per pair; any other record becomes
 * {@code "msg"} with the parameters formatted in. A thrown exception adds {@code "error"} and {@code "stack"}.
 */
public final class JsonLogging
{
    private static final JsonFormatter FORMATTER = new JsonFormatter();
    /**
     * Libraries whose INFO lines are start-up chatter (Jetty's component list, Javalin's banner lines): shown from
     * {@code debug} on. Held here because JUL keeps loggers only weakly, and a collected logger loses its level.
     */
    private static final Logger[] CHATTY = { Logger.getLogger("org.eclipse.jetty"), Logger.getLogger("io.javalin") };
    private static volatile PrintStream out = System.out;

    private JsonLogging()
    {
    }

    /**
     * Route every JUL logger (hence {@link System.Logger} and slf4j-jdk14) to one-line JSON on standard output.
     *
     * @param level lowest level logged.
     */
    public static void install(final Level level)
    {
        out = System.out;
        LogManager.getLogManager().reset();
        final Logger root = Logger.getLogger("");
        root.setLevel(level);
        for (final Logger chatty : CHATTY)
        {
            chatty.setLevel(level.intValue() >= Level.INFO.intValue() && level.intValue() < Level.WARNING.intValue() ?
                Level.WARNING : null);
        }
        final Handler handler = new Handler()
        {
            public void publish(final LogRecord record)
            {
                if (isLoggable(record))
                {
                    write(FORMATTER.format(record));
                }
            }

            public void flush()
            {
                out.flush();
            }

            public void close()
            {
                out.flush();
            }
        };
        handler.setLevel(Level.ALL);
        handler.setFormatter(FORMATTER);
        root.addHandler(handler);
    }

    /**
     * Write one event straight to standard output, bypassing JUL (for the last lines of a shutdown, when the JVM's
     * own shutdown may already have reset {@code LogManager}).
     */
    public static void direct(final Level level, final String loggerName, final String event, final Object... fields)
    {
        final LogRecord record = new LogRecord(level, event);
        record.setLoggerName(loggerName);
        record.setParameters(fields);
        write(FORMATTER.format(record));
    }

    private static void write(final String line)
    {
        final PrintStream stream = out;
        synchronized (stream)
        {
            stream.print(line);
            stream.flush();
        }
    }

    /**
     * The formatter: one JSON object and a newline per record.
     */
    public static final class JsonFormatter extends Formatter
    {
        /**
         * {@inheritDoc}
         */
        public String format(final LogRecord record)
        {
            final StringBuilder sb = new StringBuilder(256);
            sb.append("{\"ts\":\"").append(Instant.ofEpochMilli(record.getMillis())).append('"');
            sb.append(",\"level\":\"").append(levelName(record.getLevel())).append('"');
            if (null != record.getLoggerName())
            {
                sb.append(",\"logger\":");
                string(sb, record.getLoggerName());
            }

            final String message = record.getMessage();
            final Object[] params = record.getParameters();
            if (isEvent(message) && isPairs(params))
            {
                sb.append(",\"event\":");
                string(sb, message);
                if (null != params)
                {
                    for (int i = 0; i < params.length; i += 2)
                    {
                        sb.append(',');
                        string(sb, (String)params[i]);
                        sb.append(':');
                        value(sb, params[i + 1]);
                    }
                }
            }
            else
            {
                sb.append(",\"msg\":");
                string(sb, formatMessage(record));
            }

            final Throwable thrown = record.getThrown();
            if (null != thrown)
            {
                sb.append(",\"error\":");
                string(sb, thrown.toString());
                final StringWriter stack = new StringWriter();
                thrown.printStackTrace(new PrintWriter(stack));
                sb.append(",\"stack\":");
                string(sb, stack.toString());
            }

            return sb.append("}\n").toString();
        }

        private static boolean isEvent(final String message)
        {
            if (null == message || message.isEmpty())
            {
                return false;
            }
            for (int i = 0; i < message.length(); i++)
            {
                final char c = message.charAt(i);
                if (Character.isWhitespace(c) || c == '{' || c == '"')
                {
                    return false;
                }
            }
            return true;
        }

        private static boolean isPairs(final Object[] params)
        {
            if (null == params)
            {
                return true;
            }
            if (params.length % 2 != 0)
            {
                return false;
            }
            for (int i = 0; i < params.length; i += 2)
            {
                if (!(params[i] instanceof String))
                {
                    return false;
                }
            }
            return true;
        }

        private static String levelName(final Level level)
        {
            final int value = level.intValue();
            if (value >= Level.SEVERE.intValue())
            {
                return "ERROR";
            }
            if (value >= Level.WARNING.intValue())
            {
                return "WARN";
            }
            if (value >= Level.INFO.intValue())
            {
                return "INFO";
            }
            if (value >= Level.FINE.intValue())
            {
                return "DEBUG";
            }
            return "TRACE";
        }

        static void value(final StringBuilder sb, final Object value)
        {
            if (null == value)
            {
                sb.append("null");
            }
            else if (value instanceof Boolean || value instanceof Integer || value instanceof Long ||
                value instanceof Short || value instanceof Byte)
            {
                sb.append(value);
            }
            else if (value instanceof Number && Double.isFinite(((Number)value).doubleValue()))
            {
                sb.append(value);
            }
            else if (value instanceof Map<?, ?> map)
            {
                sb.append('{');
                boolean first = true;
                for (final Map.Entry<?, ?> entry : map.entrySet())
                {
                    if (!first)
                    {
                        sb.append(',');
                    }
                    first = false;
                    string(sb, String.valueOf(entry.getKey()));
                    sb.append(':');
                    value(sb, entry.getValue());
                }
                sb.append('}');
            }
            else if (value instanceof Collection<?> collection)
            {
                sb.append('[');
                boolean first = true;
                for (final Object element : collection)
                {
                    if (!first)
                    {
                        sb.append(',');
                    }
                    first = false;
                    value(sb, element);
                }
                sb.append(']');
            }
            else
            {
                string(sb, String.valueOf(value));
            }
        }

        static void string(final StringBuilder sb, final String value)
        {
            sb.append('"');
            for (int i = 0; i < value.length(); i++)
            {
                final char c = value.charAt(i);
                switch (c)
                {
                    case '"':
                        sb.append("\\\"");
                        break;
                    case '\\':
                        sb.append("\\\\");
                        break;
                    case '\n':
                        sb.append("\\n");
                        break;
                    case '\r':
                        sb.append("\\r");
                        break;
                    case '\t':
                        sb.append("\\t");
                        break;
                    default:
                        if (c < 0x20)
                        {
                            sb.append(String.format("\\u%04x", (int)c));
                        }
                        else
                        {
                            sb.append(c);
                        }
                }
            }
            sb.append('"');
        }
    }
}
