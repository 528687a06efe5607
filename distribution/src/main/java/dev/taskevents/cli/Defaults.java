package dev.taskevents.cli;

/** Defaults shared by the commands. */
public final class Defaults {
    /** The embedded store the commands use when no --store is given: an H2 file under ./taskevents-data. */
    public static final String STORE = "jdbc:h2:file:./taskevents-data/taskevents";

    private Defaults() {}
}
