package io.magnetar.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.TopicDescriptionDecoder;
import io.magnetar.codecs.TopicListDecoder;

/**
 * A command that expects one answer echoing its correlation id: admin calls, queries, subscribe, close consumer.
 * Created on any thread, then owned by the agent: queued until the session is up, sent, matched with its answer
 * or failed by its deadline.
 */
abstract class PendingRequest
{
    final long deadlineNs;
    long correlationId;

    PendingRequest(final long deadlineNs)
    {
        this.deadlineNs = deadlineNs;
    }

    /**
     * Encode the command with {@code correlationId}.
     *
     * @return the frame length.
     */
    abstract int encode(IngressProxy proxy, long correlationId);

    /**
     * Fail the request (broker error, timeout, session lost, client closed).
     */
    abstract void onError(MagnetarException error);

    /**
     * The session was lost while the request was in flight.
     *
     * @return true to send it again on the next session (queries, which change nothing); false once it has been
     * failed or settled.
     */
    boolean onSessionLost()
    {
        onError(new MagnetarException.UnavailableException("session lost while the request was in flight; outcome unknown"));
        return false;
    }

    void onAdminResult(final AdminOutcome outcome)
    {
        unexpected("AdminResult " + outcome);
    }

    void onTopicDescription(final TopicDescriptionDecoder decoder)
    {
        unexpected("TopicDescription");
    }

    void onTopicList(final TopicListDecoder decoder)
    {
        unexpected("TopicList");
    }

    void onConsumerAttached(final long consumerId, final int topicId, final int partitions, final SubscriptionType type)
    {
        unexpected("ConsumerAttached");
    }

    private void unexpected(final String what)
    {
        onError(new MagnetarException.InternalException("unexpected answer " + what + " to " + getClass().getSimpleName()));
    }

    /**
     * A request whose result goes to a future, completed on the callback executor.
     */
    abstract static class FutureRequest<T> extends PendingRequest
    {
        final CompletableFuture<T> future;
        final Callbacks callbacks;

        FutureRequest(final long deadlineNs, final Callbacks callbacks, final CompletableFuture<T> future)
        {
            super(deadlineNs);
            this.callbacks = callbacks;
            this.future = future;
        }

        void complete(final T value)
        {
            callbacks.complete(future, value);
        }

        void onError(final MagnetarException error)
        {
            callbacks.fail(future, error);
        }
    }

    static final class CreateTopic extends FutureRequest<Boolean>
    {
        private final String topic;
        private final int partitions;

        CreateTopic(final long deadlineNs, final Callbacks callbacks, final String topic, final int partitions)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
            this.topic = topic;
            this.partitions = partitions;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeCreateTopic(correlationId, topic, partitions);
        }

        void onAdminResult(final AdminOutcome outcome)
        {
            complete(AdminOutcome.CREATED == outcome);
        }
    }

    static final class DeleteTopic extends FutureRequest<Void>
    {
        private final String topic;

        DeleteTopic(final long deadlineNs, final Callbacks callbacks, final String topic)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
            this.topic = topic;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeDeleteTopic(correlationId, topic);
        }

        void onAdminResult(final AdminOutcome outcome)
        {
            complete(null);
        }
    }

    static final class CreateSubscription extends FutureRequest<Boolean>
    {
        private final String topic;
        private final String subscription;
        private final SubscriptionType type;
        private final SubscriptionOptions options;

        CreateSubscription(
            final long deadlineNs,
            final Callbacks callbacks,
            final String topic,
            final String subscription,
            final SubscriptionType type,
            final SubscriptionOptions options)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
            this.topic = topic;
            this.subscription = subscription;
            this.type = type;
            this.options = options;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeCreateSubscription(correlationId, topic, subscription, type, options);
        }

        void onAdminResult(final AdminOutcome outcome)
        {
            complete(AdminOutcome.CREATED == outcome);
        }
    }

    static final class DeleteSubscription extends FutureRequest<Void>
    {
        private final String topic;
        private final String subscription;

        DeleteSubscription(final long deadlineNs, final Callbacks callbacks, final String topic, final String subscription)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
            this.topic = topic;
            this.subscription = subscription;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeDeleteSubscription(correlationId, topic, subscription);
        }

        void onAdminResult(final AdminOutcome outcome)
        {
            complete(null);
        }
    }

    /**
     * Describe a topic: the admin call, and how a producer learns its topic id. A query: re-sent after a reconnect.
     */
    static final class DescribeTopic extends FutureRequest<TopicStats>
    {
        private final String topic;

        DescribeTopic(final long deadlineNs, final Callbacks callbacks, final String topic)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
            this.topic = topic;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeDescribeTopic(correlationId, topic);
        }

        boolean onSessionLost()
        {
            return true;
        }

        void onTopicDescription(final TopicDescriptionDecoder decoder)
        {
            final int topicId = decoder.topicId();
            final int partitions = decoder.partitions();
            final long topicPublished = counter(decoder.published());
            final long topicDelivered = counter(decoder.delivered());
            final long topicAcked = counter(decoder.acked());
            final long topicNacked = counter(decoder.nacked());
            final long topicRedelivered = counter(decoder.redelivered());
            final long topicDeadLettered = counter(decoder.deadLettered());
            final TopicDescriptionDecoder.SubscriptionsDecoder group = decoder.subscriptions();
            final List<SubscriptionStats> subscriptions = new ArrayList<>(group.count());
            while (group.hasNext())
            {
                group.next();
                final SubscriptionType type = SubscriptionType.fromWire(group.subscriptionTypeRaw());
                final long backlog = group.backlog();
                final long inFlight = group.inFlight();
                final int consumers = group.consumers();
                final long redeliveries = group.redeliveries();
                final long deadLettered = group.deadLettered();
                final long ackTimeoutMs = group.ackTimeoutMs();
                final long nackDelayMs = group.nackDelayMs();
                final int maxDeliveries = group.maxDeliveries();
                final int maxInFlightPerKey = group.maxInFlightPerKey();
                final long subscriptionDelivered = counter(group.delivered());
                final long subscriptionAcked = counter(group.acked());
                final long subscriptionNacked = counter(group.nacked());
                final String name = group.name();
                subscriptions.add(new SubscriptionStats(
                    name, type, backlog, inFlight, consumers, redeliveries, deadLettered,
                    ackTimeoutMs, nackDelayMs, maxDeliveries, maxInFlightPerKey,
                    subscriptionDelivered, subscriptionAcked, subscriptionNacked));
            }
            final String name = decoder.topicName();
            complete(new TopicStats(name, topicId, partitions, Collections.unmodifiableList(subscriptions),
                topicPublished, topicDelivered, topicAcked, topicNacked, topicRedelivered, topicDeadLettered));
        }

        /**
         * A counter a version-0 broker does not send (the decoder's null value) reads 0.
         */
        private static long counter(final long value)
        {
            return Long.MIN_VALUE == value ? 0 : value;
        }
    }

    static final class ListTopics extends FutureRequest<List<TopicInfo>>
    {
        ListTopics(final long deadlineNs, final Callbacks callbacks)
        {
            super(deadlineNs, callbacks, new CompletableFuture<>());
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeListTopics(correlationId);
        }

        boolean onSessionLost()
        {
            return true;
        }

        void onTopicList(final TopicListDecoder decoder)
        {
            final TopicListDecoder.TopicsDecoder group = decoder.topics();
            final List<TopicInfo> topics = new ArrayList<>(group.count());
            while (group.hasNext())
            {
                group.next();
                group.topicId();
                final int partitions = group.partitions();
                topics.add(new TopicInfo(group.name(), partitions));
            }
            complete(Collections.unmodifiableList(topics));
        }
    }

    /**
     * Attach (or re-attach after a reconnect) a consumer. The consumer, not this request, carries the application's
     * future, so a request lost with its session is simply dropped: every consumer is re-attached on the next one.
     */
    static final class Subscribe extends PendingRequest
    {
        final Consumer consumer;
        private final ClientAgent agent;

        Subscribe(final long deadlineNs, final ClientAgent agent, final Consumer consumer)
        {
            super(deadlineNs);
            this.agent = agent;
            this.consumer = consumer;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeSubscribe(
                correlationId,
                consumer.topic(),
                consumer.subscription(),
                consumer.subscriptionType(),
                consumer.receiverQueueSize(),
                consumer.consumerName(),
                consumer.options());
        }

        boolean onSessionLost()
        {
            return false;
        }

        void onConsumerAttached(final long consumerId, final int topicId, final int partitions, final SubscriptionType type)
        {
            agent.onConsumerAttached(this, consumerId, topicId, partitions, type);
        }

        void onError(final MagnetarException error)
        {
            agent.onSubscribeFailed(this, error);
        }
    }

    static final class CloseConsumer extends PendingRequest
    {
        private final ClientAgent agent;
        final Consumer consumer;
        private final long consumerId;

        CloseConsumer(final long deadlineNs, final ClientAgent agent, final Consumer consumer, final long consumerId)
        {
            super(deadlineNs);
            this.agent = agent;
            this.consumer = consumer;
            this.consumerId = consumerId;
        }

        int encode(final IngressProxy proxy, final long correlationId)
        {
            return proxy.encodeCloseConsumer(correlationId, consumerId);
        }

        boolean onSessionLost()
        {
            // the lost session detached the consumer anyway
            agent.onConsumerCloseDone(consumer, null);
            return false;
        }

        void onAdminResult(final AdminOutcome outcome)
        {
            agent.onConsumerCloseDone(consumer, null);
        }

        void onError(final MagnetarException error)
        {
            // CONSUMER_NOT_FOUND: already detached; anything else: the session ending will detach it
            agent.onConsumerCloseDone(consumer, ErrorCode.CONSUMER_NOT_FOUND == error.code() ? null : error);
        }
    }
}
