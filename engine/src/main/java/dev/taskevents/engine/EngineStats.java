package dev.taskevents.engine;

import java.util.Objects;

/**
 * A {@link TaskEventEngine}'s counters at one moment, each read by its name. Built with
 * {@link #builder()}, where a counter not set is 0; {@link #plus} adds two (the counters of
 * several engines, as the demo's cluster sums its nodes').
 */
public final class EngineStats {
    private final long queued;
    private final int activeKeys;
    private final long applied;
    private final long duplicates;
    private final long stale;
    private final long rejected;
    private final long moved;
    private final long failed;
    private final long sinkFailures;
    private final long pendingWrites;
    private final long batches;
    private final long rowsWritten;
    private final long writeRetries;
    private final long cachedWorkflows;
    private final long stateEventsRetold;

    private EngineStats(Builder b) {
        this.queued = b.queued;
        this.activeKeys = b.activeKeys;
        this.applied = b.applied;
        this.duplicates = b.duplicates;
        this.stale = b.stale;
        this.rejected = b.rejected;
        this.moved = b.moved;
        this.failed = b.failed;
        this.sinkFailures = b.sinkFailures;
        this.pendingWrites = b.pendingWrites;
        this.batches = b.batches;
        this.rowsWritten = b.rowsWritten;
        this.writeRetries = b.writeRetries;
        this.cachedWorkflows = b.cachedWorkflows;
        this.stateEventsRetold = b.stateEventsRetold;
    }

    /** A builder whose counters are all 0. */
    public static Builder builder() {
        return new Builder();
    }

    /** Events accepted and not yet answered. */
    public long queued() {
        return queued;
    }

    /** Workflow instances with an event queued or in progress. */
    public int activeKeys() {
        return activeKeys;
    }

    /** Events that changed a task (acknowledged {@code Applied}). */
    public long applied() {
        return applied;
    }

    /** Events already applied before (resends). */
    public long duplicates() {
        return duplicates;
    }

    /** Events the task had moved past. */
    public long stale() {
        return stale;
    }

    /** Events for unknown task instances or the wrong workflow. */
    public long rejected() {
        return rejected;
    }

    /** Events answered {@code Moved} (cluster mode: the shard is not this node's). */
    public long moved() {
        return moved;
    }

    /** Events whose future failed (the store could not write them). */
    public long failed() {
        return failed;
    }

    /** State events the workflow state sink threw on. */
    public long sinkFailures() {
        return sinkFailures;
    }

    /** Changes waiting for the next batch write. */
    public long pendingWrites() {
        return pendingWrites;
    }

    /** Batch writes committed. */
    public long batches() {
        return batches;
    }

    /** Rows in those batches. */
    public long rowsWritten() {
        return rowsWritten;
    }

    /** Failed batch attempts that were retried. */
    public long writeRetries() {
        return writeRetries;
    }

    /** Workflow snapshots in the cache (estimate). */
    public long cachedWorkflows() {
        return cachedWorkflows;
    }

    /** State events told again from the store's outbox: at start, or after a write whose outcome was unknown or a sink that threw. */
    public long stateEventsRetold() {
        return stateEventsRetold;
    }

    /** Each counter the sum of this one's and {@code other}'s. */
    public EngineStats plus(EngineStats other) {
        return builder()
                .queued(queued + other.queued)
                .activeKeys(activeKeys + other.activeKeys)
                .applied(applied + other.applied)
                .duplicates(duplicates + other.duplicates)
                .stale(stale + other.stale)
                .rejected(rejected + other.rejected)
                .moved(moved + other.moved)
                .failed(failed + other.failed)
                .sinkFailures(sinkFailures + other.sinkFailures)
                .pendingWrites(pendingWrites + other.pendingWrites)
                .batches(batches + other.batches)
                .rowsWritten(rowsWritten + other.rowsWritten)
                .writeRetries(writeRetries + other.writeRetries)
                .cachedWorkflows(cachedWorkflows + other.cachedWorkflows)
                .stateEventsRetold(stateEventsRetold + other.stateEventsRetold)
                .build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineStats s
                && queued == s.queued
                && activeKeys == s.activeKeys
                && applied == s.applied
                && duplicates == s.duplicates
                && stale == s.stale
                && rejected == s.rejected
                && moved == s.moved
                && failed == s.failed
                && sinkFailures == s.sinkFailures
                && pendingWrites == s.pendingWrites
                && batches == s.batches
                && rowsWritten == s.rowsWritten
                && writeRetries == s.writeRetries
                && cachedWorkflows == s.cachedWorkflows
                && stateEventsRetold == s.stateEventsRetold;
    }

    @Override
    public int hashCode() {
        return Objects.hash(queued, activeKeys, applied, duplicates, stale, rejected, moved, failed, sinkFailures,
                pendingWrites, batches, rowsWritten, writeRetries, cachedWorkflows, stateEventsRetold);
    }

    @Override
    public String toString() {
        return "EngineStats[queued=" + queued + ", activeKeys=" + activeKeys + ", applied=" + applied +
                ", duplicates=" + duplicates + ", stale=" + stale + ", rejected=" + rejected +
                ", moved=" + moved + ", failed=" + failed + ", sinkFailures=" + sinkFailures +
                ", pendingWrites=" + pendingWrites + ", batches=" + batches +
                ", rowsWritten=" + rowsWritten + ", writeRetries=" + writeRetries +
                ", cachedWorkflows=" + cachedWorkflows + ", stateEventsRetold=" + stateEventsRetold + "]";
    }

    /** Sets the counters by name; those not set are 0. */
    public static final class Builder {
        private long queued;
        private int activeKeys;
        private long applied;
        private long duplicates;
        private long stale;
        private long rejected;
        private long moved;
        private long failed;
        private long sinkFailures;
        private long pendingWrites;
        private long batches;
        private long rowsWritten;
        private long writeRetries;
        private long cachedWorkflows;
        private long stateEventsRetold;

        private Builder() {
        }

        public Builder queued(long queued) {
            this.queued = queued;
            return this;
        }

        public Builder activeKeys(int activeKeys) {
            this.activeKeys = activeKeys;
            return this;
        }

        public Builder applied(long applied) {
            this.applied = applied;
            return this;
        }

        public Builder duplicates(long duplicates) {
            this.duplicates = duplicates;
            return this;
        }

        public Builder stale(long stale) {
            this.stale = stale;
            return this;
        }

        public Builder rejected(long rejected) {
            this.rejected = rejected;
            return this;
        }

        public Builder moved(long moved) {
            this.moved = moved;
            return this;
        }

        public Builder failed(long failed) {
            this.failed = failed;
            return this;
        }

        public Builder sinkFailures(long sinkFailures) {
            this.sinkFailures = sinkFailures;
            return this;
        }

        public Builder pendingWrites(long pendingWrites) {
            this.pendingWrites = pendingWrites;
            return this;
        }

        public Builder batches(long batches) {
            this.batches = batches;
            return this;
        }

        public Builder rowsWritten(long rowsWritten) {
            this.rowsWritten = rowsWritten;
            return this;
        }

        public Builder writeRetries(long writeRetries) {
            this.writeRetries = writeRetries;
            return this;
        }

        public Builder cachedWorkflows(long cachedWorkflows) {
            this.cachedWorkflows = cachedWorkflows;
            return this;
        }

        public Builder stateEventsRetold(long stateEventsRetold) {
            this.stateEventsRetold = stateEventsRetold;
            return this;
        }

        public EngineStats build() {
            return new EngineStats(this);
        }
    }
}
