package io.magnetar.client;

import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A failed client operation, with a stable {@link ErrorCode}. Futures complete exceptionally with one of these;
 * blocking variants throw it. Each code has a subclass, so callers can catch the ones they care about
 * ({@link TopicNotFoundException}, {@link BacklogFullException}, ...) or switch on {@link #code()}.
 * <p>
 * Unchecked: the broker's business rejections are results the caller may handle, but a checked exception
 * would make every lambda around a future clumsy.
 */
public class MagnetarException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public MagnetarException(final ErrorCode code, final String message)
    {
        this(code, message, null);
    }

    public MagnetarException(final ErrorCode code, final String message, final Throwable cause)
    {
        super(code + ": " + message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /**
     * @return why the operation failed.
     */
    public ErrorCode code()
    {
        return code;
    }

    /**
     * @param code    why.
     * @param message the broker's (or client's) human-readable explanation.
     * @return the subclass for {@code code}.
     */
    public static MagnetarException of(final ErrorCode code, final String message)
    {
        switch (code)
        {
            case TOPIC_NOT_FOUND: return new TopicNotFoundException(message);
            case TOPIC_EXISTS: return new TopicExistsException(message);
            case SUBSCRIPTION_NOT_FOUND: return new SubscriptionNotFoundException(message);
            case SUBSCRIPTION_TYPE_CONFLICT: return new SubscriptionTypeConflictException(message);
            case SUBSCRIPTION_EXISTS: return new SubscriptionExistsException(message);
            case CONSUMER_NOT_FOUND: return new ConsumerNotFoundException(message);
            case INVALID_ARGUMENT: return new InvalidArgumentException(message);
            case NOT_OWNER: return new NotOwnerException(message);
            case BACKLOG_FULL: return new BacklogFullException(message);
            case UNAUTHENTICATED: return new UnauthenticatedException(message);
            case UNAUTHORIZED: return new UnauthorizedException(message);
            case UNAVAILABLE: return new UnavailableException(message);
            case INTERNAL: return new InternalException(message);
            case TIMEOUT: return new TimeoutException(message);
            case QUEUE_FULL: return new ProducerQueueFullException(message);
            case CLOSED: return new AlreadyClosedException(message);
            default: return new MagnetarException(code, message);
        }
    }

    /**
     * Unwrap what a future failed with: a {@link MagnetarException} as it is, anything else as {@link ErrorCode#INTERNAL}.
     *
     * @param throwable from {@code Future.get()} or {@code join()}, possibly wrapped.
     * @return the exception to throw to a blocking caller.
     */
    public static MagnetarException unwrap(final Throwable throwable)
    {
        Throwable cause = throwable;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException) && null != cause.getCause())
        {
            cause = cause.getCause();
        }
        if (cause instanceof MagnetarException)
        {
            return (MagnetarException)cause;
        }
        return new InternalException(String.valueOf(cause), cause);
    }

    public static final class TopicNotFoundException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public TopicNotFoundException(final String message)
        {
            super(ErrorCode.TOPIC_NOT_FOUND, message);
        }
    }

    public static final class TopicExistsException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public TopicExistsException(final String message)
        {
            super(ErrorCode.TOPIC_EXISTS, message);
        }
    }

    public static final class SubscriptionNotFoundException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public SubscriptionNotFoundException(final String message)
        {
            super(ErrorCode.SUBSCRIPTION_NOT_FOUND, message);
        }
    }

    public static final class SubscriptionTypeConflictException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public SubscriptionTypeConflictException(final String message)
        {
            super(ErrorCode.SUBSCRIPTION_TYPE_CONFLICT, message);
        }
    }

    public static final class SubscriptionExistsException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public SubscriptionExistsException(final String message)
        {
            super(ErrorCode.SUBSCRIPTION_EXISTS, message);
        }
    }

    public static final class ConsumerNotFoundException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public ConsumerNotFoundException(final String message)
        {
            super(ErrorCode.CONSUMER_NOT_FOUND, message);
        }
    }

    public static final class InvalidArgumentException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public InvalidArgumentException(final String message)
        {
            super(ErrorCode.INVALID_ARGUMENT, message);
        }
    }

    public static final class NotOwnerException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public NotOwnerException(final String message)
        {
            super(ErrorCode.NOT_OWNER, message);
        }
    }

    public static final class BacklogFullException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public BacklogFullException(final String message)
        {
            super(ErrorCode.BACKLOG_FULL, message);
        }
    }

    public static final class UnauthenticatedException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public UnauthenticatedException(final String message)
        {
            super(ErrorCode.UNAUTHENTICATED, message);
        }
    }

    public static final class UnauthorizedException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public UnauthorizedException(final String message)
        {
            super(ErrorCode.UNAUTHORIZED, message);
        }
    }

    public static final class UnavailableException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public UnavailableException(final String message)
        {
            super(ErrorCode.UNAVAILABLE, message);
        }

        public UnavailableException(final String message, final Throwable cause)
        {
            super(ErrorCode.UNAVAILABLE, message, cause);
        }
    }

    public static final class InternalException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public InternalException(final String message)
        {
            super(ErrorCode.INTERNAL, message);
        }

        public InternalException(final String message, final Throwable cause)
        {
            super(ErrorCode.INTERNAL, message, cause);
        }
    }

    /**
     * No answer within the timeout. For a publish the message may still have been stored (at-least-once).
     */
    public static final class TimeoutException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public TimeoutException(final String message)
        {
            super(ErrorCode.TIMEOUT, message);
        }
    }

    public static final class ProducerQueueFullException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public ProducerQueueFullException(final String message)
        {
            super(ErrorCode.QUEUE_FULL, message);
        }
    }

    public static final class AlreadyClosedException extends MagnetarException
    {
        private static final long serialVersionUID = 1L;

        public AlreadyClosedException(final String message)
        {
            super(ErrorCode.CLOSED, message);
        }
    }
}
