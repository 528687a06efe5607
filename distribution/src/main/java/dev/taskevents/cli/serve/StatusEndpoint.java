package dev.taskevents.cli.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The status page ({@code GET /} and {@code /status}) and the JSON it reads ({@code GET /v1/status};
 * in cluster mode also {@code GET /v1/cluster}).
 *
 * <p>The page is one static HTML file with its own CSS and JS and no data in it: a browser cannot
 * send a bearer token when it opens a page, so the page is served to anyone, and asks for a token
 * (kept in the tab's {@code sessionStorage}) when the JSON answers 401. The JSON needs a token like
 * every other endpoint; a server without tokens listens on loopback only.
 *
 * <p>{@code /v1/status} reads only counters kept in memory, but for the feed's head and oldest
 * position (two short reads of the store): a store that is down shows as the feed being
 * unavailable, not as a failed page.
 */
final class StatusEndpoint {
    private final JsonCodec json;
    private final TaskEventEngine engine;
    private final StateEventFeed feed;
    private final IntSupplier parkedPolls;
    private final IntSupplier inFlight;
    private final LongSupplier refused;
    private final StatusSeries acks;
    private final RecentErrors errors;
    private final Instant startedAt = Instant.now();
    private final byte[] page;

    /**
     * @param feed the store's feed, or null when it keeps none
     * @param refused the requests answered 503 so far
     */
    StatusEndpoint(JsonCodec json, TaskEventEngine engine, StateEventFeed feed, IntSupplier parkedPolls,
                   IntSupplier inFlight, LongSupplier refused, StatusSeries acks, RecentErrors errors) {
        this.json = json;
        this.engine = engine;
        this.feed = feed;
        this.parkedPolls = parkedPolls;
        this.inFlight = inFlight;
        this.refused = refused;
        this.acks = acks;
        this.errors = errors;
        try (InputStream in = StatusEndpoint.class.getResourceAsStream("status.html")) {
            if (in == null) {
                throw new IllegalStateException("status.html is missing from the module");
            }
            this.page = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The page's HTML. */
    byte[] page() {
        return page;
    }

    /** {@code GET /v1/status}. */
    ObjectNode status() {
        ObjectNode body = json.mapper.createObjectNode();
        Instant now = Instant.now();
        ObjectNode node = body.putObject("node");
        node.put("id", engine.cluster().map(view -> view.nodeId()).orElse(null));
        node.put("startedAt", startedAt.toString()).put("uptimeSeconds", Duration.between(startedAt, now).toSeconds());

        StatusSeries.Snapshot snapshot = acks.snapshot(now.getEpochSecond());
        ObjectNode series = body.putObject("series").put("intervalSeconds", 1)
                .put("endsAt", Instant.ofEpochSecond(snapshot.endSecond()).toString());
        ArrayNode events = series.putArray("events");
        ArrayNode p50 = series.putArray("ackP50Ms");
        ArrayNode p99 = series.putArray("ackP99Ms");
        for (int i = 0; i < snapshot.events().length; i++) {
            events.add(snapshot.events()[i]);
            p50.add(Math.round(snapshot.p50Ms()[i] * 100) / 100.0);
            p99.add(Math.round(snapshot.p99Ms()[i] * 100) / 100.0);
        }

        EngineStats s = engine.stats();
        body.putObject("outcomes").put("applied", s.applied()).put("duplicate", s.duplicates())
                .put("stale", s.stale()).put("rejected", s.rejected()).put("moved", s.moved())
                .put("failed", s.failed());
        body.put("queued", s.queued()).put("inFlight", inFlight.getAsInt()).put("refused503", refused.getAsLong());

        if (feed == null) {
            body.putNull("feed");
        } else {
            ObjectNode f = body.putObject("feed");
            try {
                f.put("head", feed.head()).put("oldest", feed.prunedThrough() + 1);
            } catch (RuntimeException storeDown) {
                f.putNull("head").putNull("oldest").put("unavailable", true);
            }
            f.put("parkedPolls", parkedPolls.getAsInt());
            f.put("cleanedAt", engine.feedCleanedAt().map(Instant::toString).orElse(null));
        }

        ArrayNode recent = body.putArray("errors");
        for (RecentErrors.Entry e : errors.newestFirst()) {
            recent.addObject().put("at", e.at().toString()).put("id", e.id()).put("kind", e.kind());
        }
        return body;
    }
}
