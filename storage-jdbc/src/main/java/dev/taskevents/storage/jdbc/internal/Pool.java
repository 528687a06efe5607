package dev.taskevents.storage.jdbc.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.jooq.SQLDialect;

/** A HikariCP pool that fails at start, within the connection timeout, with the database's own reason. */
final class Pool implements AutoCloseable {
    private final HikariDataSource dataSource;

    private Pool(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    static Pool start(JdbcStoreOptions options) {
        SQLDialect dialect = Dialects.of(options.url());
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(options.url());
        config.setUsername(options.user());
        config.setPassword(options.password());
        config.setMaximumPoolSize(options.maximumPoolSize());
        config.setConnectionTimeout(options.connectionTimeout().toMillis());
        config.setValidationTimeout(Math.min(options.connectionTimeout().toMillis(), 5_000));
        config.setInitializationFailTimeout(options.connectionTimeout().toMillis());
        config.setPoolName("taskevents-" + dialect.getNameLC());
        long timeoutSeconds = Math.max(1, options.connectionTimeout().toSeconds());
        switch (dialect.family()) {
            case POSTGRES -> {
                config.addDataSourceProperty("connectTimeout", timeoutSeconds);
                config.addDataSourceProperty("loginTimeout", timeoutSeconds);
            }
            case MYSQL -> {
                // Connector/J: send a JDBC batch as one multi-statement round trip.
                config.addDataSourceProperty("rewriteBatchedStatements", "true");
                config.addDataSourceProperty("connectTimeout", options.connectionTimeout().toMillis());
            }
            case MARIADB -> config.addDataSourceProperty("connectTimeout", options.connectionTimeout().toMillis());
            default -> { }
        }
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(config);
        } catch (HikariPool.PoolInitializationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new StoreException("cannot connect to " + JdbcStores.redact(options.url()) + " within "
                    + options.connectionTimeout().toMillis() + " ms: " + describe(cause, options.url()), e);
        } catch (RuntimeException e) {
            throw new StoreException("cannot open a connection pool for " + JdbcStores.redact(options.url())
                    + ": " + describe(e, options.url()), e);
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
        try (java.sql.Connection c = dataSource.getConnection()) {
            product = c.getMetaData().getDatabaseProductVersion();
        } catch (SQLException e) {
            dataSource.close();
            throw new StoreException("cannot read the server version of " + JdbcStores.redact(url) + ": "
                    + describe(e, url), e);
        }
        if (product != null && product.contains("MariaDB")) {
            dataSource.close();
            throw new StoreException("the jdbc:mysql: URL " + JdbcStores.redact(url) + " points at a MariaDB server ("
                    + product + "); MySQL Connector/J would drop the fractional seconds of every time it writes."
                    + " Use a jdbc:mariadb: URL for MariaDB.");
        }
    }

    /**
     * The driver's reason for a failed connection (it says what to fix: refused, unknown host,
     * wrong password), with any password taken out: some drivers (H2) repeat the URL.
     */
    private static String describe(Throwable cause, String url) {
        String message = String.valueOf(cause.getMessage());
        message = JdbcStores.redact(message.replace(url, JdbcStores.redact(url)));
        String password = password(url);
        if (password != null && password.length() >= 3) {
            message = message.replace(password, "***");
        }
        if (cause instanceof SQLException sql && sql.getSQLState() != null) {
            message += " (SQL state " + sql.getSQLState() + ")";
        }
        return message;
    }

    /** The password in {@code url} (user info or a password= property), or null. */
    private static String password(String url) {
        java.util.regex.Matcher property = java.util.regex.Pattern.compile("(?i)password=([^&;]*)").matcher(url);
        if (property.find()) {
            return property.group(1);
        }
        java.util.regex.Matcher userInfo = java.util.regex.Pattern.compile("//[^/@:]*:([^/@]*)@").matcher(url);
        return userInfo.find() ? userInfo.group(1) : null;
    }

    DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
