package dev.taskevents.cli.serve;

import dev.taskevents.api.Shards;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.cli.Defaults;
import dev.taskevents.cli.Options;
import dev.taskevents.cli.UsageException;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import sun.misc.Signal;

/** {@code taskevents serve}: the HTTP service until SIGTERM or SIGINT, then a drained exit 0. */
public final class ServeCommand {
    static final String HELP = """
            Usage: taskevents serve [options]

            Runs the HTTP JSON service workers send task events to.

              --store URL            where task state lives (required), e.g. jdbc:postgresql://host/db,
                                     or %s for a trial on one machine
              --port N               TCP port (default 8080; 0 picks a free one)
              --bind ADDRESS         address to listen on (default 127.0.0.1)
              --max-queued N         events accepted and not yet answered before 503 (default 100000)
              --max-body-bytes N     largest request body (default 16777216)
              --drain-seconds N      on SIGTERM, how long to finish accepted events (default 30)
              --token-file PATH      bearer tokens workers must send, one per line ('#' comments);
                                     also (or instead) TASKEVENTS_TOKENS=tok1,tok2 in the environment.
                                     Never on the command line: it would show in ps. Without any
                                     token, serve listens on loopback only.
              --metrics-public       serve /metrics without a token (/healthz always is)
              --tls-keystore PATH    a PKCS12 keystore: serve HTTPS with its key and certificate
              --tls-password-file PATH  the keystore's password (first line)
              --max-in-flight N      requests handled at once before 503 (default 256); a request
                                     counts once its body has arrived, a feed poll while it reads
              --max-connections N    connections open at once (default 1000); one over it is
                                     closed as it is accepted
              --max-var-pool-bytes N largest varPool of one event, UTF-8 bytes (default 1048576)
              --max-buffered-bytes N request-body and feed-page bytes held at once over all
                                     requests before 503 (default: an eighth of the heap)
              --state-log FILE       tell the engine's state events to FILE, one JSON line each,
                                     appended before the change leaves the store's outbox (at least
                                     once; repeats have the same taskInstanceId and version)
              --cluster              run as one node of a cluster sharing the store (a jdbc: store):
                                     this node takes and renews leases on its fair share of the
                                     shards, answers 421 for events of other nodes' shards, and
                                     hands its shards over on SIGTERM
              --node-name NAME       the node's name in the cluster (default: the host name); its id
                                     is NAME/ and 8 random hex digits, new at every start
              --advertise URL        where workers reach this node, sent with 421 and MOVED answers
                                     (default: http(s)://BIND:PORT; needed with --bind 0.0.0.0 or --port 0)
              --lease-ms N           a node's lease, by the database's clock (default 10000)
              --renew-ms N           how often a node renews its lease; below lease/3 (default 2000)
              --shards N             the shard count, recorded when the schema is created (1-65536,
                                     default 256); it cannot change later: a database created with
                                     another count is refused
              --allow-insecure-http  take tokens over plain HTTP on a non-loopback address (only
                                     behind a TLS proxy on the same host; refused otherwise)
              --feed-retention D     how long GET /v1/state-events keeps committed changes, e.g. 24h,
                                     90m, 7d (default 24h; at least 1m). A cursor older than that
                                     gets 410
              --max-feed-waiters N   state-event polls parked at once (default 256); a poll that
                                     finds nothing over that answers the oldest early (an
                                     empty page) and takes its place

            Endpoints: POST /v1/task-instances, POST /v1/events, GET /v1/task-instances/{id},
                       GET /v1/state-events?after=CURSOR&limit=N&wait=SECONDS,
                       GET /v1/cluster (with --cluster), GET /healthz, GET /metrics
            """.formatted(Defaults.STORE);

    private final PrintStream out;
    private final PrintStream err;

    public ServeCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** {@code --feed-retention}: a whole number and a unit (s, m, h, d), at least a minute. */
    static Duration retention(Options options) {
        String raw = options.get("feed-retention", "24h").trim();
        Matcher m = Pattern.compile("(\\d{1,9})([smhd])").matcher(raw);
        if (!m.matches()) {
            throw options.usage("--feed-retention must be a whole number and a unit (s, m, h or d), e.g. 24h or 90m,"
                    + " was \"" + raw + "\"");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.compareTo(Duration.ofMinutes(1)) < 0) {
            throw options.usage("--feed-retention must be at least 1m (a consumer needs time to read), was " + raw);
        }
        return d;
    }

    public int run(List<String> args) throws InterruptedException {
        Options options = Options.parse("serve", args, Set.of("store", "port", "bind", "max-queued", "max-body-bytes",
                "drain-seconds", "token-file", "tls-keystore", "tls-password-file", "max-in-flight", "max-connections",
                "max-var-pool-bytes", "max-buffered-bytes", "state-log", "node-name", "advertise", "lease-ms", "renew-ms",
                "shards", "feed-retention", "max-feed-waiters"), Set.of("help", "metrics-public", "allow-insecure-http", "cluster"));
        if (options.has("help")) {
            out.print(HELP);
            return 0;
        }
        int port = options.getInt("port", 8080, 0, 65_535);
        String bind = options.get("bind", "127.0.0.1");
        int maxQueued = options.getInt("max-queued", 100_000, 1, 10_000_000);
        int maxBody = options.getInt("max-body-bytes", 16 * 1024 * 1024, 1_024, 1_073_741_824);
        Duration drain = Duration.ofSeconds(options.getInt("drain-seconds", 30, 0, 3_600));
        // No default store: a service's data goes where its operator says. A default H2 file would
        // land in whatever directory the supervisor starts serve in (systemd: /), and two serves
        // started from different directories would each keep a different truth.
        String url = options.get("store", null);
        if (url == null) {
            throw new UsageException("serve: --store URL is required: where task state lives, e.g."
                    + " jdbc:postgresql://host/db?user=u, or " + Defaults.STORE + " for a trial on one machine"
                    + " (see: taskevents serve --help)");
        }
        List<String> tokens = Credentials.tokens(System.getenv("TASKEVENTS_TOKENS"), options.get("token-file", null));
        SSLContext tls = Credentials.tls(options.get("tls-keystore", null), options.get("tls-password-file", null));
        int maxVarPool = options.getInt("max-var-pool-bytes", ServerSettings.DEFAULT_MAX_VAR_POOL_BYTES, 0, maxBody);
        long maxBuffered = options.getInt("max-buffered-bytes",
                (int) Math.min(Integer.MAX_VALUE, ServerSettings.defaultMaxBufferedBytes(maxBody)), maxBody,
                Integer.MAX_VALUE);
        Duration feedRetention = retention(options);
        ServerSettings settings = ServerSettings.builder(new InetSocketAddress(bind, port)).maxBodyBytes(maxBody)
                .tokens(tokens).metricsPublic(options.has("metrics-public")).tls(tls)
                .maxInFlight(options.getInt("max-in-flight", 256, 1, 100_000)).maxVarPoolBytes(maxVarPool)
                .maxConnections(options.getInt("max-connections", ServerSettings.DEFAULT_MAX_CONNECTIONS, 1, 1_000_000))
                .maxBufferedBytes(maxBuffered).allowInsecureHttp(options.has("allow-insecure-http"))
                .feed(new ServerSettings.FeedSettings(feedRetention, options.getInt("max-feed-waiters", 256, 0, 10_000),
                        ServerSettings.FeedSettings.DEFAULTS.maxWait(), ServerSettings.FeedSettings.DEFAULTS.headPoll()))
                .build();
        StateLog stateLog = options.get("state-log", null) == null ? null
                : StateLog.open(Path.of(options.get("state-log", null)));
        ClusterSettings cluster = options.has("cluster") ? clusterSettings(options, bind, port, tls != null) : null;
        TaskInstanceStore store = openStore(url, options, cluster);
        TaskEventEngine engine;
        try {
            TaskEventEngine.Builder builder = TaskEventEngine.builder().store(store).maxQueued(maxQueued)
                    .stateSink(stateLog == null ? WorkflowStateSink.NONE : stateLog)
                    .submitTimeout(Duration.ofMillis(100)).stateFeed(feedRetention);
            // Every committed change goes to the feed for remote schedulers, and with --state-log also
            // to the file (through the outbox, so that a node taking a shard over re-tells it).
            if (cluster != null) {
                builder.cluster(cluster);
            }
            engine = builder.build();
        } catch (RuntimeException e) {
            store.close();
            closeQuietly(stateLog);
            throw e;
        }
        EventServer server;
        try {
            server = new EventServer(engine, store, settings);
        } catch (BindException e) {
            engine.close();
            store.close();
            closeQuietly(stateLog);
            throw new IllegalStateException("cannot listen on " + bind + ":" + port + ": " + e.getMessage());
        } catch (IOException e) {
            engine.close();
            store.close();
            closeQuietly(stateLog);
            throw new UncheckedIOException("cannot start the HTTP server on " + bind + ":" + port, e);
        }
        // The drain is armed before the first request can be accepted and before the listening
        // line, which supervisors and tests take as ready: a SIGTERM from then on always drains.
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), signal -> stop.countDown());
        Signal.handle(new Signal("INT"), signal -> stop.countDown());
        server.start();
        out.printf("taskevents serve: listening on %s://%s:%d (store %s; %s)%s%n", server.tls() ? "https" : "http",
                server.address().getHostString(), server.address().getPort(), JdbcStores.redact(url),
                tokens.isEmpty() ? "no authentication: loopback only" : tokens.size() + " bearer token(s)",
                engine.cluster().map(view -> "; cluster node " + view.nodeId() + " of " + view.shardCount()
                        + " shards, advertised as " + cluster.advertisedAddress()).orElse(""));
        out.flush();
        stop.await();
        out.println("taskevents serve: stopping; finishing accepted events (up to " + drain.toSeconds() + " s)");
        server.stop(drain);
        List<TaskEvent> notRun = engine.close(drain);
        store.close();
        if (stateLog != null) {
            stateLog.close();
        }
        if (!notRun.isEmpty()) {
            err.println("taskevents serve: " + notRun.size() + " accepted events did not run before the deadline"
                    + " and were not acknowledged; their workers will resend them");
            return 1;
        }
        out.println("taskevents serve: stopped cleanly");
        return 0;
    }

    private static void closeQuietly(StateLog stateLog) {
        if (stateLog != null) {
            try {
                stateLog.close();
            } catch (UncheckedIOException e) {
                // the start failed already; that failure is the one to report
            }
        }
    }

    /**
     * A cluster node's settings from the options. The advertised address defaults to the address
     * it listens on, which must then be one other machines can use.
     */
    private static ClusterSettings clusterSettings(Options options, String bind, int port, boolean tls) {
        String advertise = options.get("advertise", null);
        if (advertise == null) {
            if (port == 0 || bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("[::]")) {
                throw new UsageException("serve: with --cluster, give --advertise URL (where workers reach this"
                        + " node): it cannot be told from --bind " + bind + " --port " + port
                        + " (see: taskevents serve --help)");
            }
            advertise = (tls ? "https://" : "http://") + (bind.contains(":") ? "[" + bind + "]" : bind) + ":" + port;
        }
        int leaseMs = options.getInt("lease-ms", 10_000, 300, 3_600_000);
        int renewMs = options.getInt("renew-ms", 2_000, 50, 1_200_000);
        ClusterSettings.Builder builder = ClusterSettings.builder().advertisedAddress(advertise)
                .lease(Duration.ofMillis(leaseMs)).renewInterval(Duration.ofMillis(renewMs));
        if (options.get("node-name", null) != null) {
            builder.nodeName(options.get("node-name", null));
        }
        return builder.build();
    }

    /**
     * The store; for a JDBC one in cluster mode, with the write transactions' idle timeout at half
     * the lease, so that a node paused inside a transaction does not hold its shards' locks (and
     * so their takeover) for longer than that, and a statement timeout of a lease, so that a
     * write to a database that stopped answering fails instead of waiting for ever (the node's
     * cluster member then sees its writes make no progress and lets its shards go).
     */
    private static TaskInstanceStore openStore(String url, Options options, ClusterSettings cluster) {
        if (!url.startsWith("jdbc:")) {
            if (options.has("shards")) {
                throw new UsageException("serve: --shards applies to jdbc: stores only (see: taskevents serve --help)");
            }
            return Stores.open(url); // memory: refuses cluster mode when the engine is built, saying why
        }
        JdbcStoreOptions storeOptions = JdbcStoreOptions.of(url);
        if (options.has("shards")) {
            storeOptions = storeOptions.withShardCount(options.getInt("shards", Shards.DEFAULT_SHARD_COUNT, 1,
                    Shards.MAX_SHARD_COUNT));
        }
        if (cluster != null) {
            storeOptions = storeOptions.withWriterIdleTimeout(Duration.ofMillis(
                    Math.max(1_000, cluster.lease().toMillis() / 2)))
                    .withStatementTimeout(Duration.ofMillis(Math.max(1_000, cluster.lease().toMillis())));
        }
        return JdbcStores.open(storeOptions);
    }
}
