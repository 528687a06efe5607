package dev.taskevents.cli.serve;

import java.io.IOException;

/**
 * One HTTP request and its answer, as serve's handlers see it: what they read of the request,
 * the headers they set, one whole answer, and the end of the exchange. The server under it
 * ({@link HttpFront}) is nowhere else in serve's code.
 *
 * <p>An exchange is answered at most once ({@link #respond}); {@link #close} ends it, answered or
 * not, and is idempotent. A handler that returns without closing its exchange keeps it open (a
 * parked poll): whoever later answers it closes it. Only one thread touches an exchange at a time.
 */
interface Exchange extends AutoCloseable {
    /** The request method, as sent. */
    String method();

    /** The request path, decoded. */
    String path();

    /** The query string as sent (not decoded), or null when there is none. */
    String rawQuery();

    /** The first value of a request header, or null. */
    String header(String name);

    /**
     * Reads bytes of the request body into {@code into[offset..offset+length)}, waiting for some to
     * arrive until {@code deadlineNanos} ({@link System#nanoTime()}). Returns how many were read,
     * -1 at the end of the body, or 0 when none arrived by the deadline (the read may be called
     * again). What is left unread when the exchange ends closes its connection.
     *
     * @throws java.io.IOException if the connection failed or was closed
     */
    int read(byte[] into, int offset, int length, long deadlineNanos) throws IOException, InterruptedException;

    /** Sets a response header, replacing any value it had. */
    void setHeader(String name, String value);

    /**
     * Sends the answer: the status, the headers set so far, and {@code body} (only its length, for
     * HEAD). Returns once it is written, or throws if the client went away.
     */
    default void respond(int status, String contentType, byte[] body) throws IOException {
        respond(status, contentType, body, body.length);
    }

    /** {@link #respond(int, String, byte[])} with the first {@code length} bytes of {@code body}. */
    void respond(int status, String contentType, byte[] body, int length) throws IOException;

    /** Ends the exchange; one that was never answered closes its connection without an answer. */
    @Override
    void close();
}
