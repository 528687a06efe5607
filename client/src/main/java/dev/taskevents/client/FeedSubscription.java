package dev.taskevents.client;

import dev.taskevents.client.internal.FeedPoller;
import dev.taskevents.client.internal.Wire;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Flow;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One subscriber's feed, delivered on a virtual thread of its own.
 *
 * <p>Invariants (Reactive Streams rules, as {@link Flow} states them): {@code onSubscribe} first,
 * then {@code onNext} calls one at a time from that thread, never more in total than requested;
 * a page is polled only while demand is positive and no polled item is left undelivered, so a
 * consumer that requests nothing gets nothing polled (backpressure reaches the server). The feed
 * has no end: {@code onComplete} is never called; {@code onError} is called at most once, with an
 * exception of {@link TaskEventsException} for the feed's final failures, or an
 * {@link IllegalArgumentException} for a request of n &lt;= 0 (rule 3.9). After {@code cancel()},
 * nothing more is signalled and a parked poll is aborted. Polls are paced like
 * {@link FeedReader}'s: a page that came back empty before its wait was up is followed by a pause.
 */
final class FeedSubscription implements Flow.Subscription {
    private final Flow.Subscriber<? super FeedItem> subscriber;
    private final FeedPoller poller;
    private final int limit;
    private final Duration wait;
    private String position;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition demanded = lock.newCondition();
    private long demand; // guarded by lock
    private boolean cancelled; // guarded by lock
    private IllegalArgumentException badRequest; // guarded by lock

    FeedSubscription(Flow.Subscriber<? super FeedItem> subscriber, FeedPoller poller, FeedCursor after, int limit,
                     Duration wait) {
        this.subscriber = subscriber;
        this.poller = poller;
        this.limit = limit;
        this.wait = wait;
        this.position = after.queryValue();
    }

    void start() {
        Thread.ofVirtual().name("taskevents-feed-subscription").start(this::run);
    }

    private void run() {
        ArrayDeque<FeedItem> page = new ArrayDeque<>();
        try {
            subscriber.onSubscribe(this);
            while (awaitDemand()) {
                if (page.isEmpty()) {
                    Wire.Page next = poller.poll(position, limit, wait);
                    for (Wire.Entry entry : next.events()) {
                        page.addLast(new FeedItem(entry.event(), FeedCursor.parse(entry.cursor())));
                    }
                    position = next.next();
                    continue;
                }
                lock.lock();
                try {
                    demand--;
                } finally {
                    lock.unlock();
                }
                subscriber.onNext(page.pollFirst());
            }
        } catch (CancellationException | InterruptedException e) {
            // cancelled: nothing more is signalled, unless the cancel was a bad request(n)
            IllegalArgumentException bad;
            lock.lock();
            try {
                bad = badRequest;
                badRequest = null;
            } finally {
                lock.unlock();
            }
            if (bad != null) {
                subscriber.onError(bad);
            }
        } catch (RuntimeException e) {
            if (!isCancelled()) {
                cancelSilently();
                subscriber.onError(e);
            }
        }
    }

    /** Waits for demand; false once cancelled (after signalling a bad request, if that was why). */
    private boolean awaitDemand() throws InterruptedException {
        IllegalArgumentException bad;
        lock.lock();
        try {
            while (demand == 0 && !cancelled) {
                demanded.await();
            }
            bad = badRequest;
            badRequest = null;
            if (bad == null) {
                return !cancelled;
            }
        } finally {
            lock.unlock();
        }
        subscriber.onError(bad);
        return false;
    }

    @Override
    public void request(long n) {
        lock.lock();
        try {
            if (cancelled) {
                return;
            }
            if (n <= 0) {
                badRequest = new IllegalArgumentException("request(" + n + "): a subscriber must request a positive"
                        + " number of items (Reactive Streams rule 3.9)");
                cancelled = true;
            } else {
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            }
            demanded.signalAll();
        } finally {
            lock.unlock();
        }
        if (n <= 0) {
            poller.cancel();
        }
    }

    @Override
    public void cancel() {
        cancelSilently();
    }

    private void cancelSilently() {
        lock.lock();
        try {
            cancelled = true;
            demanded.signalAll();
        } finally {
            lock.unlock();
        }
        poller.cancel();
    }

    private boolean isCancelled() {
        lock.lock();
        try {
            return cancelled;
        } finally {
            lock.unlock();
        }
    }
}
