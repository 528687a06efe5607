package dev.taskevents.benchmarks;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.cli.serve.EventServer;
import dev.taskevents.cli.serve.ServerSettings;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
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
 * The state-event feed on PostgreSQL, in one run: the engine in record-only feed mode
 * ({@code TaskEventEngine.Builder.stateFeed}, no sink) on the JDBC store, and a consumer reading
 * the feed from its start concurrently, two ways: through the store's {@link StateEventFeed} in
 * this JVM (what serve's {@code GET /v1/state-events} calls per poll, without the HTTP hop), and
 * the real consumer path: serve's {@link EventServer} in this JVM over the same engine and store,
 * read over loopback HTTP by the client's {@link FeedReader} (long polls of up to 1,000 events).
 * Events are submitted to the engine directly in every mode (not POSTed), so the write path is
 * the same as the baseline's and only the feed differs.
 *
 * <pre>
 * benchmarks/run FeedBenchmark [reps] [workflows]     # defaults 5 and 4,000 (40,000 events per run)
 * </pre>
 *
 * <ul>
 *   <li><b>Full load</b>: 2 threads submit as fast as backpressure allows, in four modes that
 *       alternate run by run so that drift hits all alike: no feed (the baseline), the feed
 *       without a consumer (the write's cost alone), the feed with the in-JVM consumer and the
 *       feed with the HTTP consumer (what a deployment runs; the consumer shares the 2 cores and,
 *       in-JVM, the pool). The window is from the first send to the last ack: group-commit
 *       events/s is the events over it; the consumer's events/s is what it had received by the
 *       last ack over the same window; its lag is the events it had not yet received then, and
 *       the catch-up the time it took to get them.
 *   <li><b>Half load</b>: one thread sends open loop at half the lower of the two full rates
 *       measured with a consumer, once with each consumer. Per event: the intended send time, the
 *       ack (the engine completes it after the batch's commit returned) and the consumer's
 *       receipt, all {@link System#nanoTime()} of
 *       this JVM. "Commit to consumer" is receipt minus ack: negative when the consumer read the
 *       event before the submitter's ack callback ran (the feed wakes the consumer right after the
 *       commit, before the acks are completed). Also the receipt minus the change's own
 *       {@code committedAt} (the engine's wall clock when it decided the change, before the write:
 *       an upper bound that includes the batch write), same machine, same clock.
 * </ul>
 * The in-JVM consumer is woken by the feed's listener after each commit (as serve wakes parked
 * polls), re-reads after 1 ms at a hole, and otherwise waits at most 20 ms (serve's head poll).
 * The HTTP consumer's receipt of an event is when {@link FeedReader#next()} returned it. Each
 * checks that it got every event exactly once and each task's RUNNING before its RESULT; a run
 * that breaks that throws {@link FeedViolation}.
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
        FEED("feed + consumer in the JVM", true, true),
        FEED_HTTP("feed + consumer over HTTP (serve, client FeedReader)", true, true);

        final String label;
        final boolean feed;
        final boolean consumer;

        Mode(String label, boolean feed, boolean consumer) {
            this.label = label;
            this.feed = feed;
            this.consumer = consumer;
        }

        private static List<Mode> withConsumer() {
            return List.of(FEED, FEED_HTTP);
        }
    }

    /**
     * One full-load run.
     *
     * @param groupCommitRate events over the window from the first send to the last ack, per second
     * @param consumerRate events the consumer had received by the last ack, over the same window (NaN without one)
     * @param lagAtEnd events the consumer had not received by the last ack
     * @param catchUpMs from the last ack to the consumer's last receipt (0 if it had them all)
     * @param reads the in-JVM consumer's feed reads (0 over HTTP: serve counts those)
     */
    record FullLoad(Mode mode, double groupCommitRate, double consumerRate, long lagAtEnd, double catchUpMs,
                    double rowsPerBatch, long reads) {}

    /** One half-load run; latencies in ms. */
    record HalfLoad(Mode mode, double rate, double ackP50, double ackP99, double commitToConsumerP50,
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
            md.add("Per run, group-commit events/s (" + String.join(" / ", Arrays.stream(Mode.values())
                    .map(m -> m.label).toList()) + "): " + String.join(", ", perRun()) + ".");
            md.add("");
            md.add("| half load | sent events/s | ack p50 / p99 ms | commit to consumer p50 ms | p99 ms | max ms"
                    + " | read before the ack | send to consumer p99 ms | change time to consumer p99 ms |");
            md.add("|---|---|---|---|---|---|---|---|---|");
            for (Mode mode : Mode.withConsumer()) {
                List<HalfLoad> runs = half.stream().filter(h -> h.mode() == mode).toList();
                md.add(String.format(Locale.ROOT, "| %s | %,.0f | %.2f / %.2f | %s | %s | %s | %s | %s | %s |",
                        mode.label, median(runs, HalfLoad::rate), median(runs, HalfLoad::ackP50),
                        median(runs, HalfLoad::ackP99), spread(runs, HalfLoad::commitToConsumerP50, "%.2f"),
                        spread(runs, HalfLoad::commitToConsumerP99, "%.2f"),
                        spread(runs, HalfLoad::commitToConsumerMax, "%.2f"),
                        spread(runs, h -> 100 * h.beforeAckShare(), "%.0f%%"),
                        spread(runs, HalfLoad::sendToConsumerP99, "%.2f"),
                        spread(runs, HalfLoad::changeTimeToConsumerP99, "%.2f")));
            }
            return md;
        }

        private List<FullLoad> of(Mode mode) {
            return full.stream().filter(r -> r.mode() == mode).toList();
        }

        private List<String> perRun() {
            List<String> runs = new ArrayList<>();
            int modes = Mode.values().length;
            for (int i = 0; i + modes <= full.size(); i += modes) {
                runs.add(String.join(" / ", full.subList(i, i + modes).stream()
                        .map(r -> String.format(Locale.ROOT, "%,.0f", r.groupCommitRate())).toList()));
            }
            return runs;
        }
    }

    /**
     * Warm-up, then {@code reps} rounds of the full-load modes, then {@code reps} half-load runs
     * with each consumer at half the lower of the two consumers' median full rates.
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
        double feedRate = Mode.withConsumer().stream().mapToDouble(mode -> median(full.stream()
                .filter(r -> r.mode() == mode).toList(), FullLoad::groupCommitRate)).min().orElseThrow();
        List<HalfLoad> half = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            for (Mode mode : Mode.withConsumer()) {
                half.add(halfLoad(target, workflows, feedRate / 2, mode));
                progress.println("feed, half load, rep " + (rep + 1) + ": " + half.getLast());
            }
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

    static HalfLoad halfLoad(EndToEndBenchmark.Target target, int workflows, double rate, Mode mode)
            throws Exception {
        Run run = run(target, workflows, rate, mode);
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
        return new HalfLoad(mode, events / ((lastAck - run.start) / 1e9), Stats.percentileMillis(ack, 0.5),
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
                if (mode == Mode.FEED) {
                    consumer = new StoreConsumer(store.stateFeed().orElseThrow(), workflows, events);
                } else if (mode == Mode.FEED_HTTP) {
                    consumer = new HttpConsumer(engine, store, workflows, events);
                }
                start = System.nanoTime() + 10_000_000;
                Senders.run(all, rate, start, (slot, at) -> {
                    intended[slot] = at;
                    acks[slot] = engine.submit(all[slot]).thenAccept((Acknowledgement a) -> {
                        acked[slot] = System.nanoTime();
                        if (!(a instanceof Acknowledgement.Applied)) {
                            throw new IllegalStateException("expected Applied, got " + a);
                        }
                    });
                });
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
     * Reads the feed from its start on a thread of its own until it has every event of the run,
     * and records when each arrived. Fields other than {@link #count} are written by the consumer
     * thread only and read after {@link #awaitAll} (the thread's end happens-before the join).
     */
    private abstract static sealed class Consumer implements AutoCloseable permits StoreConsumer, HttpConsumer {
        private final int workflows;
        final long[] received;
        final long[] changeTimeToReceipt;
        /** The order of receipt, from 1: the feed's order, whichever way it is read. */
        private final long[] position;
        final Thread thread;
        volatile boolean closed;
        private volatile int count;
        private volatile RuntimeException failure;
        long reads;

        Consumer(int workflows, int events) {
            this.workflows = workflows;
            this.received = new long[events];
            this.changeTimeToReceipt = new long[events];
            this.position = new long[events];
            this.thread = Thread.ofPlatform().name("feed-consumer").unstarted(this::run);
        }

        /** Reads until {@link #done()}; calls {@link #received} for each event. */
        abstract void consume() throws Exception;

        boolean done() {
            return closed || count == received.length;
        }

        final void received(StateEvent event, long nanos, long wallMicros) {
            int slot = EndToEndBenchmark.slotOf(event.taskInstanceId(), event.eventType(), workflows);
            if (received[slot] != 0) {
                throw new FeedViolation("the feed gave " + event + " twice, as event " + position[slot] + " and "
                        + (count + 1));
            }
            received[slot] = nanos;
            changeTimeToReceipt[slot] = (wallMicros - ChronoUnit.MICROS.between(Instant.EPOCH, event.committedAt()))
                    * 1_000;
            position[slot] = ++count;
        }

        private void run() {
            try {
                consume();
            } catch (Exception e) {
                failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
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
                    throw new FeedViolation("the feed gave task " + ((wf + 1) * 10L + t) + "'s RESULT (event "
                            + position[result] + ") before its RUNNING (event " + position[running] + ")");
                }
            }
        }

        static long wallMicros() {
            return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
        }
    }

    /**
     * Reads the store's feed directly. Woken by the feed's listener after each local commit; the
     * listener's unpark before the park makes the park return at once, so a commit between a
     * read and the park is not slept through.
     */
    private static final class StoreConsumer extends Consumer {
        private final StateEventFeed feed;
        private final Runnable wake;

        StoreConsumer(StateEventFeed feed, int workflows, int events) {
            super(workflows, events);
            this.feed = feed;
            this.wake = () -> LockSupport.unpark(thread);
            feed.addListener(wake);
            thread.start();
        }

        @Override
        void consume() {
            long after = 0;
            while (!done()) {
                FeedPage page = feed.read(after, PAGE);
                long now = System.nanoTime();
                long nowMicros = wallMicros();
                reads++;
                for (FeedEvent e : page.events()) {
                    received(e.event(), now, nowMicros);
                }
                after = page.next(after);
                if (page.events().isEmpty()) {
                    LockSupport.parkNanos(page.stoppedAtHole() ? 1_000_000 : 20_000_000);
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

    /**
     * serve's endpoint over the run's engine and store, on a free loopback port, read by the
     * client's {@link FeedReader} from the oldest event (long polls: {@code wait} 10 s).
     */
    private static final class HttpConsumer extends Consumer {
        private final EventServer server;
        private final TaskEventsClient client;
        private final FeedReader reader;

        HttpConsumer(TaskEventEngine engine, TaskInstanceStore store, int workflows, int events) throws IOException {
            super(workflows, events);
            this.server = new EventServer(engine, store, ServerSettings.local(0, 16 << 20));
            server.start();
            this.client = TaskEventsClient.builder(URI.create("http://127.0.0.1:" + server.address().getPort()))
                    .build();
            this.reader = client.feed(FeedCursor.OLDEST, PAGE, Duration.ofSeconds(10));
            thread.start();
        }

        @Override
        void consume() {
            while (!done() && reader.hasNext()) {
                FeedItem item = reader.next();
                received(item.event(), System.nanoTime(), wallMicros());
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            reader.close();
            thread.join();
            client.close();
            server.stop(Duration.ofSeconds(1));
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
