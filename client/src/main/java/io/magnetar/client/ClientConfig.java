package io.magnetar.client;

import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.IdleStrategy;

/**
 * The concluded, immutable configuration of one client (from {@link ClientBuilder}).
 */
final class ClientConfig
{
    static final int PROTOCOL_VERSION = 1;
    static final int MIN_RESPONSE_STREAM_ID = 1_000_000;

    final String aeronDirectory;
    final boolean aeronDirectoryGiven;
    final String ingressChannel;
    final int ingressStreamId;
    final String responseChannel;
    final boolean embeddedMediaDriver;
    final long operationTimeoutNs;
    final long connectTimeoutNs;
    final long reconnectBackoffMinNs;
    final long reconnectBackoffMaxNs;
    final long driverTimeoutMs;
    final Supplier<IdleStrategy> idleStrategy;
    final Executor callbackExecutor;
    final Executor listenerExecutor;
    final ErrorHandler errorHandler;
    final String clientName;

    ClientConfig(final ClientBuilder builder)
    {
        aeronDirectoryGiven = null != builder.aeronDirectory;
        aeronDirectory = aeronDirectoryGiven ? builder.aeronDirectory : ClientBuilder.defaultAeronDirectory();
        ingressChannel = builder.ingressChannel;
        ingressStreamId = builder.ingressStreamId;
        embeddedMediaDriver = builder.embeddedMediaDriver;
        operationTimeoutNs = builder.operationTimeout.toNanos();
        connectTimeoutNs = builder.connectTimeout.toNanos();
        reconnectBackoffMinNs = builder.reconnectBackoffMin.toNanos();
        reconnectBackoffMaxNs = Math.max(reconnectBackoffMinNs, builder.reconnectBackoffMax.toNanos());
        driverTimeoutMs = builder.driverTimeout.toMillis();
        idleStrategy = builder.idleStrategy;
        callbackExecutor = builder.callbackExecutor;
        listenerExecutor = builder.listenerExecutor;
        errorHandler = builder.errorHandler;
        clientName = null != builder.clientName ?
            builder.clientName : "magnetar-client-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);

        final ChannelUri ingress = ChannelUri.parse(ingressChannel);
        final boolean ipcIngress = CommonContext.IPC_MEDIA.equals(ingress.media());
        if (null != builder.responseChannel)
        {
            responseChannel = builder.responseChannel;
        }
        else
        {
            responseChannel = ipcIngress ? CommonContext.IPC_CHANNEL : "aeron:udp?endpoint=localhost:0";
        }
        final ChannelUri response = ChannelUri.parse(responseChannel);
        if (embeddedMediaDriver && (ipcIngress || CommonContext.IPC_MEDIA.equals(response.media())))
        {
            throw new IllegalArgumentException(
                "an embedded media driver cannot reach the broker over IPC; use UDP channels or the broker's driver");
        }
        if (ipcIngress != CommonContext.IPC_MEDIA.equals(response.media()))
        {
            // legal for Aeron, but almost always a mistake: say so early
            if (ipcIngress)
            {
                throw new IllegalArgumentException("IPC ingress with a UDP response channel: " + responseChannel);
            }
        }
        if (null == response.get(CommonContext.ENDPOINT_PARAM_NAME) && !CommonContext.IPC_MEDIA.equals(response.media()))
        {
            throw new IllegalArgumentException("a UDP response channel needs an endpoint: " + responseChannel);
        }
    }

    boolean udpResponse()
    {
        return CommonContext.UDP_MEDIA.equals(ChannelUri.parse(responseChannel).media());
    }
}
