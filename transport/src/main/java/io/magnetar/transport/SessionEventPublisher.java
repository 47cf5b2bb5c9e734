package io.magnetar.transport;

import io.aeron.logbuffer.BufferClaim;
import io.magnetar.codecs.BrokerHeartbeatEncoder;
import io.magnetar.codecs.CommandErrorEncoder;
import io.magnetar.codecs.ConnectedEncoder;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.SessionEndedEncoder;
import org.agrona.ExpandableArrayBuffer;

/**
 * Encodes and sends what the transport itself answers on a session ({@code Connected}, {@code SessionEnded},
 * {@code BrokerHeartbeat}, and {@code CommandError} for frames rejected before the engine). Ingress thread only.
 * {@code Connected} and {@code SessionEnded} are sent directly (nothing is pending before the first, nothing matters
 * after the second); the others go through the session's ordered, buffered {@link Session#deliver}.
 * <p>
 * Error texts are composed in a reusable ASCII buffer ({@link #text(String)}, {@link #append(long)}), so that even
 * a flood of malformed frames allocates nothing.
 */
final class SessionEventPublisher
{
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(1024);
    private final ExpandableArrayBuffer text = new ExpandableArrayBuffer(256);
    private final BufferClaim claim = new BufferClaim();
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final ConnectedEncoder connectedEncoder = new ConnectedEncoder();
    private final SessionEndedEncoder sessionEndedEncoder = new SessionEndedEncoder();
    private final BrokerHeartbeatEncoder brokerHeartbeatEncoder = new BrokerHeartbeatEncoder();
    private final CommandErrorEncoder commandErrorEncoder = new CommandErrorEncoder();
    private final int maxRetries;
    private int textLength;

    SessionEventPublisher(final int maxRetries)
    {
        this.maxRetries = maxRetries;
    }

    /**
     * Start a new message text.
     */
    SessionEventPublisher text(final String value)
    {
        textLength = 0;
        return append(value);
    }

    SessionEventPublisher append(final String value)
    {
        final int length = value.length();
        text.checkLimit(textLength + length);
        for (int i = 0; i < length; i++)
        {
            final char c = value.charAt(i);
            text.putByte(textLength + i, c < 128 ? (byte)c : (byte)'?');
        }
        textLength += length;
        return this;
    }

    SessionEventPublisher append(final long value)
    {
        textLength += text.putLongAscii(textLength, value);
        return this;
    }

    int connected(
        final Session session, final int protocolVersion, final long heartbeatIntervalMs, final long sessionTimeoutMs,
        final long nodeStartCount)
    {
        connectedEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .correlationId(session.connectCorrelationId)
            .sessionId(session.id)
            .protocolVersion(protocolVersion)
            .heartbeatIntervalMs(heartbeatIntervalMs)
            .sessionTimeoutMs(sessionTimeoutMs)
            .nodeStartCount(nodeStartCount);
        return session.send(claim, buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + connectedEncoder.encodedLength(),
            maxRetries);
    }

    /**
     * Send {@code SessionEnded} with the current text as its message.
     */
    int sessionEnded(final Session session, final ErrorCode code)
    {
        sessionEndedEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .sessionId(session.id)
            .code(code)
            .putMessage(text, 0, textLength);
        return session.send(claim, buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + sessionEndedEncoder.encodedLength(),
            maxRetries);
    }

    int brokerHeartbeat(final Session session, final long nodeStartCount)
    {
        brokerHeartbeatEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .sessionId(session.id)
            .nodeStartCount(nodeStartCount);
        return send(session, brokerHeartbeatEncoder.encodedLength());
    }

    /**
     * Send {@code CommandError} with the current text as its message.
     */
    int commandError(final Session session, final long correlationId, final ErrorCode code, final int templateId)
    {
        commandErrorEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .correlationId(correlationId)
            .code(code)
            .commandTemplateId(templateId)
            .putMessage(text, 0, textLength);
        return send(session, commandErrorEncoder.encodedLength());
    }

    private int send(final Session session, final int bodyLength)
    {
        return session.deliver(claim, buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + bodyLength, maxRetries);
    }
}
