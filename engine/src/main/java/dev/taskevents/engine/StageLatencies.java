package dev.taskevents.engine;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Where events' time went, stage by stage: one histogram per {@link Stage} of the durations every
 * event (or every row of a batch) spent in it since the engine started. Read with
 * {@link TaskEventEngine#stageLatencies()}; a snapshot, not a live view.
 *
 * <p>The stages of one event, in order (an event that is retried after a version conflict goes
 * through snapshot and the write stages again):
 * <ol>
 *   <li>{@link Stage#QUEUED}: from {@code submit} until its workflow's turn on the executor (behind
 *       that workflow's earlier events and the other workflows' tasks);
 *   <li>{@link Stage#SNAPSHOT}: settling the workflow's outbox entries if needed, and its snapshot,
 *       from the cache or the store;
 *   <li>{@link Stage#BATCH_WAIT}: from handing its row to the group committer until the write of
 *       the batch holding it starts (waiting for a batch to form, or for a flusher);
 *   <li>{@link Stage#STORE_WRITE}: the store's write of that batch, one transaction: fence, locking
 *       read, updates, outbox and feed, commit; recorded once per row;
 *   <li>{@link Stage#COMPLETION}: from the write's return until the row's answer is taken up on the
 *       completion executor;
 *   <li>{@link Stage#TOTAL}: from {@code submit} to the acknowledgement, all of the above and the
 *       rules' decisions between them.
 * </ol>
 *
 * @param histograms each stage's histogram
 */
public record StageLatencies(Map<Stage, Histogram> histograms) {
    /** A stage of an event's way through the engine. */
    public enum Stage { QUEUED, SNAPSHOT, BATCH_WAIT, STORE_WRITE, COMPLETION, TOTAL }

    /** The buckets' upper bounds in seconds, each inclusive; one more bucket holds what is above the last. */
    public static final List<Double> BOUNDS_SECONDS = List.of(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0);

    public StageLatencies {
        histograms = Map.copyOf(new EnumMap<>(histograms));
    }

    /** The histogram of {@code stage}. */
    public Histogram of(Stage stage) {
        return histograms.get(stage);
    }

    /**
     * One stage's durations.
     *
     * @param counts how many fell in each bucket of {@link #BOUNDS_SECONDS} (not cumulative), and
     *     last how many were above the last bound
     * @param sumNanos their sum
     */
    public record Histogram(List<Long> counts, long sumNanos) {
        public Histogram {
            counts = List.copyOf(counts);
            if (counts.size() != BOUNDS_SECONDS.size() + 1) {
                throw new IllegalArgumentException("a histogram has " + (BOUNDS_SECONDS.size() + 1) + " buckets, not "
                        + counts.size());
            }
        }

        /** How many durations it holds. */
        public long count() {
            return counts.stream().mapToLong(Long::longValue).sum();
        }
    }
}
