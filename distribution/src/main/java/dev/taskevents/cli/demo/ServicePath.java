package dev.taskevents.cli.demo;

import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.cli.serve.EventServer;
import dev.taskevents.cli.serve.ServerSettings;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code demo --via-serve}: {@code taskevents serve} in this process, built as the command builds
 * it (a record-only engine with the state-event feed and no sink, the HTTP server on loopback with a
 * bearer token), on a port the system picks, and a {@link TaskEventsClient} of it with that token.
 * The token is made here from {@link SecureRandom} and never shown.
 *
 * <p>Closing stops the client (waiting up to 10 s for events still unanswered), then the server (parked feed polls get 503), then the engine; the
 * store is the caller's.
 */
final class ServicePath implements AutoCloseable {
    /** The retention serve's feed defaults to; a demo run reads its changes within seconds. */
    private static final Duration FEED_RETENTION = Duration.ofHours(24);

    private final TaskEventEngine engine;
    private final EventServer server;
    private final TaskEventsClient client;
    private final URI address;

    private ServicePath(TaskEventEngine engine, EventServer server, TaskEventsClient client, URI address) {
        this.engine = engine;
        this.server = server;
        this.client = client;
        this.address = address;
    }

    /** Starts serve on {@code store} and a client of it. */
    static ServicePath start(TaskInstanceStore store) {
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        ServerSettings settings = ServerSettings.builder(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .tokens(List.of(token)).build();
        TaskEventEngine engine = TaskEventEngine.builder().store(store).submitTimeout(Duration.ofMillis(100))
                .stateFeed(FEED_RETENTION).build();
        EventServer server;
        try {
            server = new EventServer(engine, store, settings);
        } catch (IOException e) {
            engine.close();
            throw new UncheckedIOException("cannot start serve on a loopback port for --via-serve", e);
        }
        server.start();
        URI address = URI.create("http://" + server.address().getHostString() + ":" + server.address().getPort());
        // One client for all the demo's workers (hundreds of tasks at once, each waiting for its ack),
        // where a real worker process has a few: more requests out at once than the default 4 keep
        // serve's group commit fed (measured: 300 workflows on H2 in 6.8 s instead of 11.3 s).
        TaskEventsClient client = TaskEventsClient.builder(address).token(token).maxInFlight(16).build();
        return new ServicePath(engine, server, client, address);
    }

    TaskEventsClient client() {
        return client;
    }

    /** Where serve listens, e.g. {@code http://127.0.0.1:41234}. */
    URI address() {
        return address;
    }

    /** The counters of serve's engine. */
    EngineStats stats() {
        return engine.stats();
    }

    @Override
    public void close() {
        try {
            client.close(Duration.ofSeconds(10)); // the events still unanswered are answered or failed
        } finally {
            try {
                server.stop(Duration.ofSeconds(1));
            } finally {
                engine.close();
            }
        }
    }
}
