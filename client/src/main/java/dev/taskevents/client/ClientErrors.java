package dev.taskevents.client;

import dev.taskevents.client.internal.Errors;
import dev.taskevents.client.internal.Transport;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/** The internals' way to the exceptions of this package. */
final class ClientErrors implements Errors {
    static final ClientErrors INSTANCE = new ClientErrors();

    @Override
    public RuntimeException unauthorized(int status, URI server) {
        return new UnauthorizedException(status, server.toString());
    }

    @Override
    public RuntimeException tls(URI server, Throwable cause) {
        Transport.SchemeMismatch mismatch = Transport.schemeMismatch(cause);
        return mismatch != null ? TlsException.schemeMismatch(server.toString(), mismatch.serverSpeaksTls(), cause)
                : TlsException.certificate(server.toString(), cause);
    }

    @Override
    public RuntimeException schemeChange(URI server, URI owner, long workflowInstanceId) {
        return TlsException.schemeChange(server.toString(), owner.toString(), workflowInstanceId);
    }

    @Override
    public RuntimeException unavailable(String what, List<URI> nodes, Duration bound, Throwable last) {
        return new ServerUnavailableException(what, nodes.toString(), bound, last);
    }

    @Override
    public RuntimeException refused(String eventId, int status, URI server, String serverMessage) {
        return new EventRefusedException(eventId, status, server.toString(), serverMessage);
    }

    @Override
    public RuntimeException tasksRefused(List<Long> ids, int status, URI server, String serverMessage) {
        return new TaskCreationRefusedException(ids, status, server.toString(), serverMessage);
    }

    @Override
    public RuntimeException closed(String message) {
        return new ClientClosedException(message);
    }

    @Override
    public RuntimeException cursorExpired(String cursor, String oldest, String serverMessage) {
        return new CursorExpiredException(cursorOf(cursor), oldest == null ? FeedCursor.OLDEST : FeedCursor.parse(oldest),
                serverMessage);
    }

    @Override
    public RuntimeException cursorInvalid(String cursor, int status, String code, String serverMessage) {
        return new CursorInvalidException(cursorOf(cursor), status, code, serverMessage);
    }

    private static FeedCursor cursorOf(String text) {
        return text == null ? FeedCursor.OLDEST : FeedCursor.parse(text);
    }
}
