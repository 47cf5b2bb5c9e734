package io.magnetar.client;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.magnetar.codecs.AckReceiptDecoder;
import io.magnetar.codecs.AdminResultDecoder;
import io.magnetar.codecs.BrokerHeartbeatDecoder;
import io.magnetar.codecs.CommandErrorDecoder;
import io.magnetar.codecs.ConnectedDecoder;
import io.magnetar.codecs.ConsumerAttachedDecoder;
import io.magnetar.codecs.ConsumerClosedDecoder;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.codecs.SessionEndedDecoder;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.codecs.TopicListDecoder;
import org.agrona.DirectBuffer;

/**
 * Decodes event frames (templates 100..149) from the response channel and dispatches them to a
 * {@link ResponseListener}. Checks the schema id, then switches on the template id; anything else, or a frame the
 * decoders reject, goes to {@link ResponseListener#onUnknownFrame}. Agent thread only; give it whole messages
 * (wrap it in a {@code FragmentAssembler}).
 */
final class ResponseAdapter implements FragmentHandler
{
    private final ResponseListener listener;
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final ConnectedDecoder connected = new ConnectedDecoder();
    private final SessionEndedDecoder sessionEnded = new SessionEndedDecoder();
    private final BrokerHeartbeatDecoder brokerHeartbeat = new BrokerHeartbeatDecoder();
    private final CommandErrorDecoder commandError = new CommandErrorDecoder();
    private final PublishReceiptDecoder publishReceipt = new PublishReceiptDecoder();
    private final DeliveriesDecoder deliveries = new DeliveriesDecoder();
    private final ConsumerAttachedDecoder consumerAttached = new ConsumerAttachedDecoder();
    private final AckReceiptDecoder ackReceipt = new AckReceiptDecoder();
    private final AdminResultDecoder adminResult = new AdminResultDecoder();
    private final TopicDescriptionDecoder topicDescription = new TopicDescriptionDecoder();
    private final TopicListDecoder topicList = new TopicListDecoder();
    private final ConsumerClosedDecoder consumerClosed = new ConsumerClosedDecoder();

    ResponseAdapter(final ResponseListener listener)
    {
        this.listener = listener;
    }

    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        onMessage(buffer, offset, length);
    }

    /**
     * Decode one whole frame.
     */
    void onMessage(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < MessageHeaderDecoder.ENCODED_LENGTH)
        {
            listener.onUnknownFrame(-1, -1, length);
            return;
        }
        header.wrap(buffer, offset);
        final int schemaId = header.schemaId();
        final int templateId = header.templateId();
        if (schemaId != MessageHeaderDecoder.SCHEMA_ID)
        {
            listener.onUnknownFrame(schemaId, templateId, length);
            return;
        }
        final int blockLength = header.blockLength();
        final int version = header.version();
        final int bodyOffset = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        if (length - MessageHeaderDecoder.ENCODED_LENGTH < blockLength)
        {
            listener.onUnknownFrame(schemaId, templateId, length);
            return;
        }

        try
        {
            switch (templateId)
            {
                case DeliveriesDecoder.TEMPLATE_ID:
                {
                    deliveries.wrap(buffer, bodyOffset, blockLength, version);
                    final long consumerId = deliveries.consumerId();
                    listener.onDeliveries(consumerId, deliveries);
                    break;
                }

                case PublishReceiptDecoder.TEMPLATE_ID:
                {
                    publishReceipt.wrap(buffer, bodyOffset, blockLength, version);
                    final long correlationId = publishReceipt.correlationId();
                    final int topicId = publishReceipt.topicId();
                    listener.onPublishReceipt(correlationId, topicId, publishReceipt.ids());
                    break;
                }

                case AckReceiptDecoder.TEMPLATE_ID:
                    ackReceipt.wrap(buffer, bodyOffset, blockLength, version);
                    listener.onAckReceipt(
                        ackReceipt.correlationId(), ackReceipt.consumerId(), ackReceipt.done(), ackReceipt.unknown());
                    break;

                case BrokerHeartbeatDecoder.TEMPLATE_ID:
                    brokerHeartbeat.wrap(buffer, bodyOffset, blockLength, version);
                    listener.onBrokerHeartbeat(brokerHeartbeat.sessionId(), brokerHeartbeat.nodeStartCount());
                    break;

                case CommandErrorDecoder.TEMPLATE_ID:
                {
                    commandError.wrap(buffer, bodyOffset, blockLength, version);
                    final long correlationId = commandError.correlationId();
                    final ErrorCode code = ErrorCode.fromWire(commandError.codeRaw());
                    final int commandTemplateId = commandError.commandTemplateId();
                    listener.onCommandError(correlationId, code, commandTemplateId, commandError.message());
                    break;
                }

                case ConsumerAttachedDecoder.TEMPLATE_ID:
                    consumerAttached.wrap(buffer, bodyOffset, blockLength, version);
                    listener.onConsumerAttached(
                        consumerAttached.correlationId(),
                        consumerAttached.consumerId(),
                        consumerAttached.topicId(),
                        consumerAttached.partitions(),
                        SubscriptionType.fromWire(consumerAttached.subscriptionTypeRaw()));
                    break;

                case AdminResultDecoder.TEMPLATE_ID:
                    adminResult.wrap(buffer, bodyOffset, blockLength, version);
                    listener.onAdminResult(adminResult.correlationId(), adminResult.outcome());
                    break;

                case TopicDescriptionDecoder.TEMPLATE_ID:
                    listener.onTopicDescription(topicDescription.wrap(buffer, bodyOffset, blockLength, version));
                    break;

                case TopicListDecoder.TEMPLATE_ID:
                    listener.onTopicList(topicList.wrap(buffer, bodyOffset, blockLength, version));
                    break;

                case ConsumerClosedDecoder.TEMPLATE_ID:
                {
                    consumerClosed.wrap(buffer, bodyOffset, blockLength, version);
                    final long consumerId = consumerClosed.consumerId();
                    final ErrorCode code = ErrorCode.fromWire(consumerClosed.codeRaw());
                    listener.onConsumerClosed(consumerId, code, consumerClosed.message());
                    break;
                }

                case ConnectedDecoder.TEMPLATE_ID:
                    connected.wrap(buffer, bodyOffset, blockLength, version);
                    listener.onConnected(
                        connected.correlationId(),
                        connected.sessionId(),
                        connected.protocolVersion(),
                        connected.heartbeatIntervalMs(),
                        connected.sessionTimeoutMs(),
                        connected.nodeStartCount());
                    break;

                case SessionEndedDecoder.TEMPLATE_ID:
                {
                    sessionEnded.wrap(buffer, bodyOffset, blockLength, version);
                    final long sessionId = sessionEnded.sessionId();
                    final ErrorCode code = ErrorCode.fromWire(sessionEnded.codeRaw());
                    listener.onSessionEnded(sessionId, code, sessionEnded.message());
                    break;
                }

                default:
                    listener.onUnknownFrame(schemaId, templateId, length);
                    break;
            }
        }
        catch (final IndexOutOfBoundsException | IllegalStateException | IllegalArgumentException ex)
        {
            // a truncated group or var-data field, or an out-of-order access: not a frame we can trust
            listener.onUnknownFrame(schemaId, templateId, length);
        }
    }
}
