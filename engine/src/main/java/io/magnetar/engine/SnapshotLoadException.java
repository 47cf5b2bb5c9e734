package io.magnetar.engine;

/**
 * A snapshot could not be loaded: records missing, out of order, inconsistent, or not matching the checksum in
 * {@code SnapshotEnd}. The handler it was loaded into is unchanged.
 */
public final class SnapshotLoadException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public SnapshotLoadException(final String message)
    {
        super(message);
    }

    public SnapshotLoadException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
