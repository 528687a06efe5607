package dev.taskevents.benchmarks;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToDoubleFunction;

/**
 * The state-event feed (issue #14) on PostgreSQL, in one run: the engine in record-only feed mode
 * ({@code TaskEventEngine.Builder.stateFeed}, no sink) on the JDBC store, and a consumer reading
 * the feed from its start concurrently, through the store's {@link StateEventFeed} in this JVM
 * (what serve's {@code GET /v1/state-events} calls per poll, without the HTTP hop).
 *
 * <pre>
 * benchmarks/run FeedBenchmark [reps] [workflows]     # defaults 5 and 4,000 (40,000 events per run)
 * </pre>
 *
 * <ul>
 *   <li><b>Full load</b>: 2 threads submit as fast as backpressure allows, in three modes that
 *       alternate run by run so that drift hits all alike: no feed (the baseline), the feed
 *       without a consumer (the write's cost alone) and the feed with the consumer (what a
 *       deployment runs; the consumer shares the 2 cores and the pool). The window is from the
 *       first send to the last ack: group-commit events/s is the events over it; the consumer's
 *       events/s is what it had received by the last ack over the same window; its lag is the
 *       events it had not yet received then, and the catch-up the time it took to get them.
 *   <li><b>Half load</b>: one thread sends open loop at half the full rate measured with the feed
 *       and consumer. Per event: the intended send time, the ack (the engine completes it after
 *       the batch's commit returned) and the consumer's receipt, all {@link System#nanoTime()} of
 *       this JVM. "Commit to consumer" is receipt minus ack: negative when the consumer read the
 *       event before the submitter's ack callback ran (the feed wakes the consumer right after the
 *       commit, before the acks are completed). Also the receipt minus the change's own
 *       {@code committedAt} (the engine's wall clock when it decided the change, before the write:
 *       an upper bound that includes the batch write), same machine, same clock.
 * </ul>
 * The consumer is woken by the feed's listener after each commit (as serve wakes parked polls),
 * re-reads after 1 ms at a hole, and otherwise waits at most 20 ms (serve's head poll). It checks
 * that it got every event exactly once and each task's RUNNING before its RESULT; a run that
 * breaks that throws {@link FeedViolation}.
 */
public final class FeedBenchmark {
    private static final int PAGE = 1_000;

    private FeedBenchmark() {}

    public static void main(String[] args) throws Exception {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int workflows = args.length > 1 ? Integer.parseInt(args[1]) : 4_000;
        String url = System.getenv().getOrDefault("TASKEVENTS_TEST_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        Report report = measure(new EndToEndBenchmark.Target("PostgreSQL", url), workflows, reps, 2, System.out);
        System.out.println();
        report.markdown().forEach(System.out::println);
    }

    /** The modes of a full-load run. */
    enum Mode {
        BASELINE("no feed (baseline)", false, false),
        FEED_ONLY("feed, no consumer", true, false),
        FEED("feed + consumer", true, true);

        final String label;
        final boolean feed;
        final boolean consumer;

        Mode(String label, boolean feed, boolean consumer) {
            this.label = label;
            this.feed = feed;
            this.consumer = consumer;
        }
    }

    /**
     * One full-load run.
     *
     * @param groupCommitRate events over the window from the first send to the last ack, per second
     * @param consumerRate events the consumer had received by the last ack, over the same window (NaN without one)
     * @param lagAtEnd events the consumer had not received by the last ack
     * @param catchUpMs from the last ack to the consumer's last receipt (0 if it had them all)
     * @param reads the consumer's feed reads
     */
    record FullLoad(Mode mode, double groupCommitRate, double consumerRate, long lagAtEnd, double catchUpMs,
                    double rowsPerBatch, long reads) {}

    /** One half-load run; latencies in ms. */
    record HalfLoad(double rate, double ackP50, double ackP99, double commitToConsumerP50,
                    double commitToConsumerP99, double commitToConsumerMax, double beforeAckShare,
                    double sendToConsumerP99, double changeTimeToConsumerP99, double rowsPerBatch, long reads) {}

    /** Everything one {@link #measure} found, and the machine's load average around it. */
    record Report(int workflows, int events, String loadBefore, String loadAfter, List<FullLoad> full,
                  List<HalfLoad> half) {
        List<String> markdown() {
            List<String> md = new ArrayList<>();
            md.add(String.format(Locale.ROOT, "PostgreSQL, %,d workflows x %d tasks, RUNNING and RESULT each (%,d events"
                    + " per run); %d runs per mode, medians (min-max); load average before / after: %s / %s.",
                    workflows, EndToEndBenchmark.TASKS_PER_WORKFLOW, events, full.size() / Mode.values().length,
                    loadBefore, loadAfter));
            md.add("");
            md.add("| full load | group-commit events/s | consumer events/s, same window | consumer lag at last ack"
                    + " (events) | catch-up ms | rows per commit | vs baseline |");
            md.add("|---|---|---|---|---|---|---|");
            double baseline = median(of(Mode.BASELINE), FullLoad::groupCommitRate);
            for (Mode mode : Mode.values()) {
                List<FullLoad> runs = of(mode);
                double rate = median(runs, FullLoad::groupCommitRate);
                md.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %.0f | %.3f |", mode.label,
                        spread(runs, FullLoad::groupCommitRate, "%,.0f"),
                        mode.consumer ? spread(runs, FullLoad::consumerRate, "%,.0f") : "",
                        mode.consumer ? spread(runs, r -> r.lagAtEnd, "%,.0f") : "",
                        mode.consumer ? spread(runs, FullLoad::catchUpMs, "%.1f") : "",
                        median(runs, FullLoad::rowsPerBatch), rate / baseline));
            }
            md.add("");
            md.add("Per run, group-commit events/s (baseline / feed, no consumer / feed + consumer): "
                    + String.join(", ", perRun()) + ".");
            md.add("");
            md.add("| half load | sent events/s | ack p50 / p99 ms | commit to consumer p50 ms | p99 ms | max ms"
                    + " | read before the ack | send to consumer p99 ms | change time to consumer p99 ms |");
            md.add("|---|---|---|---|---|---|---|---|---|");
            md.add(String.format(Locale.ROOT, "| feed + consumer | %,.0f | %.2f / %.2f | %s | %s | %s | %s | %s | %s |",
                    median(half, HalfLoad::rate), median(half, HalfLoad::ackP50), median(half, HalfLoad::ackP99),
                    spread(half, HalfLoad::commitToConsumerP50, "%.2f"),
                    spread(half, HalfLoad::commitToConsumerP99, "%.2f"),
                    spread(half, HalfLoad::commitToConsumerMax, "%.2f"),
                    spread(half, h -> 100 * h.beforeAckShare(), "%.0f%%"),
                    spread(half, HalfLoad::sendToConsumerP99, "%.2f"),
                    spread(half, HalfLoad::changeTimeToConsumerP99, "%.2f")));
            return md;
        }

        private List<FullLoad> of(Mode mode) {
            return full.stream().filter(r -> r.mode() == mode).toList();
        }

        private List<String> perRun() {
            List<String> runs = new ArrayList<>();
            for (int i = 0; i + Mode.values().length <= full.size(); i += Mode.values().length) {
                runs.add(String.format(Locale.ROOT, "%,.0f / %,.0f / %,.0f", full.get(i).groupCommitRate(),
                        full.get(i + 1).groupCommitRate(), full.get(i + 2).groupCommitRate()));
            }
            return runs;
        }
    }

    /**
     * Warm-up, then {@code reps} rounds of the three full-load modes, then {@code reps} half-load
     * runs at half the median full rate of the feed with its consumer.
     */
    static Report measure(EndToEndBenchmark.Target target, int workflows, int reps, int warmUps, PrintStream progress)
            throws Exception {
        String loadBefore = loadAverage();
        for (int i = 0; i < warmUps; i++) {
            for (Mode mode : Mode.values()) {
                fullLoad(target, Math.max(100, workflows / 2), mode);
            }
        }
        List<FullLoad> full = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            for (Mode mode : Mode.values()) {
                full.add(fullLoad(target, workflows, mode));
                progress.println("feed, full load, rep " + (rep + 1) + ": " + full.getLast());
            }
        }
        double feedRate = median(full.stream().filter(r -> r.mode() == Mode.FEED).toList(), FullLoad::groupCommitRate);
        List<HalfLoad> half = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            half.add(halfLoad(target, workflows, feedRate / 2));
            progress.println("feed, half load, rep " + (rep + 1) + ": " + half.getLast());
        }
        return new Report(workflows, workflows * EndToEndBenchmark.TASKS_PER_WORKFLOW * 2, loadBefore, loadAverage(),
                full, half);
    }

    static FullLoad fullLoad(EndToEndBenchmark.Target target, int workflows, Mode mode) throws Exception {
        Run run = run(target, workflows, 0, mode);
        int events = run.acked.length;
        long lastAck = Arrays.stream(run.acked).max().orElseThrow();
        double window = (lastAck - run.start) / 1e9;
        if (!mode.consumer) {
            return new FullLoad(mode, events / window, Double.NaN, 0, 0, run.rowsPerBatch, 0);
        }
        long byLastAck = Arrays.stream(run.received).filter(t -> t <= lastAck).count();
        long lastReceipt = Arrays.stream(run.received).max().orElseThrow();
        return new FullLoad(mode, events / window, byLastAck / window, events - byLastAck,
                Math.max(0, lastReceipt - lastAck) / 1e6, run.rowsPerBatch, run.reads);
    }

    static HalfLoad halfLoad(EndToEndBenchmark.Target target, int workflows, double rate) throws Exception {
        Run run = run(target, workflows, rate, Mode.FEED);
        int events = run.acked.length;
        long[] ack = new long[events];
        long[] commitToConsumer = new long[events];
        long[] sendToConsumer = new long[events];
        int beforeAck = 0;
        for (int i = 0; i < events; i++) {
            ack[i] = run.acked[i] - run.intended[i];
            commitToConsumer[i] = run.received[i] - run.acked[i];
            sendToConsumer[i] = run.received[i] - run.intended[i];
            beforeAck += commitToConsumer[i] < 0 ? 1 : 0;
        }
        long[] changeTime = run.changeTimeToReceipt.clone();
        Arrays.sort(ack);
        Arrays.sort(commitToConsumer);
        Arrays.sort(sendToConsumer);
        Arrays.sort(changeTime);
        long lastAck = Arrays.stream(run.acked).max().orElseThrow();
        return new HalfLoad(events / ((lastAck - run.start) / 1e9), Stats.percentileMillis(ack, 0.5),
                Stats.percentileMillis(ack, 0.99), Stats.percentileMillis(commitToConsumer, 0.5),
                Stats.percentileMillis(commitToConsumer, 0.99), commitToConsumer[events - 1] / 1e6,
                (double) beforeAck / events, Stats.percentileMillis(sendToConsumer, 0.99),
                Stats.percentileMillis(changeTime, 0.99), run.rowsPerBatch, run.reads);
    }

    /** What one run recorded, per event slot of {@link EndToEndBenchmark#workload} (nanoTime). */
    private record Run(long start, long[] intended, long[] acked, long[] received, long[] changeTimeToReceipt,
                       double rowsPerBatch, long reads) {}

    /** Full load ({@code rate} 0: 2 closed-loop senders) or open loop at {@code rate} (1 sender). */
    private static Run run(EndToEndBenchmark.Target target, int workflows, double rate, Mode mode) throws Exception {
        String url = target.freshUrl();
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            TaskEvent[] all = EndToEndBenchmark.workload(store, workflows);
            int events = all.length;
            long[] intended = new long[events];
            long[] acked = new long[events];
            CompletableFuture<?>[] acks = new CompletableFuture<?>[events];
            TaskEventEngine.Builder builder = TaskEventEngine.builder().store(store).maxCommitBatch(1_000)
                    .maxQueued(20_000).submitTimeout(Duration.ofMinutes(5));
            if (mode.feed) {
                builder.stateFeed(Duration.ofHours(1));
            }
            Consumer consumer = null;
            EngineStats stats;
            long start;
            try (TaskEventEngine engine = builder.build()) {
                if (mode.consumer) {
                    consumer = new Consumer(store.stateFeed().orElseThrow(), workflows, events);
                }
                start = System.nanoTime() + 10_000_000;
                int senders = rate > 0 ? 1 : 2;
                Thread[] threads = new Thread[senders];
                for (int s = 0; s < senders; s++) {
                    int first = s;
                    threads[s] = Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < events; i++) {
                            if (all[i].workflowInstanceId() % senders != first) {
                                continue; // each workflow has one sender, so its order is defined
                            }
                            long at = rate > 0 ? start + (long) (i * 1e9 / rate) : System.nanoTime();
                            if (rate > 0) {
                                long wait;
                                while ((wait = at - System.nanoTime()) > 0) {
                                    LockSupport.parkNanos(Math.min(wait, 100_000));
                                }
                            }
                            int slot = i;
                            intended[slot] = at;
                            acks[slot] = engine.submit(all[i]).thenAccept((Acknowledgement a) -> {
                                acked[slot] = System.nanoTime();
                                if (!(a instanceof Acknowledgement.Applied)) {
                                    throw new IllegalStateException("expected Applied, got " + a);
                                }
                            });
                        }
                    });
                }
                for (Thread thread : threads) {
                    thread.join();
                }
                CompletableFuture.allOf(acks).get(10, TimeUnit.MINUTES);
                stats = engine.stats();
                if (consumer != null) {
                    consumer.awaitAll(Duration.ofMinutes(2));
                }
            } finally {
                if (consumer != null) {
                    consumer.close();
                }
            }
            double rowsPerBatch = (double) stats.rowsWritten() / stats.batches();
            return consumer == null
                    ? new Run(start, intended, acked, null, null, rowsPerBatch, 0)
                    : new Run(start, intended, acked, consumer.received, consumer.changeTimeToReceipt, rowsPerBatch,
                            consumer.reads);
        } finally {
            target.drop(url);
        }
    }

    /**
     * Reads the feed from its start on a thread of its own until it has every event of the run.
     * Woken by the feed's listener after each local commit; the listener's unpark before the park
     * makes the park return at once, so a commit between a read and the park is not slept through.
     * Fields other than {@link #count} are written by the consumer thread only and read after
     * {@link #awaitAll} (the thread's end happens-before the join).
     */
    private static final class Consumer implements AutoCloseable {
        private final StateEventFeed feed;
        private final int workflows;
        final long[] received;
        final long[] changeTimeToReceipt;
        private final long[] position;
        private final Thread thread;
        private final Runnable wake;
        private volatile boolean closed;
        private volatile int count;
        private volatile RuntimeException failure;
        long reads;

        Consumer(StateEventFeed feed, int workflows, int events) {
            this.feed = feed;
            this.workflows = workflows;
            this.received = new long[events];
            this.changeTimeToReceipt = new long[events];
            this.position = new long[events];
            this.thread = Thread.ofPlatform().name("feed-consumer").unstarted(this::consume);
            this.wake = () -> LockSupport.unpark(thread);
            feed.addListener(wake);
            thread.start();
        }

        private void consume() {
            try {
                long after = 0;
                int got = 0;
                while (!closed && got < received.length) {
                    FeedPage page = feed.read(after, PAGE);
                    long now = System.nanoTime();
                    long nowMicros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
                    reads++;
                    for (FeedEvent e : page.events()) {
                        StateEvent event = e.event();
                        int slot = EndToEndBenchmark.slotOf(event.taskInstanceId(), event.eventType(), workflows);
                        if (received[slot] != 0) {
                            throw new FeedViolation("the feed gave " + event + " twice, at positions "
                                    + position[slot] + " and " + e.position());
                        }
                        received[slot] = now;
                        position[slot] = e.position();
                        changeTimeToReceipt[slot] = (nowMicros
                                - ChronoUnit.MICROS.between(Instant.EPOCH, event.committedAt())) * 1_000;
                        got++;
                    }
                    count = got;
                    after = page.next(after);
                    if (page.events().isEmpty()) {
                        LockSupport.parkNanos(page.stoppedAtHole() ? 1_000_000 : 20_000_000);
                    }
                }
            } catch (RuntimeException e) {
                failure = e;
            }
        }

        void awaitAll(Duration bound) throws InterruptedException {
            thread.join(bound);
            if (failure != null) {
                throw failure;
            }
            if (thread.isAlive()) {
                throw new FeedViolation("the feed consumer had " + count + " of " + received.length
                        + " events after " + bound);
            }
            for (int slot = 0; slot < received.length / 2; slot++) {
                // Slot layout (EndToEndBenchmark.workload): task t's RUNNING at 2t*W + wf-1, its RESULT W later.
                int t = slot / workflows;
                int wf = slot % workflows;
                int running = 2 * t * workflows + wf;
                int result = running + workflows;
                if (position[running] >= position[result]) {
                    throw new FeedViolation("the feed gave task " + ((wf + 1) * 10L + t) + "'s RESULT (position "
                            + position[result] + ") before its RUNNING (position " + position[running] + ")");
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            feed.removeListener(wake);
            LockSupport.unpark(thread);
            thread.join();
        }
    }

    /** The feed broke its promise in a run: an event missed, repeated or out of its task's order. */
    static final class FeedViolation extends RuntimeException {
        FeedViolation(String message) {
            super(message);
        }
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
    }

    static <T> double median(List<T> runs, ToDoubleFunction<T> value) {
        return Stats.of(runs.stream().mapToDouble(value).toArray()).median();
    }

    private static <T> String spread(List<T> runs, ToDoubleFunction<T> value, String format) {
        Stats s = Stats.of(runs.stream().mapToDouble(value).toArray());
        String median = String.format(Locale.ROOT, format, s.median());
        return runs.size() < 2 ? median
                : median + " (" + String.format(Locale.ROOT, format, s.min()) + "-"
                        + String.format(Locale.ROOT, format, s.max()) + ")";
    }
}
