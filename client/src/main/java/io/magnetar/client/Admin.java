package io.magnetar.client;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Topic and subscription administration over the client's session (SPEC section 5's admin calls); thread safe.
 * Every call has an asynchronous form and a blocking one that waits at most the operation timeout.
 */
public final class Admin
{
    private final MagnetarClient client;

    Admin(final MagnetarClient client)
    {
        this.client = client;
    }

    /**
     * @return true if created, false if it already existed with the same partitions.
     * @throws MagnetarException.TopicExistsException if it exists with other partitions.
     */
    public CompletableFuture<Boolean> createTopicAsync(final String topic, final int partitions)
    {
        final PendingRequest.CreateTopic request = new PendingRequest.CreateTopic(
            client.deadlineNs(), client.callbacks(), Objects.requireNonNull(topic, "topic"), partitions);
        client.submit(request);
        return request.future;
    }

    public boolean createTopic(final String topic, final int partitions)
    {
        return client.awaitOperation(createTopicAsync(topic, partitions));
    }

    /**
     * Delete a topic: its subscriptions and pending messages are discarded.
     */
    public CompletableFuture<Void> deleteTopicAsync(final String topic)
    {
        final PendingRequest.DeleteTopic request = new PendingRequest.DeleteTopic(
            client.deadlineNs(), client.callbacks(), Objects.requireNonNull(topic, "topic"));
        client.submit(request);
        return request.future;
    }

    public void deleteTopic(final String topic)
    {
        client.awaitOperation(deleteTopicAsync(topic));
    }

    public CompletableFuture<List<TopicInfo>> listTopicsAsync()
    {
        final PendingRequest.ListTopics request = new PendingRequest.ListTopics(client.deadlineNs(), client.callbacks());
        client.submit(request);
        return request.future;
    }

    public List<TopicInfo> listTopics()
    {
        return client.awaitOperation(listTopicsAsync());
    }

    /**
     * @return the topic, its id and partitions, and stats per subscription.
     */
    public CompletableFuture<TopicStats> describeTopicAsync(final String topic)
    {
        final PendingRequest.DescribeTopic request = new PendingRequest.DescribeTopic(
            client.deadlineNs(), client.callbacks(), Objects.requireNonNull(topic, "topic"));
        client.submit(request);
        return request.future;
    }

    public TopicStats describeTopic(final String topic)
    {
        return client.awaitOperation(describeTopicAsync(topic));
    }

    /**
     * Create a subscription; it receives every message published after this.
     *
     * @return true if created, false if it already existed with the same type and options.
     */
    public CompletableFuture<Boolean> createSubscriptionAsync(
        final String topic, final String subscription, final SubscriptionType type, final SubscriptionOptions options)
    {
        final PendingRequest.CreateSubscription request = new PendingRequest.CreateSubscription(
            client.deadlineNs(),
            client.callbacks(),
            Objects.requireNonNull(topic, "topic"),
            Objects.requireNonNull(subscription, "subscription"),
            Objects.requireNonNull(type, "type"),
            Objects.requireNonNull(options, "options"));
        client.submit(request);
        return request.future;
    }

    public CompletableFuture<Boolean> createSubscriptionAsync(
        final String topic, final String subscription, final SubscriptionType type)
    {
        return createSubscriptionAsync(topic, subscription, type, SubscriptionOptions.DEFAULTS);
    }

    public boolean createSubscription(
        final String topic, final String subscription, final SubscriptionType type, final SubscriptionOptions options)
    {
        return client.awaitOperation(createSubscriptionAsync(topic, subscription, type, options));
    }

    public boolean createSubscription(final String topic, final String subscription, final SubscriptionType type)
    {
        return createSubscription(topic, subscription, type, SubscriptionOptions.DEFAULTS);
    }

    /**
     * Delete a subscription: its consumers are closed, its pending messages discarded.
     */
    public CompletableFuture<Void> deleteSubscriptionAsync(final String topic, final String subscription)
    {
        final PendingRequest.DeleteSubscription request = new PendingRequest.DeleteSubscription(
            client.deadlineNs(),
            client.callbacks(),
            Objects.requireNonNull(topic, "topic"),
            Objects.requireNonNull(subscription, "subscription"));
        client.submit(request);
        return request.future;
    }

    public void deleteSubscription(final String topic, final String subscription)
    {
        client.awaitOperation(deleteSubscriptionAsync(topic, subscription));
    }
}
