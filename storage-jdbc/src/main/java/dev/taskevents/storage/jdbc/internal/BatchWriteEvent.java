package dev.taskevents.storage.jdbc.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * One batch write, as a JFR event, with the time of each of its statements: where a write's time
 * goes inside its transaction. Recorded only while a JFR recording enables it
 * ({@code jfr configure} or {@code -XX:StartFlightRecording} with {@code taskevents.BatchWrite}
 * enabled); otherwise it costs a check. The event's own duration is the whole write, from taking a
 * connection to the end of the commit.
 */
@Name("taskevents.BatchWrite")
@Label("Batch write")
@Category({"taskevents", "Store"})
@Description("A task-instance batch written in one transaction, with the time of each statement")
@StackTrace(false)
final class BatchWriteEvent extends jdk.jfr.Event {
    @Label("Rows")
    int rows;

    @Label("Rows applied")
    int applied;

    @Label("Fence")
    @Description("Reading and share-locking the batch's shard epochs (cluster mode)")
    @Timespan(Timespan.NANOSECONDS)
    long fence;

    @Label("Locking read")
    @Description("SELECT ... FOR UPDATE of the batch's rows, in id order")
    @Timespan(Timespan.NANOSECONDS)
    long lockingRead;

    @Label("Updates")
    @Timespan(Timespan.NANOSECONDS)
    long updates;

    @Label("Outbox")
    @Timespan(Timespan.NANOSECONDS)
    long outbox;

    @Label("Feed")
    @Timespan(Timespan.NANOSECONDS)
    long feed;

    @Label("Commit")
    @Description("From the last statement to the end of the commit")
    @Timespan(Timespan.NANOSECONDS)
    long commit;
}
