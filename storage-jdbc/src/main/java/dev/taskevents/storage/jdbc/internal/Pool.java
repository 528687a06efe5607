package dev.taskevents.storage.jdbc.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jooq.SQLDialect;

/** A HikariCP pool that fails at start, within the connection timeout, with the database's own reason. */
final class Pool implements AutoCloseable {
    private final HikariDataSource dataSource;

    private Pool(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * How a pool's connections are set up, beyond the options: the store's write pool and the
     * cluster leases' own small pool differ here.
     *
     * @param purpose a word for the pool's name ({@code taskevents-<dialect>[-purpose]}), or null
     * @param maximumPoolSize the most connections
     * @param initSql run once on each new connection, or null
     * @param isolation a {@code java.sql.Connection} {@code TRANSACTION_*} constant name, or null
     *     for the driver's default
     */
    record Sessions(String purpose, int maximumPoolSize, String initSql, String isolation) {
    }

    /** The store's write pool; its sessions are bounded as they are handed out ({@link WriterSessions}). */
    static Pool start(JdbcStoreOptions options) {
        return start(options, new Sessions(null, options.maximumPoolSize(), statementInitSql(options), null));
    }

    /**
     * The store's connections' bound on one statement ({@link JdbcStoreOptions#statementTimeout}),
     * or null without one. MySQL bounds no statement but by the socket timeout; H2 ignores it.
     * The idle-in-transaction and lock-wait bounds are set as connections are handed out
     * ({@link WriterSessions}), since they can change once the store joins a cluster.
     */
    static String statementInitSql(JdbcStoreOptions options) {
        Duration statement = options.statementTimeout();
        if (statement == null) {
            return null;
        }
        return switch (Dialects.of(options.url())) {
            case POSTGRES -> "set statement_timeout = " + Math.max(1, statement.toMillis());
            case MARIADB -> "set session max_statement_time = "
                    + BigDecimal.valueOf(Math.max(1, statement.toMillis()), 3).toPlainString();
            default -> null;
        };
    }

    private static long wholeSecondsUp(Duration d) {
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }

    static Pool start(JdbcStoreOptions options, Sessions sessions) {
        SQLDialect dialect = Dialects.of(options.url());
        refuseMalformed(options.url());
        Drivers.requireFlyway(options.url());
        HikariConfig config = new HikariConfig();
        // HikariCP logs its configuration, URL included, at DEBUG, and masks only a lower-case
        // "password=": H2's ";PASSWORD=" goes to the pool as the password property instead (H2
        // reads it from either place, and does not decode URL values).
        String jdbcUrl = options.url();
        String password = options.password();
        Matcher h2Password = H2_PASSWORD.matcher(jdbcUrl);
        if (dialect == SQLDialect.H2 && h2Password.find()) {
            password = password != null ? password : h2Password.group(1).replaceAll("\\\\(.)", "$1");
            jdbcUrl = h2Password.replaceAll("");
        }
        if (dialect == SQLDialect.H2) {
            jdbcUrl = withoutH2ResultReuse(jdbcUrl, options.url());
        }
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(options.user());
        config.setPassword(password);
        config.setMaximumPoolSize(sessions.maximumPoolSize());
        if (sessions.initSql() != null) {
            config.setConnectionInitSql(sessions.initSql());
        }
        if (sessions.isolation() != null) {
            config.setTransactionIsolation(sessions.isolation());
        }
        config.setConnectionTimeout(options.connectionTimeout().toMillis());
        config.setValidationTimeout(Math.min(options.connectionTimeout().toMillis(), 5_000));
        config.setInitializationFailTimeout(options.connectionTimeout().toMillis());
        config.setPoolName("taskevents-" + dialect.getNameLC()
                + (sessions.purpose() == null ? "" : "-" + sessions.purpose()));
        // Driver properties as text: HikariCP hands them over as they are, and PgJDBC reads only
        // String values (a Long is silently ignored).
        String timeoutSeconds = String.valueOf(Math.max(1, options.connectionTimeout().toSeconds()));
        String timeoutMillis = String.valueOf(options.connectionTimeout().toMillis());
        // A database that stopped answering (a black-holed network, a frozen server) fails the
        // call after the statement timeout and some slack, instead of holding the thread for ever.
        Duration socket = options.statementTimeout() == null ? null
                : options.statementTimeout().plus(JdbcStoreOptions.SOCKET_TIMEOUT_SLACK);
        switch (dialect.family()) {
            case POSTGRES -> {
                config.addDataSourceProperty("connectTimeout", timeoutSeconds);
                config.addDataSourceProperty("loginTimeout", timeoutSeconds);
                if (socket != null) {
                    config.addDataSourceProperty("socketTimeout", String.valueOf(wholeSecondsUp(socket)));
                }
            }
            case MYSQL -> {
                // Connector/J: send a JDBC batch as one multi-statement round trip.
                config.addDataSourceProperty("rewriteBatchedStatements", "true");
                config.addDataSourceProperty("connectTimeout", timeoutMillis);
                if (socket != null) {
                    config.addDataSourceProperty("socketTimeout", String.valueOf(socket.toMillis()));
                }
            }
            case MARIADB -> {
                config.addDataSourceProperty("connectTimeout", timeoutMillis);
                if (socket != null) {
                    config.addDataSourceProperty("socketTimeout", String.valueOf(socket.toMillis()));
                }
            }
            default -> { }
        }
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(config);
        } catch (HikariPool.PoolInitializationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof SQLException sql && sql.getSQLState() != null
                    && H2_MALFORMED_URL_STATES.contains(sql.getSQLState())) {
                throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(options.url()) + ": "
                        + describe(cause, options.url()), redacted(e, options.url()));
            }
            throw new StoreException("cannot connect to " + UrlPasswords.redact(options.url()) + " within "
                    + options.connectionTimeout().toMillis() + " ms: " + describe(cause, options.url()),
                    redacted(e, options.url()));
        } catch (RuntimeException e) {
            throw new StoreException("cannot open a connection pool for " + UrlPasswords.redact(options.url())
                    + ": " + describe(e, options.url()), redacted(e, options.url()));
        }
        if (dialect == SQLDialect.MYSQL) {
            refuseMariaDbBehindMySqlUrl(dataSource, options.url());
        }
        return new Pool(dataSource);
    }

    /**
     * MySQL Connector/J takes a MariaDB server for MySQL 5.5 and silently drops the fractional
     * seconds of every timestamp it sends: refuse the pairing rather than lose data.
     */
    private static void refuseMariaDbBehindMySqlUrl(HikariDataSource dataSource, String url) {
        String product;
        try (Connection c = dataSource.getConnection()) {
            product = c.getMetaData().getDatabaseProductVersion();
        } catch (SQLException e) {
            dataSource.close();
            throw new StoreException("cannot read the server version of " + UrlPasswords.redact(url) + ": "
                    + describe(e, url), redacted(e, url));
        }
        if (product != null && product.contains("MariaDB")) {
            dataSource.close();
            throw new StoreException("the jdbc:mysql: URL " + UrlPasswords.redact(url) + " points at a MariaDB server ("
                    + product + "); MySQL Connector/J would drop the fractional seconds of every time it writes."
                    + " Use a jdbc:mariadb: URL for MariaDB.");
        }
    }

    /**
     * H2's SQL states for a URL it cannot parse: 90046 (URL format error), 90113 (unsupported
     * connection setting). Other drivers fail such URLs in {@link #refuseMalformed}.
     */
    private static final Set<String> H2_MALFORMED_URL_STATES = Set.of("90046", "90113");

    /**
     * H2 answers a query again with its last result while no table it reads has been modified since
     * ({@code OPTIMIZE_REUSE_RESULTS}, on by default). A commit marks its tables modified before its
     * rows become visible (H2 2.3's {@code SessionLocal.commit}: {@code markUsedTablesAsUpdated()},
     * then {@code transaction.commit()}), so a query that runs in between reads the old rows and is
     * then served that old result after the commit, until the next change to those tables: a read
     * on that connection misses a committed change (H2 issues 3894 and 4208). For the feed this
     * made the head read lag the rows already delivered, so a healthy reader was told it was ahead
     * of the feed; for task rows it serves a stale version. So every H2 connection of the store
     * runs without result reuse; a URL that turns it on is refused. The setting is database-wide and
     * needs an admin user (H2's own error says so otherwise).
     */
    static String withoutH2ResultReuse(String jdbcUrl, String givenUrl) {
        Matcher reuse = H2_RESULT_REUSE.matcher(jdbcUrl);
        if (!reuse.find()) {
            return jdbcUrl + ";OPTIMIZE_REUSE_RESULTS=FALSE";
        }
        String value = reuse.group(1).trim();
        if (value.equalsIgnoreCase("FALSE") || value.equals("0")) {
            return jdbcUrl;
        }
        throw new IllegalArgumentException("the H2 URL " + UrlPasswords.redact(givenUrl) + " sets OPTIMIZE_REUSE_RESULTS="
                + value + ": with result reuse on, H2 can answer a read with rows from before a commit it"
                + " already made visible, so the store runs with OPTIMIZE_REUSE_RESULTS=FALSE; remove the setting");
    }

    /** H2's result-reuse setting in a URL (names are case-insensitive); its value in group 1. */
    private static final Pattern H2_RESULT_REUSE =
            Pattern.compile("(?i);OPTIMIZE_REUSE_RESULTS=([^;]*)");

    /**
     * H2's password setting in a URL; H2 setting names are case-insensitive, and a value escapes
     * {@code ;} and {@code \\} with a backslash (H2 splits settings that way).
     */
    private static final Pattern H2_PASSWORD =
            Pattern.compile("(?i);PASSWORD=((?:\\\\.|[^;\\\\])*)");

    /** A URL parameter password1=, password2=, ... (the name in group 1, the value in group 2). */
    private static final Pattern PASSWORD_FACTOR =
            Pattern.compile("(?i)(password\\d+)=(.*)");

    /**
     * The hosts of a URL with a host part, of every subprotocol form (jdbc:mariadb:replication://,
     * jdbc:mysql+srv://, jdbc:h2:tcp://), in group 1.
     */
    private static final Pattern SERVER =
            Pattern.compile("^jdbc:[a-z0-9]+(?:[:+][a-z0-9]+)*://([^/?]*)");

    /** host, host:port or [ipv6]:port; the port, if any, in group 1. */
    private static final Pattern HOST_PORT =
            Pattern.compile("^(?:\\[[^\\]]*\\]|[^:\\[\\]]*)(?::(.*))?$");

    /**
     * Refuses, as {@link IllegalArgumentException} (the provider's promise for a malformed URL),
     * a URL no driver accepts, whose port is not a number, or with user info its driver does not
     * read: drivers and the pool would report these as a failed connection after the whole
     * connection timeout, and their messages (which HikariCP also logs) hold the raw URL,
     * password included. A URL no driver accepts because its kind's driver is absent is an
     * {@link IllegalStateException} naming the artifact instead ({@link Drivers#missingDriver}).
     */
    private static void refuseMalformed(String url) {
        Matcher server = SERVER.matcher(url);
        if (server.find()) {
            if (server.group(1).contains("@")) {
                // Only Connector/J reads user:password@host; the others take it for the host name and
                // repeat it, password and all, in errors; HikariCP logs the URL unmasked at DEBUG.
                throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(url)
                        + ": credentials before the host (user:password@) are not accepted; give user= and"
                        + " password= as URL properties, or the credentials in the store options");
            }
            if (url.startsWith("jdbc:postgresql:") && (url.length() == server.end(1) || url.charAt(server.end(1)) != '/')) {
                // pgjdbc logs such a URL whole, password included, while it checks it.
                throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(url)
                        + ": the host and port must be followed by /database");
            }
            for (String address : server.group(1).split(",")) {
                Matcher hostPort = HOST_PORT.matcher(address.substring(address.indexOf('@') + 1));
                String port = hostPort.matches() ? hostPort.group(1) : null;
                if (port != null && !port.matches("\\d{1,5}")) {
                    // The port is not echoed: a mistyped separator ("5432&password=...") puts the rest
                    // of the URL, password included, into it.
                    throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(url)
                            + ": the port after the host is not a number");
                }
            }
        }
        int query = url.indexOf('?');
        if (query >= 0) {
            for (String parameter : url.substring(query + 1).split("&")) {
                if (PASSWORD_FACTOR.matcher(parameter).matches()) {
                    // HikariCP logs the URL and its properties masking only "password": these would
                    // be logged as they are, whether left in the URL or passed as properties.
                    throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(url)
                            + ": further authentication factors (password1=, password2=, ...) are not supported");
                }
            }
        }
        try {
            DriverManager.getDriver(url);
        } catch (SQLException e) {
            String missing = Drivers.missingDriver(url);
            if (missing != null) {
                throw new IllegalStateException(missing);
            }
            throw new IllegalArgumentException("malformed JDBC URL " + UrlPasswords.redact(url)
                    + ": no JDBC driver accepts it (check its syntax, and that the driver is on the module path)");
        }
    }

    /**
     * A copy of {@code error}'s cause chain that can be logged and kept: each link's message
     * redacted as in {@link #describe}, its class named in the message, its stack trace kept.
     * Drivers and the pool put the raw URL in their messages (HikariCP: "Failed to get driver
     * instance for jdbcUrl=..."), so the original exceptions must not travel with ours.
     */
    static Throwable redacted(Throwable error, String url) {
        return redacted(error, url, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    /** {@code seen}: the links copied so far; a chain that loops back is cut there. */
    private static Throwable redacted(Throwable error, String url, Set<Throwable> seen) {
        if (error == null || !seen.add(error) || seen.size() > MAX_CAUSES) {
            return null;
        }
        RedactedCause copy = new RedactedCause(error.getClass().getName() + ": " + describe(error, url),
                redacted(error.getCause(), url, seen));
        copy.setStackTrace(error.getStackTrace());
        for (Throwable suppressed : error.getSuppressed()) {
            Throwable link = redacted(suppressed, url, seen);
            if (link != null) {
                copy.addSuppressed(link);
            }
        }
        return copy;
    }

    /** Links of a cause chain copied at most (causes and suppressed exceptions together). */
    private static final int MAX_CAUSES = 64;

    /** A link of a redacted cause chain: the original's class name and redacted message. */
    static final class RedactedCause extends Exception {
        private static final long serialVersionUID = 1L;

        RedactedCause(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The driver's reason for a failed connection (it says what to fix: refused, unknown host,
     * wrong password), with any password taken out: some drivers (H2) repeat the URL.
     */
    private static String describe(Throwable cause, String url) {
        String message = String.valueOf(cause.getMessage());
        message = UrlPasswords.redact(message.replace(url, UrlPasswords.redact(url)));
        String password = UrlPasswords.find(url);
        if (password != null && password.length() >= 3) {
            message = message.replace(password, "***");
        }
        if (cause instanceof SQLException sql && sql.getSQLState() != null) {
            message += " (SQL state " + sql.getSQLState() + ")";
        }
        return message;
    }

    DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
