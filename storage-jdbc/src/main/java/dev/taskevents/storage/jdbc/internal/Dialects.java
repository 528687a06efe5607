package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.storage.jdbc.JdbcStores;
import java.util.List;
import org.jooq.SQLDialect;

/** The JDBC URL prefixes this module serves and the jOOQ dialect of each. */
final class Dialects {
    static final List<String> PREFIXES = List.of("jdbc:postgresql:", "jdbc:mysql:", "jdbc:mariadb:", "jdbc:h2:");

    private Dialects() {}

    static SQLDialect of(String url) {
        if (url.startsWith("jdbc:postgresql:")) {
            return SQLDialect.POSTGRES;
        }
        if (url.startsWith("jdbc:mysql:")) {
            return SQLDialect.MYSQL;
        }
        if (url.startsWith("jdbc:mariadb:")) {
            return SQLDialect.MARIADB;
        }
        if (url.startsWith("jdbc:h2:")) {
            return SQLDialect.H2;
        }
        throw new IllegalArgumentException("not a JDBC URL this store serves: \"" + JdbcStores.redact(url)
                + "\"; expected one of " + PREFIXES);
    }
}
