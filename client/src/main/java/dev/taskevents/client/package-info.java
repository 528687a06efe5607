/**
 * The Java client of {@code taskevents serve}.
 *
 * <p>A worker sends task events; each future completes once serve acknowledged the event (its
 * change committed, or found applied before, outdated or for no task), after any resends:
 * <pre>{@code
 * try (TaskEventsClient client = TaskEventsClient.builder(URI.create("https://te-a:8080"))
 *         .nodes(List.of(URI.create("https://te-b:8080")))   // other nodes of a cluster, if any
 *         .token(Path.of("/etc/taskevents/token"))
 *         .sslContext(sslContextTrustingYourCa)              // default: the JDK's trust store
 *         .batch(500, Duration.ofMillis(5))
 *         .backoff(Duration.ofMillis(100), Duration.ofSeconds(10))
 *         .build()) {
 *     TaskEvent running = TaskEvent.builder("w7-t71-running", TaskEventType.RUNNING, 7, 71)
 *             .eventTime(Instant.now()).startTime(Instant.now()).host("10.0.0.7:1234").build();
 *     Ack ack = client.send(running).join();   // Applied, Duplicate, Stale or Rejected
 *     if (!ack.delivered()) {
 *         log.warn("event refused: " + ack);
 *     }
 * }
 * }</pre>
 *
 * <p>A scheduler reads the feed of committed state changes from the cursor it stored, and stores
 * the cursor of each change it handled. The feed is at least once: a change can come again after
 * a resume, so drop a change whose {@code version} is not above the last one handled for its
 * {@code taskInstanceId}:
 * <pre>{@code
 * Map<Long, Long> lastVersion = loadVersions();
 * FeedCursor start = stored == null ? FeedCursor.OLDEST : FeedCursor.parse(stored);
 * try (FeedReader feed = client.feed(start, 1_000, Duration.ofSeconds(30))) {
 *     while (feed.hasNext()) {
 *         FeedItem item = feed.next();
 *         StateEvent e = item.event();
 *         if (e.version() > lastVersion.getOrDefault(e.taskInstanceId(), 0L)) {
 *             stateMachine.onTaskStateChange(e);
 *             lastVersion.put(e.taskInstanceId(), e.version());
 *         }
 *         store(item.cursor().toString());
 *     }
 * } catch (CursorExpiredException expired) {
 *     // events were deleted before they were read: resynchronise, then go on from expired.oldest()
 * }
 * }</pre>
 * A scheduler that has no stored cursor yet and must see the changes of tasks it is about to create
 * takes {@link dev.taskevents.client.TaskEventsClient#feedHead} first, creates them with
 * {@link dev.taskevents.client.TaskEventsClient#createTasks}, then reads from that head.
 * {@link dev.taskevents.client.TaskEventsClient#feedPublisher} gives the same feed as a
 * {@link java.util.concurrent.Flow.Publisher}, polled only while its subscriber has demand.
 *
 * <p>Errors are the subclasses of {@link dev.taskevents.client.TaskEventsException}, each with a
 * message that says what to do; what the client can retry, it retries.
 */
package dev.taskevents.client;
