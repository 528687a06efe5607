package dev.taskevents.benchmarks;

import dev.taskevents.api.TaskEvent;
import java.util.concurrent.locks.LockSupport;

/**
 * The load both end-to-end benchmarks send: full load (rate 0: two closed-loop senders, as fast as
 * the engine takes events) or an open loop at a fixed rate (one sender, each event at its intended
 * time, so that latency counts from when it should have been sent). Each workflow has one sender,
 * so its events' order is defined.
 */
final class Senders {
    /** Submits event {@code i}, intended to be sent at {@code intendedNanos}. */
    interface Send {
        void send(int i, long intendedNanos);
    }

    private Senders() {}

    /** Sends every event of {@code all} from {@code start} ({@link System#nanoTime()}); returns when all were sent. */
    static void run(TaskEvent[] all, double rate, long start, Send send) throws InterruptedException {
        int senders = rate > 0 ? 1 : 2;
        Thread[] threads = new Thread[senders];
        for (int s = 0; s < senders; s++) {
            int mine = s;
            threads[s] = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < all.length; i++) {
                    if (all[i].workflowInstanceId() % senders != mine) {
                        continue;
                    }
                    long intended = rate > 0 ? start + (long) (i * 1e9 / rate) : System.nanoTime();
                    if (rate > 0) {
                        long wait;
                        while ((wait = intended - System.nanoTime()) > 0) {
                            LockSupport.parkNanos(Math.min(wait, 100_000));
                        }
                    }
                    send.send(i, intended);
                }
            });
        }
        for (Thread thread : threads) {
            thread.join();
        }
    }
}
