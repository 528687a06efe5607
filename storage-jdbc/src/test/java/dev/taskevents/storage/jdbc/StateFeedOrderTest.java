package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The feed's cursor cannot pass a change that commits late (docs/plans/state-feed §1, §6), on each database:
 * <ul>
 *   <li>the classic trap, forced: batch A takes its positions first and is held before its
 *       commit; batch B starts and must wait behind A (seen in the database's own lock-wait view);
 *       a reader sees nothing new meanwhile, then A's positions before B's;
 *   <li>the hole rule, forced: a later position made visible while an earlier one is still
 *       uncommitted (what InnoDB was measured doing) must stop the reader, not be passed;
 *   <li>a stress of concurrent writers and a reader: every position read once, in order, and
 *       every (task, version) written read once;
 *   <li>restart survival, and the feed read over a connection that is cut (PostgreSQL).
 * </ul>
 */
class StateFeedOrderTest {
    private static final Instant T0 = Instant.parse("2026-03-04T05:06:07.123456Z");
    private static final Set<StateEventLog> FEED = Set.of(StateEventLog.FEED);
    private static final AtomicLong NEXT_ID = new AtomicLong(1_000);

    abstract static class OnOneDatabase {
        String url;
        TaskInstanceStore store;
        StateEventFeed feed;
        final ExecutorService threads = Executors.newCachedThreadPool();

        /** A URL to a new, empty database (with a lock wait long enough for the held writers). */
        abstract String newUrl();

        /** Transactions of this test's database now waiting for a lock. */
        abstract int blockedTransactions(Connection c) throws SQLException;

        /** The SQL quote character for identifiers. */
        String q() {
            return "\"";
        }

        void open() {
            if (url == null) {
                url = newUrl();
            }
            store = JdbcStores.open(JdbcStoreOptions.of(url).withMaximumPoolSize(8));
            feed = store.stateFeed().orElseThrow();
        }

        @AfterEach
        void close() {
            threads.shutdownNow();
            if (store != null) {
                store.close();
            }
        }

        int blocked() {
            try (Connection c = DriverManager.getConnection(url)) {
                return blockedTransactions(c);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        List<TaskInstance> insertTasks(int n) {
            long workflow = NEXT_ID.incrementAndGet();
            List<TaskInstance> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long id = NEXT_ID.incrementAndGet();
                rows.add(TaskInstance.submitted(id, workflow, "task-" + id, T0));
            }
            store.insert(rows);
            return rows;
        }

        static RowUpdate next(TaskInstance row, String eventId) {
            TaskInstance next = new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "h",
                    row.logPath(), row.executePath(), row.processId(), row.appIds(), T0, row.endTime(), row.varPool(),
                    row.finishEventId(), eventId, row.version() + 1, T0.plusSeconds(row.version() + 1));
            return new RowUpdate(next, row.version(), new StateEvent(row.workflowInstanceId(), row.id(),
                    TaskEventType.RUNNING, TaskState.RUNNING, eventId, next.version(), next.updatedAt()));
        }

        WriteBatch batch(List<TaskInstance> rows, String prefix) {
            return new WriteBatch(rows.stream().map(r -> next(r, prefix + r.id())).toList()).withRecordIn(FEED);
        }

        static List<String> ids(List<FeedEvent> events) {
            return events.stream().map(e -> e.event().eventId()).toList();
        }

        static List<Long> positions(List<FeedEvent> events) {
            return events.stream().map(FeedEvent::position).toList();
        }

        /** A feed row written by hand, as the store's encoding has it (one RUNNING event). */
        String entry(long workflow, long task, long version, String eventId) {
            return workflow + "\t" + task + "\tRUNNING\tRUNNING\t" + version + "\t"
                    + java.time.temporal.ChronoUnit.MICROS.between(Instant.EPOCH, T0) + "\t" + eventId + "\n";
        }

        void insertFeedRow(Connection c, long lastPosition, String entries) throws SQLException {
            try (PreparedStatement s = c.prepareStatement("insert into " + q() + "task_state_feed" + q() + " ("
                    + q() + "last_position" + q() + ", " + q() + "event_count" + q() + ", " + q() + "entries" + q()
                    + ") values (?, 1, ?)")) {
                s.setLong(1, lastPosition);
                s.setString(2, entries);
                s.executeUpdate();
            }
        }

        void raiseHead(Connection c, long by) throws SQLException {
            try (Statement s = c.createStatement()) {
                s.executeUpdate("update " + q() + "task_state_feed_head" + q() + " set " + q() + "last_position" + q()
                        + " = " + q() + "last_position" + q() + " + " + by + " where " + q() + "id" + q() + " = 1");
            }
        }

        /**
         * Batch A takes its three positions and is held before its commit: a test transaction holds
         * an uncommitted feed row at A's last position, so A's insert (after its counter UPDATE)
         * waits on it. Batch B then waits on A's counter lock. Only the databases' lock views say
         * they wait; no sleep.
         */
        @Test
        void aBatchThatTookItsPositionsFirstAndCommitsLastIsReadFirst() throws Exception {
            open();
            long h = feed.head();
            List<TaskInstance> a = insertTasks(3);
            List<TaskInstance> b = insertTasks(2);
            try (Connection hold = DriverManager.getConnection(url)) {
                hold.setAutoCommit(false);
                insertFeedRow(hold, h + 3, entry(1, 1, 1, "holder"));
                Future<List<WriteOutcome>> writeA = threads.submit(() -> store.write(batch(a, "a-")));
                Await.until(() -> blocked() == 1); // A holds the counter and waits for the held row
                Future<List<WriteOutcome>> writeB = threads.submit(() -> store.write(batch(b, "b-")));
                Await.until(() -> blocked() == 2); // B waits for A's counter
                assertFalse(writeA.isDone() || writeB.isDone());
                FeedPage meanwhile = feed.read(h, 100);
                assertTrue(meanwhile.events().isEmpty(), "a reader saw " + ids(meanwhile.events())
                        + " while the batch holding the lower positions had not committed");
                assertEquals(h, feed.head());
                hold.rollback();
                assertEquals(List.of(WriteOutcome.APPLIED, WriteOutcome.APPLIED, WriteOutcome.APPLIED),
                        writeA.get(30, TimeUnit.SECONDS));
                assertEquals(List.of(WriteOutcome.APPLIED, WriteOutcome.APPLIED), writeB.get(30, TimeUnit.SECONDS));
            }
            FeedPage page = feed.read(h, 100);
            assertEquals(List.of(h + 1, h + 2, h + 3, h + 4, h + 5), positions(page.events()));
            assertEquals(List.of("a-" + a.get(0).id(), "a-" + a.get(1).id(), "a-" + a.get(2).id(),
                    "b-" + b.get(0).id(), "b-" + b.get(1).id()), ids(page.events()));
        }

        /**
         * Position h+1 is taken and uncommitted while h+2 is already visible (forced by writing
         * h+2's row by hand, past the counter: the order in which InnoDB was measured to make two
         * commits visible). A reader after h must deliver nothing and say it stopped at a hole;
         * once h+1 commits it gets h+1 then h+2. A reader that advanced over h+2 would never see
         * h+1: this fails on a feed without the hole rule.
         */
        @Test
        void aReaderStopsAtAPositionNotYetVisibleAndNeverPassesIt() throws Exception {
            open();
            long h = feed.head();
            try (Connection early = DriverManager.getConnection(url); Connection late = DriverManager.getConnection(url)) {
                early.setAutoCommit(false);
                raiseHead(early, 1);
                insertFeedRow(early, h + 1, entry(7, 70, 1, "early"));
                insertFeedRow(late, h + 2, entry(8, 80, 1, "visible-first"));
                long cursor = h;
                List<FeedEvent> read = new ArrayList<>();
                FeedPage page = feed.read(cursor, 100);
                read.addAll(page.events());
                cursor = page.next(cursor);
                assertEquals(List.of(), ids(page.events()), "the reader passed a position not yet visible");
                assertTrue(page.stoppedAtHole());
                early.commit();
                raiseHead(late, 1); // the counter, as if the second commit had gone through it too
                page = feed.read(cursor, 100);
                read.addAll(page.events());
                assertEquals(List.of("early", "visible-first"), ids(read), "the reader passed a late commit");
                assertEquals(List.of(h + 1, h + 2), positions(read));
            }
            // A hole in the middle of a read: delivered up to it, then stopped.
            try (Connection early = DriverManager.getConnection(url); Connection late = DriverManager.getConnection(url)) {
                early.setAutoCommit(false);
                insertFeedRow(late, h + 3, entry(9, 90, 1, "before-the-hole"));
                raiseHead(late, 1);
                raiseHead(early, 1);
                insertFeedRow(early, h + 4, entry(9, 91, 1, "in-the-hole"));
                insertFeedRow(late, h + 5, entry(9, 92, 1, "after-the-hole"));
                FeedPage page = feed.read(h + 2, 100);
                assertEquals(List.of("before-the-hole"), ids(page.events()));
                assertTrue(page.stoppedAtHole());
                early.commit();
                raiseHead(late, 1);
                assertEquals(List.of("in-the-hole", "after-the-hole"), ids(feed.read(h + 3, 100).events()));
            }
        }

        /**
         * The head row lags a committed feed row (forced: the row is written by hand without
         * raising the head, the state a head read older than the row read before it presents). A
         * reader handed that row's position is not ahead of the feed: its next read is an empty
         * page whose head is at least its cursor. Past every row, the cursor is still ahead.
         */
        @Test
        void aCursorAtAPositionTheRowsHoldIsNeverAheadWhenTheHeadLags() throws Exception {
            open();
            long h = feed.head();
            try (Connection c = DriverManager.getConnection(url)) {
                insertFeedRow(c, h + 1, entry(6, 60, 1, "head-lags"));
            }
            FeedPage page = feed.read(h, 10);
            assertEquals(List.of("head-lags"), ids(page.events()));
            FeedPage next = feed.read(h + 1, 10);
            assertTrue(next.events().isEmpty());
            assertEquals(h + 1, next.head());
            assertThrows(FeedPositionAheadException.class, () -> feed.read(h + 2, 10));
        }

        /**
         * Six writers commit small batches while a reader follows the feed: every position from the
         * start to the head is read exactly once, in order, and every (task, version) the writers
         * got APPLIED is read exactly once.
         */
        @Test
        void concurrentWritersAndAReaderMissNothingAndRepeatNothing() throws Exception {
            open();
            long start = feed.head();
            int writers = 6;
            int batchesEach = 120;
            Set<String> written = ConcurrentHashMap.newKeySet();
            AtomicBoolean writing = new AtomicBoolean(true);
            List<Future<?>> work = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                List<TaskInstance> tasks = insertTasks(4);
                work.add(threads.submit(() -> {
                    List<TaskInstance> current = new ArrayList<>(tasks);
                    for (int i = 0; i < batchesEach; i++) {
                        int n = 1 + i % current.size();
                        List<TaskInstance> chosen = current.subList(0, n);
                        WriteBatch batch = batch(chosen, "w-");
                        List<WriteOutcome> outcomes = store.write(batch);
                        for (int k = 0; k < n; k++) {
                            assertEquals(WriteOutcome.APPLIED, outcomes.get(k));
                            TaskInstance row = batch.updates().get(k).row();
                            written.add(row.id() + "@" + row.version());
                            current.set(k, row);
                        }
                    }
                    return null;
                }));
            }
            AtomicInteger holes = new AtomicInteger();
            Future<List<FeedEvent>> reader = threads.submit(() -> {
                List<FeedEvent> read = new ArrayList<>();
                long cursor = start;
                while (true) {
                    boolean done = !writing.get();
                    FeedPage page = feed.read(cursor, 50);
                    if (page.stoppedAtHole()) {
                        holes.incrementAndGet();
                    }
                    for (FeedEvent e : page.events()) {
                        assertEquals(cursor + 1, e.position(), "a gap or a repeat after position " + cursor);
                        cursor = e.position();
                        read.add(e);
                    }
                    if (done && page.events().isEmpty() && cursor == feed.head()) {
                        return read;
                    }
                }
            });
            for (Future<?> f : work) {
                f.get(120, TimeUnit.SECONDS);
            }
            writing.set(false);
            List<FeedEvent> read = reader.get(120, TimeUnit.SECONDS);
            Set<String> seen = new HashSet<>();
            for (FeedEvent e : read) {
                assertTrue(seen.add(e.event().taskInstanceId() + "@" + e.event().version()), "read twice: " + e);
            }
            assertEquals(written, seen);
            assertEquals(start + written.size(), feed.head());
            System.out.println(getClass().getSimpleName() + ": " + read.size() + " events read by position, "
                    + holes.get() + " reads stopped at a hole");
        }

        /** Close the store, open it again on the same database: the same feed, resumed from a position. */
        @Test
        void theFeedSurvivesARestartAndResumesFromAPosition() throws Exception {
            open();
            long id = feed.feedId();
            long h = feed.head();
            List<TaskInstance> rows = insertTasks(4);
            store.write(batch(rows.subList(0, 2), "before-"));
            long cursor = feed.read(h, 1).next(h);
            store.close();
            open();
            assertEquals(id, feed.feedId());
            store.write(batch(rows.subList(2, 4), "after-"));
            assertEquals(List.of("before-" + rows.get(1).id(), "after-" + rows.get(2).id(), "after-" + rows.get(3).id()),
                    ids(feed.read(cursor, 100).events()));
        }
    }

    @Nested
    class H2 extends OnOneDatabase {
        @Override
        String newUrl() {
            return TestDatabases.freshH2Url() + ";LOCK_TIMEOUT=60000";
        }

        @Override
        int blockedTransactions(Connection c) throws SQLException {
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("select count(*) from information_schema.sessions where blocker_id is not null")) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    @Nested
    class PostgreSql extends OnOneDatabase {
        private final String application = "feedtest" + Long.toHexString(System.nanoTime());

        @Override
        String newUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.POSTGRES) + "&ApplicationName=" + application;
        }

        @Override
        int blockedTransactions(Connection c) throws SQLException {
            try (PreparedStatement s = c.prepareStatement("select count(*) from pg_stat_activity"
                    + " where application_name = ? and wait_event_type = 'Lock'")) {
                s.setString(1, application);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    return r.getInt(1);
                }
            }
        }

        /**
         * The feed read while the database connection is cut: a StoreException (serve answers
         * 503), and once the connection is back the read resumes from the same position with no
         * gap.
         */
        @Test
        void aReadOverACutConnectionFailsWithStoreExceptionAndResumesWithoutAGap() throws Exception {
            String direct = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
            Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(direct);
            assertTrue(hostPort.find(), direct);
            try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
                url = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
                store = JdbcStores.open(JdbcStoreOptions.of(url).withMaximumPoolSize(2)
                        .withConnectionTimeout(Duration.ofSeconds(2)));
                feed = store.stateFeed().orElseThrow();
                List<TaskInstance> rows = insertTasks(3);
                store.write(batch(rows.subList(0, 1), "one-"));
                long cursor = feed.read(0, 100).next(0);
                assertEquals(1, cursor);
                proxy.setDown(true);
                proxy.cutAll();
                long at = cursor;
                StoreException e = assertThrows(StoreException.class, () -> feed.read(at, 100));
                assertTrue(e.getMessage().contains("read the state-event feed after position 1"), e.getMessage());
                // The feed's other database paths fail the same way while it is down.
                assertThrows(StoreException.class, feed::head);
                assertThrows(StoreException.class, feed::prunedThrough);
                assertThrows(StoreException.class, () -> feed.prune(Duration.ZERO, 10));
                assertThrows(StoreException.class, () -> store.write(batch(rows.subList(1, 2), "lost-")));
                proxy.setDown(false);
                // Written meanwhile by another process (this store's pool may still hold cut connections).
                try (TaskInstanceStore other = JdbcStores.open(JdbcStoreOptions.of(direct).withMaximumPoolSize(2))) {
                    other.write(batch(rows.subList(1, 3), "two-"));
                }
                // A consumer retries the read from its position, as serve's client does on a 503.
                List<FeedEvent> resumed = new ArrayList<>();
                Await.until(() -> {
                    try {
                        resumed.addAll(feed.read(at, 100).events());
                        return true;
                    } catch (StoreException stillCut) {
                        return false;
                    }
                });
                assertEquals(List.of("two-" + rows.get(1).id(), "two-" + rows.get(2).id()), ids(resumed));
                assertEquals(List.of(2L, 3L), positions(resumed));
            }
        }
    }

    @Nested
    class MariaDb extends OnOneDatabase {
        @Override
        String newUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
        }

        @Override
        String q() {
            return "`";
        }

        @Override
        int blockedTransactions(Connection c) throws SQLException {
            try (Statement s = c.createStatement();
                 // innodb_trx's LOCK WAIT flickers for a waiter on MariaDB 10.11; the processlist
                 // says steadily which statement each connection is still executing.
                 ResultSet r = s.executeQuery("select count(*) from information_schema.processlist"
                         + " where db = database() and command = 'Query' and state <> ''"
                         + " and (info like 'update `task_state_feed_head`%' or info like 'insert into `task_state_feed`%')")) {
                r.next();
                return r.getInt(1);
            }
        }
    }
}
