package dev.taskevents.engine.commit;

import dev.taskevents.api.spi.StoreException;

/**
 * A store failure as the log may hold it: a copy of the exception's cause chain in which every
 * link keeps its class name and stack frames, and only the messages a store writes for its caller
 * are kept (those of {@link StoreException} and of a plain {@link IllegalArgumentException}, the
 * SPI's refusal, which the engine answers to the worker anyway; not of its subclasses such as
 * {@code NumberFormatException}, which quote their input, unless they are this project's own). Every other message is dropped: a
 * store keeps the driver's exception as the cause of its own, and a driver's message holds the
 * SQL and its bound values (a var pool, a host), which must not reach a log the host application
 * ships. Suppressed exceptions are left out for the same reason.
 */
final class LoggedFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Links copied at most: a cause chain that loops or is absurdly deep stops here. */
    private static final int MAX_DEPTH = 16;

    private LoggedFailure(String shown, Throwable cause) {
        super(shown, cause, false, true);
    }

    /** The copy of {@code e} for the log; null for null. */
    static Throwable of(Throwable e) {
        return of(e, 0);
    }

    private static Throwable of(Throwable e, int depth) {
        if (e == null || depth == MAX_DEPTH) {
            return null;
        }
        // Not every IllegalArgumentException: NumberFormatException and its kin quote their input;
        // this project's own refusals (the JDBC store's names the SQL state only) are kept.
        boolean safe = e instanceof StoreException || e.getClass() == IllegalArgumentException.class
                || (e instanceof IllegalArgumentException && e.getClass().getName().startsWith("dev.taskevents."));
        String shown = e.getClass().getName() + (safe && e.getMessage() != null ? ": " + e.getMessage() : "");
        LoggedFailure copy = new LoggedFailure(shown, of(e.getCause(), depth + 1));
        copy.setStackTrace(e.getStackTrace());
        return copy;
    }

    /** The original's class name and, if kept, its message: what a stack trace prints for it. */
    @Override
    public String toString() {
        return getMessage();
    }
}
