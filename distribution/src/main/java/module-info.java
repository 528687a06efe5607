/**
 * The {@code taskevents} command: {@code demo} (a simulated scheduler and workers driving the
 * engine), {@code serve} (an HTTP JSON service for real workers) and {@code migrate}. Shipped as a
 * jlink runtime image; exports nothing.
 */
module dev.taskevents.cli {
    requires dev.taskevents.engine;
    requires dev.taskevents.storage.jdbc;
    requires dev.taskevents.client;
    requires com.fasterxml.jackson.databind;
    requires org.eclipse.jetty.server;
    requires java.logging;
    // /metrics: the process's CPU time and file descriptors (com.sun.management), heap, threads, GC.
    requires jdk.management;
    // SQLException: the SQL state of a store failure goes to the log, its message never does.
    requires java.sql;
    // sun.misc.Signal: SIGTERM drains the engine and exits 0 instead of the JVM's 143.
    requires jdk.unsupported;
}
