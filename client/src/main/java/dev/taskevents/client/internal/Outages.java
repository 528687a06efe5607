package dev.taskevents.client.internal;

import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Makes the client's silent resending visible: the first failure of each kind to reach a node
 * (a refused connection, a timeout, an HTTP 503...) is logged once at WARNING, and the node's next
 * useful answer once at INFO, after which a new failure is logged again. Tries that fail alike
 * are not logged again: a node down for an hour gives one line, not one per resend.
 *
 * <p>Thread-safe; held by the {@link Transport}, through which every request of the client goes.
 */
final class Outages {
    private final System.Logger log;
    private final Duration giveUpAfter;
    /** The failure kinds logged for each node since its last useful answer; no entry: none. */
    private final ConcurrentMap<URI, Set<String>> logged = new ConcurrentHashMap<>();

    /** @param giveUpAfter the client's bound, named in the message; zero: none */
    Outages(Duration giveUpAfter) {
        this(giveUpAfter, System.getLogger("dev.taskevents.client"));
    }

    Outages(Duration giveUpAfter, System.Logger log) {
        this.giveUpAfter = giveUpAfter;
        this.log = log;
    }

    /** A try to {@code node} failed: an exception, or {@code status} 5xx, 408 or 429. */
    void failed(URI node, String kind, String detail) {
        if (logged.computeIfAbsent(node, n -> ConcurrentHashMap.newKeySet()).add(kind)) {
            log.log(System.Logger.Level.WARNING, "taskevents client: " + node + " did not answer usefully ("
                    + detail + "); resending with backoff" + (giveUpAfter.isZero()
                    ? " without end (giveUpAfter is zero)"
                    : ", each event, read or call for up to " + giveUpAfter + " (giveUpAfter)"));
        }
    }

    /** {@code node} gave an answer: a recovery, if a failure was logged. */
    void answered(URI node) {
        if (logged.isEmpty()) {
            return; // the common case: no lookup
        }
        Set<String> kinds = logged.remove(node);
        if (kinds != null && !kinds.isEmpty()) {
            log.log(System.Logger.Level.INFO, "taskevents client: " + node + " answers again");
        }
    }
}
