package dev.taskevents.cli.serve;

import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.StageLatencies;
import dev.taskevents.engine.TaskEventEngine;
import java.util.Locale;
import java.util.Map;

/** {@code GET /metrics}: the engine's, serve's and the process's counters in Prometheus text. */
final class MetricsEndpoint {
    private final TaskEventEngine engine;
    private final Admission admission;
    private final HttpFront front;
    private final LatencyHistogram ackLatency;
    /** Null when the store keeps no feed. */
    private final StateEventsEndpoint stateEvents;

    MetricsEndpoint(TaskEventEngine engine, Admission admission, HttpFront front, LatencyHistogram ackLatency,
                    StateEventsEndpoint stateEvents) {
        this.engine = engine;
        this.admission = admission;
        this.front = front;
        this.ackLatency = ackLatency;
        this.stateEvents = stateEvents;
    }

    String text() {
        EngineStats s = engine.stats();
        StringBuilder out = new StringBuilder();
        counter(out, "taskevents_events_total", "Events answered, by outcome.", Map.of(
                "applied", s.applied(), "duplicate", s.duplicates(), "stale", s.stale(), "rejected", s.rejected(),
                "moved", s.moved(), "failed", s.failed()));
        gauge(out, "taskevents_queued_events", "Events accepted and not yet answered.", s.queued());
        gauge(out, "taskevents_active_workflows", "Workflow instances with an event queued or in progress.",
                s.activeKeys());
        gauge(out, "taskevents_pending_writes", "Changes waiting for the next batch write.", s.pendingWrites());
        gauge(out, "taskevents_request_bodies_reading", "Request bodies being read (not yet in flight).",
                admission.readingBodies());
        gauge(out, "taskevents_requests_in_flight", "Requests being handled, their bodies read.",
                admission.inFlight());
        plainCounter(out, "taskevents_commit_batches_total", "Batch writes committed.", s.batches());
        plainCounter(out, "taskevents_rows_written_total", "Rows in committed batches.", s.rowsWritten());
        plainCounter(out, "taskevents_write_retries_total", "Failed batch writes that were retried.", s.writeRetries());
        plainCounter(out, "taskevents_state_sink_failures_total", "State events the sink threw on.", s.sinkFailures());
        ackLatency.writeTo(out, "taskevents_ack_latency_seconds", "From accepting an event to its acknowledgement.");
        stages(out, engine.stageLatencies());
        out.append("# HELP taskevents_http_responses_total HTTP answers sent, by status code.\n");
        out.append("# TYPE taskevents_http_responses_total counter\n");
        front.responses().forEach((code, count) -> out.append("taskevents_http_responses_total{code=\"").append(code)
                .append("\"} ").append(count).append('\n'));
        gauge(out, "taskevents_http_connections", "HTTP connections open.", front.connections());
        ProcessMetrics.writeTo(out);
        if (stateEvents != null) {
            gauge(out, "taskevents_feed_waiters", "State-event polls parked, waiting for a commit.", stateEvents.parked());
            plainCounter(out, "taskevents_feed_reads_total", "Reads of the state-event feed.", stateEvents.reads());
            plainCounter(out, "taskevents_feed_events_served_total", "State events answered to polls.",
                    stateEvents.served());
        }
        engine.cluster().ifPresent(view -> {
            ClusterView.Counters c = view.counters();
            gauge(out, "taskevents_cluster_owned_shards", "Shards this node serves (ACTIVE).",
                    view.owned().stream().filter(o -> o.state() == ClusterView.ShardState.ACTIVE).count());
            gauge(out, "taskevents_cluster_owner_nodes", "Live nodes holding shards, in this node's last shard map.",
                    ownerNodes(view));
            plainCounter(out, "taskevents_cluster_takeovers_total", "Shards this node acquired.", c.takeovers());
            plainCounter(out, "taskevents_cluster_releases_total", "Shards this node released in order.", c.releases());
            plainCounter(out, "taskevents_cluster_shards_lost_total", "Shards this node lost without a release.",
                    c.shardsLost());
            plainCounter(out, "taskevents_cluster_fenced_writes_total", "Row writes fenced: the shard's epoch had moved on.",
                    c.fencedRows());
            plainCounter(out, "taskevents_cluster_heartbeat_failures_total", "Lease renewals that failed.",
                    c.heartbeatFailures());
        });
        return out.toString();
    }

    /** The engine's stage histograms as one Prometheus histogram labelled by stage. */
    private static void stages(StringBuilder out, StageLatencies latencies) {
        String name = "taskevents_stage_seconds";
        out.append("# HELP ").append(name).append(" Where events' time goes in the engine, by stage (queued, snapshot,"
                + " batch_wait, store_write, completion, total).\n");
        out.append("# TYPE ").append(name).append(" histogram\n");
        double[] bounds = StageLatencies.BOUNDS_SECONDS.stream().mapToDouble(Double::doubleValue).toArray();
        for (StageLatencies.Stage stage : StageLatencies.Stage.values()) {
            StageLatencies.Histogram h = latencies.of(stage);
            LatencyHistogram.writeSeries(out, name, "stage=\"" + stage.name().toLowerCase(Locale.ROOT) + "\"", bounds,
                    h.counts().stream().mapToLong(Long::longValue).toArray(), h.sumNanos());
        }
    }

    /** Distinct live owners in the last shard map: the nodes holding shards. */
    private static long ownerNodes(ClusterView view) {
        return view.shardMap().stream().filter(ShardLeases.ShardInfo::ownerAlive).map(ShardLeases.ShardInfo::ownerNode)
                .distinct().count();
    }

    private static void counter(StringBuilder out, String name, String help, Map<String, Long> byOutcome) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n");
        byOutcome.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.append(name)
                .append("{outcome=\"").append(e.getKey()).append("\"} ").append(e.getValue()).append('\n'));
    }

    private static void plainCounter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(value).append('\n');
    }
}
