package io.magnetar.rest;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import io.magnetar.client.ErrorCode;
import io.magnetar.client.MagnetarException;

/**
 * The one place where error codes meet HTTP statuses (SPEC sections 3 and 5).
 *
 * <table>
 * <caption>code → status</caption>
 * <tr><td>INVALID_ARGUMENT</td><td>400 (413 when the body is too large)</td></tr>
 * <tr><td>UNAUTHENTICATED / UNAUTHORIZED</td><td>401 / 403</td></tr>
 * <tr><td>TOPIC_NOT_FOUND, SUBSCRIPTION_NOT_FOUND, CONSUMER_NOT_FOUND, NOT_FOUND (no such route)</td><td>404</td></tr>
 * <tr><td>METHOD_NOT_ALLOWED (route exists, not with this method)</td><td>405</td></tr>
 * <tr><td>TOPIC_EXISTS, SUBSCRIPTION_EXISTS, SUBSCRIPTION_TYPE_CONFLICT</td><td>409</td></tr>
 * <tr><td>BACKLOG_FULL</td><td>429</td></tr>
 * <tr><td>UNAVAILABLE, NOT_OWNER</td><td>503</td></tr>
 * <tr><td>INTERNAL and anything unknown</td><td>500</td></tr>
 * </table>
 * The client's own codes become SPEC codes: {@code TIMEOUT} (no answer in time), {@code QUEUE_FULL} (the gateway's
 * pending publishes for a topic are at their bound) and {@code CLOSED} (gateway shutting down) are all
 * {@code UNAVAILABLE} 503 — retry later; a timed-out publish may still have been stored.
 */
final class ErrorMapping
{
    static final String INVALID_ARGUMENT = "INVALID_ARGUMENT";
    static final String NOT_FOUND = "NOT_FOUND";
    static final String METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED";
    static final String CONSUMER_NOT_FOUND = "CONSUMER_NOT_FOUND";
    static final String UNAVAILABLE = "UNAVAILABLE";
    static final String INTERNAL = "INTERNAL";

    private ErrorMapping()
    {
    }

    /**
     * @param code a SPEC error code (or one of the gateway's NOT_FOUND / METHOD_NOT_ALLOWED).
     * @return its HTTP status.
     */
    static int status(final String code)
    {
        switch (code)
        {
            case "INVALID_ARGUMENT":
                return 400;
            case "UNAUTHENTICATED":
                return 401;
            case "UNAUTHORIZED":
                return 403;
            case "TOPIC_NOT_FOUND":
            case "SUBSCRIPTION_NOT_FOUND":
            case "CONSUMER_NOT_FOUND":
            case "NOT_FOUND":
                return 404;
            case "METHOD_NOT_ALLOWED":
                return 405;
            case "TOPIC_EXISTS":
            case "SUBSCRIPTION_EXISTS":
            case "SUBSCRIPTION_TYPE_CONFLICT":
                return 409;
            case "BACKLOG_FULL":
                return 429;
            case "UNAVAILABLE":
            case "NOT_OWNER":
                return 503;
            default:
                return 500;
        }
    }

    /**
     * @param code a client error code.
     * @return the SPEC code a REST caller sees for it.
     */
    static String specCode(final ErrorCode code)
    {
        switch (code)
        {
            case TIMEOUT:
            case QUEUE_FULL:
            case CLOSED:
                return UNAVAILABLE;
            default:
                return code.name();
        }
    }

    /**
     * @param throwable what a future failed with, possibly wrapped.
     * @return the error to answer with.
     */
    static ApiException toApi(final Throwable throwable)
    {
        final Throwable cause = unwrap(throwable);
        if (cause instanceof ApiException)
        {
            return (ApiException)cause;
        }
        if (cause instanceof MagnetarException)
        {
            final MagnetarException ex = (MagnetarException)cause;
            final String code = specCode(ex.code());
            return new ApiException(status(code), code, brokerMessage(ex));
        }
        return new ApiException(500, INTERNAL, "internal error: " + cause.getClass().getSimpleName());
    }

    static Throwable unwrap(final Throwable throwable)
    {
        Throwable cause = throwable;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && null != cause.getCause())
        {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * @return the broker's (or client's) message without the {@code CODE: } prefix the exception adds.
     */
    static String brokerMessage(final MagnetarException ex)
    {
        final String message = ex.getMessage();
        final String prefix = ex.code().name() + ": ";
        return null != message && message.startsWith(prefix) ? message.substring(prefix.length()) : String.valueOf(message);
    }
}
