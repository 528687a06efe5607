package dev.taskevents.engine;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Rows found in the store at a version below one this engine read or committed: the database lost
 * committed changes (a failover to a replica that had not received them, a restore from a backup,
 * a row edited by hand). Versions only grow, so this cannot happen otherwise; events acknowledged
 * for those changes may be lost, and the engine goes on from what the store holds.
 *
 * <p>Each finding is counted; the first is logged at WARNING at once, later ones at most once a
 * {@link #LOG_INTERVAL_NANOS minute} with the count since the last line (and what is left when the
 * engine closes), so that a failover that lost thousands of changes logs a few lines, not thousands.
 * The engine checks where it reads a row anyway to decide (a conflict, an unknown outcome, a
 * duplicate or stale answer confirmed): a lost change of a task it does not hear of again, or
 * whose workflow it no longer caches, is not seen.
 */
final class LostCommits {
    static final long LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final System.Logger log;
    private final LongSupplier nanoClock;
    private final AtomicLong found = new AtomicLong();
    private final AtomicLong unlogged = new AtomicLong();
    private final Object logLock = new Object();
    private long lastLogged;
    private boolean loggedOnce;

    LostCommits(System.Logger log, LongSupplier nanoClock) {
        this.log = log;
        this.nanoClock = nanoClock;
    }

    /** Logs the findings not logged yet (the rest of a burst), if any: when the engine closes. */
    void logUnlogged() {
        long count = unlogged.getAndSet(0);
        if (count > 0) {
            log.log(Level.WARNING, "the store lost committed changes: " + count + " more rows were found behind a"
                    + " version this engine read or committed since the last such line");
        }
    }

    /** How many rows were found behind a version this engine knew. */
    long count() {
        return found.get();
    }

    /**
     * Task instance {@code taskInstanceId} is stored at {@code storedVersion}; this engine knew it at
     * {@code knownVersion}. Counts and logs if the store is behind; otherwise does nothing.
     */
    void check(long taskInstanceId, long storedVersion, long knownVersion) {
        if (storedVersion >= knownVersion) {
            return;
        }
        found.incrementAndGet();
        unlogged.incrementAndGet();
        synchronized (logLock) {
            long now = nanoClock.getAsLong();
            if (loggedOnce && now - lastLogged < LOG_INTERVAL_NANOS) {
                return;
            }
            long count = unlogged.getAndSet(0);
            loggedOnce = true;
            lastLogged = now;
            log.log(Level.WARNING, "the store lost committed changes: task instance " + taskInstanceId + " is at version "
                    + storedVersion + " in the store, behind version " + knownVersion + " this engine read or committed"
                    + (count > 1 ? " (" + count + " rows found so since the last such line)" : "")
                    + ". The database went back in time: a failover to a replica that had not received every commit,"
                    + " or a restore. Events acknowledged for the lost changes are lost; the engine goes on from the"
                    + " stored rows.");
        }
    }
}
