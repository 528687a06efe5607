package dev.taskevents.storage.jdbc.internal;

import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.APP_IDS;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.COLUMNS;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.END_TIME;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.EXECUTE_PATH;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.FINISH_EVENT_ID;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.HOST;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.ID;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.LAST_EVENT_ID;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.LOG_PATH;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.NAME;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.PID;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.START_TIME;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.STATE;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.TASK_INSTANCE;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.UPDATED_AT;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.VAR_POOL;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.VERSION;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.WORKFLOW_INSTANCE_ID;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardFence;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jooq.BatchBindStep;
import org.jooq.DSLContext;
import org.jooq.InsertValuesStepN;
import org.jooq.Record2;
import org.jooq.Record3;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.RowN;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.IntegrityConstraintViolationException;
import org.jooq.impl.DSL;

/**
 * The JDBC store. Every statement is built with jOOQ; no SQL is assembled from strings.
 *
 * <h2>Batch writes</h2>
 * One transaction per batch: (1) {@code SELECT id, version ... WHERE id IN (...) ORDER BY id FOR
 * UPDATE} locks the batch's rows in id order, so concurrent batches queue on the lowest common
 * row instead of deadlocking, and tells each row's outcome exactly (missing: NOT_FOUND; other
 * version: VERSION_CONFLICT), since locked rows cannot change before the commit; (2) the APPLIED
 * rows are written by one JDBC batch of {@code UPDATE ... WHERE id = ? AND version = ?}, in one
 * round trip where the driver allows it (or, on PostgreSQL with {@code multiRowUpdates}, by one
 * {@code UPDATE ... FROM (VALUES ...)} per 100 rows). jOOQ's batch does not raise on an update that matched no
 * row (jOOQ issue 1637), so the update counts are checked here: any count other than 1 rolls the
 * transaction back and fails the batch; (3) the APPLIED rows' notifications are written to the
 * outbox as one row ({@link JdbcOutbox}), in the same transaction, so an outbox entry exists
 * exactly when its change was committed; (4) if the batch records in the feed, the feed's counter
 * and row ({@link JdbcStateFeed}), as the last statements before the commit.
 *
 * <p>Cluster mode: a batch with a {@link ShardFence} first reads its shards' epochs with a shared
 * row lock ({@link #lockShards}); rows of a shard whose epoch is not the fence's are FENCED and
 * take no part in (1)-(4). Lock order is always shard rows (by shard id), task rows (by id), outbox,
 * feed counter (last).
 * Every update sets {@code written_epoch}: the shard's epoch when fenced, null otherwise.
 */
public final class JdbcTaskInstanceStore implements TaskInstanceStore {
    /** Most rows per IN list or multi-row INSERT: well below every driver's bind-parameter limit. */
    private static final int CHUNK = 1_000;

    private final Pool pool;
    private volatile Duration settleLockWait = Duration.ofSeconds(5);
    private final DSLContext sql;
    private final String redactedUrl;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final boolean multiRowUpdate;
    private final JdbcOutbox outbox = new JdbcOutbox();
    /** The shard count the database recorded (cluster_info), read at open. */
    private final int shardCount;
    private final JdbcStoreOptions options;
    private final JdbcShardLeases leases;
    private volatile Runnable fenceProbe;
    private volatile Consumer<String> commitProbe;
    private final JdbcStateFeed feed;
    private final StateEventFeed feedView = new FeedView();

    private JdbcTaskInstanceStore(Pool pool, SQLDialect dialect, JdbcStoreOptions options, int shardCount) {
        this.pool = pool;
        this.shardCount = shardCount;
        this.options = options;
        this.multiRowUpdate = dialect == SQLDialect.POSTGRES && options.multiRowUpdates();
        this.feed = new JdbcStateFeed(dialect);
        String url = options.url();
        WriterSessions writers = new WriterSessions(pool.dataSource(), options);
        this.sql = DSL.using(writers, dialect, new Settings().withExecuteLogging(false));
        this.redactedUrl = UrlPasswords.redact(url);
        this.leases = new JdbcShardLeases(options, shardCount, (keep, limit) ->
                run("read the outbox of " + limit + " entries of some shards", () -> outbox.pending(sql, keep, limit)),
                writers);
    }

    /** See {@link dev.taskevents.storage.jdbc.JdbcStores#open}. */
    public static JdbcTaskInstanceStore open(JdbcStoreOptions options) {
        SQLDialect dialect = Dialects.of(options.url());
        int shardCount;
        if (options.statementTimeout() == null) {
            Pool pool = Pool.start(options);
            try {
                shardCount = Schema.prepare(pool.dataSource(), options, options.migrateOnOpen());
                return new JdbcTaskInstanceStore(pool, dialect, options, shardCount);
            } catch (RuntimeException e) {
                pool.close();
                throw e;
            }
        }
        // A migration may take longer than a statement of the store may: it runs on its own connection.
        try (Pool migrations = Pool.start(options.withStatementTimeout(null).withMaximumPoolSize(2))) {
            shardCount = Schema.prepare(migrations.dataSource(), options, options.migrateOnOpen());
        }
        return new JdbcTaskInstanceStore(Pool.start(options), dialect, options, shardCount);
    }

    @Override
    public Optional<TaskInstance> find(long taskInstanceId) {
        return run("find task instance " + taskInstanceId, () -> sql.select(COLUMNS).from(TASK_INSTANCE)
                .where(ID.eq(taskInstanceId)).fetchOptional(TaskInstanceTable::read));
    }

    @Override
    public List<TaskInstance> findByWorkflow(long workflowInstanceId) {
        return run("find the task instances of workflow instance " + workflowInstanceId, () -> sql.select(COLUMNS)
                .from(TASK_INSTANCE).where(WORKFLOW_INSTANCE_ID.eq(workflowInstanceId)).orderBy(ID)
                .fetch(TaskInstanceTable::read));
    }

    /**
     * One IN list per 1,000 ids. A single statement reads one snapshot; more than one are read in
     * one REPEATABLE READ transaction, whose snapshot (PostgreSQL, InnoDB, H2's MVStore) spans its
     * statements, so that a batch touching workflows of several chunks is still seen whole or not
     * at all (read committed would give each chunk its own moment).
     */
    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        List<Long> ids = workflowInstanceIds.stream().distinct().sorted().toList();
        return run("find the task instances of " + ids.size() + " workflow instances", () -> {
            if (ids.size() <= CHUNK) {
                return readWorkflows(sql, ids);
            }
            // The pool (HikariCP) puts back the isolation level and auto-commit of a connection it
            // is returned, and rolls back what is left open; a failure here is the read's own.
            return sql.connectionResult(c -> {
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                c.setAutoCommit(false);
                try {
                    Map<Long, List<TaskInstance>> result = readWorkflows(DSL.using(c, sql.dialect(), sql.settings()), ids);
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
            });
        });
    }

    private static Map<Long, List<TaskInstance>> readWorkflows(DSLContext t, List<Long> sortedIds) {
        Map<Long, List<TaskInstance>> result = new HashMap<>();
        sortedIds.forEach(id -> result.put(id, new ArrayList<>()));
        for (int from = 0; from < sortedIds.size(); from += CHUNK) {
            t.select(COLUMNS).from(TASK_INSTANCE)
                    .where(WORKFLOW_INSTANCE_ID.in(sortedIds.subList(from, Math.min(sortedIds.size(), from + CHUNK))))
                    .orderBy(WORKFLOW_INSTANCE_ID, ID)
                    .forEach(r -> {
                        TaskInstance row = TaskInstanceTable.read(r);
                        result.get(row.workflowInstanceId()).add(row);
                    });
        }
        return result;
    }

    @Override
    public void insert(List<TaskInstance> rows) {
        Set<Long> seen = new HashSet<>();
        List<Long> repeated = rows.stream().map(TaskInstance::id).filter(id -> !seen.add(id)).toList();
        if (!repeated.isEmpty()) {
            throw new DuplicateTaskInstanceException(repeated);
        }
        if (rows.isEmpty()) {
            ensureOpen("insert 0 task instances");
            return;
        }
        List<Long> ids = rows.stream().map(TaskInstance::id).sorted().toList();
        try {
            run("insert " + rows.size() + " task instances", () -> sql.transactionResult(tx -> {
                DSLContext t = tx.dsl();
                List<Long> existing = existingIds(t, ids);
                if (!existing.isEmpty()) {
                    throw new DuplicateTaskInstanceException(existing);
                }
                for (int from = 0; from < rows.size(); from += CHUNK) {
                    InsertValuesStepN<Record> insert = t.insertInto(TASK_INSTANCE).columns(COLUMNS);
                    for (TaskInstance row : rows.subList(from, Math.min(rows.size(), from + CHUNK))) {
                        insert = insert.values(TaskInstanceTable.values(row));
                    }
                    insert.execute();
                }
                return null;
            }));
        } catch (RefusedByDatabaseException e) {
            if (e.getCause() instanceof IntegrityConstraintViolationException) {
                // Another writer inserted one of the ids between our check and our insert.
                List<Long> existing = run("find existing ids", () -> existingIds(sql, ids));
                if (!existing.isEmpty()) {
                    throw new DuplicateTaskInstanceException(existing);
                }
            }
            throw e;
        }
    }

    private static List<Long> existingIds(DSLContext t, List<Long> sortedIds) {
        List<Long> existing = new ArrayList<>();
        for (int from = 0; from < sortedIds.size(); from += CHUNK) {
            existing.addAll(t.select(ID).from(TASK_INSTANCE)
                    .where(ID.in(sortedIds.subList(from, Math.min(sortedIds.size(), from + CHUNK))))
                    .orderBy(ID).fetch(ID));
        }
        return existing;
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        List<RowUpdate> updates = batch.updates();
        ShardFence fence = batch.fence();
        if (fence.fenced() && fence.shardCount() != shardCount) {
            throw new IllegalArgumentException("the batch's fence is for " + fence.shardCount() + " shards; the database "
                    + redactedUrl + " was created with " + shardCount);
        }
        if (updates.isEmpty()) {
            ensureOpen("write an empty batch");
            return List.of();
        }
        long[] outboxRow = {-1};
        boolean[] appended = {false};
        List<StateEvent> notifications = new ArrayList<>();
        BatchWriteEvent timing = new BatchWriteEvent();
        timing.begin();
        timing.rows = updates.size();
        long[] lastStatementEnd = {0};
        List<WriteOutcome> result = run("write a batch of " + updates.size() + " task instance updates",
                () -> sql.transactionResult(tx -> {
            DSLContext t = tx.dsl();
            long step = System.nanoTime();
            Map<Integer, Long> epochs = fence.fenced() ? lockShards(t, fence, updates) : Map.of();
            timing.fence = System.nanoTime() - step;
            step = System.nanoTime();
            Predicate<RowUpdate> isFenced =
                    u -> fence.fenced() && !epochs.containsKey(fence.shardOf(u.row().workflowInstanceId()));
            Function<RowUpdate, Long> writtenEpoch =
                    u -> fence.fenced() ? epochs.get(fence.shardOf(u.row().workflowInstanceId())) : null;
            List<RowUpdate> inIdOrder = new ArrayList<>(updates.stream().filter(isFenced.negate()).toList());
            inIdOrder.sort(Comparator.comparingLong(u -> u.row().id()));
            List<Long> ids = inIdOrder.stream().map(u -> u.row().id()).toList();
            Map<Long, Long> stored = new HashMap<>();
            for (int from = 0; from < ids.size(); from += CHUNK) {
                for (Record3<Long, Long, Long> r : t.select(ID, VERSION, WORKFLOW_INSTANCE_ID).from(TASK_INSTANCE)
                        .where(ID.in(ids.subList(from, Math.min(ids.size(), from + CHUNK))))
                        .orderBy(ID).forUpdate().fetch()) {
                    stored.put(r.value1(), r.value2());
                    long workflowId = r.value3();
                    TaskInstance row = inIdOrder.get(Collections.binarySearch(ids, r.value1())).row();
                    if (row.workflowInstanceId() != workflowId) {
                        throw new IllegalArgumentException("task instance " + row.id() + " belongs to workflow instance "
                                + workflowId + "; an update cannot move it to " + row.workflowInstanceId());
                    }
                }
            }
            timing.lockingRead = System.nanoTime() - step;
            List<WriteOutcome> outcomes = new ArrayList<>(updates.size());
            for (RowUpdate u : updates) {
                Long version = stored.get(u.row().id());
                outcomes.add(isFenced.test(u) ? WriteOutcome.FENCED : version == null ? WriteOutcome.NOT_FOUND
                        : version != u.expectedVersion() ? WriteOutcome.VERSION_CONFLICT : WriteOutcome.APPLIED);
            }
            List<RowUpdate> toApply = inIdOrder.stream()
                    .filter(u -> Long.valueOf(u.expectedVersion()).equals(stored.get(u.row().id())))
                    .toList();
            timing.applied = toApply.size();
            if (!toApply.isEmpty()) {
                step = System.nanoTime();
                if (multiRowUpdate) {
                    applyLockedMultiRow(t, toApply, writtenEpoch);
                } else {
                    applyLocked(t, toApply, writtenEpoch);
                }
                timing.updates = System.nanoTime() - step;
                toApply.stream().map(RowUpdate::notification).filter(n -> n != null).forEach(notifications::add);
                step = System.nanoTime();
                if (!notifications.isEmpty() && batch.recordsIn(StateEventLog.OUTBOX)) {
                    outboxRow[0] = outbox.record(t, notifications);
                }
                timing.outbox = System.nanoTime() - step;
                step = System.nanoTime();
                if (!notifications.isEmpty() && batch.recordsIn(StateEventLog.FEED)) {
                    // Last before the commit: it locks the feed's counter row until then (JdbcStateFeed).
                    feed.record(t, notifications);
                    appended[0] = true;
                }
                timing.feed = System.nanoTime() - step;
            }
            beforeCommit("write");
            lastStatementEnd[0] = System.nanoTime();
            return outcomes;
        }));
        timing.commit = System.nanoTime() - lastStatementEnd[0];
        timing.commit();
        if (outboxRow[0] >= 0) {
            outbox.committed(outboxRow[0], notifications);
        }
        if (appended[0]) {
            feed.appended();
        }
        return result;
    }

    /**
     * The cluster fence (docs/plans/cluster-mode §3.2), the first statement of a fenced batch's transaction: reads the
     * epochs of the batch's shards with a shared row lock, in shard-id order (as every writer does,
     * so writers never deadlock with each other; takeover and release lock one shard row each).
     * Returns the epoch of each shard whose stored epoch is the fence's; the rows of the other
     * shards (another epoch, or no row) are FENCED and neither locked nor written. While this
     * transaction holds the shared locks no UPDATE of those shard rows (acquire, release) can
     * commit, so the epochs returned stay in force until this transaction ends.
     *
     * <p>The lock clause per family: PostgreSQL {@code FOR SHARE} (not {@code FOR KEY SHARE}, which
     * does not conflict with an UPDATE of {@code epoch}); the whole MySQL family {@code LOCK IN
     * SHARE MODE}, rendered through a MARIADB-dialect context even for {@code jdbc:mysql:} URLs
     * (jOOQ renders {@code FOR SHARE} for MYSQL, which MariaDB rejects; MySQL 8 accepts both); H2
     * {@code FOR UPDATE} (it has no shared row lock). Always a locking read: a plain read would see
     * InnoDB's snapshot in REPEATABLE READ and let a fenced owner through.
     */
    private Map<Integer, Long> lockShards(DSLContext t, ShardFence fence, List<RowUpdate> updates) {
        List<Integer> shards = updates.stream().map(u -> fence.shardOf(u.row().workflowInstanceId()))
                .distinct().sorted().toList();
        Map<Integer, Long> current = new HashMap<>();
        for (int from = 0; from < shards.size(); from += CHUNK) {
            List<Integer> ids = shards.subList(from, Math.min(shards.size(), from + CHUNK));
            Result<Record2<Integer, Long>> rows = switch (t.dialect().family()) {
                case POSTGRES -> t.select(ClusterTables.SHARD_ID, ClusterTables.EPOCH).from(ClusterTables.CLUSTER_SHARD)
                        .where(ClusterTables.SHARD_ID.in(ids)).orderBy(ClusterTables.SHARD_ID).forShare().fetch();
                case MYSQL, MARIADB -> DSL.using(t.configuration().derive(SQLDialect.MARIADB))
                        .select(ClusterTables.SHARD_ID, ClusterTables.EPOCH).from(ClusterTables.CLUSTER_SHARD)
                        .where(ClusterTables.SHARD_ID.in(ids)).orderBy(ClusterTables.SHARD_ID).forShare().fetch();
                default -> t.select(ClusterTables.SHARD_ID, ClusterTables.EPOCH).from(ClusterTables.CLUSTER_SHARD)
                        .where(ClusterTables.SHARD_ID.in(ids)).orderBy(ClusterTables.SHARD_ID).forUpdate().fetch();
            };
            for (Record2<Integer, Long> r : rows) {
                if (r.value2().equals(fence.epochs().get(r.value1()))) {
                    current.put(r.value1(), r.value2());
                }
            }
        }
        Runnable probe = fenceProbe;
        if (probe != null) {
            probe.run();
        }
        return current;
    }

    /**
     * Test seam, not API (this package is not exported): {@code probe} runs inside every fenced
     * write's transaction right after its fence read, holding the shard locks; null for none.
     */
    public void fenceProbe(Runnable probe) {
        this.fenceProbe = probe;
    }

    /**
     * Test seam, not API: {@code probe} runs inside each batch write's ({@code "write"}) and
     * outbox removal's ({@code "remove"}) transaction after its last statement, right before the
     * commit, told which; null for none. A probe that blocks is a writer stopped before its commit.
     */
    public void beforeCommitProbe(Consumer<String> probe) {
        this.commitProbe = probe;
    }

    private void beforeCommit(String transaction) {
        Consumer<String> probe = commitProbe;
        if (probe != null) {
            probe.accept(transaction);
        }
    }

    /** Test seam: how long lease statements wait for a shard lock (default 1 s); before the first lease call. */
    public void leaseLockWait(Duration wait) {
        leases.lockWait(wait);
    }

    /**
     * Test seam: {@code probe} is told the name of each {@link ShardLeases} method whose statement
     * goes to the database, as it asks for a connection (not of calls refused without trying);
     * null for none.
     */
    public void leaseSentProbe(Consumer<String> probe) {
        leases.sentProbe(probe);
    }

    /** The lease operations, on their own connections (started at the first call); see {@link JdbcShardLeases}. */
    @Override
    public Optional<ShardLeases> cluster() {
        return Optional.of(leases);
    }

    /**
     * PostgreSQL: the rows already locked and checked, as one {@code UPDATE ... FROM (VALUES ...)}
     * statement per chunk; the update count must equal the number of rows.
     */
    private void applyLockedMultiRow(DSLContext t, List<RowUpdate> rows,
                                     Function<RowUpdate, Long> writtenEpoch) {
        for (int from = 0; from < rows.size(); from += CHUNK / 10) {
            List<RowUpdate> chunk = rows.subList(from, Math.min(rows.size(), from + CHUNK / 10));
            RowN[] values = new RowN[chunk.size()];
            for (int i = 0; i < values.length; i++) {
                TaskInstance r = chunk.get(i).row();
                values[i] = DSL.row(List.<org.jooq.Field<?>>of(DSL.val(r.id(), ID), DSL.val(chunk.get(i).expectedVersion(), VERSION),
                        DSL.val(r.name(), NAME), DSL.val(r.state().name(), STATE), DSL.val(r.host(), HOST),
                        DSL.val(r.logPath(), LOG_PATH), DSL.val(r.executePath(), EXECUTE_PATH),
                        DSL.val(r.processId(), PID), DSL.val(r.appIds(), APP_IDS),
                        DSL.val(TaskInstanceTable.local(r.startTime()), START_TIME),
                        DSL.val(TaskInstanceTable.local(r.endTime()), END_TIME), DSL.val(r.varPool(), VAR_POOL),
                        DSL.val(r.finishEventId(), FINISH_EVENT_ID), DSL.val(r.lastEventId(), LAST_EVENT_ID),
                        DSL.val(r.version(), VERSION),
                        DSL.val(TaskInstanceTable.local(r.updatedAt()), UPDATED_AT),
                        DSL.val(writtenEpoch.apply(chunk.get(i)), ClusterTables.WRITTEN_EPOCH)));
            }
            Table<Record> v = DSL.values(values).as("v", "id", "expected_version", "name", "state", "host",
                    "log_path", "execute_path", "pid", "app_ids", "start_time", "end_time", "var_pool",
                    "finish_event_id", "last_event_id", "version", "updated_at", "written_epoch");
            int count = t.update(TASK_INSTANCE)
                    .set(NAME, v.field("name", String.class))
                    .set(STATE, v.field("state", String.class))
                    .set(HOST, v.field("host", String.class))
                    .set(LOG_PATH, v.field("log_path", String.class))
                    .set(EXECUTE_PATH, v.field("execute_path", String.class))
                    .set(PID, v.field("pid", Integer.class))
                    .set(APP_IDS, v.field("app_ids", String.class))
                    .set(START_TIME, v.field("start_time", LocalDateTime.class))
                    .set(END_TIME, v.field("end_time", LocalDateTime.class))
                    .set(VAR_POOL, v.field("var_pool", String.class))
                    .set(FINISH_EVENT_ID, v.field("finish_event_id", String.class))
                    .set(LAST_EVENT_ID, v.field("last_event_id", String.class))
                    .set(VERSION, v.field("version", Long.class))
                    .set(UPDATED_AT, v.field("updated_at", LocalDateTime.class))
                    .set(ClusterTables.WRITTEN_EPOCH, v.field("written_epoch", Long.class))
                    .from(v)
                    .where(DSL.field(DSL.name("task_instance", "id"), Long.class).eq(v.field("id", Long.class)))
                    .and(DSL.field(DSL.name("task_instance", "version"), Long.class)
                            .eq(v.field("expected_version", Long.class)))
                    .execute();
            if (count != chunk.size()) {
                throw new StoreException("a multi-row update of " + chunk.size() + " locked rows changed " + count
                        + "; the batch was rolled back");
            }
        }
    }

    /** The UPDATEs of rows already locked and checked, as one JDBC batch; every count must be 1. */
    private void applyLocked(DSLContext t, List<RowUpdate> rows, Function<RowUpdate, Long> writtenEpoch) {
        BatchBindStep batch = t.batch(t.update(TASK_INSTANCE)
                .set(NAME, (String) null)
                .set(STATE, (String) null)
                .set(HOST, (String) null)
                .set(LOG_PATH, (String) null)
                .set(EXECUTE_PATH, (String) null)
                .set(PID, (Integer) null)
                .set(APP_IDS, (String) null)
                .set(START_TIME, (LocalDateTime) null)
                .set(END_TIME, (LocalDateTime) null)
                .set(VAR_POOL, (String) null)
                .set(FINISH_EVENT_ID, (String) null)
                .set(LAST_EVENT_ID, (String) null)
                .set(VERSION, (Long) null)
                .set(UPDATED_AT, (LocalDateTime) null)
                .set(ClusterTables.WRITTEN_EPOCH, (Long) null)
                .where(ID.eq((Long) null))
                .and(VERSION.eq((Long) null)));
        for (RowUpdate u : rows) {
            TaskInstance r = u.row();
            // Bind values in the order of the placeholders above: the SET list, then the WHERE.
            batch = batch.bind(r.name(), r.state().name(), r.host(), r.logPath(), r.executePath(), r.processId(), r.appIds(),
                    TaskInstanceTable.local(r.startTime()), TaskInstanceTable.local(r.endTime()), r.varPool(),
                    r.finishEventId(), r.lastEventId(), r.version(), TaskInstanceTable.local(r.updatedAt()),
                    writtenEpoch.apply(u), r.id(), u.expectedVersion());
        }
        int[] counts = batch.execute();
        if (counts.length != rows.size()) {
            throw new StoreException("the database reported " + counts.length + " update counts for a batch of "
                    + rows.size() + " rows; the batch was rolled back");
        }
        for (int i = 0; i < counts.length; i++) {
            // Statement.SUCCESS_NO_INFO (-2): the driver ran the batch as one statement and cannot
            // tell per row; the rows were locked and their versions checked above, so it applied.
            if (counts[i] != 1 && counts[i] != Statement.SUCCESS_NO_INFO) {
                throw new StoreException("updating task instance " + rows.get(i).row().id() + " matched "
                        + counts[i] + " rows although it was locked at the expected version; the batch was rolled back");
            }
        }
    }

    /** Always present: {@code V4__AddStateFeed} creates the feed's tables in every database. */
    @Override
    public Optional<StateEventFeed> stateFeed() {
        return Optional.of(feedView);
    }

    /** {@link JdbcStateFeed}'s SQL, with this store's errors ({@link #run}) and closed check. */
    private final class FeedView implements StateEventFeed {
        @Override
        public long feedId() {
            return run("read the state-event feed's id", () -> feed.feedId(sql));
        }

        @Override
        public FeedPage read(long after, int limit) {
            if (after < 0) {
                throw new IllegalArgumentException("a feed position is not negative, was " + after);
            }
            if (limit < 1) {
                throw new IllegalArgumentException("limit must be at least 1, was " + limit);
            }
            return run("read the state-event feed after position " + after, () -> feed.read(sql, after, limit));
        }

        @Override
        public long head() {
            return run("read the state-event feed's head", () -> feed.head(sql));
        }

        @Override
        public long prunedThrough() {
            return run("read the state-event feed's pruned position", () -> feed.prunedThrough(sql));
        }

        @Override
        public long prune(Duration retention, int maxEvents) {
            if (retention.isNegative()) {
                throw new IllegalArgumentException("retention must not be negative, was " + retention);
            }
            if (maxEvents < 1) {
                throw new IllegalArgumentException("maxEvents must be at least 1, was " + maxEvents);
            }
            return run("prune the state-event feed", () -> feed.prune(sql, retention, maxEvents));
        }

        @Override
        public void addListener(Runnable appended) {
            feed.addListener(appended);
        }

        @Override
        public void removeListener(Runnable appended) {
            feed.removeListener(appended);
        }
    }

    @Override
    public List<StateEvent> pendingStateEvents(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        }
        return run("read the outbox", () -> outbox.pending(sql, limit));
    }

    /**
     * First a locking read of the workflow's rows, then the outbox, in one READ COMMITTED
     * transaction. A write of the workflow that is still committing holds its rows' locks until its
     * commit is visible: a COMMIT waiting for a synchronous standby, or one the server finishes
     * after its client's connection dropped and the engine gave up on the write. The locking read
     * waits for it, and the outbox read, a later statement with a snapshot of its own, then sees
     * that write's entry. So the engine, which calls this while it holds the workflow (nothing of
     * the workflow in flight in this process), tells a late commit before the workflow's next
     * change. The transaction is rolled back, not committed: it changed nothing, and on PostgreSQL
     * its row locks gave it a transaction id whose COMMIT would wait for a synchronous standby.
     * The lock wait is bounded ({@link #settleLockWait}, 5 s) on PostgreSQL and the MySQL family (a
     * session left idle in its transaction by a vanished client would otherwise hold the read, and
     * its pool connection, for hours): past it the read fails, and the engine keeps the workflow
     * unsettled and tries again. H2's database lives in this process, so no such session outlives
     * its client there.
     */
    @Override
    public List<StateEvent> pendingStateEvents(long workflowInstanceId) {
        long waitMillis = Math.max(1, settleLockWait.toMillis());
        return run("read the outbox of workflow instance " + workflowInstanceId, () -> inReadCommitted(null, false, t -> {
            var lockRows = t.select(ID).from(TASK_INSTANCE).where(WORKFLOW_INSTANCE_ID.eq(workflowInstanceId))
                    .orderBy(ID).forUpdate();
            switch (t.dialect().family()) {
                case POSTGRES -> {
                    t.execute("set local lock_timeout = " + waitMillis);
                    lockRows.fetch();
                }
                // MariaDB bounds one statement; MySQL has no SET STATEMENT, so its session's bound
                // is set for the read and put back after.
                case MARIADB -> t.resultQuery("set statement innodb_lock_wait_timeout = " + wholeSeconds(waitMillis)
                        + " for {0}", lockRows).fetch();
                case MYSQL -> {
                    Object before = t.fetchValue("select @@session.innodb_lock_wait_timeout");
                    t.execute("set session innodb_lock_wait_timeout = " + wholeSeconds(waitMillis));
                    try {
                        lockRows.fetch();
                    } catch (RuntimeException e) {
                        try {
                            t.execute("set session innodb_lock_wait_timeout = " + before);
                        } catch (RuntimeException restore) {
                            e.addSuppressed(restore); // the read's own failure is the one to report
                        }
                        throw e;
                    }
                    t.execute("set session innodb_lock_wait_timeout = " + before);
                }
                default -> lockRows.fetch();
            }
            return outbox.pending(t, workflowInstanceId);
        }));
    }

    private static long wholeSeconds(long millis) {
        return Math.max(1, (millis + 999) / 1000);
    }

    /** Test seam, not API: how long a workflow's outbox read waits for a row lock (default 5 s). */
    public void settleLockWait(Duration wait) {
        this.settleLockWait = wait;
    }

    @Override
    public void removeStateEvents(Collection<StateEvent> told) {
        if (told.isEmpty()) {
            ensureOpen("remove 0 told entries from the outbox");
            return;
        }
        // READ COMMITTED (see JdbcOutbox): in MariaDB's REPEATABLE READ its locking reads would
        // also lock the gaps, and every node's batches insert into this table.
        run("remove " + told.size() + " told entries from the outbox", () -> inReadCommitted("remove", true, t -> {
            outbox.remove(t, told);
            return null;
        }));
        outbox.forget(told);
    }

    /**
     * Runs {@code body} in one READ COMMITTED transaction (the pool puts the connection's level and
     * auto-commit back when it is returned), committed if {@code commit}, else rolled back;
     * {@code probe}, if not null, names the transaction to {@link #beforeCommitProbe}.
     */
    private <T> T inReadCommitted(String probe, boolean commit, Function<DSLContext, T> body) {
        return sql.connectionResult(c -> {
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            c.setAutoCommit(false);
            try {
                T result = body.apply(DSL.using(c, sql.dialect(), sql.settings()));
                if (probe != null) {
                    beforeCommit(probe);
                }
                if (commit) {
                    c.commit();
                } else {
                    c.rollback();
                }
                return result;
            } catch (RuntimeException | SQLException e) {
                try {
                    c.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            }
        });
    }

    private void ensureOpen(String what) {
        if (closed.get()) {
            throw new StoreException("the store " + redactedUrl + " is closed; cannot " + what);
        }
    }

    private <T> T run(String what, Supplier<T> action) {
        ensureOpen(what);
        try {
            return action.get();
        } catch (DuplicateTaskInstanceException | StoreException e) {
            throw e;
        } catch (AssertionError e) {
            // pgjdbc throws AssertionError ("getAutoCommit() should not throw") when the connection
            // dies in the middle of a batch: that is a lost connection, not a broken program.
            throw new StoreException("could not " + what + " in " + redactedUrl + ": the connection failed", e);
        } catch (DataAccessException e) {
            // jOOQ wraps what a transaction body throws: our own StoreException, or a refusal of
            // input (IllegalArgumentException, DuplicateTaskInstanceException among them).
            if (e.getCause() instanceof StoreException s) {
                throw s;
            }
            if (e.getCause() instanceof IllegalArgumentException refused) {
                throw refused;
            }
            throw SqlFailures.translate(what, redactedUrl, e, e.sqlState(), e);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            leases.close();
            pool.close();
        }
    }
}
