package dev.taskevents.client.internal;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * Makes the public exceptions, whose constructors are not public: the client's package implements
 * it, so the internals report what happened and the API package alone words what to do.
 */
public interface Errors {
    RuntimeException unauthorized(int status, URI server);

    /** A final TLS failure: a certificate not trusted, or a {@link Transport.SchemeMismatch} in {@code cause}. */
    RuntimeException tls(URI server, Throwable cause);

    /** {@code server} named {@code owner}, whose scheme differs from its own, as a workflow's shard owner. */
    RuntimeException schemeChange(URI server, URI owner, long workflowInstanceId);

    RuntimeException unavailable(String what, List<URI> nodes, Duration bound, Throwable last);

    RuntimeException refused(String eventId, int status, URI server, String serverMessage);

    RuntimeException tasksRefused(List<Long> ids, int status, URI server, String serverMessage);

    RuntimeException closed(String message);

    RuntimeException cursorExpired(String cursor, String oldest, String serverMessage);

    RuntimeException cursorInvalid(String cursor, int status, String code, String serverMessage);
}
