package dev.taskevents.cli.demo;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.client.Ack;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A scheduler in miniature driving a {@link TaskEventEngine}: a workflow driver that creates and
 * dispatches tasks as their parents succeed (it learns of that only from the engine's state
 * events), and simulated workers that report each task with the faults real workers have. At the
 * end every task's stored row is compared with what its worker decided.
 *
 * <p>The workers' faults: the same event sent twice at once (a duplicate); RESULT sent before
 * RUNNING (the late RUNNING is then stale); RUNNING resent after RESULT; an acknowledgement "lost"
 * so the event is resent; DELAY before RUNNING; and backpressure (a full queue) answered by
 * waiting and resending. A worker resends until it holds an acknowledgement, as real ones do.
 *
 * <p>Three ways to run it, with the same driver, workers, faults and verification: one embedded
 * engine whose sink tells the driver; {@code nodes} engines in cluster mode ({@link ClusterNodes});
 * or through {@code serve} ({@link ServicePath}, {@code --via-serve}): the driver creates tasks with
 * {@code TaskEventsClient.createTasks}, the workers send with {@code TaskEventsClient.send} (the
 * client resends what got no answer; the workers' own faults come on top), and the driver learns of
 * changes only from {@code GET /v1/state-events}, read from the feed's head as it stood before the
 * first task was created, so every change of the run is in what it reads.
 */
public final class Simulation {
    private final SimulationConfig config;
    private final TaskInstanceStore store;
    private final long firstWorkflowId;
    private final ConcurrentHashMap<Long, WorkflowRun> runs = new ConcurrentHashMap<>();
    private final CountDownLatch workflowsLeft;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<TaskEventType, LongAdder> sent = new EnumMap<>(TaskEventType.class);
    private final LongAdder duplicatesSent = new LongAdder();
    private final LongAdder resends = new LongAdder();
    private final LongAdder backpressureWaits = new LongAdder();
    private final LongAdder repeatedStateEvents = new LongAdder();
    private final LongAdder finishedTwice = new LongAdder();
    private final ConcurrentLinkedQueue<String> outOfOrder = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Long> ackNanos = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> driverErrors = new ConcurrentLinkedQueue<>();
    private final AtomicInteger workflowsFinished = new AtomicInteger();
    private final Supplier<TaskInstanceStore> nodeStores;
    private final boolean viaServe;
    private final LongAdder feedEventsRead = new LongAdder();
    /** Where events go: the engine, with several nodes the node owning the event's shard, or serve. */
    private volatile Function<TaskEvent, CompletableFuture<Ack>> engine;
    /** How the driver creates tasks: in the store, or through serve. */
    private volatile TaskCreator creator;

    /** Creates task instances, all or none. */
    @FunctionalInterface
    private interface TaskCreator {
        void create(List<TaskInstance> rows) throws InterruptedException;
    }

    /** A run against one engine on {@code store}. */
    public Simulation(SimulationConfig config, TaskInstanceStore store) {
        this(config, store, null);
    }

    /**
     * A run against {@code config.nodes()} engine nodes in cluster mode, each on its own store from
     * {@code nodeStores}; {@code store} is the driver's (the scheduler creating tasks, and the check
     * at the end).
     */
    public Simulation(SimulationConfig config, TaskInstanceStore store, Supplier<TaskInstanceStore> nodeStores) {
        this(config, store, nodeStores, false);
    }

    /**
     * A run through {@code taskevents serve} started in this process on {@code store} (one node):
     * tasks, events and state changes all go through the client and serve's HTTP API.
     */
    public static Simulation viaServe(SimulationConfig config, TaskInstanceStore store) {
        if (config.nodes() != 1) {
            throw new IllegalArgumentException("a run via serve is one node, not " + config.nodes());
        }
        return new Simulation(config, store, null, true);
    }

    private Simulation(SimulationConfig config, TaskInstanceStore store, Supplier<TaskInstanceStore> nodeStores,
                       boolean viaServe) {
        this.viaServe = viaServe;
        this.creator = store::insert;
        if (config.nodes() > 1 && nodeStores == null) {
            throw new IllegalArgumentException("a run of " + config.nodes() + " nodes needs a store for each node");
        }
        this.config = config;
        this.store = store;
        this.nodeStores = nodeStores;
        this.workflowsLeft = new CountDownLatch(config.workflows());
        // Ids from the clock, so that runs against the same database never collide.
        this.firstWorkflowId = System.currentTimeMillis() * 1_000;
        for (TaskEventType type : TaskEventType.values()) {
            sent.put(type, new LongAdder());
        }
    }

    /** Workflows finished so far (for the progress bar). */
    public int workflowsFinished() {
        return workflowsFinished.get();
    }

    public SimulationConfig config() {
        return config;
    }

    /** Runs the simulation to the end (or the timeout) and verifies the store. */
    public DemoReport run() throws InterruptedException {
        long start;
        EngineStats stats;
        boolean finishedInTime;
        DemoReport.ClusterRun cluster = null;
        DemoReport.ServiceRun service = null;
        if (viaServe) {
            try (ServicePath serve = ServicePath.start(store)) {
                engine = serve.client()::send;
                creator = serve.client()::createTasks;
                start = System.nanoTime();
                // The head before the first task exists: every change of this run comes after it.
                FeedCursor from = serve.client().feedHead();
                try (FeedReader feed = serve.client().feed(from, 1_000, Duration.ofSeconds(30))) {
                    Thread reader = Thread.ofPlatform().daemon().name("demo-feed").start(() -> readFeed(feed));
                    try {
                        finishedInTime = startWorkflowsAndWait() && feedFailure == null;
                    } finally {
                        feed.close(); // ends the reader's parked poll
                        reader.join();
                    }
                }
                // Workflows are done, but workers may still be sending their last events (a late
                // RUNNING, a resend after a lost ack): they stop here, and send nothing more once
                // stopped; closing the client then lets what they sent be answered rather than
                // failing it. An event sent after the close would fail as the client's error.
                threads.shutdownNow();
                if (!threads.awaitTermination(30, TimeUnit.SECONDS)) {
                    driverErrors.add(new IllegalStateException("the workers did not stop within 30 s of the run's end"));
                }
                stats = serve.stats();
                service = new DemoReport.ServiceRun(serve.address().toString(), feedEventsRead.sum(),
                        serve.client().resends());
            } finally {
                threads.shutdownNow();
            }
        } else if (config.nodes() == 1) {
            try (TaskEventEngine built = TaskEventEngine.builder().store(store).stateSink(this::onStateEvent).build()) {
                engine = event -> built.submit(event).thenApply(Ack::from);
                start = System.nanoTime();
                finishedInTime = startWorkflowsAndWait();
                stats = built.stats();
            } finally {
                threads.shutdownNow();
            }
        } else {
            try (ClusterNodes nodes = new ClusterNodes(config.nodes(), nodeStores, this::onStateEvent)) {
                nodes.awaitShardsServed(Duration.ofSeconds(60));
                engine = event -> nodes.submit(event).thenApply(Ack::from); // never Moved: it follows them
                start = System.nanoTime();
                // The kill follows progress, not a clock: when 40 % of the workflows have finished.
                int killAt = Math.max(1, config.workflows() * 40 / 100);
                AtomicBoolean ended = new AtomicBoolean();
                Thread killer = Thread.ofPlatform().daemon().name("demo-kill").start(() -> {
                    while (workflowsFinished.get() < killAt && !ended.get()) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                    }
                    if (!ended.get()) {
                        nodes.kill(workflowsFinished.get() * 100 / config.workflows());
                    }
                });
                try {
                    finishedInTime = startWorkflowsAndWait();
                } finally {
                    ended.set(true);
                }
                killer.join();
                stats = nodes.stats();
                cluster = nodes.summary();
            } finally {
                threads.shutdownNow();
            }
        }
        long elapsed = System.nanoTime() - start;
        return new DemoReport(config, elapsed, eventCounts(), duplicatesSent.sum(), resends.sum(),
                backpressureWaits.sum(), stats, latencies(), runs.size(), workflowsFinished.get(),
                succeededWorkflows(), finishedInTime, verify(), List.copyOf(driverErrors), cluster,
                repeatedStateEvents.sum(), service);
    }

    /** Set once if the feed reader ended with an error; the run then stops waiting. */
    private volatile Throwable feedFailure;

    /**
     * The driver's only source of state changes via serve: each event of the feed, in the feed's
     * order, to {@link #onStateEvent}, until the reader is closed. A failure the client does not
     * retry (an expired cursor, a refused token) ends the run: no workflow could advance after it.
     */
    private void readFeed(FeedReader feed) {
        try {
            while (feed.hasNext()) {
                FeedItem item = feed.next();
                feedEventsRead.increment();
                onStateEvent(item.event());
            }
        } catch (RuntimeException e) {
            feedFailure = e;
            driverErrors.add(new IllegalStateException("the feed reader stopped: " + e.getMessage(), e));
            while (workflowsLeft.getCount() > 0) {
                workflowsLeft.countDown(); // wakes the run, which reports it unfinished
            }
        }
    }

    private boolean startWorkflowsAndWait() throws InterruptedException {
        for (int w = 0; w < config.workflows(); w++) {
            long workflowId = firstWorkflowId + w;
            WorkflowRun run = new WorkflowRun(workflowId, config.tasksPerWorkflow());
            runs.put(workflowId, run);
            threads.execute(() -> guarded(() -> createAndDispatch(run, List.of(0))));
        }
        return workflowsLeft.await(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    // --- the workflow driver: reacts to state events, creates and dispatches ready tasks ---

    /**
     * The sink's contract (StateEvent): each change at least once, never a change before an earlier
     * one of its workflow is told for the first time; a repeat has a version already seen. So the
     * driver drops repeats by version, and a version told for the first time below one already seen
     * is a broken order (a problem in the verification).
     */
    private void onStateEvent(StateEvent event) {
        WorkflowRun run = runs.get(event.workflowInstanceId());
        if (run == null) {
            driverErrors.add(new IllegalStateException("a state event for an unknown workflow: " + event));
            return;
        }
        int task = (int) (event.taskInstanceId() - run.workflowId * 16);
        synchronized (run) {
            long seen = run.toldVersions[task];
            if (event.version() >= Long.SIZE) {
                driverErrors.add(new IllegalStateException("version " + event.version() + " of task "
                        + event.taskInstanceId() + ": a demo task changes at most a few times"));
                return;
            }
            long bit = 1L << event.version();
            if ((seen & bit) != 0) {
                repeatedStateEvents.increment();
                return;
            }
            if (Long.compareUnsigned(seen, bit) > 0) {
                outOfOrder.add("task " + event.taskInstanceId() + ": version " + event.version()
                        + " was told for the first time after a later one");
            }
            run.toldVersions[task] = seen | bit;
        }
        if (event.state().isFinished()) {
            // Off the engine's thread: creating tasks is store I/O.
            threads.execute(() -> guarded(() -> advance(event)));
        }
    }

    private void advance(StateEvent event) {
        WorkflowRun run = Objects.requireNonNull(runs.get(event.workflowInstanceId()), "unknown workflow");
        int task = (int) (event.taskInstanceId() - run.workflowId * 16);
        List<Integer> ready = new ArrayList<>();
        boolean done;
        synchronized (run) {
            if (run.finished[task]) {
                finishedTwice.increment(); // two versions both finished: the task changed after its RESULT
                return;
            }
            run.finished[task] = true;
            run.finishedCount++;
            if (event.state() != TaskState.SUCCESS) {
                run.failed = true;
            } else {
                for (int child : children(task)) {
                    if (!run.created[child] && parents(child).stream().allMatch(p -> run.finished[p]
                            && run.outcome[p] == TaskState.SUCCESS)) {
                        run.created[child] = true;
                        run.createdCount++;
                        ready.add(child);
                    }
                }
            }
            done = run.createdCount == run.finishedCount;
        }
        if (!ready.isEmpty()) {
            createAndDispatch(run, ready);
        }
        if (done) {
            workflowsFinished.incrementAndGet();
            workflowsLeft.countDown();
        }
    }

    private void createAndDispatch(WorkflowRun run, List<Integer> tasks) {
        Instant now = Instant.now();
        List<TaskInstance> rows = new ArrayList<>();
        synchronized (run) {
            for (int t : tasks) {
                if (t == 0) {
                    run.created[0] = true;
                    run.createdCount++;
                }
                rows.add(TaskInstance.submitted(run.taskId(t), run.workflowId, "task-" + t, now));
            }
        }
        try {
            creator.create(rows);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        for (int t : tasks) {
            // The master dispatches, then a worker takes the task.
            sendUntilAcknowledged(TaskEvent.dispatch("dispatch-" + run.taskId(t), run.workflowId, run.taskId(t), now,
                    "worker-" + (t % 4)), new SplittableRandom(config.seed() ^ run.taskId(t)));
            threads.execute(() -> guarded(() -> work(run, t)));
        }
    }

    // --- the simulated worker ---

    private void work(WorkflowRun run, int t) {
        long id = run.taskId(t);
        SplittableRandom random = new SplittableRandom(config.seed() * 31 + id);
        TaskState outcome = random.nextDouble() < config.failureRate() ? TaskState.FAILURE : TaskState.SUCCESS;
        String host = "worker-" + (t % 4);
        synchronized (run) {
            run.outcome[t] = outcome;
        }
        Instant start = Instant.now();
        List<TaskEvent> events = new ArrayList<>();
        if (random.nextDouble() < config.delayRate()) {
            events.add(TaskEvent.builder("delay-" + id, TaskEventType.DELAY, run.workflowId, id).eventTime(start)
                    .host(host).startTime(start).build());
        }
        TaskEvent running = TaskEvent.builder("running-" + id, TaskEventType.RUNNING, run.workflowId, id)
                .eventTime(start).host(host).startTime(start).logPath("/logs/" + id + ".log")
                .executePath("/exec/" + id).processId(1000 + t).build();
        TaskEvent result = TaskEvent.builder("result-" + id, TaskEventType.RESULT, run.workflowId, id)
                .eventTime(Instant.now()).state(outcome).endTime(Instant.now())
                .varPool("[{\"prop\":\"rows\",\"value\":\"" + random.nextInt(1_000_000) + "\"}]").build();
        if (random.nextDouble() < config.reorderRate()) {
            events.add(result);
            events.add(running);
        } else {
            events.add(running);
            events.add(result);
            if (random.nextDouble() < config.lateRunningRate()) {
                events.add(running);
            }
        }
        for (TaskEvent event : events) {
            if (Thread.currentThread().isInterrupted()) {
                return; // the run is over (its workers are stopped): what is left is not sent
            }
            sendUntilAcknowledged(event, random);
        }
    }

    /** Sends until an acknowledgement arrives (and is not "lost"), sometimes twice at once. */
    private void sendUntilAcknowledged(TaskEvent event, SplittableRandom random) {
        boolean duplicate = random.nextDouble() < config.duplicateRate();
        boolean loseFirstAck = random.nextDouble() < config.lostAckRate();
        for (int attempt = 0; ; attempt++) {
            long sentAt = System.nanoTime();
            CompletableFuture<Ack> ack = submit(event);
            if (attempt == 0 && duplicate) {
                duplicatesSent.increment();
                submit(event);
            }
            try {
                Ack answer = ack.get(60, TimeUnit.SECONDS);
                ackNanos.add(System.nanoTime() - sentAt);
                if (!answer.delivered()) {
                    throw new IllegalStateException("event " + event.eventId() + " was rejected: " + answer);
                }
                if (attempt == 0 && loseFirstAck) {
                    resends.increment(); // the ack "got lost": the worker sends the event again
                    continue;
                }
                return;
            } catch (ExecutionException e) {
                if (viaServe) {
                    // The client resends what may succeed; what it gives up on is final (a refused token, event).
                    throw new IllegalStateException("event " + event.eventId() + " failed: " + e.getCause(), e.getCause());
                }
                resends.increment(); // not acknowledged (the store failed): resend, as a worker does
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10 + random.nextInt(40))); // and backs off
            } catch (TimeoutException e) {
                resends.increment(); // not acknowledged (the store failed): resend, as a worker does
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10 + random.nextInt(40))); // and backs off
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private CompletableFuture<Ack> submit(TaskEvent event) {
        while (true) {
            try {
                CompletableFuture<Ack> ack = engine.apply(event);
                sent.get(event.type()).increment();
                return ack;
            } catch (QueueFullException full) {
                backpressureWaits.increment();
                Thread.onSpinWait();
            }
        }
    }

    // --- the DAG: t0 -> t1 -> {t2 .. t(n-2)} -> t(n-1) ---

    private List<Integer> children(int t) {
        int n = config.tasksPerWorkflow();
        if (t == 0) {
            return List.of(1);
        }
        if (t == 1) {
            List<Integer> fanOut = new ArrayList<>();
            for (int c = 2; c <= n - 2; c++) {
                fanOut.add(c);
            }
            return fanOut.isEmpty() ? List.of(n - 1) : fanOut;
        }
        return t == n - 1 ? List.of() : List.of(n - 1);
    }

    private List<Integer> parents(int t) {
        int n = config.tasksPerWorkflow();
        if (t == 0) {
            return List.of();
        }
        if (t == 1) {
            return List.of(0);
        }
        if (t < n - 1) {
            return List.of(1);
        }
        List<Integer> fanIn = new ArrayList<>();
        for (int p = 2; p <= n - 2; p++) {
            fanIn.add(p);
        }
        return fanIn.isEmpty() ? List.of(1) : fanIn;
    }

    // --- the report ---

    private void guarded(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            driverErrors.add(e);
        }
    }

    private Map<TaskEventType, Long> eventCounts() {
        Map<TaskEventType, Long> counts = new EnumMap<>(TaskEventType.class);
        sent.forEach((type, adder) -> counts.put(type, adder.sum()));
        return counts;
    }

    private long[] latencies() {
        long[] values = ackNanos.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(values);
        return values;
    }

    private int succeededWorkflows() {
        int succeeded = 0;
        for (WorkflowRun run : runs.values()) {
            synchronized (run) {
                if (!run.failed && run.finishedCount == config.tasksPerWorkflow()) {
                    succeeded++;
                }
            }
        }
        return succeeded;
    }

    /** Every created task's row must hold its worker's outcome and RESULT id; nothing else may exist. */
    private DemoReport.Verification verify() {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (WorkflowRun run : runs.values()) {
            Map<Long, TaskInstance> rows = new HashMap<>();
            for (TaskInstance row : store.findByWorkflow(run.workflowId)) {
                rows.put(row.id(), row);
            }
            synchronized (run) {
                for (int t = 0; t < config.tasksPerWorkflow(); t++) {
                    TaskInstance row = rows.remove(run.taskId(t));
                    if (!run.created[t]) {
                        if (row != null) {
                            problems.add("task " + run.taskId(t) + " exists but was never created by the driver");
                        }
                        continue;
                    }
                    checked++;
                    if (row == null) {
                        problems.add("task " + run.taskId(t) + " was created but is not in the store");
                    } else if (row.state() != run.outcome[t]) {
                        problems.add("task " + row.id() + " is " + row.state() + ", its worker reported " + run.outcome[t]);
                    } else if (!("result-" + row.id()).equals(row.finishEventId())) {
                        problems.add("task " + row.id() + " was finished by " + row.finishEventId());
                    }
                }
            }
            rows.keySet().forEach(id -> problems.add("unexpected task instance " + id));
        }
        if (finishedTwice.sum() > 0) {
            problems.add(finishedTwice.sum() + " tasks were reported finished to the state machine more than once"
                    + " (two versions each in a finished state)");
        }
        if (repeatedStateEvents.sum() > 0 && !config.repeatsExpected()) {
            problems.add(repeatedStateEvents.sum() + " state events were told twice (same version) in a run"
                    + " without faults that would make the engine tell a change again");
        }
        problems.addAll(outOfOrder);
        return new DemoReport.Verification(checked, problems);
    }

    /** One workflow's progress; guarded by its own monitor. */
    private static final class WorkflowRun {
        final long workflowId;
        final boolean[] created;
        final boolean[] finished;
        final TaskState[] outcome;
        /** Per task, bit v set once version v was told. */
        final long[] toldVersions;
        int createdCount;
        int finishedCount;
        boolean failed;

        WorkflowRun(long workflowId, int tasks) {
            this.workflowId = workflowId;
            this.created = new boolean[tasks];
            this.finished = new boolean[tasks];
            this.outcome = new TaskState[tasks];
            this.toldVersions = new long[tasks];
        }

        long taskId(int t) {
            return workflowId * 16 + t;
        }
    }
}
