package dev.taskevents.api.spi;

/**
 * A durable log of state events a store keeps: where a {@link WriteBatch} records the
 * notifications ({@link RowUpdate#notification()}) of its APPLIED rows, in the batch's own
 * transaction ({@link WriteBatch#withRecordIn}).
 */
public enum StateEventLog {
    /**
     * The outbox ({@link TaskInstanceStore#pendingStateEvents}): entries kept until removed, for
     * an engine that tells a sink. Small by design: it holds only what was not told yet.
     */
    OUTBOX,
    /**
     * The state-event feed ({@link TaskInstanceStore#stateFeed()}): every change at a gapless
     * position, kept for a retention period, for readers that follow it with a cursor.
     */
    FEED
}
