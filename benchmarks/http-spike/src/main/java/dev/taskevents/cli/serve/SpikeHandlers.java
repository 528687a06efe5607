package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.FeedPositionExpiredException;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The two endpoints of the spike, as every server front calls them: serve's {@code POST /v1/events}
 * (parsed and answered with serve's own {@link JsonCodec}, answered after the commits) and
 * {@code GET /v1/state-events} as a <em>blocking</em> long poll: the request's (virtual) thread
 * waits for the feed's listener or its deadline. What serve adds around them (tokens, permits, the
 * byte budget, error ids) is the same for every server and left out, so that the servers differ
 * only in what they do themselves.
 */
final class SpikeHandlers {
    /** An answer: status, content type and body. */
    record Answer(int status, String contentType, byte[] body) {
        Answer(int status, byte[] json) {
            this(status, "application/json", json);
        }
    }

    private static final long ACK_TIMEOUT_SECONDS = 30;
    private final TaskEventEngine engine;
    private final StateEventFeed feed;
    private final JsonCodec json = new JsonCodec(1 << 20);
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition appended = lock.newCondition();
    /** Bumped by the feed's listener after each local commit that appended; guarded by {@link #lock}. */
    private long appends;

    SpikeHandlers(TaskEventEngine engine, StateEventFeed feed) {
        this.engine = engine;
        this.feed = feed;
        feed.addListener(() -> {
            lock.lock();
            try {
                appends++;
                appended.signalAll();
            } finally {
                lock.unlock();
            }
        });
    }

    /**
     * The spike's routes, for a server without routing of its own: {@code POST /v1/events} and
     * {@code GET /v1/state-events}; 404 otherwise.
     */
    Answer route(String method, String path, Function<String, String> query, Supplier<InputStream> body) {
        boolean get = method.equals("GET");
        if (path.equals("/v1/events") && method.equals("POST")) {
            return postEvents(body.get());
        } else if (path.equals("/v1/state-events") && get) {
            return stateEvents(query.apply("after"), query.apply("limit"), query.apply("wait"));
        }
        return error(404, "no such resource");
    }

    Answer postEvents(InputStream body) {
        List<TaskEvent> events;
        try {
            events = json.events(body);
        } catch (BadRequest e) {
            return error(e.status, e.getMessage());
        }
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>(events.size());
        for (TaskEvent event : events) {
            try {
                acks.add(engine.submit(event));
            } catch (QueueFullException e) {
                return error(503, "the engine is at capacity; resend");
            }
        }
        ByteArrayOutputStream answer = new ByteArrayOutputStream(64 + 80 * acks.size());
        try (JsonGenerator out = json.mapper.createGenerator(answer)) {
            out.writeStartObject();
            out.writeArrayFieldStart("acks");
            for (CompletableFuture<Acknowledgement> ack : acks) {
                json.writeAck(out, ack.get(ACK_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            out.writeEndArray();
            out.writeEndObject();
        } catch (ExecutionException | TimeoutException e) {
            return error(503, "not applied: " + e.getClass().getSimpleName() + "; resend");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(503, "interrupted");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Answer(200, answer.toByteArray());
    }

    /**
     * The changes after position {@code after} (a plain number here, not serve's cursor), at most
     * {@code limit}; when there are none, waits up to {@code waitSeconds} for a local commit that
     * appended, then reads again.
     */
    Answer stateEvents(String afterText, String limitText, String waitText) {
        long after;
        int limit;
        long waitNanos;
        try {
            after = afterText == null ? 0 : Long.parseLong(afterText);
            limit = limitText == null ? 1_000 : Math.min(10_000, Math.max(1, Integer.parseInt(limitText)));
            waitNanos = TimeUnit.SECONDS.toNanos(waitText == null ? 0 : Math.min(60, Long.parseLong(waitText)));
        } catch (NumberFormatException e) {
            return error(400, "after, limit and wait must be numbers");
        }
        long deadline = System.nanoTime() + waitNanos;
        while (true) {
            long seen = appendsSoFar();
            FeedPage page;
            try {
                page = feed.read(after, limit);
            } catch (FeedPositionAheadException | FeedPositionExpiredException e) {
                return error(410, e.getMessage());
            }
            long left = deadline - System.nanoTime();
            if (!page.events().isEmpty() || left <= 0) {
                return new Answer(200, page(after, page));
            }
            lock.lock();
            try {
                while (appends == seen && left > 0) {
                    left = appended.awaitNanos(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return error(503, "interrupted");
            } finally {
                lock.unlock();
            }
        }
    }

    private long appendsSoFar() {
        lock.lock();
        try {
            return appends;
        } finally {
            lock.unlock();
        }
    }

    private byte[] page(long after, FeedPage page) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128 + 256 * page.events().size());
        try (JsonGenerator out = json.mapper.getFactory().createGenerator(bytes)) {
            out.writeStartObject();
            out.writeArrayFieldStart("events");
            for (FeedEvent e : page.events()) {
                StateEvent s = e.event();
                out.writeStartObject();
                out.writeNumberField("position", e.position());
                out.writeNumberField("workflowInstanceId", s.workflowInstanceId());
                out.writeNumberField("taskInstanceId", s.taskInstanceId());
                out.writeStringField("eventType", s.eventType().name());
                out.writeStringField("state", s.state().name());
                out.writeStringField("eventId", s.eventId());
                out.writeNumberField("version", s.version());
                out.writeStringField("committedAt", s.committedAt().toString());
                out.writeEndObject();
            }
            out.writeEndArray();
            out.writeNumberField("next", page.next(after));
            out.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private Answer error(int status, String message) {
        try {
            return new Answer(status, json.mapper.writeValueAsBytes(json.error(message)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
