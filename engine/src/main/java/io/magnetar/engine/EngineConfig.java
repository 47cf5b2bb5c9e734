package io.magnetar.engine;

/**
 * Limits and defaults of the engine (SPEC sections 1 and 3). Mutable until handed to an {@link Engine};
 * {@link #conclude()} validates it.
 */
public final class EngineConfig
{
    int maxTopicNameBytes = 128;
    int maxSubscriptionNameBytes = 128;
    int maxConsumerNameBytes = 128;
    int maxPartitions = 4096;
    int maxKeyBytes = 256;
    /** the largest maxAttributes allowed: see {@link #conclude()}. */
    public static final int MAX_ATTRIBUTES = 65_000;
    /** dead-letter hops a message can make at most, each adding one attribute (see {@link #conclude}). */
    static final int MAX_DEAD_LETTER_HOPS = 21;

    int maxAttributes = 32;
    int maxAttributeNameBytes = 64;
    int maxAttributeValueBytes = 1024;
    int maxAttributesBytes = 4096;
    int maxPublishBatch = 10_000;
    int maxAckBatch = 10_000;
    int maxPermits = 1_000_000;
    long maxLiveMessages = 10_000_000L;
    long maxLiveBytes = 2L * 1024 * 1024 * 1024;
    long defaultAckTimeoutMs = 60_000;
    long defaultNackDelayMs = 1_000;
    long maxTimeoutMs = 7L * 24 * 3600 * 1000;
    int keySharedLookahead = 10_000;
    int maxDeliveriesPerEvent = 64;
    String nodeAddress = "127.0.0.1";

    public EngineConfig conclude()
    {
        require(maxTopicNameBytes >= 1 && maxTopicNameBytes <= 128, "maxTopicNameBytes must be 1..128");
        require(maxPartitions >= 1 && maxPartitions <= 4096, "maxPartitions must be 1..4096");
        require(maxKeyBytes >= 1 && maxKeyBytes <= 65535, "maxKeyBytes must be 1..65535");
        // The attribute count goes out as a u16 group count, which SBE's encoder caps at 65534, and a message's record
        // in the DataSlab keeps it in a u16 whose 65535 marks a free slot. Every dead-letter hop adds one attribute (the
        // original id), and hops are bounded by the topic name limit: "<topic>.<sub>.dlq" grows the name by at least 6
        // bytes, so at most 128 / 6 = 21 hops (MAX_DEAD_LETTER_HOPS). 65000 leaves room.
        require(maxAttributes >= 0 && maxAttributes <= MAX_ATTRIBUTES, "maxAttributes must be 0.." + MAX_ATTRIBUTES);
        require(maxAttributeNameBytes >= 1 && maxAttributeValueBytes >= 0, "attribute limits must be positive");
        require(maxPublishBatch >= 1 && maxPublishBatch <= 65535, "maxPublishBatch must be 1..65535");
        require(maxAckBatch >= 1 && maxAckBatch <= 65535, "maxAckBatch must be 1..65535");
        require(maxLiveMessages >= 1 && maxLiveBytes >= 1, "backlog limits must be positive");
        require(keySharedLookahead >= 1, "keySharedLookahead must be positive");
        require(maxDeliveriesPerEvent >= 1 && maxDeliveriesPerEvent <= 1024, "maxDeliveriesPerEvent must be 1..1024");
        return this;
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(message);
        }
    }

    public EngineConfig maxKeyBytes(final int value) { maxKeyBytes = value; return this; }
    public EngineConfig maxAttributes(final int value) { maxAttributes = value; return this; }
    public EngineConfig maxAttributeNameBytes(final int value) { maxAttributeNameBytes = value; return this; }
    public EngineConfig maxAttributeValueBytes(final int value) { maxAttributeValueBytes = value; return this; }
    public EngineConfig maxAttributesBytes(final int value) { maxAttributesBytes = value; return this; }
    public EngineConfig maxPartitions(final int value) { maxPartitions = value; return this; }
    public EngineConfig maxPublishBatch(final int value) { maxPublishBatch = value; return this; }
    public EngineConfig maxAckBatch(final int value) { maxAckBatch = value; return this; }
    public EngineConfig maxPermits(final int value) { maxPermits = value; return this; }
    public EngineConfig maxLiveMessages(final long value) { maxLiveMessages = value; return this; }
    public EngineConfig maxLiveBytes(final long value) { maxLiveBytes = value; return this; }
    public EngineConfig defaultAckTimeoutMs(final long value) { defaultAckTimeoutMs = value; return this; }
    public EngineConfig defaultNackDelayMs(final long value) { defaultNackDelayMs = value; return this; }
    public EngineConfig keySharedLookahead(final int value) { keySharedLookahead = value; return this; }
    public EngineConfig maxDeliveriesPerEvent(final int value) { maxDeliveriesPerEvent = value; return this; }
    public EngineConfig nodeAddress(final String value) { nodeAddress = value; return this; }

    public int maxKeyBytes() { return maxKeyBytes; }
    public int maxAttributes() { return maxAttributes; }
    public int maxPublishBatch() { return maxPublishBatch; }
    public long maxLiveMessages() { return maxLiveMessages; }
    public long maxLiveBytes() { return maxLiveBytes; }
    public long defaultAckTimeoutMs() { return defaultAckTimeoutMs; }
    public long defaultNackDelayMs() { return defaultNackDelayMs; }
    public String nodeAddress() { return nodeAddress; }
}
