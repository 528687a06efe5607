package dev.taskevents.storage.jdbc.internal;

import java.util.List;
import org.jooq.SQLDialect;

/**
 * The JDBC URL prefixes this module serves and the jOOQ dialect of each.
 *
 * <p>Every path to jOOQ in this module names its dialect here first, so jOOQ's start-up chatter is
 * settled before jOOQ logs anything: no logo, no tip of the day, and no "Version mismatch" warning.
 * jOOQ's open-source edition knows only the newest release of each server (PostgreSQL 17+, the
 * newest MariaDB), while the SQL this module emits is tested on PostgreSQL 15, MariaDB 10.11 and
 * H2 2 in every build, so that warning would be wrong for every supported server. Each is a
 * system property that a host may set otherwise before opening a store; a host's own setting is
 * kept.
 */
final class Dialects {
    static final List<String> PREFIXES = List.of("jdbc:postgresql:", "jdbc:mysql:", "jdbc:mariadb:", "jdbc:h2:");

    /** jOOQ's logger of the server-version check; {@code org.jooq.log.<name>} sets its level. */
    static final String VERSION_CHECK_LOG = "org.jooq.log.org.jooq.impl.DefaultExecuteContext.logVersionSupport";

    static {
        System.getProperties().putIfAbsent("org.jooq.no-logo", "true");
        System.getProperties().putIfAbsent("org.jooq.no-tips", "true");
        System.getProperties().putIfAbsent(VERSION_CHECK_LOG, "ERROR");
    }

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
        throw new IllegalArgumentException("not a JDBC URL this store serves: \"" + UrlPasswords.redact(url)
                + "\"; expected one of " + PREFIXES);
    }
}
