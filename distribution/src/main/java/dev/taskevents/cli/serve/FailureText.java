package dev.taskevents.cli.serve;

import java.sql.SQLException;

/** What serve's log may hold of a failure: its classes and SQL states, never a message. */
final class FailureText {
    private FailureText() {}

    /**
     * The exception classes of {@code e}'s cause chain and any SQL states: what the log may hold.
     * Messages are left out: a driver's or store's message can hold SQL text, bound values (a var
     * pool) or a database URL with its password.
     */
    static String describe(Throwable e) {
        StringBuilder out = new StringBuilder();
        int depth = 0;
        for (Throwable t = e; t != null && depth < 10; t = t.getCause(), depth++) {
            if (depth > 0) {
                out.append(" <- ");
            }
            out.append(t.getClass().getName());
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                out.append(" (SQL state ").append(sql.getSQLState()).append(')');
            }
        }
        return out.toString();
    }

    /** A copy of {@code e}'s stack trace under its class name, with no message from anywhere in the chain. */
    static Throwable withoutMessages(Throwable e) {
        RuntimeException copy = new RuntimeException(e.getClass().getName(), null, false, true) { };
        copy.setStackTrace(e.getStackTrace());
        return copy;
    }
}
