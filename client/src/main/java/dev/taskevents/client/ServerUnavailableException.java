package dev.taskevents.client;

import java.time.Duration;

/**
 * No configured node of the server answered usefully within the bound set with
 * {@link TaskEventsClient.Builder#giveUpAfter} (5 minutes unless set; {@code Duration.ZERO} keeps trying).
 * For a sent event it means: the event was not acknowledged; it may or may not have been applied;
 * resend it (resending an applied event is answered as a duplicate, never applied twice). For
 * {@code createTasks}: the tasks may or may not exist; calling again creates them or is refused
 * with a 409 if they do. For the feed: read
 * again from the last stored cursor.
 */
public final class ServerUnavailableException extends TaskEventsException {
    private static final long serialVersionUID = 1L;

    ServerUnavailableException(String what, String nodes, Duration bound, Throwable last) {
        super("no node of " + nodes + " answered " + what + " for " + bound + " (the giveUpAfter bound): last error "
                + last + "; check that serve runs and is reachable; " + advice(what), last);
    }

    private static String advice(String what) {
        if (what.startsWith("event")) {
            return "the event was not acknowledged: resend it";
        }
        if (what.startsWith("the creation")) {
            return "the tasks may or may not exist: calling createTasks again creates them, or fails with a"
                    + " TaskCreationRefusedException (409) if they exist";
        }
        return "read again from the last stored cursor";
    }
}
