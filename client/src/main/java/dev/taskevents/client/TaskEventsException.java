package dev.taskevents.client;

/**
 * What went wrong talking to {@code taskevents serve}, in a form a caller can act on: each kind
 * is its own class, and each message says what to do. A future of {@link TaskEventsClient#send}
 * fails with one of these (as its cause), and a feed's {@code next()} or {@code onError} gives one.
 *
 * <p>Things the client retries by itself (503 and its {@code Retry-After}, connection errors,
 * timeouts, a server answering "moved") are not errors here, unless a bound set with
 * {@link TaskEventsClient.Builder#giveUpAfter} runs out ({@link ServerUnavailableException}).
 */
public abstract sealed class TaskEventsException extends RuntimeException
        permits UnauthorizedException, TlsException, ServerUnavailableException, CursorExpiredException,
        CursorInvalidException, EventRefusedException, TaskCreationRefusedException, ClientClosedException {
    private static final long serialVersionUID = 1L;

    TaskEventsException(String message, Throwable cause) {
        super(message, cause);
    }
}
