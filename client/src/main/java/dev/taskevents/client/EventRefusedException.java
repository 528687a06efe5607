package dev.taskevents.client;

/**
 * The server refused the event itself (400, 413 or another 4xx the client cannot fix by resending),
 * e.g. a var pool over serve's {@code --max-var-pool-bytes}. The event was sent alone when it was
 * refused, so the server's message is about this event. Fix the event (or the client's base URI,
 * for a 404) and send it again under the same id.
 */
public final class EventRefusedException extends TaskEventsException {
    private static final long serialVersionUID = 1L;
    private final String eventId;
    private final int status;

    EventRefusedException(String eventId, int status, String server, String serverMessage) {
        super("the server " + server + " refused event " + eventId + " (" + status + "): " + serverMessage
                + (status == 404 || status == 405 ? "; check the base URI the client was built with (it must be"
                + " serve's address, e.g. http://host:8080)" : "; fix the event and send it again"), null);
        this.eventId = eventId;
        this.status = status;
    }

    /** The refused event's id. */
    public String eventId() {
        return eventId;
    }

    /** The HTTP status of the refusal. */
    public int status() {
        return status;
    }
}
