package dev.taskevents.cli.serve;

/** A request the server refuses; becomes a 4xx JSON answer with this message. */
final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;

    BadRequest(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    BadRequest(String message) {
        this(400, message);
    }
}
