package io.magnetar.client;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

class ErrorCodeTest
{
    @Test
    void everyWireCodeMapsToTheSameName()
    {
        for (final io.magnetar.codecs.ErrorCode wire : io.magnetar.codecs.ErrorCode.values())
        {
            if (io.magnetar.codecs.ErrorCode.NULL_VAL == wire)
            {
                continue;
            }
            assertEquals(wire.name(), ErrorCode.fromWire(wire.value()).name());
        }
        assertEquals(ErrorCode.INTERNAL, ErrorCode.fromWire((short)200));
    }

    @Test
    void everyCodeHasItsExceptionType()
    {
        for (final ErrorCode code : ErrorCode.values())
        {
            final MagnetarException ex = MagnetarException.of(code, "why");
            assertEquals(code, ex.code());
            assertEquals(code + ": why", ex.getMessage());
        }
        assertInstanceOf(MagnetarException.TopicNotFoundException.class, MagnetarException.of(ErrorCode.TOPIC_NOT_FOUND, ""));
        assertInstanceOf(MagnetarException.BacklogFullException.class, MagnetarException.of(ErrorCode.BACKLOG_FULL, ""));
        assertInstanceOf(MagnetarException.InvalidArgumentException.class, MagnetarException.of(ErrorCode.INVALID_ARGUMENT, ""));
        assertInstanceOf(MagnetarException.ProducerQueueFullException.class, MagnetarException.of(ErrorCode.QUEUE_FULL, ""));
    }

    @Test
    void unwrapsFutureFailures()
    {
        final MagnetarException cause = MagnetarException.of(ErrorCode.BACKLOG_FULL, "full");
        assertSame(cause, MagnetarException.unwrap(new ExecutionException(cause)));
        assertSame(cause, MagnetarException.unwrap(new CompletionException(cause)));
        assertEquals(ErrorCode.INTERNAL, MagnetarException.unwrap(new ExecutionException(new IllegalStateException())).code());
    }

    @Test
    void subscriptionTypesMatchTheWire()
    {
        for (final SubscriptionType type : SubscriptionType.values())
        {
            assertEquals(type.name(), type.wire().name());
            assertSame(type, SubscriptionType.fromWire(type.wire().value()));
        }
    }
}
