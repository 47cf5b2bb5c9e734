package io.magnetar.rest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.util.List;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers (a request line or URI it cannot parse, bad percent-encoding, headers too large, an
 * error before the request reaches Javalin) in the SPEC error body instead of Jetty's HTML page, for every method.
 * One handler for the server (bad messages) and one for the servlet context.
 */
final class JettyErrors
{
    private JettyErrors()
    {
    }

    static String code(final int status)
    {
        switch (status)
        {
            case 404: return ErrorMapping.NOT_FOUND;
            case 405: return ErrorMapping.METHOD_NOT_ALLOWED;
            case 503: return ErrorMapping.UNAVAILABLE;
            case 505: return ErrorMapping.INVALID_ARGUMENT; // HTTP version not supported: the client's doing
            default: return status >= 500 ? ErrorMapping.INTERNAL : ErrorMapping.INVALID_ARGUMENT;
        }
    }

    static byte[] body(final Json json, final int status, final String message)
    {
        final String text = null == message || message.isBlank() ? "HTTP " + status : message;
        return json.error(code(status), "request rejected by the HTTP layer: " + Json.clip(text, 200));
    }

    static void writeJson(final Json json, final Response response, final Callback callback, final int status, final String message)
    {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        // a request Jetty refused may leave the connection in any state: close it, and say so
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
        response.write(true, ByteBuffer.wrap(body(json, status, message)), callback);
    }

    /**
     * The server's handler (errors outside the servlet context).
     */
    static final class Server extends org.eclipse.jetty.server.handler.ErrorHandler
    {
        private final Json json;

        Server(final Json json)
        {
            this.json = json;
        }

        public boolean errorPageForMethod(final String method)
        {
            return true;
        }

        protected boolean generateAcceptableResponse(
            final Request request,
            final Response response,
            final Callback callback,
            final String contentType,
            final List<Charset> charsets,
            final int code,
            final String message,
            final Throwable cause) throws IOException
        {
            writeJson(json, response, callback, code, message);
            return true;
        }
    }

    /**
     * The servlet context's handler (errors raised once the request was parsed, e.g. a path that does not decode).
     */
    static final class Context extends org.eclipse.jetty.ee10.servlet.ErrorHandler
    {
        private final Json json;

        Context(final Json json)
        {
            this.json = json;
        }

        public boolean errorPageForMethod(final String method)
        {
            return true;
        }

        protected boolean generateAcceptableResponse(
            final Request request,
            final Response response,
            final Callback callback,
            final String contentType,
            final List<Charset> charsets,
            final int code,
            final String message,
            final Throwable cause) throws IOException
        {
            writeJson(json, response, callback, code, message);
            return true;
        }
    }
}
