package io.magnetar.engine;

import io.magnetar.codecs.DescribeTopicDecoder;
import io.magnetar.codecs.ListTopicsDecoder;

/**
 * Facts about command templates that the pipeline and transport need.
 */
public final class CommandTypes
{
    /** Session commands (Connect, Heartbeat, Disconnect): handled by the transport, never sequenced. */
    public static final int SESSION_MIN = 1;
    public static final int SESSION_MAX = 9;
    /** Lowest and highest template ids of client commands, which the transport sequences into the engine. */
    public static final int CLIENT_MIN = 10;
    public static final int CLIENT_MAX = 49;
    /** Internal commands: stamped by the node itself, never accepted from the wire. */
    public static final int INTERNAL_MIN = 60;
    public static final int INTERNAL_MAX = 69;

    private CommandTypes()
    {
    }

    /**
     * @return true for queries, which change no state and are therefore not journaled.
     */
    public static boolean isQuery(final int templateId)
    {
        return templateId == DescribeTopicDecoder.TEMPLATE_ID || templateId == ListTopicsDecoder.TEMPLATE_ID;
    }

    public static boolean isSessionCommand(final int templateId)
    {
        return templateId >= SESSION_MIN && templateId <= SESSION_MAX;
    }

    public static boolean isClientCommand(final int templateId)
    {
        return templateId >= CLIENT_MIN && templateId <= CLIENT_MAX;
    }
}
