package dev.taskevents.cli.serve;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * How {@link EventServer} listens and whom it lets in.
 *
 * @param address where to listen
 * @param maxBodyBytes the largest request body; larger ones get 413 before they are read whole
 * @param bodyReadTimeout how long reading one request body may take (a client that trickles its
 *     body is cut off with 408)
 * @param ackTimeout how long a request waits for its events' commits
 * @param tokens the bearer tokens accepted (several at once, for rotation); empty means no
 *     authentication, which is allowed only on a loopback address
 * @param metricsPublic whether {@code /metrics} is open without a token
 * @param tls the TLS context for HTTPS, or null for plain HTTP
 * @param maxInFlight the most requests handled at once; more get 503
 */
public record ServerSettings(InetSocketAddress address, int maxBodyBytes, Duration bodyReadTimeout,
                             Duration ackTimeout, List<String> tokens, boolean metricsPublic, SSLContext tls,
                             int maxInFlight) {
    public ServerSettings {
        Objects.requireNonNull(address, "address");
        tokens = List.copyOf(tokens);
        if (tokens.isEmpty() && !address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("refusing to listen on " + address.getAddress().getHostAddress()
                    + " without authentication: anyone who can reach it could mark any task finished."
                    + " Give tokens (TASKEVENTS_TOKENS or --token-file), or listen on 127.0.0.1");
        }
        for (String token : tokens) {
            if (token.length() < 16 || token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
                throw new IllegalArgumentException("every token must be at least 16 printable ASCII characters"
                        + " without spaces (one of the tokens given is not; it is not shown here)");
            }
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, was " + maxInFlight);
        }
    }

    /** Loopback, no tokens, plain HTTP: for tests and local use. */
    public static ServerSettings local(int port, int maxBodyBytes) {
        return new ServerSettings(new InetSocketAddress("127.0.0.1", port), maxBodyBytes, Duration.ofSeconds(10),
                Duration.ofSeconds(60), List.of(), true, null, 256);
    }
}
