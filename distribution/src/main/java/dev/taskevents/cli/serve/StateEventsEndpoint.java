package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.FeedPositionExpiredException;
import dev.taskevents.api.spi.StateEventFeed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * {@code GET /v1/state-events?after=CURSOR&limit=N&wait=SECONDS}: the store's state-event feed
 * ({@link StateEventFeed}) as pages of JSON, with long polls parked without a thread.
 *
 * <h2>Long polls</h2>
 * A poll whose first read finds nothing, with {@code wait > 0}, is <em>parked</em>: its exchange is
 * put in {@link #parked} and the handler returns without answering or closing it (the server
 * keeps the connection open), so a parked poll holds no thread. It is answered later by exactly
 * one of:
 * <ol>
 *   <li>a <b>wake</b>: a local commit that appended to the feed (the store's listener), or the
 *       head poll (every {@code headPoll} while polls are parked) seeing the head move, which
 *       catches commits of other processes on the same database. The head poll reads on a handler
 *       thread, one read at a time; the timer thread only schedules, so a read that hangs in the
 *       store delays no deadline. A woken poll reads again on a
 *       handler thread; if it finds events it is answered, otherwise parked again;
 *   <li>its <b>deadline</b> ({@code wait}, cut to {@code maxWait}): answered with what a last read
 *       finds, usually nothing;
 *   <li>{@link #stop}: answered 503, so its client polls another node or again later.
 * </ol>
 * Invariants: (a) whoever removes a waiter from {@link #parked} (one atomic
 * {@code ConcurrentHashMap.remove}) answers or re-parks it; nobody else touches its exchange or its
 * fields, so no exchange is answered twice or left unanswered. A timer left over from an earlier
 * parking of the same waiter can only wake it early (one more read) or answer it at its own
 * deadline. (b) No wake is lost between a read that found nothing and the parking: the waiter is
 * put in {@link #parked} first and the head is read after (register, then check, as with a
 * condition variable); a commit before the registration moved the head, which the check sees and
 * wakes the waiter for. (c) A read that stopped at a hole (a commit becoming visible out of
 * order) is re-read after a delay even without a wake, since no further commit may come to wake
 * it: {@link #HOLE_RETRY_FIRST}, doubling while the poll keeps finding the hole, up to
 * {@link #HOLE_RETRY_MAX}. A hole a concurrent commit leaves is gone within a few milliseconds and
 * is caught by the first re-reads; one that lasts (a row deleted by hand) costs a parked poll four
 * reads a second, not five hundred. A read that found nothing with the head past its cursor (the
 * last rows deleted by hand: no row and no hole after it) is re-read so too, never parked as
 * usual, whose check of the head would wake it at once, again and again. (d) A waiter past its deadline is answered, whatever wakes it.
 *
 * <p>Waiters (polls parked, or woken and being read again, not yet answered) are bounded by
 * {@code maxWaiters}, counted in {@link #waiters}: a new poll checks and raises the count at once,
 * and every waiter gives its place back once, when it is answered. A poll that would park over
 * the bound answers the oldest parked poll early with an empty page (as at a deadline: its
 * client, if still there, polls again) and takes its place, so a poll whose client went away
 * keeps no live one out for its whole wait. Only if no waiter is parked (all are being read
 * again) is the new poll answered 503 {@code TOO_MANY_WAITERS} with {@code Retry-After}. A park
 * racing {@link #stop} (the timer shut down) answers its poll 503 only if stop() has not.
 *
 * <h2>Start positions</h2>
 * A poll without {@code after} reads from the oldest retained event: the pruned-through position,
 * read first. The cleaner may prune past it before the events are read; the feed then refuses the
 * position as expired, and the read is made again from the new oldest position (the consumer asked
 * for the oldest, and lost nothing), never answered 410. A store failure while resolving the oldest
 * or the latest position is a 503 with {@code Retry-After}, like one while reading.
 *
 * <h2>Limits</h2>
 * Every read holds a read slot, the byte budget of its page and an in-flight permit while it reads
 * and answers ({@link FeedReadLimits}), the permit taken last: the polls one commit wakes queue for
 * the few read slots without taking the permits writers need. A poll that cannot have them within {@link #ADMISSION_WAIT}
 * is answered 503 {@code SERVER_BUSY} with {@code Retry-After}. A parked poll holds none of them.
 */
final class StateEventsEndpoint {
    private static final System.Logger LOG = System.getLogger(StateEventsEndpoint.class.getName());
    static final int MAX_LIMIT = 10_000;
    static final int DEFAULT_LIMIT = 1_000;
    static final long HOLE_RETRY_FIRST = TimeUnit.MILLISECONDS.toNanos(2);
    static final long HOLE_RETRY_MAX = TimeUnit.MILLISECONDS.toNanos(250);
    /**
     * How long a read waits for a read slot and budget (and a woken poll's read for an in-flight
     * permit: its client is waiting anyway). A new poll gets a permit at once or 503, like any request.
     */
    private static final long ADMISSION_WAIT = TimeUnit.SECONDS.toNanos(1);
    /** Reads from the oldest made again when the cleaner passed the start each time, before a 503. */
    private static final int OLDEST_ATTEMPTS = 10;
    /**
     * The most an event's JSON takes beside its event id: a cursor, three numbers of up to 20
     * characters, two enum names, an instant and the field names, with the punctuation.
     */
    static final int MOST_JSON_BYTES_BESIDE_EVENT_ID = 320;
    private static final Set<String> PARAMETERS = Set.of("after", "limit", "wait");

    /**
     * A parked poll. Identity equality: each poll is its own waiter. Its mutable fields are touched
     * only by the thread that holds it (invariant a); {@code after} moves only for a poll from the
     * oldest whose start was pruned.
     */
    private static final class Waiter {
        final Exchange exchange;
        final boolean fromOldest;
        final int limit;
        final long deadlineNanos;
        /** Order of arrival: the lowest parked is the one answered early when the cap is reached. */
        final long arrival;
        /** Whether it holds one of the {@link #waiters} places: until it is answered, or its place is taken over. */
        final AtomicBoolean counted = new AtomicBoolean(true);
        volatile long after;
        int holeRetries;
        volatile ScheduledFuture<?> deadline;
        volatile ScheduledFuture<?> holeRetry;

        Waiter(Exchange exchange, long after, boolean fromOldest, int limit, long deadlineNanos, long arrival) {
            this.exchange = exchange;
            this.arrival = arrival;
            this.after = after;
            this.fromOldest = fromOldest;
            this.limit = limit;
            this.deadlineNanos = deadlineNanos;
        }
    }

    /** Where a poll starts: after a position, and whether that is the oldest retained event (read again if pruned). */
    private record Start(long after, boolean fromOldest) {
    }

    /** A page and the position it was read after (moved on for a poll from the oldest whose start was pruned). */
    private record Read(long after, FeedPage page) {
    }

    /** Thrown to answer a poll with an error: status, message, a code for clients, and for 410 EXPIRED the oldest cursor. */
    static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;
        final String oldest;

        Refusal(int status, String code, String message, String oldest) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
            this.oldest = oldest;
        }
    }

    private final RecentErrors errors;
    private final StateEventFeed feed;
    private final long feedId;
    private final JsonCodec json;
    private final ServerSettings.FeedSettings settings;
    private final ExecutorService handlers;
    private final FeedReadLimits limits;
    private final Set<Waiter> parked = ConcurrentHashMap.newKeySet();
    /** Polls that parked and are not answered yet: in {@link #parked}, or being read again. At most maxWaiters. */
    private final AtomicInteger waiters = new AtomicInteger();
    private final AtomicLong arrivals = new AtomicLong();
    private final ScheduledExecutorService timer;
    private final Runnable onAppend = this::wakeAll;
    /** The head the head poll last saw: it wakes the parked polls when the head moved since. */
    private final AtomicLong polledHead;
    /** Whether a head poll's read of the head is under way: one at a time, however long it takes. */
    private final AtomicBoolean headPolling = new AtomicBoolean();
    private final LongAdder reads = new LongAdder();
    private final LongAdder served = new LongAdder();
    private volatile boolean stopping;

    StateEventsEndpoint(StateEventFeed feed, JsonCodec json, ServerSettings.FeedSettings settings,
                        ExecutorService handlers, FeedReadLimits limits, RecentErrors errors) {
        this.feed = feed;
        this.errors = errors;
        this.feedId = feed.feedId();
        this.json = json;
        this.settings = settings;
        this.handlers = handlers;
        this.limits = limits;
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon()
                .name("taskevents-feed-timer").unstarted(r));
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        this.polledHead = new AtomicLong(headOrUnknown());
        feed.addListener(onAppend);
        long poll = settings.headPoll().toNanos();
        timer.scheduleWithFixedDelay(this::pollHead, poll, poll, TimeUnit.NANOSECONDS);
    }

    /**
     * The head now, or -1 if the store cannot say: a poll parks after a read and checks the head
     * itself (invariant b), so the head poll only has to see moves after it started, and an idle
     * feed then wakes nobody.
     */
    private long headOrUnknown() {
        try {
            return feed.head();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Polls parked now. */
    int parked() {
        return parked.size();
    }

    long reads() {
        return reads.sum();
    }

    long served() {
        return served.sum();
    }

    /**
     * Handles one poll, already authenticated: answers it (and closes the exchange), or parks it
     * (and leaves the exchange open). Returns whether it was parked.
     */
    boolean handle(Exchange exchange) throws IOException {
        Waiter waiter;
        try {
            if (!exchange.method().equals("GET")) {
                exchange.setHeader("Allow", "GET");
                throw new Refusal(405, "METHOD_NOT_ALLOWED", "method " + JsonCodec.cut(exchange.method())
                        + " is not allowed here; use GET", null);
            }
            Map<String, String> query = query(exchange.rawQuery());
            int limit = intParameter(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
            int waitSeconds = intParameter(query, "wait", 0, 0, Integer.MAX_VALUE);
            long waitNanos = Math.min(TimeUnit.SECONDS.toNanos(waitSeconds), settings.maxWait().toNanos());
            Start start = startPosition(query.get("after"));
            Read read;
            try (FeedReadLimits.Grant grant = admit(limit, false)) {
                read = read(start.after(), start.fromOldest(), grant);
                if (!read.page().events().isEmpty() || waitNanos == 0 || stopping) {
                    answer(exchange, read.after(), read.page());
                    return false;
                }
            }
            if (!enter()) {
                throw new Refusal(503, "TOO_MANY_WAITERS", "this server holds as many waiting polls as it may ("
                        + settings.maxWaiters() + ", serve --max-feed-waiters); poll again from the same cursor after"
                        + " Retry-After, or from another node", null);
            }
            waiter = new Waiter(exchange, read.after(), start.fromOldest(), limit, System.nanoTime() + waitNanos,
                    arrivals.incrementAndGet());
        } catch (Refusal refusal) {
            refuse(exchange, refusal);
            return false;
        }
        park(waiter);
        return true;
    }

    private void park(Waiter w) {
        long after = w.after;
        parked.add(w);
        if (stopping) {
            stopAnswer(w);
            return;
        }
        if (!scheduleDeadline(w)) {
            return;
        }
        // Register, then check (invariant b): a commit before the registration moved the head.
        try {
            if (feed.head() > after) {
                wake(w);
            }
        } catch (RuntimeException e) {
            wake(w); // the read on wake answers the store's failure as a 503
        }
    }

    /**
     * Parks {@code w} again after a hole, to be re-read after a delay that doubles while the hole
     * lasts (invariant c); a wake reads it sooner.
     */
    private void parkAfterHole(Waiter w) {
        long delay = Math.min(HOLE_RETRY_MAX, HOLE_RETRY_FIRST << Math.min(w.holeRetries, 20));
        w.holeRetries++;
        parked.add(w);
        if (stopping) {
            stopAnswer(w);
            return;
        }
        try {
            w.holeRetry = timer.schedule(() -> wake(w), delay, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            stopAnswer(w); // stop() shut the timer down after the check above
            return;
        }
        scheduleDeadline(w);
    }

    /**
     * Schedules {@code w}'s deadline; if {@link #stop} shut the timer down after the caller's check
     * of {@link #stopping}, answers it 503 instead (once: only if stop() has not) and returns false.
     */
    private boolean scheduleDeadline(Waiter w) {
        try {
            w.deadline = timer.schedule(() -> expire(w), Math.max(0, w.deadlineNanos - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
            return true;
        } catch (RejectedExecutionException e) {
            stopAnswer(w);
            return false;
        }
    }

    /**
     * Takes a place among the {@link #waiters} for a new poll, the count checked and raised at once.
     * At the cap, answers the oldest parked poll early with an empty page and takes over its place:
     * its client, if still there, polls again, while a poll whose client went away would otherwise
     * keep a live one out for its whole wait. False if no parked poll could be answered so (all
     * being read again, or a cap of 0).
     */
    private boolean enter() {
        for (int evictions = 0; ; ) {
            int n = waiters.get();
            if (n < settings.maxWaiters()) {
                if (waiters.compareAndSet(n, n + 1)) {
                    return true;
                }
                continue;
            }
            if (evictions++ == 3) {
                return false;
            }
            Waiter oldest = null;
            for (Waiter w : parked) {
                if (oldest == null || w.arrival < oldest.arrival) {
                    oldest = w;
                }
            }
            if (oldest == null) {
                return false;
            }
            if (parked.remove(oldest)) { // this thread answers it now (invariant a)
                cancelTimers(oldest);
                oldest.counted.set(false); // its place is the new poll's
                Waiter w = oldest;
                run(w, () -> {
                    answer(w.exchange, w.after, new FeedPage(List.of(), Math.max(w.after, polledHead.get()), false));
                    return false;
                });
                return true;
            }
        }
    }

    /** Gives back {@code w}'s place among the {@link #waiters}, once it is answered. */
    private void leave(Waiter w) {
        if (w.counted.compareAndSet(true, false)) {
            waiters.decrementAndGet();
        }
    }

    private void wakeAll() {
        for (Waiter w : parked) {
            wake(w);
        }
    }

    /**
     * Every headPoll while polls are parked: reads the head on a handler thread, at most one read at
     * a time, and wakes them if another process committed. The timer thread only schedules: a read
     * of the head that hangs in the store must not hold the deadlines and hole re-reads it runs.
     */
    private void pollHead() {
        if (parked.isEmpty() || !headPolling.compareAndSet(false, true)) {
            return;
        }
        try {
            handlers.execute(() -> {
                try {
                    long head = feed.head();
                    if (polledHead.getAndSet(head) != head) {
                        wakeAll();
                    }
                } catch (RuntimeException e) {
                    // The store is unreachable: the parked polls are answered at their deadlines, each with a 503.
                } finally {
                    headPolling.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            headPolling.set(false); // the server is stopping
        }
    }

    private void wake(Waiter w) {
        if (!parked.remove(w)) {
            return; // answered or woken by someone else (invariant a)
        }
        cancelTimers(w);
        run(w, () -> retry(w));
    }

    private void expire(Waiter w) {
        if (!parked.remove(w)) {
            return;
        }
        cancelTimers(w);
        run(w, () -> {
            try (FeedReadLimits.Grant grant = admit(w.limit, true)) {
                Read read = read(w.after, w.fromOldest, grant);
                answer(w.exchange, read.after(), read.page());
            } catch (Refusal refusal) {
                refuse(w.exchange, refusal);
            }
            return false;
        });
    }

    /** A woken poll: answer if there is something or its time is up, else park it again (true). */
    private boolean retry(Waiter w) throws IOException {
        Read read;
        try (FeedReadLimits.Grant grant = admit(w.limit, true)) {
            read = read(w.after, w.fromOldest, grant);
            w.after = read.after();
            if (!read.page().events().isEmpty() || stopping || System.nanoTime() - w.deadlineNanos >= 0) {
                answer(w.exchange, read.after(), read.page());
                return false;
            }
        } catch (Refusal refusal) {
            refuse(w.exchange, refusal);
            return false;
        }
        if (read.page().stoppedAtHole() || read.page().head() > read.after()) {
            parkAfterHole(w); // invariant c: park() would see the head past the cursor and wake it at once
        } else {
            w.holeRetries = 0;
            park(w);
        }
        return true;
    }

    /** Answers a waiter, or parks it again and returns true (then it is no longer this thread's). */
    private interface Answer {
        boolean run() throws IOException;
    }

    /**
     * Runs an answer of a waiter this thread removed from {@link #parked} on a handler thread; once
     * it is answered (or its exchange closed), gives back its place among the {@link #waiters}.
     */
    private void run(Waiter w, Answer answer) {
        try {
            handlers.execute(() -> {
                boolean parkedAgain = false;
                try {
                    parkedAgain = answer.run();
                } catch (IOException | RuntimeException e) {
                    LOG.log(Level.DEBUG, "a parked state-event poll could not be answered: " + e);
                    w.exchange.close();
                } finally {
                    if (!parkedAgain) {
                        leave(w);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            w.exchange.close(); // the server is stopping and its handlers are gone
            leave(w);
        }
    }

    private static void cancelTimers(Waiter w) {
        ScheduledFuture<?> deadline = w.deadline;
        if (deadline != null) {
            deadline.cancel(false);
        }
        ScheduledFuture<?> holeRetry = w.holeRetry;
        if (holeRetry != null) {
            holeRetry.cancel(false);
        }
    }

    /**
     * Answers every parked poll 503 and stops waking; before the server stops. The answers are
     * written on handler threads: the future completes once each is written (or failed), so that
     * the caller can give them a bounded time before it closes the connections.
     */
    CompletableFuture<Void> stop() {
        stopping = true;
        feed.removeListener(onAppend);
        List<CompletableFuture<Void>> answers = new ArrayList<>();
        for (Waiter w : parked) {
            CompletableFuture<Void> answered = stopAnswer(w);
            if (answered != null) {
                answers.add(answered);
            }
        }
        timer.shutdownNow();
        return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new));
    }

    /**
     * Answers {@code w} 503 on a handler thread, so that a client that does not read its answer
     * holds up only its own thread (for at most the write timeout), not the stop. Null if another
     * thread took {@code w} first; else completes once the answer was written or failed.
     */
    private CompletableFuture<Void> stopAnswer(Waiter w) {
        if (!parked.remove(w)) {
            return null;
        }
        cancelTimers(w);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        run(w, () -> {
            try {
                w.exchange.setHeader("Retry-After", "1");
                send(w.exchange, 503, error("SERVER_STOPPING", "the server is stopping; poll again (another node,"
                        + " or this one once it is back) from the same cursor", null));
                return false;
            } finally {
                answered.complete(null);
            }
        });
        return answered;
    }

    private Start startPosition(String after) {
        if (after == null) {
            return new Start(resolve("the oldest", feed::prunedThrough), true); // the oldest retained event comes next
        }
        if (after.equals("latest")) {
            return new Start(resolve("the latest", feed::head), false);
        }
        FeedCursor cursor;
        try {
            cursor = FeedCursor.decode(after);
        } catch (BadRequest e) {
            throw new Refusal(400, "BAD_CURSOR", e.getMessage(), null);
        }
        if (cursor.feedId() != feedId) {
            throw new Refusal(410, "OTHER_FEED", "the cursor belongs to another feed (another database, or one"
                    + " created anew): its events cannot be found here. Resynchronise the task states from"
                    + " GET /v1/task-instances/{id} and resume without after (the oldest event) or with after=latest",
                    null);
        }
        return new Start(cursor.position(), false);
    }

    /** A start position read from the store; its failure as a 503. */
    private long resolve(String which, LongSupplier position) {
        try {
            return position.getAsLong();
        } catch (RuntimeException e) {
            throw storeFailure("resolving " + which + " position", e);
        }
    }

    /** Admission of one read ({@link FeedReadLimits}), or a 503 SERVER_BUSY. */
    private FeedReadLimits.Grant admit(int limit, boolean parkedPoll) {
        FeedReadLimits.Grant grant;
        try {
            grant = limits.admit(limit, parkedPoll, ADMISSION_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refusal(503, "SERVER_STOPPING", "the server is stopping; poll again (another node, or this one"
                    + " once it is back) from the same cursor", null);
        }
        if (grant == null) {
            throw new Refusal(503, "SERVER_BUSY", "the server has too many requests in progress or holds too many"
                    + " request bodies and feed pages at once; poll again from the same cursor after Retry-After",
                    null);
        }
        return grant;
    }

    /**
     * One read under {@code grant} (whose read slot and unused bytes it gives back when done); the
     * feed's refusals and failures as {@link Refusal}s. A read from the oldest whose start the
     * cleaner pruned is made again from the new oldest position, never refused as expired.
     */
    private Read read(long after, boolean fromOldest, FeedReadLimits.Grant grant) {
        for (int attempt = 1; ; attempt++) {
            reads.increment();
            try {
                FeedPage page = feed.read(after, grant.limit);
                grant.read(page.events().size());
                return new Read(after, page);
            } catch (FeedPositionExpiredException e) {
                if (!fromOldest) {
                    String oldest = new FeedCursor(feedId, e.oldest()).encode();
                    throw new Refusal(410, "CURSOR_EXPIRED", "the cursor is older than the feed's retention ("
                            + human(settings.retention()) + "): the events after it were deleted. Resume from the"
                            + " oldest retained event (after=" + oldest + ") and resynchronise task states from"
                            + " GET /v1/task-instances/{id}", oldest);
                }
                if (attempt == OLDEST_ATTEMPTS) {
                    throw new Refusal(503, "STORE_UNAVAILABLE", "the oldest events were being deleted by retention"
                            + " during each of " + OLDEST_ATTEMPTS + " reads from the oldest; poll again", null);
                }
                after = Math.max(after, e.oldest());
            } catch (FeedPositionAheadException e) {
                throw new Refusal(410, "AHEAD", "the cursor is ahead of the feed (position " + e.position()
                        + ", the feed's last is " + e.head() + "): the database was restored or replaced since it was"
                        + " read. Resynchronise the task states from GET /v1/task-instances/{id} and resume with"
                        + " after=latest", null);
            } catch (RuntimeException e) {
                throw storeFailure("reading", e);
            }
        }
    }

    /** A store failure: logged with an id (classes and SQL states only), answered 503 with that id. */
    private Refusal storeFailure(String doing, RuntimeException e) {
        String id = errors.newId("GET /v1/state-events: the store failed " + doing);
        LOG.log(Level.WARNING, "GET /v1/state-events: the store failed " + doing + ", error " + id + ": "
                + FailureText.describe(e));
        return new Refusal(503, "STORE_UNAVAILABLE", "the store is unavailable (error " + id
                + "); poll again from the same cursor", null);
    }

    /**
     * A page as JSON, written as it is made into a buffer sized for it at once (the most its events
     * can take), then sent from that buffer: the page's bytes are held once, never grown, copied or
     * kept as a tree beside it (see {@link FeedReadLimits#BYTES_PER_EVENT}).
     */
    private void answer(Exchange exchange, long after, FeedPage page) throws IOException {
        int most = 128;
        for (FeedEvent e : page.events()) {
            most += MOST_JSON_BYTES_BESIDE_EVENT_ID + 6 * e.event().eventId().length(); // 6: a character as an escape
        }
        PageBytes bytes = new PageBytes(most);
        try (JsonGenerator out = json.mapper.getFactory().createGenerator(bytes)) {
            out.writeStartObject();
            out.writeArrayFieldStart("events");
            for (FeedEvent e : page.events()) {
                StateEvent s = e.event();
                out.writeStartObject();
                out.writeStringField("cursor", new FeedCursor(feedId, e.position()).encode());
                out.writeNumberField("workflowInstanceId", s.workflowInstanceId());
                out.writeNumberField("taskInstanceId", s.taskInstanceId());
                out.writeStringField("eventType", s.eventType().name());
                out.writeStringField("state", s.state().name());
                out.writeStringField("eventId", s.eventId());
                out.writeNumberField("version", s.version());
                out.writeStringField("committedAt", s.committedAt().toString());
                out.writeEndObject();
            }
            out.writeEndArray();
            long next = page.next(after);
            out.writeStringField("next", new FeedCursor(feedId, next).encode());
            out.writeNumberField("behind", Math.max(0, page.head() - next));
            out.writeEndObject();
        }
        served.add(page.events().size());
        try (exchange) {
            exchange.respond(200, "application/json", bytes.array(), bytes.size()); // its own array, not a copy
        }
    }

    /** A page's JSON, sent from the array it was written into. */
    private static final class PageBytes extends ByteArrayOutputStream {
        PageBytes(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }
    }

    private void refuse(Exchange exchange, Refusal refusal) throws IOException {
        if (refusal.status == 503) {
            exchange.setHeader("Retry-After", "1");
        }
        send(exchange, refusal.status, error(refusal.code, refusal.getMessage(), refusal.oldest));
    }

    private ObjectNode error(String code, String message, String oldest) {
        ObjectNode body = json.mapper.createObjectNode().put("error", message).put("code", code);
        if (oldest != null) {
            body.put("oldest", oldest);
        }
        return body;
    }

    private void send(Exchange exchange, int status, ObjectNode body) throws IOException {
        try (exchange) {
            exchange.respond(status, "application/json", json.mapper.writeValueAsBytes(body));
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> values = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return values;
        }
        for (String pair : raw.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (!PARAMETERS.contains(name)) {
                throw new Refusal(400, "BAD_REQUEST", "unknown query parameter \"" + JsonCodec.cut(name)
                        + "\"; this endpoint takes after, limit and wait", null);
            }
            if (values.put(name, value) != null) {
                throw new Refusal(400, "BAD_REQUEST", "query parameter " + name + " is given twice", null);
            }
        }
        return values;
    }

    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new Refusal(400, "BAD_REQUEST", "the query is not URL-encoded properly: \"" + JsonCodec.cut(text)
                    + "\"", null);
        }
    }

    private static int intParameter(Map<String, String> query, String name, int fallback, int min, int max) {
        String raw = query.get(name);
        if (raw == null) {
            return fallback;
        }
        if (raw.isEmpty() || raw.length() > 10 || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new Refusal(400, "BAD_REQUEST", name + " must be a whole number from " + min + " to " + max
                    + ", was \"" + JsonCodec.cut(raw) + "\"", null);
        }
        long value = Long.parseLong(raw);
        if (value < min || value > max) {
            throw new Refusal(400, "BAD_REQUEST", name + " must be from " + min + " to " + max + ", was " + value, null);
        }
        return (int) value;
    }

    private static String human(Duration d) {
        if (d.toSeconds() % 3600 == 0) {
            return d.toHours() + "h";
        }
        if (d.toSeconds() % 60 == 0) {
            return d.toMinutes() + "m";
        }
        return d.toSeconds() + "s";
    }
}
