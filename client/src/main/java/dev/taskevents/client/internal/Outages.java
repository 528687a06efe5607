package dev.taskevents.client.internal;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * Makes the client's silent resending visible. A node that fails to answer (a refused connection,
 * a timeout, a 500, 502 or 504) is logged at WARNING, once per kind of failure; its next answer
 * (any HTTP answer but those: a busy 503 is an answer) once at INFO.
 *
 * <p>Invariants:
 * <ul>
 *   <li>A node down for good gives one WARNING per kind, however long it stays down.
 *   <li>A kind is logged again only after the node answered since, and at most once per
 *       {@link #RELOG_AFTER}: a node that flips between failing and answering gives at most a
 *       WARNING and an INFO per kind and period, not one per flip.
 *   <li>Each INFO follows a WARNING of the same node with no INFO between them.
 *   <li>Nothing is logged once the client is closing: the exchanges it aborts are no outage.
 *   <li>One small entry per node address that ever failed; nodes are keyed by {@link NodeAddress}.
 * </ul>
 *
 * <p>Thread-safe; held by the {@link Transport}, through which every request of the client goes.
 */
final class Outages {
    static final Duration RELOG_AFTER = Duration.ofMinutes(1);

    private final System.Logger log;
    private final Duration giveUpAfter;
    private final LongSupplier nanoClock;
    private final ConcurrentMap<NodeAddress, Node> nodes = new ConcurrentHashMap<>();
    private volatile boolean closing;

    /** What has been logged of one node; guarded by its own monitor. */
    private static final class Node {
        /** Per kind: when it was last logged, and whether the node answered since. */
        final Map<String, long[]> logged = new HashMap<>();
        boolean warnedSinceAnswer;
    }

    /** @param giveUpAfter the client's bound, named in the message; zero: none */
    Outages(Duration giveUpAfter) {
        this(giveUpAfter, System.getLogger("dev.taskevents.client"), System::nanoTime);
    }

    Outages(Duration giveUpAfter, System.Logger log, LongSupplier nanoClock) {
        this.giveUpAfter = giveUpAfter;
        this.log = log;
        this.nanoClock = nanoClock;
    }

    /** Whether an HTTP status means the node did not answer usefully (a gateway's or a server's failure). */
    static boolean isFailure(int status) {
        return status == 500 || status == 502 || status == 504;
    }

    /** A try to {@code node} failed, in a way described by {@code kind} (a class or status) and {@code detail}. */
    void failed(URI node, String kind, String detail) {
        if (closing) {
            return;
        }
        Node n = nodes.computeIfAbsent(NodeAddress.of(node), a -> new Node());
        synchronized (n) { // logged under the node's monitor, so its lines come in the order decided
            long now = nanoClock.getAsLong();
            long[] last = n.logged.get(kind); // {when, answered since (1) or not (0)}
            if (last == null || (last[1] == 1 && now - last[0] >= RELOG_AFTER.toNanos())) {
                n.logged.put(kind, new long[] {now, 0});
                n.warnedSinceAnswer = true;
                log.log(System.Logger.Level.WARNING, "taskevents client: " + node + " did not answer usefully ("
                        + detail + "); resending with backoff" + (giveUpAfter.isZero()
                        ? " without end (giveUpAfter is zero)"
                        : ", each event, read or call for up to " + giveUpAfter + " (giveUpAfter)"));
            }
        }
    }

    /** {@code node} answered: a recovery, if a failure was logged since its last answer. */
    void answered(URI node) {
        if (nodes.isEmpty()) {
            return; // the common case: no node ever failed
        }
        Node n = nodes.get(NodeAddress.of(node));
        if (n == null) {
            return;
        }
        synchronized (n) {
            if (n.warnedSinceAnswer && !closing) {
                log.log(System.Logger.Level.INFO, "taskevents client: " + node + " answers again");
            }
            n.warnedSinceAnswer = false;
            n.logged.values().forEach(last -> last[1] = 1);
        }
    }

    /** From now on nothing is logged: the client is closing, and aborts its own exchanges. */
    void closing() {
        closing = true;
    }
}
