package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import javax.sql.DataSource;
import org.jooq.ConnectionProvider;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;

/**
 * The store's write connections as jOOQ takes them: each is handed out with the session bounds
 * in force set on it.
 *
 * <h2>Why write sessions are bounded</h2>
 * Some rows are locked by many writers' transactions until their COMMIT: the feed's one head row
 * by every batch that records in the feed, of every node ({@link JdbcStateFeed}), and a shard's
 * row by every batch of that shard (shared) and by its takeover (exclusive). A node stopped
 * between taking such a lock and its COMMIT (SIGSTOP, a GC pause, a network partition) keeps it
 * until the database ends its session, and every writer that needs the row waits that long.
 * Two bounds, set on each write session:
 * <ol>
 *   <li><b>Idle in transaction</b> ({@link #idleBound}): the database ends a session whose
 *       transaction sat idle that long, releasing its locks (PostgreSQL
 *       {@code idle_in_transaction_session_timeout}, MariaDB {@code idle_transaction_timeout},
 *       MySQL {@code wait_timeout}; whole seconds, rounded up, on the MySQL family). This bounds
 *       how long a stopped holder stalls the others. The stopped node's commit then fails, and
 *       its retry is fenced if its shards moved meanwhile.
 *   <li><b>Lock wait</b>, the same length (PostgreSQL {@code lock_timeout}, MySQL family
 *       {@code innodb_lock_wait_timeout}): a writer waiting behind a holder that has no such
 *       bound (a session of another configuration, or by hand) fails its statement, its batch
 *       rolls back, releasing its own locks (its shards' rows among them, which their release or
 *       takeover needs), and the engine retries the batch, instead of hanging with them.
 * </ol>
 * Which bounds: {@link JdbcStoreOptions#writerIdleTimeout} if it was chosen; otherwise none while
 * the store serves one node, and half the shortest lease a node registered with (at least 1 s),
 * from the first {@link JdbcShardLeases#register} on: what {@code serve --cluster} chooses. A
 * healthy batch is never idle that long: its statements follow each other as fast as the
 * database answers. H2 gets none: its database lives inside the process that would stop, and its
 * own lock timeout bounds the waits.
 *
 * <h2>Implementation notes</h2>
 * <ol>
 *   <li>The bounds in force are one immutable {@link Bounds} in a volatile field; they change only
 *       by {@link #clusterLease}, which only shortens them. A connection is handed out after the
 *       statements of the bounds read at that moment ran on it, or had run on it before.
 *   <li>Which connections carry which bounds is kept per physical connection (the pool's proxy
 *       unwrapped; every hand-out is a new proxy), weakly: a connection the pool closed and
 *       replaced is forgotten with it.
 *   <li>The statements run in auto-commit, before the caller begins a transaction (the pool hands
 *       out auto-commit connections): a SET inside a transaction that rolls back is undone on
 *       PostgreSQL.
 * </ol>
 */
final class WriterSessions implements ConnectionProvider {
    private static final Duration SHORTEST = Duration.ofSeconds(1);

    /** The idle bound the database enforces, and the statements that set both bounds on a session. */
    private record Bounds(Duration idle, List<String> statements) {
    }

    private final DataSource pool;
    private final SQLDialect dialect;
    private final boolean chosen;
    private volatile Bounds bounds;
    private final Map<Connection, Bounds> carried = Collections.synchronizedMap(new WeakHashMap<>());

    WriterSessions(DataSource pool, JdbcStoreOptions options) {
        this.pool = pool;
        this.dialect = Dialects.of(options.url());
        this.chosen = options.writerIdleTimeout() != null;
        this.bounds = chosen ? bounds(dialect, options.writerIdleTimeout()) : null;
    }

    /**
     * A node registered with {@code lease}: unless a bound was chosen, the bounds become half the
     * shortest lease registered so far, at least 1 s.
     */
    synchronized void clusterLease(Duration lease) {
        if (chosen) {
            return;
        }
        Duration half = lease.dividedBy(2);
        Bounds next = bounds(dialect, half.compareTo(SHORTEST) < 0 ? SHORTEST : half);
        Bounds current = bounds;
        if (next != null && (current == null || next.idle().compareTo(current.idle()) < 0)) {
            bounds = next;
        }
    }

    /** How long the database lets a write transaction sit idle before it ends the session, or null. */
    Duration idleBound() {
        Bounds b = bounds;
        return b == null ? null : b.idle();
    }

    private static Bounds bounds(SQLDialect dialect, Duration idle) {
        long millis = Math.max(1, idle.toMillis());
        long seconds = Math.max(1, (idle.toMillis() + 999) / 1000);
        return switch (dialect) {
            case POSTGRES -> new Bounds(Duration.ofMillis(millis), List.of(
                    "set idle_in_transaction_session_timeout = " + millis, "set lock_timeout = " + millis));
            case MARIADB -> new Bounds(Duration.ofSeconds(seconds), List.of(
                    "set session idle_transaction_timeout = " + seconds,
                    "set session innodb_lock_wait_timeout = " + seconds));
            case MYSQL -> new Bounds(Duration.ofSeconds(seconds), List.of(
                    "set session wait_timeout = " + seconds, "set session innodb_lock_wait_timeout = " + seconds));
            default -> null;
        };
    }

    @Override
    public Connection acquire() {
        Connection c;
        try {
            c = pool.getConnection();
        } catch (SQLException e) {
            throw new DataAccessException("could not take a write connection from the pool", e);
        }
        Bounds b = bounds;
        if (b == null) {
            return c;
        }
        try {
            Connection physical = c.unwrap(Connection.class);
            if (carried.get(physical) != b) {
                try (Statement s = c.createStatement()) {
                    for (String statement : b.statements()) {
                        s.execute(statement);
                    }
                }
                carried.put(physical, b);
            }
            return c;
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException close) {
                e.addSuppressed(close);
            }
            throw new DataAccessException("could not bound the session of a write connection", e);
        }
    }

    @Override
    public void release(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            throw new DataAccessException("could not give a write connection back to the pool", e);
        }
    }
}
