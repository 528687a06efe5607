package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.api.spi.StoreException;

/**
 * The one translation of a failed statement into what the store throws. SQL state class 22 (a data
 * exception: a value out of range, too long, malformed) or 23 (an integrity constraint violated) is
 * the database refusing this input, and it will again: a {@link RefusedByDatabaseException} for
 * the caller to answer, not an outage to retry. Anything else is a {@link StoreException}. Either
 * message names what failed, the exception's class and the SQL state, never the driver's or jOOQ's
 * message, which can hold the SQL, its bound values (a var pool) or the URL with its password; the
 * cause keeps them for a debugger.
 */
final class SqlFailures {
    private SqlFailures() {}

    /**
     * @param what what was being done, as in "could not {@code what}"
     * @param where the database, its URL redacted
     * @param sqlState the failure's SQL state, or null
     */
    static RuntimeException translate(String what, String where, Throwable failure, String sqlState, Throwable cause) {
        String state = sqlState == null ? "" : sqlState;
        if (state.startsWith("22") || state.startsWith("23")) {
            return new RefusedByDatabaseException("could not " + what + ": the database refused the data (SQL state "
                    + state + ")", cause);
        }
        return new StoreException("could not " + what + " in " + where + ": " + failure.getClass().getSimpleName()
                + (state.isEmpty() ? "" : " (SQL state " + state + ")"), cause);
    }
}
