package dev.taskevents.storage.jdbc.internal;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.FeedPositionExpiredException;
import dev.taskevents.api.spi.StoreException;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record3;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * The JDBC store's state-event feed (tables of {@code V4__AddStateFeed}; the plan is
 * {@code docs/plans/state-feed/DESIGN.md} §1-2).
 *
 * <h2>Why a reader never misses a change</h2>
 * <ol>
 *   <li><b>Positions are committed without holes.</b> A batch takes its positions by
 *       {@code UPDATE task_state_feed_head SET last_position = last_position + n} and inserts its
 *       row keyed by the new {@code last_position}, as the last statements of its transaction
 *       ({@link #record}). The UPDATE locks the one head row until the commit, so the next batch
 *       reads the committed value: a committed batch's positions follow the previous committed
 *       batch's directly, and a rolled-back batch takes its increment with it. So the committed
 *       positions are exactly {@code 1..head}. (An identity or auto-increment key would not do:
 *       keys are handed out at insert and committed in another order, and a reader that passed a
 *       higher key skips a lower one committed later; measured on PostgreSQL and MariaDB.)
 *   <li><b>A reader delivers only the contiguous run after its cursor</b> ({@link #read}): at a
 *       hole (the next row does not start at cursor + 1) it stops. By (1) a hole is a commit not
 *       yet visible to this read, never a lost row: InnoDB was measured making a later-locked
 *       commit visible first. The reader re-reads once at once, and otherwise returns what it has
 *       with {@link FeedPage#stoppedAtHole()} set, so its caller reads again shortly. A hole that
 *       lasts ({@link #LASTING_HOLE}) cannot come from writers (rows deleted by hand?): it is
 *       logged as an error with its position, and still never skipped.
 *   <li><b>Expired and foreign positions are refused, after the rows were read.</b> The pruned
 *       position is read after the rows, so a prune racing the read is seen: nothing delivered and
 *       {@code after < through} is {@link FeedPositionExpiredException}. A cursor is
 *       {@link FeedPositionAheadException ahead} only when the rows say so: nothing after it, no
 *       row ending at it, not pruned, and past the head. The head alone never decides it, because
 *       a head read is a statement of its own and can be older than the rows read just before it
 *       (below); a reader handed position N is then answered an empty page, not a restored
 *       database.
 * </ol>
 *
 * <h2>Reading the feed's own writes across statements</h2>
 * A read is several statements (rows, pruned position, head), each its own snapshot, and a
 * poll's wake-up reads the head alone. What each relies on, per database:
 * <ul>
 *   <li><b>A commit is visible to every statement that starts after a statement that saw it</b>
 *       (monotonic reads): PostgreSQL takes a new snapshot per statement in READ COMMITTED; InnoDB
 *       opens a read view per statement and removes a committing transaction from the active
 *       set at once, so its head row and its feed row become visible together; H2's MVStore takes
 *       a per-statement snapshot of every map it reads. H2 broke this only through its reuse of a
 *       query's last result, which can serve a result from before a commit after it: the pool
 *       turns that off on every H2 connection ({@code Pool.withoutH2ResultReuse}).
 *   <li><b>Commits of different transactions may become visible in another order than their
 *       positions</b> (InnoDB, measured): the hole rule (2) covers it; a hole makes a reader wait,
 *       never skip.
 *   <li><b>The head may lag the rows</b> (a head read that started before a commit, or the skew
 *       just described): a page's {@link FeedPage#head()} is at least its last position, AHEAD is
 *       judged by the rows (3), "latest" resolved from a lagging head only makes a new reader start
 *       a little earlier (it reads committed events it did not need), and a parked poll woken by a
 *       lagging head reads the rows again at its next wake-up: nothing is skipped either way.
 * </ul>
 * Lock order: writers take task rows (id order), then the head row, last; the cleaner
 * ({@link #prune}) takes the pruned row and the oldest feed rows, never the head row. No cycle.
 * The head row is held for the length of one commit; moving the UPDATE earlier would hold it for
 * the whole batch and serialise the writes themselves.
 *
 * <h2>The head row couples every writer, every node of a cluster included</h2>
 * Every batch that records in the feed, whichever node and shard it belongs to, updates the one
 * head row and holds it until its COMMIT. A writer stopped between that UPDATE and its COMMIT
 * (SIGSTOP, a GC pause, a network partition) stalls the feed-recording writes of every node until
 * its session ends. Invariant: a write session of the store keeps the head row at most the write
 * sessions' idle bound past its last statement, and waits for it at most that long
 * ({@link WriterSessions}). The database then ends the stopped session: its batch rolls back, its
 * increment of the head with it (so (1) still holds), and the waiting batches go on; a writer
 * waiting behind a holder without that bound fails its batch instead, and the engine retries it.
 * The bound: {@code JdbcStoreOptions.writerIdleTimeout} if chosen ({@code serve --cluster}: half
 * the lease), otherwise, once the store takes part in a cluster, half the shortest lease
 * registered. A single node without it only stalls itself. H2 has no such bound (its database
 * lives inside the process).
 */
final class JdbcStateFeed {
    private static final System.Logger LOG = System.getLogger(JdbcStateFeed.class.getName());
    /** Feed rows per round trip of a read: a row holds up to a batch (1,000 events). */
    private static final int ROWS_PER_READ = 64;
    /** A hole seen at one position for this long is logged as an error (it is still never skipped). */
    static final long LASTING_HOLE = TimeUnit.SECONDS.toNanos(10);

    static final Table<Record> HEAD = table(name("task_state_feed_head"));
    static final Field<Integer> HEAD_ID = field(name("id"), SQLDataType.INTEGER.nullable(false));
    static final Field<Long> FEED_ID = field(name("feed_id"), SQLDataType.BIGINT.nullable(false));
    static final Field<Long> HEAD_POSITION = field(name("last_position"), SQLDataType.BIGINT.nullable(false));

    static final Table<Record> PRUNED = table(name("task_state_feed_pruned"));
    static final Field<Integer> PRUNED_ID = field(name("id"), SQLDataType.INTEGER.nullable(false));
    static final Field<Long> THROUGH = field(name("through_position"), SQLDataType.BIGINT.nullable(false));

    static final Table<Record> FEED = table(name("task_state_feed"));
    static final Field<Long> LAST_POSITION = field(name("last_position"), SQLDataType.BIGINT.nullable(false));
    static final Field<Integer> EVENT_COUNT = field(name("event_count"), SQLDataType.INTEGER.nullable(false));
    static final Field<String> ENTRIES = field(name("entries"), SQLDataType.CLOB.nullable(false));

    private final boolean mysqlFamily;
    /** {@code recorded_at}: a UTC {@code datetime(6)} on MySQL/MariaDB, a timestamp with time zone elsewhere. */
    private final Field<?> recordedAt;
    private final Field<?> throughRecordedAt;
    /** The database's clock, in the type of {@link #recordedAt}. */
    private final Field<?> databaseNow;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile long feedId;
    /** The position a read last stopped at a hole after, and since when (nanoTime); guarded by this. */
    private long holeAfter = -1;
    private long holeSince;
    private boolean holeLogged;

    JdbcStateFeed(SQLDialect dialect) {
        this.mysqlFamily = dialect.family() == SQLDialect.MYSQL || dialect.family() == SQLDialect.MARIADB;
        if (mysqlFamily) {
            this.recordedAt = field(name("recorded_at"), SQLDataType.LOCALDATETIME);
            this.throughRecordedAt = field(name("through_recorded_at"), SQLDataType.LOCALDATETIME);
            this.databaseNow = DSL.field("utc_timestamp(6)", SQLDataType.LOCALDATETIME);
        } else {
            this.recordedAt = field(name("recorded_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
            this.throughRecordedAt = field(name("through_recorded_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
            this.databaseNow = DSL.currentOffsetDateTime();
        }
    }

    /**
     * Takes the next {@code events.size()} positions and records the events at them, in the
     * caller's transaction. Must be the LAST statements before the commit (see the class comment):
     * the head row stays locked from here to the commit, every other writer waiting for it, up to
     * the write sessions' bounds if this one stops here.
     */
    void record(DSLContext t, List<StateEvent> events) {
        int n = events.size();
        if (t.update(HEAD).set(HEAD_POSITION, HEAD_POSITION.plus(n)).where(HEAD_ID.eq(1)).execute() != 1) {
            throw new StoreException("the state-event feed's head row (task_state_feed_head, id 1) is missing:"
                    + " the schema was changed by hand; the batch was rolled back");
        }
        int inserted = t.insertInto(FEED).columns(LAST_POSITION, EVENT_COUNT, ENTRIES)
                .select(DSL.select(HEAD_POSITION, DSL.val(n, EVENT_COUNT), DSL.val(OutboxTable.encode(events), ENTRIES))
                        .from(HEAD).where(HEAD_ID.eq(1)))
                .execute();
        if (inserted != 1) {
            throw new StoreException("recording " + n + " state events in the feed inserted " + inserted
                    + " rows instead of 1; the batch was rolled back");
        }
    }

    /** The transaction that {@link #record}ed committed: tell the listeners. */
    void appended() {
        for (Runnable listener : listeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a state-event feed listener threw " + e.getClass().getName(), e);
            }
        }
    }

    void addListener(Runnable listener) {
        listeners.add(Objects.requireNonNull(listener, "appended"));
    }

    void removeListener(Runnable listener) {
        listeners.remove(listener);
    }

    long feedId(DSLContext sql) {
        long id = feedId;
        if (id == 0) {
            id = sql.select(FEED_ID).from(HEAD).where(HEAD_ID.eq(1)).fetchOptional(FEED_ID)
                    .orElseThrow(() -> new StoreException("the state-event feed's head row is missing"));
            feedId = id;
        }
        return id;
    }

    long head(DSLContext sql) {
        return sql.select(HEAD_POSITION).from(HEAD).where(HEAD_ID.eq(1)).fetchOptional(HEAD_POSITION)
                .orElseThrow(() -> new StoreException("the state-event feed's head row is missing"));
    }

    long prunedThrough(DSLContext sql) {
        return sql.select(THROUGH).from(PRUNED).where(PRUNED_ID.eq(1)).fetchOptional(THROUGH)
                .orElseThrow(() -> new StoreException("the state-event feed's pruned row is missing"));
    }

    /** See {@link dev.taskevents.api.spi.StateEventFeed#read}; each statement is its own snapshot. */
    FeedPage read(DSLContext sql, long after, int limit) {
        List<FeedEvent> events = new ArrayList<>(Math.min(limit, 1_024));
        boolean hole = false;
        for (int attempt = 0; ; attempt++) {
            hole = readRun(sql, after, limit, events);
            if (!events.isEmpty()) {
                break;
            }
            long through = prunedThrough(sql);
            if (after < through) {
                throw new FeedPositionExpiredException(after, through);
            }
            if (!hole) {
                long head = head(sql);
                if (after > head) {
                    if (after > through && !holdsPosition(sql, after)) {
                        throw new FeedPositionAheadException(after, head);
                    }
                    head = after; // the head read lagged a row this feed holds (see the class comment)
                }
                return new FeedPage(events, head, false);
            }
            if (attempt == 1) {
                break;
            }
            // A hole at the very start: a commit becoming visible. Once more at once.
        }
        long next = events.isEmpty() ? after : events.get(events.size() - 1).position();
        noteHole(hole, next);
        return new FeedPage(events, Math.max(head(sql), next), hole);
    }

    /** Whether a feed row ends at {@code position} (the only row that can hold it when none ends after it). */
    private static boolean holdsPosition(DSLContext sql, long position) {
        return sql.fetchExists(DSL.selectOne().from(FEED).where(LAST_POSITION.eq(position)));
    }

    /**
     * Appends to {@code events} the contiguous run of positions after {@code after}, up to
     * {@code limit}; returns whether it stopped at a hole.
     */
    private static boolean readRun(DSLContext sql, long after, int limit, List<FeedEvent> events) {
        long cursor = after;
        while (true) {
            List<Record3<Long, Integer, String>> rows = sql.select(LAST_POSITION, EVENT_COUNT, ENTRIES).from(FEED)
                    .where(LAST_POSITION.gt(cursor)).orderBy(LAST_POSITION).limit(ROWS_PER_READ).fetch();
            for (Record3<Long, Integer, String> row : rows) {
                long last = row.value1();
                long first = last - row.value2() + 1;
                if (first > cursor + 1) {
                    return true; // the hole rule: positions cursor+1 .. first-1 are not visible yet
                }
                List<StateEvent> decoded = OutboxTable.decode(row.value3());
                if (decoded.size() != row.value2()) {
                    throw new StoreException("the state-event feed row at position " + last + " holds "
                            + decoded.size() + " events but says " + row.value2());
                }
                for (int i = 0; i < decoded.size(); i++) {
                    long position = first + i;
                    if (position <= cursor) {
                        continue; // the cursor is inside this batch
                    }
                    if (events.size() == limit) {
                        return false;
                    }
                    events.add(new FeedEvent(position, decoded.get(i)));
                    cursor = position;
                }
            }
            if (rows.size() < ROWS_PER_READ || events.size() == limit) {
                return false;
            }
        }
    }

    private synchronized void noteHole(boolean hole, long after) {
        if (!hole) {
            if (holeAfter == after || holeAfter < after) {
                holeAfter = -1;
            }
            return;
        }
        long now = System.nanoTime();
        if (holeAfter != after) {
            holeAfter = after;
            holeSince = now;
            holeLogged = false;
        } else if (!holeLogged && now - holeSince > LASTING_HOLE) {
            holeLogged = true;
            LOG.log(Level.ERROR, "the state-event feed has had a hole at position " + (after + 1) + " for more than "
                    + TimeUnit.NANOSECONDS.toSeconds(LASTING_HOLE) + " s: committed positions have no holes, so feed"
                    + " rows were deleted by hand or the schema was changed; readers stop before it and never skip it");
        }
    }

    /**
     * See {@link dev.taskevents.api.spi.StateEventFeed#prune}: one transaction, READ COMMITTED (on
     * MariaDB, REPEATABLE READ's next-key locks would block appends while it deletes every row).
     * The pruned row is locked first, which serialises cleaners of several processes; the head row
     * is never touched.
     */
    long prune(DSLContext sql, Duration retention, int maxEvents) {
        return sql.connectionResult(c -> pruneOn(c, sql, retention, maxEvents, () -> { }));
    }

    /**
     * {@link #prune} on connection {@code c}; {@code beforeCommit} runs with the deletes done and
     * not committed (tests hold the cleaner's transaction open there).
     */
    long pruneOn(Connection c, DSLContext sql, Duration retention, int maxEvents, Runnable beforeCommit)
            throws SQLException {
        c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        c.setAutoCommit(false);
        try {
            long result = pruneIn(DSL.using(c, sql.dialect(), sql.settings()), retention, maxEvents);
            beforeCommit.run();
            c.commit();
            return result;
        } catch (RuntimeException | SQLException e) {
            try {
                c.rollback();
            } catch (SQLException rollback) {
                e.addSuppressed(rollback);
            }
            throw e;
        }
    }

    private long pruneIn(DSLContext t, Duration retention, int maxEvents) {
        long through = t.select(THROUGH).from(PRUNED).where(PRUNED_ID.eq(1)).forUpdate().fetchOptional(THROUGH)
                .orElseThrow(() -> new StoreException("the state-event feed's pruned row is missing"));
        Instant cutoff = instant(t.select(databaseNow).fetchOne().value1()).minus(retention);
        long newThrough = through;
        Object newThroughRecordedAt = null;
        int events = 0;
        for (Record row : t.select(LAST_POSITION, EVENT_COUNT, recordedAt).from(FEED).where(LAST_POSITION.gt(through))
                .orderBy(LAST_POSITION).limit(maxEvents).fetch()) {
            int count = row.get(EVENT_COUNT);
            // The longest prefix of old rows: never past a younger row (clocks of several writers
            // need not be monotonic), and whole batches, at least one.
            if (!instant(row.get(recordedAt)).isBefore(cutoff) || (events > 0 && events + count > maxEvents)) {
                break;
            }
            newThrough = row.get(LAST_POSITION);
            newThroughRecordedAt = row.get(recordedAt);
            events += count;
        }
        if (newThrough > through) {
            t.deleteFrom(FEED).where(LAST_POSITION.gt(through)).and(LAST_POSITION.le(newThrough)).execute();
            @SuppressWarnings("unchecked")
            Field<Object> at = (Field<Object>) throughRecordedAt;
            t.update(PRUNED).set(THROUGH, newThrough).set(at, newThroughRecordedAt).where(PRUNED_ID.eq(1)).execute();
        }
        return newThrough;
    }

    private static Instant instant(Object time) {
        if (time instanceof OffsetDateTime o) {
            return o.toInstant();
        }
        if (time instanceof LocalDateTime l) {
            return l.toInstant(ZoneOffset.UTC);
        }
        throw new StoreException("the database returned a time of type "
                + (time == null ? "null" : time.getClass().getName()) + " for the state-event feed");
    }
}
