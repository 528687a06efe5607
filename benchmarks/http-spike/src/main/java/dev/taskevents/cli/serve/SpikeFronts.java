package dev.taskevents.cli.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The servers of the spike, each on a loopback port of its own, over one engine and store. The JDK
 * and Jetty fronts hand every request to {@link SpikeHandlers#route}; Helidon's routes the same
 * paths with its own routing. So they differ only in the server; "serve" is
 * serve's own {@link EventServer} as it ships (its limits, permits and byte budget included).
 */
final class SpikeFronts {
    private static final int BACKLOG = 1024;

    /** A server started on a loopback port. */
    interface Front extends AutoCloseable {
        String name();

        int port();

        @Override
        void close();
    }

    private SpikeFronts() {}

    /**
     * The JDK server's limits as serve set them while it ran on that server (system properties it
     * reads once per JVM): TCP_NODELAY above all, without which Nagle holds each answer ~40 ms.
     */
    static void jdkDefaults() {
        java.util.Map.of("sun.net.httpserver.maxReqTime", "15", "sun.net.httpserver.maxRspTime", "120",
                "sun.net.httpserver.idleInterval", "30", "sun.net.httpserver.maxIdleConnections", "200",
                "jdk.httpserver.maxConnections", "1000", "sun.net.httpserver.maxReqHeaders", "100",
                "sun.net.httpserver.maxReqHeaderSize", "16384", "sun.net.httpserver.nodelay", "true")
                .forEach((name, value) -> {
                    if (System.getProperty(name) == null) {
                        System.setProperty(name, value);
                    }
                });
    }

    /** serve's {@link EventServer}, as {@code taskevents serve} runs it (loopback, no tokens). */
    static Front serve(TaskEventEngine engine, TaskInstanceStore store) throws IOException {
        EventServer server = new EventServer(engine, store, ServerSettings.local(0, 16 << 20));
        server.start();
        return front("serve (Jetty, as shipped)", server.address().getPort(), () -> server.stop(Duration.ZERO));
    }

    /** The JDK's built-in server with serve's JDK settings, a virtual thread per exchange. */
    static Front jdk(SpikeHandlers handlers) throws IOException {
        jdkDefaults();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), BACKLOG);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            try (exchange) {
                send(exchange, handlers.route(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                        query(exchange.getRequestURI().getRawQuery())::get, exchange::getRequestBody));
            }
        });
        server.start();
        return front("JDK server", server.getAddress().getPort(), () -> {
            server.stop(0);
            threads.shutdown();
        });
    }

    private static void send(HttpExchange exchange, SpikeHandlers.Answer answer) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", answer.contentType());
        exchange.sendResponseHeaders(answer.status(), answer.body().length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(answer.body());
        }
    }

    /** Helidon SE WebServer: a virtual thread per request, its own HTTP/1.1 parser and routing. */
    static Front helidon(SpikeHandlers handlers) {
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .backlog(BACKLOG)
                .connectionOptions(socket -> socket.tcpNoDelay(true)) // off by default; serve forces it on the JDK server
                .routing(routing -> routing
                        .post("/v1/events", (req, res) -> send(res, handlers.postEvents(req.content().inputStream())))
                        .get("/v1/state-events", (req, res) -> send(res, handlers.stateEvents(
                                first(req, "after"), first(req, "limit"), first(req, "wait")))))
                .build()
                .start();
        return front("Helidon SE 4.5 WebServer", server.port(), server::stop);
    }

    private static String first(ServerRequest req, String name) {
        return req.query().contains(name) ? req.query().get(name) : null;
    }

    private static void send(ServerResponse res, SpikeHandlers.Answer answer) {
        res.status(Status.create(answer.status()));
        res.header(HeaderNames.CONTENT_TYPE, answer.contentType());
        res.send(answer.body());
    }

    /** Jetty 12 core (no servlets): blocking handlers on virtual threads, its own parser; TCP_NODELAY by default. */
    static Front jetty(SpikeHandlers handlers) throws Exception {
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        connector.setAcceptQueueSize(BACKLOG);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                SpikeHandlers.Answer answer = handlers.route(request.getMethod(), Request.getPathInContext(request),
                        Request.extractQueryParameters(request)::getValue,
                        () -> Request.asInputStream(request));
                response.setStatus(answer.status());
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, answer.contentType());
                response.write(true, ByteBuffer.wrap(answer.body()), callback);
                return true;
            }
        });
        server.start();
        return front("Jetty 12.1 (core handler)", connector.getLocalPort(), () -> {
            try {
                server.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> values = new HashMap<>();
        if (raw == null) {
            return values;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                values.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return values;
    }

    private static Front front(String name, int port, Runnable stop) {
        return new Front() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() {
                stop.run();
            }
        };
    }
}
