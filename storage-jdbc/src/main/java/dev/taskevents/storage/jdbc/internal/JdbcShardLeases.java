package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.api.Shards;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jooq.SQLDialect;

/**
 * The JDBC store's {@link ShardLeases}: the statements of docs/plans/cluster-mode §3.1, each
 * verified on PostgreSQL, MariaDB and H2, written out per database family (like the migrations)
 * and sent as single auto-commit statements over plain JDBC.
 *
 * <p>Why it is correct:
 * <ol>
 *   <li><b>Only the database's clock.</b> Every time is computed in the statement itself
 *       ({@code now()}, {@code utc_timestamp(6)} on the MySQL family, whose {@code now()} follows
 *       the session time zone, {@code current_timestamp} on H2). Each statement is its own
 *       transaction: PostgreSQL's {@code now()} and H2's {@code current_timestamp} are the
 *       transaction's start, so a lease comparison inside a long transaction would be stale.
 *   <li><b>Epochs are compared and raised by one UPDATE.</b> {@link #acquire} and {@link #release}
 *       change a shard row only {@code where epoch = ?}, so of two nodes that saw the same epoch at
 *       most one moves it; and an UPDATE of the row needs its exclusive lock, which waits for every
 *       write transaction holding the row's shared (fence) lock: the returned epoch is in force
 *       only after every write under the old one ended (JdbcTaskInstanceStore, "Cluster fence").
 *   <li><b>One shard per statement.</b> A multi-row UPDATE takes its exclusive locks in scan order
 *       while writers take shared locks in shard-id order: a deadlock (verified, docs/plans/cluster-mode §8).
 *   <li><b>Own connections.</b> A pool of {@value #CONNECTIONS}, never the batch pool: a heartbeat
 *       waiting behind batch writes for a connection would cost a healthy node its lease. On the
 *       MySQL family in READ COMMITTED: in REPEATABLE READ a takeover waiting for a writer holds a
 *       shared lock on its own node row and delays that node's heartbeat (verified, docs/plans/cluster-mode §3.3).
 *   <li><b>Bounded lock waits.</b> Each connection sets a lock-wait bound (PostgreSQL
 *       {@code lock_timeout}, MySQL family {@code innodb_lock_wait_timeout}, H2
 *       {@code LOCK_TIMEOUT}), so a takeover blocked by a writer that never ends (a paused
 *       process) gives up: {@link #acquire} answers "not taken" and the caller tries next round. A
 *       blocked {@link #release} throws {@link StoreException} instead (false would claim the
 *       shard was lost; it is still held at the old epoch).
 *   <li><b>One connection timeout per outage, not one per shard.</b> A statement that cannot reach
 *       the database (no connection within the connection timeout, the lease pool failing to
 *       start, or a connection that broke: SQL state class 08, or the drivers' recoverable or
 *       non-transient connection exceptions) marks it unreachable; the next statement that
 *       reaches it, failed or not, clears the mark. An error the database answered never sets it,
 *       whatever exception type the driver chose for it (MariaDB's driver reports unlisted SQL
 *       state classes as transient connection exceptions). While the mark is set, one
 *       {@link #release} or {@link #leave} is still tried, as the probe that finds the database
 *       back (a close right after a failed heartbeat on a database that is back must release its
 *       shards); once that probe failed too, the others are not tried and throw
 *       {@link StoreException} at once. A graceful close sends one release per shard it holds and then a leave; tried one by
 *       one against a database that is away, each would wait a whole connection timeout (256
 *       shards by default: about 20 minutes at 5 s). Not trying them loses nothing: a shard that
 *       is not released stays held at its epoch, by a node whose lease is no longer renewed, and
 *       another node takes it over once that lease runs out, raising the epoch as any takeover
 *       does. Heartbeats, the claim rounds' reads and acquires are always tried: they are how a
 *       node finds the database back, and they clear the mark.
 * </ol>
 * The pool starts at the first call, so a store that never takes part in a cluster opens none.
 */
final class JdbcShardLeases implements ShardLeases, AutoCloseable {
    static final int CONNECTIONS = 2;
    static final Duration DEFAULT_LOCK_WAIT = Duration.ofSeconds(1);

    /** Reads the outbox through the store, keeping the events that pass the filter. */
    interface OutboxReader {
        List<StateEvent> pending(Predicate<StateEvent> keep, int limit);
    }

    private final JdbcStoreOptions options;
    private final SQLDialect dialect;
    private final int shardCount;
    private final OutboxReader outbox;
    private final String redactedUrl;
    private final LeaseStatements sql;
    private final WriterSessions writers;
    private Duration lockWait = DEFAULT_LOCK_WAIT;
    private Pool pool;
    private boolean closed;
    /** Why the last lease statement could not reach the database (redacted), or null; invariant 6. */
    private volatile Throwable unreachable;
    /** Whether the one release or leave tried while {@link #unreachable} is set is still to be tried. */
    private final AtomicBoolean probeUnspent = new AtomicBoolean(true);
    private volatile Consumer<String> sentProbe;

    /** @param writers the store's write sessions, bounded from the first registration on (see there) */
    JdbcShardLeases(JdbcStoreOptions options, int shardCount, OutboxReader outbox, WriterSessions writers) {
        this.options = options;
        this.writers = writers;
        this.dialect = Dialects.of(options.url());
        this.shardCount = shardCount;
        this.outbox = outbox;
        this.redactedUrl = UrlPasswords.redact(options.url());
        this.sql = new LeaseStatements(dialect);
    }

    /**
     * Test seam: how long a lease statement waits for a row lock before giving up. Only before the
     * first call (the bound is set on each connection as it opens).
     */
    synchronized void lockWait(Duration wait) {
        if (pool != null) {
            throw new IllegalStateException("the lease connections are open already");
        }
        lockWait = Objects.requireNonNull(wait, "wait");
    }

    /**
     * Test seam: {@code probe} is told the name of each {@link ShardLeases} method whose statement
     * goes to the database ({@code "release"}, {@code "heartbeat"}, ...) as it asks for a
     * connection; not told of calls answered without trying (invariant 6). Null for none.
     */
    void sentProbe(Consumer<String> probe) {
        sentProbe = probe;
    }

    @Override
    public int shardCount() {
        return shardCount;
    }

    @Override
    public void register(String nodeId, String address, Duration lease) {
        Objects.requireNonNull(nodeId, "nodeId");
        long ms = leaseMillis(lease);
        try {
            update("register", "register node " + nodeId, sql.register, nodeId, address, sql.shift(ms));
            writers.clusterLease(lease);
        } catch (IdTaken e) {
            throw new IllegalStateException("node id " + nodeId + " is registered already; a node registers"
                    + " once per start with a new id");
        }
    }

    @Override
    public Renewal heartbeat(String nodeId, Duration lease) {
        Objects.requireNonNull(nodeId, "nodeId");
        String what = "renew the lease of node " + nodeId;
        long shift = sql.shift(leaseMillis(lease));
        if (update("heartbeat", what, sql.heartbeatWhileLive(), shift, nodeId) == 1) {
            return Renewal.RENEWED;
        }
        // Rare (after an outage): the lease ran out, or the row is gone.
        return update("heartbeat", what, sql.heartbeat, shift, nodeId) == 1
                ? Renewal.RENEWED_AFTER_EXPIRY : Renewal.NOT_REGISTERED;
    }

    @Override
    public List<NodeInfo> liveNodes() {
        return query("liveNodes", "read the live nodes", sql.liveNodes, r -> new NodeInfo(r.getString(1),
                r.getString(2), Duration.ofMillis(Math.max(0, r.getLong(3)))));
    }

    @Override
    public List<ShardInfo> shards() {
        return query("shards", "read the shard map", sql.shards, r -> new ShardInfo(r.getInt(1), r.getLong(2),
                r.getString(3), r.getString(4), r.getInt(5) == 1));
    }

    @Override
    public OptionalLong acquire(int shard, String nodeId, long seenEpoch) {
        checkShard(shard);
        Objects.requireNonNull(nodeId, "nodeId");
        try {
            int n = update("acquire", "take shard " + shard + " for node " + nodeId, sql.acquire, nodeId, shard,
                    seenEpoch, nodeId);
            return n == 1 ? OptionalLong.of(seenEpoch + 1) : OptionalLong.empty();
        } catch (LockWaitEnded e) {
            return OptionalLong.empty(); // a writer holds the shard: not this round
        }
    }

    @Override
    public boolean release(int shard, String nodeId, long epoch) {
        checkShard(shard);
        Objects.requireNonNull(nodeId, "nodeId");
        String what = "release shard " + shard + " of node " + nodeId;
        refuseWhileUnreachable(what, "the shard stays held at epoch " + epoch + " until the node's lease runs out");
        try {
            return update("release", what, sql.release, shard, epoch, nodeId) == 1;
        } catch (LockWaitEnded e) {
            throw new StoreException("could not " + what + " in " + redactedUrl + ": a write transaction kept the"
                    + " shard locked longer than " + lockWait.toMillis() + " ms; the shard is still held at epoch "
                    + epoch + ", retry", e);
        }
    }

    @Override
    public void leave(String nodeId) {
        Objects.requireNonNull(nodeId, "nodeId");
        String what = "end the lease of node " + nodeId;
        refuseWhileUnreachable(what, "the lease runs out by itself");
        update("leave", what, sql.leave, nodeId);
    }

    @Override
    public int reap(Duration olderThan) {
        if (olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must not be negative, was " + olderThan);
        }
        return update("reap", "reap dead nodes", sql.reap, sql.shift(-olderThan.toMillis()));
    }

    @Override
    public List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        }
        Set<Integer> wanted = Set.copyOf(shards);
        wanted.forEach(this::checkShard);
        if (wanted.isEmpty()) {
            return List.of();
        }
        return outbox.pending(e -> wanted.contains(Shards.of(e.workflowInstanceId(), shardCount)), limit);
    }

    @Override
    public Optional<Duration> writerIdleTimeout() {
        return Optional.ofNullable(writers.idleBound());
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (pool != null) {
            pool.close();
        }
    }

    private void checkShard(int shard) {
        if (shard < 0 || shard >= shardCount) {
            throw new IllegalArgumentException("shard " + shard + " is not one of the " + shardCount
                    + " shards of " + redactedUrl);
        }
    }

    private static long leaseMillis(Duration lease) {
        if (lease.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("a lease must be at least 1 ms, was " + lease);
        }
        return lease.toMillis();
    }

    private synchronized Pool pool() {
        if (closed) {
            throw new StoreException("the store " + redactedUrl + " is closed");
        }
        if (pool == null) {
            try {
                pool = Pool.start(options.withMaximumPoolSize(CONNECTIONS), new Pool.Sessions("leases", CONNECTIONS,
                        sql.lockWaitSql(lockWait), sql.isolation));
            } catch (StoreException e) {
                unreachable = e;
                throw e;
            }
        }
        return pool;
    }

    /**
     * Invariant 6: throws, without trying, while the last lease statement could not reach the
     * database and a release or leave was already tried since it could not.
     */
    private void refuseWhileUnreachable(String what, String consequence) {
        Throwable away = unreachable;
        if (away != null && !probeUnspent.compareAndSet(true, false)) {
            throw new StoreException("could not " + what + " in " + redactedUrl + ": not tried, the last lease"
                    + " statement could not reach the database; " + consequence, away);
        }
    }

    /** Before a statement asks for a connection: tells the test probe. */
    private void sending(String method) {
        Consumer<String> probe = sentProbe;
        if (probe != null) {
            probe.accept(method);
        }
    }

    /** A statement reached the database and was answered: clears the mark (invariant 6). */
    private void reached() {
        if (unreachable != null) {
            unreachable = null;
            probeUnspent.set(true);
        }
    }

    /**
     * After statement {@code method} failed, {@code connected} whether it had a connection:
     * whether it reached the database decides the mark (invariant 6).
     */
    private void failed(String method, SQLException e, boolean connected) {
        if (!connected || brokeTheConnection(e)) {
            if (method.equals("release") || method.equals("leave")) {
                probeUnspent.set(false); // this one was the probe, or found the database away itself
            }
            unreachable = Pool.redacted(e, options.url());
        } else {
            reached();
        }
    }

    /**
     * Whether a statement on a connection failed because the connection broke (SQL state class
     * 08, the drivers' recoverable or non-transient connection exceptions), not by the database's
     * answer. Not by {@link SQLTransientConnectionException}: MariaDB's driver raises it for an
     * answer whose SQL state class it does not list.
     */
    private static boolean brokeTheConnection(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLNonTransientConnectionException || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException s && s.getSQLState() != null && s.getSQLState().startsWith("08")) {
                return true;
            }
        }
        return false;
    }

    private interface Row<T> {
        T read(ResultSet r) throws SQLException;
    }

    /**
     * The statement waited for a row lock longer than the bound. A StoreException, so that where
     * no caller turns it into an answer it is what the SPI promises for a failure.
     */
    private static final class LockWaitEnded extends StoreException {
        private static final long serialVersionUID = 1L;

        LockWaitEnded(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The insert of {@link #register} hit the primary key. */
    private static final class IdTaken extends RuntimeException {
        private static final long serialVersionUID = 1L;

        IdTaken() {
            super(null, null, false, false);
        }
    }

    private int update(String method, String what, String statement, Object... binds) {
        sending(method);
        boolean connected = false;
        try (Connection c = pool().dataSource().getConnection()) {
            connected = true;
            try (PreparedStatement s = c.prepareStatement(statement)) {
                bind(s, binds);
                int n = s.executeUpdate();
                reached();
                return n;
            }
        } catch (SQLException e) {
            failed(method, e, connected);
            if (statement.equals(sql.register) && String.valueOf(e.getSQLState()).startsWith("23")) {
                throw new IdTaken();
            }
            throw failure(what, e);
        }
    }

    private <T> List<T> query(String method, String what, String statement, Row<T> row) {
        sending(method);
        boolean connected = false;
        try (Connection c = pool().dataSource().getConnection()) {
            connected = true;
            try (PreparedStatement s = c.prepareStatement(statement); ResultSet r = s.executeQuery()) {
                List<T> result = new ArrayList<>();
                while (r.next()) {
                    result.add(row.read(r));
                }
                reached();
                return result;
            }
        } catch (SQLException e) {
            failed(method, e, connected);
            throw failure(what, e);
        }
    }

    private static void bind(PreparedStatement s, Object... binds) throws SQLException {
        for (int i = 0; i < binds.length; i++) {
            Object v = binds[i];
            if (v == null) {
                s.setNull(i + 1, Types.VARCHAR);
            } else if (v instanceof String text) {
                s.setString(i + 1, text);
            } else if (v instanceof Integer n) {
                s.setInt(i + 1, n);
            } else {
                s.setLong(i + 1, (Long) v);
            }
        }
    }

    private RuntimeException failure(String what, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        boolean lockWaitEnded = switch (dialect.family()) {
            case POSTGRES -> state.equals("55P03");
            case MYSQL, MARIADB -> e.getErrorCode() == 1205;
            case H2 -> e.getErrorCode() == 50200;
            default -> false;
        };
        if (lockWaitEnded) {
            return new LockWaitEnded("could not " + what + " in " + redactedUrl + ": a row it needs stayed locked longer"
                    + " than " + lockWait.toMillis() + " ms (SQL state " + state + ")", Pool.redacted(e, options.url()));
        }
        // A refusal of the data (a node id longer than 128 characters, say), or an outage.
        return SqlFailures.translate(what, redactedUrl, e, state, Pool.redacted(e, options.url()));
    }
}
