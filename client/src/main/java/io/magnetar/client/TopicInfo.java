package io.magnetar.client;

/**
 * A topic as listed by {@link Admin#listTopics()}.
 *
 * @param name       its name.
 * @param partitions its partition count.
 */
public record TopicInfo(String name, int partitions)
{
}
