package dev.taskevents.engine;

import dev.taskevents.engine.cluster.ShardTenure;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Cluster mode: several engine nodes share one store, each serving the events of the shards it
 * holds ({@link TaskEventEngine.Builder#cluster}). Events of a shard this node does not hold are
 * answered {@link dev.taskevents.api.Acknowledgement.Moved}. The store must offer
 * {@link dev.taskevents.api.spi.TaskInstanceStore#cluster()} (a {@code jdbc:} store does;
 * {@code memory:} does not).
 *
 * <pre>{@code
 * ClusterSettings.builder()
 *     .nodeName("host-a")                         // default: the host name
 *     .advertisedAddress("http://10.0.0.5:8080")  // carried by Moved answers; null if none
 *     .lease(Duration.ofSeconds(10))
 *     .renewInterval(Duration.ofSeconds(2))
 *     .build();
 * }</pre>
 */
public final class ClusterSettings {
    private final String nodeName;
    private final String advertisedAddress;
    private final Duration lease;
    private final Duration renewInterval;
    private final Duration drainTimeout;
    private final int maxMovesPerRound;
    private final ShardListener listener;
    private final boolean manualRounds;
    private final LongSupplier nanoClock;
    private final ShardTenure.Probe probe;

    private ClusterSettings(Builder b, String nodeName) {
        this.nodeName = nodeName;
        this.advertisedAddress = b.advertisedAddress;
        this.lease = b.lease;
        this.renewInterval = b.renewInterval;
        this.drainTimeout = b.drainTimeout;
        this.maxMovesPerRound = b.maxMovesPerRound;
        this.listener = b.listener;
        this.manualRounds = b.manualRounds;
        this.nanoClock = b.nanoClock;
        this.probe = b.probe;
    }

    /** A builder with the defaults (lease 10 s, renew every 2 s, drain 5 s, 16 moves per round). */
    public static Builder builder() {
        return new Builder();
    }

    /** The node name; the node id is this, "/" and 8 random hex digits. */
    public String nodeName() {
        return nodeName;
    }

    /** Where this node takes events, carried by other nodes' Moved answers; null if none. */
    public String advertisedAddress() {
        return advertisedAddress;
    }

    /** How long a node's lease lasts from its last heartbeat, by the store's clock. */
    public Duration lease() {
        return lease;
    }

    /** How often the node renews its lease and runs a claim round. */
    public Duration renewInterval() {
        return renewInterval;
    }

    /** How long giving a shard up waits for its events in flight. */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** The most shards one claim round takes or gives up. */
    public int maxMovesPerRound() {
        return maxMovesPerRound;
    }

    /** Told when a shard is acquired, released or lost. */
    public ShardListener listener() {
        return listener;
    }

    boolean manualRounds() {
        return manualRounds;
    }

    LongSupplier nanoClock() {
        return nanoClock;
    }

    ShardTenure.Probe probe() {
        return probe;
    }

    /** Builds {@link ClusterSettings}. */
    public static final class Builder {
        private String nodeName;
        private String advertisedAddress;
        private Duration lease = Duration.ofSeconds(10);
        private Duration renewInterval = Duration.ofSeconds(2);
        private Duration drainTimeout = Duration.ofSeconds(5);
        private int maxMovesPerRound = 16;
        private ShardListener listener = ShardListener.NONE;
        private boolean manualRounds;
        private LongSupplier nanoClock = System::nanoTime;
        private ShardTenure.Probe probe = ShardTenure.Probe.NONE;

        private Builder() {}

        /** The node name (1 to 119 characters); by default the host name. */
        public Builder nodeName(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank() || name.length() > 119) {
                throw new IllegalArgumentException("nodeName must have 1 to 119 characters and not be blank, was \""
                        + name + "\" (" + name.length() + " characters)");
            }
            this.nodeName = name;
            return this;
        }

        /** Where this node takes events (e.g. {@code http://10.0.0.5:8080}); null (the default) if none. */
        public Builder advertisedAddress(String address) {
            this.advertisedAddress = address;
            return this;
        }

        /** The node's lease; by default 10 s. */
        public Builder lease(Duration lease) {
            this.lease = positive("lease", lease);
            return this;
        }

        /** How often the lease is renewed; by default 2 s. Must be below a third of the lease. */
        public Builder renewInterval(Duration interval) {
            this.renewInterval = positive("renewInterval", interval);
            return this;
        }

        /** How long giving a shard up waits for its events in flight; by default 5 s. */
        public Builder drainTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout must not be negative, was " + timeout);
            }
            this.drainTimeout = timeout;
            return this;
        }

        /** The most shards one claim round takes or gives up (rebalance gradually); by default 16. */
        public Builder maxMovesPerRound(int moves) {
            if (moves < 1) {
                throw new IllegalArgumentException("maxMovesPerRound must be at least 1, was " + moves);
            }
            this.maxMovesPerRound = moves;
            return this;
        }

        /** Told when a shard is acquired, released or lost; by default {@link ShardListener#NONE}. */
        public Builder listener(ShardListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Test seam: no heartbeat or claim threads; the test calls them. */
        Builder manualRounds() {
            this.manualRounds = true;
            return this;
        }

        /** Test seam: the monotonic clock the local lease deadline is judged by. */
        Builder nanoClock(LongSupplier clock) {
            this.nanoClock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Test seam: see {@link ShardTenure.Probe}. */
        Builder probe(ShardTenure.Probe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
            return this;
        }

        /**
         * @throws IllegalArgumentException if the renew interval is not below a third of the lease
         * @throws IllegalStateException if no node name was given and the host name is unknown
         */
        public ClusterSettings build() {
            if (renewInterval.multipliedBy(3).compareTo(lease) >= 0) {
                throw new IllegalArgumentException("renewInterval must be below a third of the lease (lease " + lease
                        + ", renewInterval " + renewInterval + "): a node must be able to miss two renewals"
                        + " without losing its shards; shorten renewInterval or lengthen the lease");
            }
            String name = nodeName;
            if (name == null) {
                try {
                    name = InetAddress.getLocalHost().getHostName();
                } catch (UnknownHostException e) {
                    throw new IllegalStateException("the host name is unknown (" + e.getMessage()
                            + "): give the node a name with ClusterSettings.Builder.nodeName", e);
                }
                if (name.length() > 119) {
                    name = name.substring(0, 119);
                }
            }
            return new ClusterSettings(this, name);
        }

        private static Duration positive(String what, Duration d) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, was " + d);
            }
            return d;
        }
    }
}
