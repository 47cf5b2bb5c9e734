package io.magnetar.rest;

/**
 * A request that fails with a SPEC error body: {@code {"error": {"code": ..., "message": ...}}} and an HTTP status
 * taken from {@link ErrorMapping}. Thrown by request validation; failures of the broker are mapped to the same shape.
 */
final class ApiException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    final int status;
    final String code;

    ApiException(final int status, final String code, final String message)
    {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    /**
     * @return 400 INVALID_ARGUMENT with {@code message} (which should name the field and the limit).
     */
    static ApiException invalid(final String message)
    {
        return new ApiException(400, ErrorMapping.INVALID_ARGUMENT, message);
    }

    static ApiException of(final String code, final String message)
    {
        return new ApiException(ErrorMapping.status(code), code, message);
    }
}
