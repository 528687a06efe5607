/**
 * The Java client of {@code taskevents serve}: workers send events through
 * {@link dev.taskevents.client.TaskEventsClient#send}; schedulers read the state-event feed with
 * {@link dev.taskevents.client.FeedReader} or a {@link java.util.concurrent.Flow.Publisher}.
 *
 * <p>It needs the api (its {@code TaskEvent}, {@code StateEvent} and {@code TaskState} appear in
 * this API, hence {@code requires transitive}) and the JDK's HttpClient, nothing else: the JSON it
 * speaks is read and written by a small codec of its own.
 */
module dev.taskevents.client {
    requires transitive dev.taskevents.api;
    requires java.net.http;

    exports dev.taskevents.client;
    // dev.taskevents.client.internal (Json, Wire, SendQueue, Routes, Backoff, Transport, FeedPoller)
    // is not exported.
}
