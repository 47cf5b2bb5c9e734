package io.magnetar.client;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.Header;
import io.magnetar.codecs.AckDecoder;
import io.magnetar.codecs.AckReceiptEncoder;
import io.magnetar.codecs.AdminOutcome;
import io.magnetar.codecs.AdminResultEncoder;
import io.magnetar.codecs.BrokerHeartbeatEncoder;
import io.magnetar.codecs.CloseConsumerDecoder;
import io.magnetar.codecs.CommandErrorEncoder;
import io.magnetar.codecs.ConnectDecoder;
import io.magnetar.codecs.ConnectedEncoder;
import io.magnetar.codecs.ConsumerAttachedEncoder;
import io.magnetar.codecs.CreateTopicDecoder;
import io.magnetar.codecs.DeliveriesEncoder;
import io.magnetar.codecs.DescribeTopicDecoder;
import io.magnetar.codecs.ErrorCode;
import io.magnetar.codecs.HeartbeatDecoder;
import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.MessageHeaderEncoder;
import io.magnetar.codecs.NackDecoder;
import io.magnetar.codecs.PublishDecoder;
import io.magnetar.codecs.PublishReceiptEncoder;
import io.magnetar.codecs.SessionEndedEncoder;
import io.magnetar.codecs.SubscribeDecoder;
import io.magnetar.codecs.TopicDescriptionEncoder;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.IoUtil;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * A scripted stand-in for the broker's session protocol, for client tests without a broker: its own embedded media
 * driver (unique directory under /dev/shm, deleted on close), an IPC ingress subscription, a response publication
 * per session. It answers Connect, DescribeTopic, Publish, Subscribe, CloseConsumer, Ack/Nack and CreateTopic the
 * way the engine would, records every frame, and lets a test end sessions, hold or fail receipts and push
 * deliveries. All Aeron work runs on its own agent thread.
 */
final class FakeBroker implements AutoCloseable
{
    static final int STREAM_ID = 100;

    /** One received frame: its template and a one-line summary. */
    record Frame(long sessionId, int templateId, String summary, int count)
    {
    }

    private final MediaDriver driver;
    private final Aeron aeron;
    private final AgentRunner runner;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    final CopyOnWriteArrayList<Frame> frames = new CopyOnWriteArrayList<>();
    final AtomicLong nodeStartCount = new AtomicLong(1);
    volatile boolean holdReceipts;
    volatile ErrorCode publishError;
    volatile ErrorCode publishErrorForBatchesOver;
    volatile long heartbeatIntervalMs = 1000;
    volatile long sessionTimeoutMs = 10_000;

    private final Int2ObjectHashMap<FakeSession> sessionsByImage = new Int2ObjectHashMap<>();
    private final List<long[]> heldReceipts = new ArrayList<>();
    private long nextSessionId = 1;
    private long nextConsumerId = 1;
    private long nextEntry;

    final class FakeSession
    {
        final long id;
        final Publication publication;

        FakeSession(final long id, final Publication publication)
        {
            this.id = id;
            this.publication = publication;
        }
    }

    FakeBroker()
    {
        final String parent = new File("/dev/shm").isDirectory() ? "/dev/shm" : System.getProperty("java.io.tmpdir");
        final String directory = new File(
            parent, "magnetar-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong())).getAbsolutePath();
        driver = MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BackoffIdleStrategy(10, 10, 1_000, 1_000_000))
            .ipcTermBufferLength(1024 * 1024)
            .publicationTermBufferLength(1024 * 1024));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        final Subscription ingress = aeron.addSubscription("aeron:ipc", STREAM_ID);
        runner = new AgentRunner(
            new BackoffIdleStrategy(10, 10, 1_000, 1_000_000), Throwable::printStackTrace, null, new BrokerAgent(ingress));
        AgentRunner.startOnThread(runner);
    }

    String aeronDirectory()
    {
        return driver.aeronDirectoryName();
    }

    /**
     * Run on the broker's thread.
     */
    void execute(final Runnable command)
    {
        commands.offer(command);
    }

    List<Frame> frames(final int templateId)
    {
        final List<Frame> result = new ArrayList<>();
        for (final Frame frame : frames)
        {
            if (frame.templateId() == templateId)
            {
                result.add(frame);
            }
        }
        return result;
    }

    /**
     * End every session with SessionEnded (as a broker shutting down does) and forget them.
     */
    void endSessions()
    {
        execute(() ->
        {
            final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(256);
            final MessageHeaderEncoder header = new MessageHeaderEncoder();
            for (final FakeSession session : sessionsByImage.values())
            {
                final SessionEndedEncoder ended = new SessionEndedEncoder().wrapAndApplyHeader(buffer, 0, header)
                    .sessionId(session.id).code(ErrorCode.UNAVAILABLE).message("broker shutting down");
                session.publication.offer(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + ended.encodedLength());
                CloseHelper.quietClose(session.publication);
            }
            sessionsByImage.clear();
            heldReceipts.clear();
        });
    }

    /**
     * Send a BrokerHeartbeat carrying {@code startCount} to every session.
     */
    void heartbeat(final long startCount)
    {
        execute(() ->
        {
            final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(64);
            for (final FakeSession session : sessionsByImage.values())
            {
                final BrokerHeartbeatEncoder heartbeat = new BrokerHeartbeatEncoder()
                    .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder()).sessionId(session.id).nodeStartCount(startCount);
                session.publication.offer(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength());
            }
        });
    }

    /**
     * Deliver {@code count} messages with keys {@code key-0..} to a consumer on every session that has it.
     */
    void deliver(final long consumerId, final int firstEntry, final int count, final int deliveryCount)
    {
        execute(() ->
        {
            final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(64 * 1024);
            final DeliveriesEncoder deliveries = new DeliveriesEncoder()
                .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder()).consumerId(consumerId);
            final DeliveriesEncoder.MessagesEncoder messages = deliveries.messagesCount(count);
            for (int i = 0; i < count; i++)
            {
                messages.next().partition(0).ledger(1).entry(firstEntry + i).publishTimeMs(1000 + i)
                    .deliveryCount(deliveryCount);
                messages.attributesCount(1).next().name("n").value(Integer.toString(firstEntry + i));
                messages.key("key-" + (firstEntry + i));
            }
            for (final FakeSession session : sessionsByImage.values())
            {
                session.publication.offer(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + deliveries.encodedLength());
            }
        });
    }

    /**
     * Answer every held Publish now.
     */
    void releaseReceipts()
    {
        execute(() ->
        {
            for (final long[] held : heldReceipts)
            {
                final FakeSession session = findSession(held[0]);
                if (null != session)
                {
                    sendReceipt(session, held[1], (int)held[2], (int)held[3]);
                }
            }
            heldReceipts.clear();
        });
    }

    private FakeSession findSession(final long sessionId)
    {
        for (final FakeSession session : sessionsByImage.values())
        {
            if (session.id == sessionId)
            {
                return session;
            }
        }
        return null;
    }

    private final ExpandableDirectByteBuffer out = new ExpandableDirectByteBuffer(64 * 1024);
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();

    private void sendReceipt(final FakeSession session, final long correlationId, final int topicId, final int count)
    {
        final PublishReceiptEncoder receipt = new PublishReceiptEncoder().wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId).topicId(topicId);
        final PublishReceiptEncoder.IdsEncoder ids = receipt.idsCount(count);
        for (int i = 0; i < count; i++)
        {
            ids.next().partition(0).ledger(1).entry(nextEntry++);
        }
        send(session, MessageHeaderEncoder.ENCODED_LENGTH + receipt.encodedLength());
    }

    private void send(final FakeSession session, final int length)
    {
        long result;
        int attempts = 0;
        while ((result = session.publication.offer(out, 0, length)) < 0 && ++attempts < 100_000)
        {
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
            {
                return;
            }
            Thread.onSpinWait();
        }
    }

    private void error(final FakeSession session, final long correlationId, final ErrorCode code, final int templateId)
    {
        final CommandErrorEncoder error = new CommandErrorEncoder().wrapAndApplyHeader(out, 0, headerEncoder)
            .correlationId(correlationId).code(code).commandTemplateId(templateId).message("fake " + code);
        send(session, MessageHeaderEncoder.ENCODED_LENGTH + error.encodedLength());
    }

    public void close()
    {
        CloseHelper.quietClose(runner);
        CloseHelper.quietClose(aeron);
        final String directory = driver.aeronDirectoryName();
        CloseHelper.quietClose(driver);
        IoUtil.delete(new File(directory), true);
    }

    private final class BrokerAgent implements Agent
    {
        private final Subscription ingress;
        private final FragmentAssembler assembler = new FragmentAssembler(this::onFragment);
        private final MessageHeaderDecoder header = new MessageHeaderDecoder();

        BrokerAgent(final Subscription ingress)
        {
            this.ingress = ingress;
        }

        public String roleName()
        {
            return "fake-broker";
        }

        public int doWork()
        {
            int work = 0;
            Runnable command;
            while (null != (command = commands.poll()))
            {
                command.run();
                work++;
            }
            return work + ingress.poll(assembler, 64);
        }

        private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header aeronHeader)
        {
            header.wrap(buffer, offset);
            final int templateId = header.templateId();
            final int blockLength = header.blockLength();
            final int version = header.version();
            final int body = offset + MessageHeaderDecoder.ENCODED_LENGTH;
            final FakeSession session = sessionsByImage.get(aeronHeader.sessionId());

            if (ConnectDecoder.TEMPLATE_ID == templateId)
            {
                final ConnectDecoder connect = new ConnectDecoder().wrap(buffer, body, blockLength, version);
                final long correlationId = connect.correlationId();
                connect.protocolVersion();
                final int streamId = connect.responseStreamId();
                final String channel = connect.responseChannel();
                final String clientName = connect.clientName();
                final Publication publication = aeron.addPublication(channel, streamId);
                final long deadlineNs = System.nanoTime() + 5_000_000_000L;
                while (!publication.isConnected() && System.nanoTime() < deadlineNs)
                {
                    Thread.onSpinWait();
                }
                final FakeSession newSession = new FakeSession(nextSessionId++, publication);
                sessionsByImage.put(aeronHeader.sessionId(), newSession);
                frames.add(new Frame(newSession.id, templateId, "connect " + clientName, 0));
                final ConnectedEncoder connected = new ConnectedEncoder().wrapAndApplyHeader(out, 0, headerEncoder)
                    .correlationId(correlationId).sessionId(newSession.id).protocolVersion(1)
                    .heartbeatIntervalMs(heartbeatIntervalMs).sessionTimeoutMs(sessionTimeoutMs)
                    .nodeStartCount(nodeStartCount.get());
                send(newSession, MessageHeaderEncoder.ENCODED_LENGTH + connected.encodedLength());
                return;
            }
            if (null == session)
            {
                frames.add(new Frame(-1, templateId, "no session", 0));
                return;
            }

            switch (templateId)
            {
                case PublishDecoder.TEMPLATE_ID:
                {
                    final PublishDecoder publish = new PublishDecoder().wrap(buffer, body, blockLength, version);
                    final long correlationId = publish.correlationId();
                    final int topicId = publish.topicId();
                    final PublishDecoder.MessagesDecoder messages = publish.messages();
                    final int count = messages.count();
                    final StringBuilder keys = new StringBuilder("publish");
                    while (messages.hasNext())
                    {
                        messages.next();
                        messages.attributes().forEach((attribute) ->
                        {
                            attribute.name();
                            attribute.value();
                        });
                        keys.append(' ').append(messages.key());
                    }
                    frames.add(new Frame(session.id, templateId, keys.toString(), count));
                    final ErrorCode batchError = publishErrorForBatchesOver;
                    if (null != publishError)
                    {
                        error(session, correlationId, publishError, templateId);
                    }
                    else if (null != batchError && count > 1)
                    {
                        error(session, correlationId, batchError, templateId);
                    }
                    else if (holdReceipts)
                    {
                        heldReceipts.add(new long[]{ session.id, correlationId, topicId, count });
                    }
                    else
                    {
                        sendReceipt(session, correlationId, topicId, count);
                    }
                    break;
                }

                case DescribeTopicDecoder.TEMPLATE_ID:
                {
                    final DescribeTopicDecoder describe = new DescribeTopicDecoder().wrap(buffer, body, blockLength, version);
                    final long correlationId = describe.correlationId();
                    final String topic = describe.topic();
                    frames.add(new Frame(session.id, templateId, "describe " + topic, 0));
                    if (topic.startsWith("missing"))
                    {
                        error(session, correlationId, ErrorCode.TOPIC_NOT_FOUND, templateId);
                        break;
                    }
                    final TopicDescriptionEncoder description = new TopicDescriptionEncoder()
                        .wrapAndApplyHeader(out, 0, headerEncoder).correlationId(correlationId).topicId(7).partitions(2);
                    description.subscriptionsCount(0);
                    description.topicName(topic);
                    send(session, MessageHeaderEncoder.ENCODED_LENGTH + description.encodedLength());
                    break;
                }

                case SubscribeDecoder.TEMPLATE_ID:
                {
                    final SubscribeDecoder subscribe = new SubscribeDecoder().wrap(buffer, body, blockLength, version);
                    final long correlationId = subscribe.correlationId();
                    final io.magnetar.codecs.SubscriptionType type = subscribe.subscriptionType();
                    final int permits = subscribe.permits();
                    final long consumerId = nextConsumerId++;
                    frames.add(new Frame(session.id, templateId,
                        "subscribe " + subscribe.topic() + " " + subscribe.subscription() + " " + type + " " + permits +
                        " -> " + consumerId, 0));
                    final ConsumerAttachedEncoder attached = new ConsumerAttachedEncoder()
                        .wrapAndApplyHeader(out, 0, headerEncoder).correlationId(correlationId).consumerId(consumerId)
                        .topicId(7).partitions(2).subscriptionType(
                            io.magnetar.codecs.SubscriptionType.NULL_VAL == type ?
                            io.magnetar.codecs.SubscriptionType.SHARED : type);
                    send(session, MessageHeaderEncoder.ENCODED_LENGTH + attached.encodedLength());
                    break;
                }

                case AckDecoder.TEMPLATE_ID:
                case NackDecoder.TEMPLATE_ID:
                {
                    final boolean ack = AckDecoder.TEMPLATE_ID == templateId;
                    final long correlationId;
                    final long consumerId;
                    final StringBuilder ids = new StringBuilder(ack ? "ack" : "nack");
                    int count = 0;
                    if (ack)
                    {
                        final AckDecoder decoder = new AckDecoder().wrap(buffer, body, blockLength, version);
                        correlationId = decoder.correlationId();
                        consumerId = decoder.consumerId();
                        ids.append(' ').append(consumerId);
                        for (final AckDecoder.IdsDecoder id : decoder.ids())
                        {
                            ids.append(' ').append(id.partition()).append(':').append(id.ledger()).append(':').append(id.entry());
                            count++;
                        }
                    }
                    else
                    {
                        final NackDecoder decoder = new NackDecoder().wrap(buffer, body, blockLength, version);
                        correlationId = decoder.correlationId();
                        consumerId = decoder.consumerId();
                        ids.append(' ').append(consumerId);
                        for (final NackDecoder.IdsDecoder id : decoder.ids())
                        {
                            ids.append(' ').append(id.partition()).append(':').append(id.ledger()).append(':').append(id.entry());
                            count++;
                        }
                    }
                    frames.add(new Frame(session.id, templateId, ids.toString(), count));
                    final AckReceiptEncoder receipt = new AckReceiptEncoder().wrapAndApplyHeader(out, 0, headerEncoder)
                        .correlationId(correlationId).consumerId(consumerId).done(count).unknown(0);
                    send(session, MessageHeaderEncoder.ENCODED_LENGTH + receipt.encodedLength());
                    break;
                }

                case CloseConsumerDecoder.TEMPLATE_ID:
                {
                    final CloseConsumerDecoder close = new CloseConsumerDecoder().wrap(buffer, body, blockLength, version);
                    final long correlationId = close.correlationId();
                    frames.add(new Frame(session.id, templateId, "close " + close.consumerId(), 0));
                    adminResult(session, correlationId, AdminOutcome.DONE);
                    break;
                }

                case CreateTopicDecoder.TEMPLATE_ID:
                {
                    final CreateTopicDecoder create = new CreateTopicDecoder().wrap(buffer, body, blockLength, version);
                    final long correlationId = create.correlationId();
                    final int partitions = create.partitions();
                    final String topic = create.topic();
                    frames.add(new Frame(session.id, templateId, "createTopic " + topic + " " + partitions, 0));
                    if (topic.startsWith("exists"))
                    {
                        error(session, correlationId, ErrorCode.TOPIC_EXISTS, templateId);
                    }
                    else
                    {
                        adminResult(session, correlationId, AdminOutcome.CREATED);
                    }
                    break;
                }

                case HeartbeatDecoder.TEMPLATE_ID:
                    frames.add(new Frame(session.id, templateId, "heartbeat", 0));
                    break;

                default:
                    frames.add(new Frame(session.id, templateId, "template " + templateId, 0));
                    break;
            }
        }

        private void adminResult(final FakeSession session, final long correlationId, final AdminOutcome outcome)
        {
            final AdminResultEncoder result = new AdminResultEncoder().wrapAndApplyHeader(out, 0, headerEncoder)
                .correlationId(correlationId).outcome(outcome);
            send(session, MessageHeaderEncoder.ENCODED_LENGTH + result.encodedLength());
        }
    }
}
