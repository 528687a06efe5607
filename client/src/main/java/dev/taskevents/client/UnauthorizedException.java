package dev.taskevents.client;

/**
 * The server refused the bearer token (401) or the token may not do this (403). Resending cannot
 * help: every event waiting at that moment fails with this, and the client goes on with events
 * sent later (a {@code token(Supplier)} may by then give a new token).
 */
public final class UnauthorizedException extends TaskEventsException {
    private static final long serialVersionUID = 1L;
    private final int status;

    UnauthorizedException(int status, String server) {
        super("the server " + server + " refused the bearer token (" + status + (status == 401
                ? "): check the token the client was built with (TaskEventsClient.Builder.token) against the"
                + " tokens serve accepts (its --token-file or TASKEVENTS_TOKENS)"
                : "): the token is not allowed to do this; use a token serve accepts for it")
                + "; resending cannot help", null);
        this.status = status;
    }

    /** 401 or 403. */
    public int status() {
        return status;
    }
}
