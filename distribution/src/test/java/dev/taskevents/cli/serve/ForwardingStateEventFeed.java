package dev.taskevents.cli.serve;

import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import java.time.Duration;

/** A state-event feed that forwards every call to a real one; a test overrides those it holds, hooks or counts. */
class ForwardingStateEventFeed implements StateEventFeed {
    final StateEventFeed real;

    ForwardingStateEventFeed(StateEventFeed real) {
        this.real = real;
    }

    @Override
    public long feedId() {
        return real.feedId();
    }

    @Override
    public FeedPage read(long after, int limit) {
        return real.read(after, limit);
    }

    @Override
    public long head() {
        return real.head();
    }

    @Override
    public long prunedThrough() {
        return real.prunedThrough();
    }

    @Override
    public long prune(Duration retention, int maxEvents) {
        return real.prune(retention, maxEvents);
    }

    @Override
    public void addListener(Runnable appended) {
        real.addListener(appended);
    }

    @Override
    public void removeListener(Runnable appended) {
        real.removeListener(appended);
    }
}
