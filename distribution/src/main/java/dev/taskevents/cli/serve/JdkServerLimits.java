package dev.taskevents.cli.serve;

import java.util.Map;

/**
 * The JDK HTTP server's limits, which it reads from system properties once per JVM, when its
 * first server is made. {@code taskevents serve} sets its defaults here, before it makes its
 * server and unless the operator set them ({@code TASKEVENTS_JAVA_OPTS="-Dname=value"}); a library
 * class (EventServer) never touches JVM-wide state.
 *
 * <p>The names are the ones the JDK the image ships reads (checked against JDK 25's
 * {@code sun/net/httpserver/ServerConfig.java}): the connection cap is
 * {@code jdk.httpserver.maxConnections} (JDK 25 does not read the
 * {@code sun.net.httpserver.maxConnections} serve set before), the others are
 * {@code sun.net.httpserver.*}. {@code ForkedServeTest} tests the cap.
 */
public final class JdkServerLimits {
    /**
     * Name to default value. {@code maxReqTime} bounds the request head and body together
     * (the JDK closes a connection whose request is not complete in time, without an answer),
     * so it is longer than serve's own 10 s body timeout, which answers 408.
     */
    public static final Map<String, String> DEFAULTS = Map.of(
            "sun.net.httpserver.maxReqTime", "15",        // s from the first byte of a request to the end of its body
            "sun.net.httpserver.maxRspTime", "120",       // s from the end of the request to the end of the response
            "sun.net.httpserver.idleInterval", "30",      // s an idle keep-alive connection stays
            "sun.net.httpserver.maxIdleConnections", "200",
            "jdk.httpserver.maxConnections", "1000",
            "sun.net.httpserver.maxReqHeaders", "100",
            "sun.net.httpserver.maxReqHeaderSize", "16384", // bytes of request headers
            // TCP_NODELAY on accepted connections. Without it an answer's head and body go out as two
            // writes, and Nagle holds the body until the client's delayed ACK of the head: ~40 ms on
            // Linux per response. FeedBenchmark measured it: a state-event poll's commit-to-consumer
            // p50 fell from 39 ms to 4.9 ms with it (benchmarks/RESULTS.md, the feed's section).
            "sun.net.httpserver.nodelay", "true");

    private JdkServerLimits() {}

    /** Sets each default the operator did not set. Call before the first server of the JVM is made. */
    public static void applyDefaults() {
        DEFAULTS.forEach((name, value) -> {
            if (System.getProperty(name) == null) {
                System.setProperty(name, value);
            }
        });
    }
}
