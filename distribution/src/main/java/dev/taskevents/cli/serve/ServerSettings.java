package dev.taskevents.cli.serve;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * How {@link EventServer} listens, whom it lets in and how much it holds. Made with {@link #builder}.
 *
 * @param address where to listen
 * @param maxBodyBytes the largest request body; larger ones get 413 before they are read whole
 * @param bodyReadTimeout how long a request body may take to arrive, from the end of its head (a
 *     client that trickles its body, or never sends it, gets 408); a connection whose request head
 *     keeps arriving for longer without being complete is closed
 * @param ackTimeout how long a request waits for all its events' commits, together (one deadline for
 *     the whole request, not one per event)
 * @param tokens the bearer tokens accepted (several at once, for rotation); empty means no
 *     authentication, which is allowed only on a loopback address
 * @param metricsPublic whether {@code /metrics} is open without a token
 * @param tls the TLS context for HTTPS, or null for plain HTTP
 * @param maxInFlight the most requests handled at once (counted once their body has arrived; a
 *     state-event poll while it reads); more get 503
 * @param maxVarPoolBytes the largest var pool of one event, in UTF-8 bytes; larger ones get 413 naming the field
 * @param maxBufferedBytes the most bytes of request bodies and state-event pages held at once over
 *     all requests; a request whose body would go over gets 503 with {@code Retry-After}, a page is
 *     cut to what is free
 * @param allowInsecureHttp whether tokens may be taken over plain HTTP on a non-loopback address
 * @param feed how {@code GET /v1/state-events} parks its long polls
 * @param maxConnections the most connections open at once; one over it is closed as it is accepted
 */
public record ServerSettings(InetSocketAddress address, int maxBodyBytes, Duration bodyReadTimeout,
                             Duration ackTimeout, List<String> tokens, boolean metricsPublic, SSLContext tls,
                             int maxInFlight, int maxVarPoolBytes, long maxBufferedBytes,
                             boolean allowInsecureHttp, FeedSettings feed, int maxConnections) {
    /** The default {@code --max-var-pool-bytes}: 1 MiB. */
    public static final int DEFAULT_MAX_VAR_POOL_BYTES = 1 << 20;
    /** The default {@code --max-connections}. */
    public static final int DEFAULT_MAX_CONNECTIONS = 1000;

    public ServerSettings {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(bodyReadTimeout, "bodyReadTimeout");
        Objects.requireNonNull(ackTimeout, "ackTimeout");
        Objects.requireNonNull(feed, "feed");
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("cannot listen on " + address.getHostString()
                    + ": the name does not resolve to an address; give an IP address or a resolvable name with --bind");
        }
        tokens = List.copyOf(tokens);
        boolean loopback = address.getAddress().isLoopbackAddress();
        if (tokens.isEmpty() && !loopback) {
            throw new IllegalArgumentException("refusing to listen on " + address.getAddress().getHostAddress()
                    + " without authentication: anyone who can reach it could mark any task finished."
                    + " Give tokens (TASKEVENTS_TOKENS or --token-file), or listen on 127.0.0.1");
        }
        if (!tokens.isEmpty() && !loopback && tls == null && !allowInsecureHttp) {
            throw new IllegalArgumentException("refusing to take bearer tokens over plain HTTP on "
                    + address.getAddress().getHostAddress() + ": anyone on the network path could read them."
                    + " Serve HTTPS (--tls-keystore), or give --allow-insecure-http if a TLS proxy on the same"
                    + " host is the only way in");
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
        if (maxVarPoolBytes < 0) {
            throw new IllegalArgumentException("maxVarPoolBytes must not be negative, was " + maxVarPoolBytes);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, was " + maxConnections);
        }
        if (maxBufferedBytes < maxBodyBytes) {
            throw new IllegalArgumentException("maxBufferedBytes (" + maxBufferedBytes
                    + ") must be at least maxBodyBytes (" + maxBodyBytes + "), or no largest body could be read");
        }
    }

    /**
     * The state-event feed's long polls.
     *
     * @param retention the feed's retention (as the engine was built with): named in a 410's message
     * @param maxWaiters the most polls parked at once; a poll that finds nothing and would park over
     *     it answers the oldest parked poll early with an empty page and takes its place, or if none
     *     is parked (all being read again) is answered 503 {@code TOO_MANY_WAITERS} with
     *     {@code Retry-After} (a poll that finds events gets them)
     * @param maxWait the longest {@code wait} a poll gets; a longer one is cut to it
     * @param headPoll how often the feed's head is read while polls are parked, to wake them for
     *     commits of other processes sharing the database (local commits wake them at once)
     */
    public record FeedSettings(Duration retention, int maxWaiters, Duration maxWait, Duration headPoll) {
        /** The defaults of {@code taskevents serve}: 24 h, 256 waiters, 60 s, 20 ms. */
        public static final FeedSettings DEFAULTS = new FeedSettings(Duration.ofHours(24), 256, Duration.ofSeconds(60),
                Duration.ofMillis(20));

        public FeedSettings {
            Objects.requireNonNull(retention, "retention");
            Objects.requireNonNull(maxWait, "maxWait");
            Objects.requireNonNull(headPoll, "headPoll");
            if (maxWaiters < 0) {
                throw new IllegalArgumentException("maxWaiters must not be negative, was " + maxWaiters);
            }
            if (maxWait.isNegative() || headPoll.isNegative() || headPoll.isZero()) {
                throw new IllegalArgumentException("maxWait must not be negative and headPoll must be positive, were "
                        + maxWait + " and " + headPoll);
            }
        }

    }

    /** Loopback, no tokens, plain HTTP, public metrics: for tests and local use. */
    public static ServerSettings local(int port, int maxBodyBytes) {
        return builder(new InetSocketAddress("127.0.0.1", port)).maxBodyBytes(maxBodyBytes).metricsPublic(true).build();
    }

    /** Settings for {@code address} with the defaults of {@code taskevents serve}. */
    public static Builder builder(InetSocketAddress address) {
        return new Builder(address);
    }

    /**
     * The default byte budget for request bodies held at once: an eighth of the heap, at least
     * one largest body. A request holds its body, its parsed events (measured: 1.7 times the body
     * for the smallest valid events, the worst case; {@code HostileInputTest}) and its answer, in
     * all under 4 times its body, so requests together stay under half the heap.
     */
    static long defaultMaxBufferedBytes(int maxBodyBytes) {
        return Math.max(maxBodyBytes, Runtime.getRuntime().maxMemory() / 8);
    }

    /** Builds {@link ServerSettings}; not thread-safe. */
    public static final class Builder {
        private final InetSocketAddress address;
        private int maxBodyBytes = 16 * 1024 * 1024;
        private Duration bodyReadTimeout = Duration.ofSeconds(10);
        private Duration ackTimeout = Duration.ofSeconds(60);
        private List<String> tokens = List.of();
        private boolean metricsPublic;
        private SSLContext tls;
        private int maxInFlight = 256;
        private int maxVarPoolBytes = DEFAULT_MAX_VAR_POOL_BYTES;
        private long maxBufferedBytes = -1;
        private boolean allowInsecureHttp;
        private FeedSettings feed = FeedSettings.DEFAULTS;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;

        private Builder(InetSocketAddress address) {
            this.address = address;
        }

        public Builder maxBodyBytes(int bytes) { this.maxBodyBytes = bytes; return this; }
        public Builder bodyReadTimeout(Duration timeout) { this.bodyReadTimeout = timeout; return this; }
        public Builder ackTimeout(Duration timeout) { this.ackTimeout = timeout; return this; }
        public Builder tokens(List<String> tokens) { this.tokens = tokens; return this; }
        public Builder metricsPublic(boolean open) { this.metricsPublic = open; return this; }
        public Builder tls(SSLContext context) { this.tls = context; return this; }
        public Builder maxInFlight(int requests) { this.maxInFlight = requests; return this; }
        public Builder maxVarPoolBytes(int bytes) { this.maxVarPoolBytes = bytes; return this; }
        public Builder maxBufferedBytes(long bytes) { this.maxBufferedBytes = bytes; return this; }
        public Builder allowInsecureHttp(boolean allow) { this.allowInsecureHttp = allow; return this; }
        public Builder feed(FeedSettings settings) { this.feed = settings; return this; }
        public Builder maxConnections(int connections) { this.maxConnections = connections; return this; }

        public ServerSettings build() {
            return new ServerSettings(address, maxBodyBytes, bodyReadTimeout, ackTimeout, tokens, metricsPublic, tls,
                    maxInFlight, maxVarPoolBytes,
                    maxBufferedBytes < 0 ? defaultMaxBufferedBytes(maxBodyBytes) : maxBufferedBytes,
                    allowInsecureHttp, feed, maxConnections);
        }
    }
}
