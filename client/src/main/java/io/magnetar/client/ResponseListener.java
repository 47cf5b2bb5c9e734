package io.magnetar.client;

import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.DeliveriesDecoder;
import io.magnetar.codecs.PublishReceiptDecoder;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.codecs.TopicListDecoder;

/**
 * What the {@link ResponseAdapter} decodes from the response channel. Decoders passed in are wrapped at the start
 * of the frame's groups (fixed fields already read) and valid only during the call.
 */
interface ResponseListener
{
    void onConnected(
        long correlationId,
        long sessionId,
        int protocolVersion,
        long heartbeatIntervalMs,
        long sessionTimeoutMs,
        long nodeStartCount);

    void onSessionEnded(long sessionId, ErrorCode code, String message);

    void onBrokerHeartbeat(long sessionId, long nodeStartCount);

    void onCommandError(long correlationId, ErrorCode code, int commandTemplateId, String message);

    /**
     * @param correlationId of the Publish.
     * @param ids           positioned before the first id.
     */
    void onPublishReceipt(long correlationId, int topicId, PublishReceiptDecoder.IdsDecoder ids);

    /**
     * @param consumerId the consumer the messages are for.
     * @param deliveries wrapped, consumerId read; its messages group not yet.
     */
    void onDeliveries(long consumerId, DeliveriesDecoder deliveries);

    void onConsumerAttached(long correlationId, long consumerId, int topicId, int partitions, SubscriptionType type);

    void onAckReceipt(long correlationId, long consumerId, int done, int unknown);

    void onAdminResult(long correlationId, AdminOutcome outcome);

    /**
     * @param decoder wrapped, nothing read yet (read in schema order).
     */
    void onTopicDescription(TopicDescriptionDecoder decoder);

    /**
     * @param decoder wrapped, nothing read yet (read in schema order).
     */
    void onTopicList(TopicListDecoder decoder);

    void onConsumerClosed(long consumerId, ErrorCode code, String message);

    /**
     * A frame this client does not understand (other schema, unknown template, truncated): counted and dropped.
     */
    void onUnknownFrame(int schemaId, int templateId, int length);
}
