package dev.taskevents.client.internal;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.client.Ack;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Sends events to serve in batches and resends each until it has a final answer.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>Acknowledged</b> means: serve answered the event APPLIED, DUPLICATE, STALE or REJECTED,
 *       which it does only once any change the event made is committed. Only such an answer
 *       completes an event's future normally; the future fails only with a final error (a token
 *       refused; TLS: a certificate not trusted, a scheme the server does not speak, an owner of
 *       another scheme; the event itself refused; the client closed; or the {@code giveUpAfter}
 *       bound passed), never because a try failed.
 *   <li><b>Per-workflow order</b>: an event is not sent while an earlier event of its workflow
 *       instance (earlier {@link #submit} call) has no final answer. So a workflow's events reach
 *       the server in submission order, even across resends: a RUNNING resent after its RESULT
 *       was applied would be STALE, and the workflow's state machine would never see it running.
 *       (Events of different workflows go in parallel, in the same or different requests.)
 *   <li><b>Resend</b>, never give up (unless bounded): a refused or reset connection, a timeout,
 *       an answer 5xx, 408 or 429, a NOT_APPLIED answer and an event missing from a 503's acks
 *       are tried again after a backoff with full jitter ({@link Backoff}), and never sooner than
 *       the answer's {@code Retry-After}. Resending is safe because serve answers an event it
 *       applied before as DUPLICATE, by its id: nothing is applied twice.
 *   <li><b>Moved</b> (cluster mode): a 421, or a MOVED answer inside a 200, routes the event to
 *       the owner it names ({@link Routes} remembers it) and resends at once; an owner the server
 *       does not know (null) sends it, after {@code Retry-After}, to another configured node. An
 *       owner of another scheme than the node that named it, not configured, is never sent to:
 *       the event fails with the TLS error ({@link Routes#mayFollow}).
 *   <li><b>Refused</b>: a 400/413 (or another 4xx) refuses the whole request, so the client cannot
 *       tell which event was wrong: each event of a refused batch of more than one is resent alone,
 *       and only a refusal of an event sent alone fails its future ({@code EventRefusedException}).
 *       A 401/403 fails every event not yet answered: resending cannot fix a token.
 * </ul>
 *
 * <h2>Implementation notes</h2>
 * <ol>
 *   <li>{@link #workflows} holds, per workflow with unanswered events, its events in submission
 *       order; the head of each queue is the only one that is ready, in flight, or waiting for a
 *       resend timer. {@link #ready} holds heads ready to go. Both are guarded by {@link #lock}.
 *   <li>An event leaves its queue only in {@link #finish} (a final answer), which then makes the
 *       next event of the workflow ready: this is the per-workflow order. {@link #finish} and
 *       {@link #requeue} act only if the event is still its queue's head; so a late answer or timer
 *       for an event already failed (by 401 or close) does nothing, and no future is completed twice
 *       by this queue.
 *   <li>One dispatcher thread takes ready heads, up to {@code batchSize} for one target, waiting up
 *       to {@code linger} for a batch to fill (unless the first is a resend or must go alone: it has
 *       waited already); at most {@code maxInFlight} requests are out at once (a semaphore taken
 *       by the dispatcher, released when the HTTP exchange ends, before a scheme probe that may
 *       follow a failure). Answers are handled on the HttpClient's threads; they only complete
 *       futures and requeue.
 *   <li>Futures are completed outside the lock, so a caller's dependent action cannot block the
 *       queue; the caller gets a copy of the future, so cancelling it cancels nothing here.
 * </ol>
 */
public final class SendQueue implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SendQueue.class.getName());
    /** How many of the ready events the dispatcher looks at to fill one batch for one target. */
    private static final int SCAN_FACTOR = 4;

    /** How a queue sends. */
    public record Settings(int batchSize, Duration linger, int maxInFlight, Backoff backoff, Duration giveUpAfter) {
    }

    private static final class Pending {
        final TaskEvent event;
        final CompletableFuture<Ack> future = new CompletableFuture<>();
        /** When this event was first sent (not queued): giveUpAfter counts from here. 0 until then. */
        volatile long firstTry;
        int attempts;
        int movesInARow;
        URI avoid;
        boolean alone;
        Throwable lastError;

        Pending(TaskEvent event) {
            this.event = event;
        }

        long workflow() {
            return event.workflowInstanceId();
        }
    }

    private final Transport transport;
    private final Routes routes;
    private final Errors errors;
    private final Settings settings;
    private final Semaphore inFlight;
    private final ScheduledExecutorService timer;
    private final Thread dispatcher;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<Long, ArrayDeque<Pending>> workflows = new HashMap<>();
    private final ArrayDeque<Pending> ready = new ArrayDeque<>();
    private int unanswered;
    private final LongAdder resends = new LongAdder();
    private boolean closing;
    private boolean stopped;

    public SendQueue(Transport transport, Routes routes, Errors errors, Settings settings) {
        this.transport = transport;
        this.routes = routes;
        this.errors = errors;
        this.settings = settings;
        this.inFlight = new Semaphore(settings.maxInFlight());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "taskevents-client-resend");
            t.setDaemon(true);
            return t;
        });
        this.dispatcher = Thread.ofPlatform().daemon().name("taskevents-client-send").start(this::dispatch);
    }

    /** Queues the event; the future completes with its final answer (see the class comment). */
    public CompletableFuture<Ack> submit(TaskEvent event) {
        Pending p = new Pending(event);
        lock.lock();
        try {
            if (closing) {
                return CompletableFuture.failedFuture(errors.closed("the client is closed: event " + event.eventId()
                        + " was not sent; send it with another client"));
            }
            ArrayDeque<Pending> queue = workflows.computeIfAbsent(p.workflow(), k -> new ArrayDeque<>());
            queue.addLast(p);
            unanswered++;
            if (queue.size() == 1) {
                ready.addLast(p);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        return p.future.copy();
    }

    private void dispatch() {
        try {
            while (true) {
                List<Pending> batch;
                URI target;
                lock.lock();
                try {
                    while (ready.isEmpty() && !stopped) {
                        changed.await();
                    }
                    // A resend (or an event to go alone) waited its backoff already: it does not linger.
                    long deadline = System.nanoTime() + settings.linger().toNanos();
                    while (!stopped && ready.size() < settings.batchSize() && !ready.isEmpty()
                            && ready.peekFirst().attempts == 0 && !ready.peekFirst().alone) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        changed.awaitNanos(left);
                    }
                    if (stopped) {
                        return;
                    }
                    if (ready.isEmpty()) {
                        continue; // taken by a 401's failAll while lingering
                    }
                    Pending first = ready.peekFirst();
                    target = routes.target(first.workflow(), first.avoid);
                    batch = take(first, target);
                } finally {
                    lock.unlock();
                }
                inFlight.acquire();
                send(target, batch);
            }
        } catch (InterruptedException e) {
            // close(): whatever was taken is failed by close, which owns the queues from then on
        }
    }

    /** The first ready event and up to batchSize-1 more for the same target; removed from ready. */
    private List<Pending> take(Pending first, URI target) {
        List<Pending> batch = new ArrayList<>(Math.min(settings.batchSize(), ready.size()));
        ready.pollFirst();
        batch.add(first);
        if (first.alone) {
            return batch;
        }
        int scanned = 0;
        for (Iterator<Pending> it = ready.iterator(); it.hasNext() && batch.size() < settings.batchSize()
                && scanned < settings.batchSize() * SCAN_FACTOR; scanned++) {
            Pending p = it.next();
            if (!p.alone && routes.target(p.workflow(), p.avoid).equals(target)) {
                it.remove();
                batch.add(p);
            }
        }
        return batch;
    }

    private void send(URI target, List<Pending> batch) {
        // The slot is freed once the exchange ends, not when the answer is handled: a scheme probe
        // that may follow a failure is no request of this queue's (Transport bounds it).
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                inFlight.release();
            }
        };
        long now = System.nanoTime();
        for (Pending p : batch) {
            if (p.firstTry == 0) {
                p.firstTry = now == 0 ? 1 : now;
            }
        }
        CompletableFuture<HttpResponse<String>> answer;
        try {
            answer = transport.post(target, "/v1/events", Wire.events(batch.stream().map(p -> p.event).toList()), release);
        } catch (Throwable e) {
            // Transport.post fails its future rather than throw; whatever escapes it (an Error) fails
            // this try only: the slot is freed and the dispatcher goes on with the other events.
            release.run();
            LOG.log(System.Logger.Level.ERROR, "taskevents client: sending " + batch.size() + " events to " + target
                    + " failed before the request went out (" + e.getClass().getName() + "); they are resent", e);
            batch.forEach(p -> resend(p, 0, e));
            return;
        }
        answer.whenComplete((response, failure) -> {
            release.run();
            try {
                if (failure != null) {
                    onFailure(target, batch, Transport.unwrap(failure));
                } else {
                    onResponse(target, batch, response);
                }
            } catch (RuntimeException | Error e) {
                // A bug here must not leave futures hanging: fail what this batch still holds.
                LOG.log(System.Logger.Level.ERROR, "taskevents client: handling an answer of " + target + " failed", e);
                batch.forEach(p -> finish(p, null, e));
            }
        });
    }

    private void onFailure(URI target, List<Pending> batch, Throwable failure) {
        if (Transport.isTlsFailure(failure)) {
            RuntimeException tls = errors.tls(target, failure);
            batch.forEach(p -> finish(p, null, tls));
            return;
        }
        boolean unreachable = Transport.isConnectionRefused(failure) || failure instanceof HttpConnectTimeoutException;
        if (unreachable) {
            routes.unreachable(target);
        }
        for (Pending p : batch) {
            p.avoid = unreachable ? target : null;
            resend(p, 0, failure);
        }
    }

    private void onResponse(URI target, List<Pending> batch, HttpResponse<String> response) {
        int status = response.statusCode();
        long retryAfter = Backoff.retryAfterNanos(response.headers());
        String body = response.body() == null ? "" : response.body();
        if (status == 200 || status == 503) {
            Map<String, Wire.Answer> answers = new HashMap<>();
            try {
                for (Wire.Answer a : Wire.acks(body.isBlank() ? null : Json.parse(body))) {
                    answers.put(a.eventId(), a);
                }
            } catch (Json.Malformed e) {
                if (status == 200) {
                    // Not serve's answer: resending is safe, and the next answer may be readable.
                    LOG.log(System.Logger.Level.WARNING, "taskevents client: an unreadable answer from " + target
                            + " (" + e.getMessage() + "); resending its " + batch.size() + " events");
                }
            }
            Exception why = new IOException("HTTP " + status + " from " + target + ": " + Wire.error(body));
            for (Pending p : batch) {
                switch (answers.get(p.event.eventId())) {
                    case Wire.Final f -> finish(p, f.ack(), null);
                    case Wire.Moved m -> moved(p, target, m.shard(), m.owner(), retryAfter);
                    case null, default -> resend(p, retryAfter, why);
                }
            }
        } else if (status == 421) {
            Map<String, Wire.Moved> moved = new HashMap<>();
            try {
                Wire.moved(Json.parse(body)).forEach(m -> moved.put(m.eventId(), m));
            } catch (Json.Malformed e) {
                // the header alone routes
            }
            String header = response.headers().firstValue("Taskevents-Owner").orElse(null);
            for (Pending p : batch) {
                Wire.Moved m = moved.get(p.event.eventId());
                moved(p, target, m == null ? -1 : m.shard(), m == null ? header : m.owner(), retryAfter);
            }
        } else if (status == 401 || status == 403) {
            failAll(errors.unauthorized(status, target), batch);
        } else if (status >= 500 || status == 408 || status == 429) {
            Exception why = new IOException("HTTP " + status + " from " + target + ": " + Wire.error(body));
            batch.forEach(p -> resend(p, retryAfter, why));
        } else if (batch.size() > 1) {
            for (Pending p : batch) {
                p.alone = true;
                requeue(p);
            }
        } else {
            Pending p = batch.getFirst();
            finish(p, null, errors.refused(p.event.eventId(), status, target, Wire.error(body)));
        }
    }

    private void moved(Pending p, URI from, int shard, String owner, long retryAfter) {
        URI ownerUri = Routes.ownerUri(owner);
        if (ownerUri != null && !routes.mayFollow(from, ownerUri)) {
            finish(p, null, errors.schemeChange(from, ownerUri, p.workflow()));
            return;
        }
        routes.moved(p.workflow(), shard, ownerUri);
        Exception why = new IOException(from + " does not own the shard " + (shard < 0 ? "" : shard + " ")
                + "of workflow " + p.workflow() + " (owner " + owner + ")");
        if (ownerUri != null && !ownerUri.equals(from) && p.movesInARow++ < 2) {
            p.avoid = null;
            p.lastError = why;
            requeue(p); // at once: the owner is known
        } else {
            p.avoid = from;
            resend(p, retryAfter, why);
        }
    }

    private void resend(Pending p, long floorNanos, Throwable why) {
        p.attempts++;
        resends.increment();
        p.lastError = why;
        long delay = settings.backoff().delayNanos(p.attempts, floorNanos);
        long bound = settings.giveUpAfter().toNanos();
        if (bound > 0 && System.nanoTime() + delay - p.firstTry > bound) {
            finish(p, null, errors.unavailable("event " + p.event.eventId(), routes.nodes(), settings.giveUpAfter(), why));
            return;
        }
        try {
            timer.schedule(() -> requeue(p), delay, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closed) {
            // close() stopped the timer and fails every unanswered event itself
        }
    }

    private void requeue(Pending p) {
        lock.lock();
        try {
            if (!stopped && isHead(p)) {
                ready.addLast(p);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean isHead(Pending p) {
        ArrayDeque<Pending> queue = workflows.get(p.workflow());
        return queue != null && queue.peekFirst() == p;
    }

    private void finish(Pending p, Ack ack, Throwable failure) {
        lock.lock();
        try {
            if (!isHead(p)) {
                return;
            }
            ArrayDeque<Pending> queue = workflows.get(p.workflow());
            queue.pollFirst();
            if (queue.isEmpty()) {
                workflows.remove(p.workflow());
            } else {
                ready.addLast(queue.peekFirst());
            }
            unanswered--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (failure == null) {
            p.future.complete(ack);
        } else {
            p.future.completeExceptionally(failure);
        }
    }

    /** Fails every unanswered event with {@code failure} (401/403: no resend can help any of them). */
    private void failAll(RuntimeException failure, List<Pending> batch) {
        List<Pending> failed = new ArrayList<>();
        lock.lock();
        try {
            workflows.values().forEach(failed::addAll);
            workflows.clear();
            ready.clear();
            unanswered = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        failed.forEach(p -> p.future.completeExceptionally(failure));
    }

    /** How many times an event was scheduled to go again after a try without a final answer. */
    public long resends() {
        return resends.sum();
    }

    /** The number of events submitted and not yet answered (for tests and metrics). */
    public int unanswered() {
        lock.lock();
        try {
            return unanswered;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes no more events, waits up to {@code timeout} for the unanswered ones to be answered
     * (they are still sent and resent meanwhile), then fails the rest with the client-closed error.
     *
     * @return how many events were failed because the time was up
     */
    public int close(Duration timeout) {
        List<Pending> rest = new ArrayList<>();
        lock.lock();
        try {
            closing = true;
            long left = timeout.toNanos();
            while (unanswered > 0 && left > 0) {
                left = changed.awaitNanos(left);
            }
            stopped = true;
            workflows.values().forEach(rest::addAll);
            workflows.clear();
            ready.clear();
            unanswered = 0;
            changed.signalAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = true;
            workflows.values().forEach(rest::addAll);
            workflows.clear();
            ready.clear();
            unanswered = 0;
        } finally {
            lock.unlock();
        }
        dispatcher.interrupt();
        timer.shutdownNow();
        for (Pending p : rest) {
            p.future.completeExceptionally(errors.closed("the client was closed with " + rest.size()
                    + " events not acknowledged, event " + p.event.eventId() + " among them"
                    + (p.lastError == null ? "" : " (its last try: " + p.lastError + ")")
                    + "; it may or may not have been applied: send it again with another client"));
        }
        return rest.size();
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }
}
