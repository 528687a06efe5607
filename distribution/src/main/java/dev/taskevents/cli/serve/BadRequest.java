package dev.taskevents.cli.serve;

/** A request the server refuses; becomes a 4xx (or 503) JSON answer with this message. */
final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;
    /** For a 405: the methods allowed, for the {@code Allow} header; otherwise null. */
    final String allow;
    /** Bytes of the body to read into nothing after the answer is sent (so the client sees it), or 0. */
    final long discardAfterAnswer;

    BadRequest(int status, String message) {
        this(status, message, null);
    }

    BadRequest(String message) {
        this(400, message);
    }

    private BadRequest(int status, String message, String allow) {
        this(status, message, allow, 0);
    }

    private BadRequest(int status, String message, String allow, long discardAfterAnswer) {
        super(message, null, false, false);
        this.status = status;
        this.allow = allow;
        this.discardAfterAnswer = discardAfterAnswer;
    }

    /** This refusal, and after it is answered, read {@code bytes} of the body into nothing. */
    BadRequest thenDiscard(long bytes) {
        return new BadRequest(status, getMessage(), allow, bytes);
    }

    static BadRequest methodNotAllowed(String method, String allowed) {
        return new BadRequest(405, "method " + JsonCodec.cut(method) + " is not allowed here; use " + allowed, allowed);
    }
}
