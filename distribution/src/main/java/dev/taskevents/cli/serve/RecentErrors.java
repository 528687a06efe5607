package dev.taskevents.cli.serve;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The errors serve answered with an error id, the last {@link #KEPT} of them, for the status page:
 * when, the id (the same as in the answer and the log line), and a kind naming what failed, never
 * an exception's message. Thread-safe.
 */
final class RecentErrors {
    static final int KEPT = 10;

    /** One error: when it was answered, its id, and what failed. */
    record Entry(Instant at, String id, String kind) {}

    private final ArrayDeque<Entry> entries = new ArrayDeque<>(KEPT);

    /** A new error id, recorded with {@code kind}: it ties an answer to its log line and to the status page. */
    String newId(String kind) {
        String id = UUID.randomUUID().toString().substring(0, 8);
        synchronized (this) {
            if (entries.size() == KEPT) {
                entries.removeLast();
            }
            entries.addFirst(new Entry(Instant.now(), id, kind));
        }
        return id;
    }

    /** The errors kept, newest first. */
    synchronized List<Entry> newestFirst() {
        return new ArrayList<>(entries);
    }
}
