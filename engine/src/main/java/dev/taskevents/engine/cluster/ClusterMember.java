package dev.taskevents.engine.cluster;

import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.ShardLeases.NodeInfo;
import dev.taskevents.api.spi.ShardLeases.Renewal;
import dev.taskevents.api.spi.ShardLeases.ShardInfo;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.ClusterView.ShardState;
import dev.taskevents.engine.ShardListener;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * This node's membership in a cluster: its lease (heartbeats), and the claim rounds that take
 * and give up shards so that every live node holds its fair share.
 *
 * <h2>Invariants (why it is correct)</h2>
 * <ol>
 *   <li>Correctness rests on the store's fence alone: every write carries the epoch of the tenure
 *       it ran under, and {@link ShardLeases#acquire}/{@link ShardLeases#release} raise the epoch
 *       after waiting for the writes in flight. Everything here only decides <em>when</em> a node
 *       takes or gives up a shard, and keeps a node from admitting events it would have fenced.
 *   <li>{@link #tenures} holds at most one tenure per shard, and only non-final ones: a tenure
 *       is removed before it moves to RELEASED or LOST (see {@link ShardTenure}, invariant 4).
 *   <li>Claim rounds and {@link #close} run under this object's lock, one at a time. Heartbeats
 *       run on their own thread under {@link #heartbeatLock}, never behind a round (a round may
 *       wait for a takeover's locks or a slow sink); a heartbeat that finds the node gone makes
 *       every tenure LOST ({@link #lose} is idempotent) and registers a new node id. A heartbeat
 *       answered once the member is closing neither registers a node nor keeps a renewal the
 *       store made after the close ended the lease ({@link #leftWhileInFlight}).
 *   <li>A shard goes ACTIVE only after its outbox entries were told ({@link ShardHost#retell}):
 *       the takeover waited for every write of the old epoch, so every change the old owner
 *       committed is in the outbox then, and is told before any new change of its workflows.
 *   <li>A planned move drains before it releases: the shard's new events park (DRAINING), the
 *       round waits for those in flight (up to the drain timeout), then releases; the parked
 *       ones are answered Moved, and nothing the node accepted is answered with an error. A
 *       release that throws changed nothing we can rely on: the tenure stays DRAINING (in
 *       {@link #tenures}, its events parked) and each round retries the release until the store
 *       answers: true (RELEASED), false (LOST: the store no longer has it here at that epoch).
 *       Only {@link #close} gives up on it: it makes the tenure LOST and leaves the shard to
 *       expire with the lease that close ends.
 *   <li>No orphans: a shard the map shows owned by this node at epoch e with no tenure here at e
 *       (an acquire that committed but whose answer was lost, a tenure dropped while the store
 *       still names this node) is served by nobody: other nodes see a live owner, and this node
 *       takes only unowned shards or dead owners'. Each round releases such a shard at e; the
 *       epoch rises, so any late write of a dropped tenure is fenced, and a later round takes the
 *       shard normally (new tenure, re-tell). Tenures are created and released only by rounds and
 *       {@link #close}, under this object's lock, so within a round {@link #tenures} can only
 *       shrink: a shard without a tenure after the round's map check has none for that round.
 *   <li>The listener hears every change on one thread, in the order ownership changed here
 *       ({@link ListenerCalls}): a tenure's end ({@link #lose}, {@link #release}) removes it
 *       from {@link #tenures} and queues its {@code released}/{@code lost} in one critical
 *       section under {@link #ownership}, and {@link ShardTenure#begin} queues {@code acquired}
 *       under the same lock. A shard's next tenure is created only once the previous one is out
 *       of {@link #tenures}, so its {@code acquired} is queued after that one's end, even when
 *       the end was found on an io thread (a fenced write) while a round took the shard again.
 *       Within a tenure, {@code acquired} comes before its end, or neither is told
 *       ({@link ShardTenure}, invariant 6). A shard is re-told only after its {@code acquired}
 *       returned, so the host's state machines exist when the re-told events arrive.
 *   <li>A lease says the node serves its shards, so only a node whose rounds go on renews it:
 *       once the claim thread ended, heartbeats stop renewing ({@link #stalled}), other nodes
 *       take the shards when the lease runs out, and the node ends its tenures (their parked
 *       events are answered Moved). Nothing thrown ends the rounds: a round that throws, even an
 *       {@link Error}, is followed by the next, and the listener's calls run on their own
 *       thread ({@link ListenerCalls}). A takeover whose tenure could not begin drops it at once
 *       (invariant 6 then releases the orphan): a tenure left ACQUIRING would park its events
 *       for ever.
 *   <li>After an outage the first node back does not take the others' shards (docs/plans/cluster-mode §8): when a
 *       heartbeat had failed, a round found the node's lease expired, the store says the lease
 *       had run out ({@link Renewal#RENEWED_AFTER_EXPIRY}) or the node had to register anew, the
 *       renewal that gets through begins a grace of one lease. In it, rounds take unowned shards
 *       and shards of this node's former ids, never another node's: the other nodes were cut
 *       off by the same outage, and one lease is what each of them is given to renew after any
 *       heartbeat, so a node that has not renewed a lease after the store came back is dead as
 *       it would be without the outage. A grace only delays takeovers; the epochs keep them
 *       correct either way.
 *   <li>A lease says the node can write, not only that it can heartbeat. Each heartbeat reads
 *       the engine's progress ({@link ShardHost#progress}: batch writes the store answered,
 *       state events re-told), the events answered under a tenure, and the tenures that went
 *       ACTIVE or were released. While work waits (writes unanswered, events let in under a
 *       tenure and not answered, say behind a snapshot load, or a tenure not ACTIVE) and none of
 *       those moves for a lease plus the drain timeout, the node stops renewing its lease (as in
 *       invariant 8) and its rounds take no shard. A node whose lease connections work while its
 *       batch pool is stuck (its writes or its snapshot loads wait for a connection) thus lets its shards go to nodes that can serve them, instead of
 *       keeping them and taking more that would stay RETELLING. Once work moves again (a stuck
 *       write ends, even fenced) it renews, and comes back through invariant 9's grace.
 * </ol>
 */
public final class ClusterMember implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClusterMember.class.getName());
    private static final Duration REAP_EVERY = Duration.ofMinutes(1);
    private static final Duration REAP_OLDER_THAN = Duration.ofHours(1);
    private static final Duration FAST_ROUND = Duration.ofMillis(250);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * How the member behaves: the node's {@link ClusterSettings}, and the seams the public settings
     * do not expose.
     *
     * @param manualRounds no threads: the caller runs {@link #heartbeat} and {@link #round} (tests)
     * @param nanoClock the monotonic clock of the local lease deadline
     */
    public record Config(ClusterSettings settings, boolean manualRounds, LongSupplier nanoClock,
                         ShardTenure.Probe probe) {
        public Config {
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(nanoClock, "nanoClock");
            Objects.requireNonNull(probe, "probe");
        }

        String nodeName() {
            return settings.nodeName();
        }

        String address() {
            return settings.advertisedAddress();
        }

        Duration lease() {
            return settings.lease();
        }

        Duration renewInterval() {
            return settings.renewInterval();
        }

        Duration drainTimeout() {
            return settings.drainTimeout();
        }

        int maxMovesPerRound() {
            return settings.maxMovesPerRound();
        }

        ShardListener listener() {
            return settings.listener();
        }
    }

    private final ShardLeases leases;
    private final Config config;
    private final ShardHost host;
    private final int shardCount;
    private final ConcurrentHashMap<Integer, ShardTenure> tenures = new ConcurrentHashMap<>();
    /** Orders tenure beginnings and ends with the listener calls they queue (invariant 7). */
    private final Object ownership = new Object();
    private final ListenerCalls calls;
    private final Object heartbeatLock = new Object();
    private final CountDownLatch stopping = new CountDownLatch(1);
    private volatile String nodeId;
    /** What the last round read of the cluster; null before the first. */
    private volatile ClusterRead lastRead;
    /** By {@link Config#nanoClock}: the node's lease surely lasts until here (set from the send time). */
    private volatile long localDeadline;
    private long lastReap;
    private Thread heartbeatThread;
    private Thread claimThread;
    private final LongAdder takeovers = new LongAdder();
    private final LongAdder releases = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final LongAdder heartbeatFailures = new LongAdder();
    /** Whether the last heartbeat withheld the renewal (invariant 8); guarded by {@link #heartbeatLock}. */
    private boolean withholding;
    /** The progress count at the last heartbeat (invariant 10); guarded by {@link #heartbeatLock}. */
    private long seenCompleted = -1;
    /** By {@link Config#nanoClock}: when progress was last seen, or nothing waited (invariant 10). */
    private long lastProgress;
    /** Why the last heartbeat withheld the renewal, or null: rounds take no shard meanwhile (invariant 10). */
    private volatile String stall;
    /** Events answered under any tenure (invariant 10). */
    private final LongAdder answered = new LongAdder();
    /** Tenures that went ACTIVE (a re-tell completed). */
    private final LongAdder activations = new LongAdder();
    /** Ids this member registered under before its current one (invariant 9). */
    private final Set<String> formerIds = ConcurrentHashMap.newKeySet();
    /** Set when the node may have been cut off from the store; its next renewal begins a grace (invariant 9). */
    private volatile boolean cutOff;
    /** By {@link Config#nanoClock}: the end of the grace after the last outage (invariant 9); empty if none. */
    private volatile OptionalLong graceUntil = OptionalLong.empty();
    /** Set when the claim thread ended while the member was not closing (invariant 8). */
    private volatile boolean roundsEnded;

    /** @param shardCount {@code leases.shardCount()}, read once by the caller */
    public ClusterMember(ShardLeases leases, Config config, int shardCount, ShardHost host) {
        this.leases = Objects.requireNonNull(leases, "leases");
        this.config = Objects.requireNonNull(config, "config");
        this.host = Objects.requireNonNull(host, "host");
        this.shardCount = shardCount;
        this.lastReap = config.nanoClock().getAsLong();
        this.calls = new ListenerCalls(config.listener());
    }

    /** Registers the node and, unless rounds are manual, starts the heartbeat and claim threads. */
    public void start() {
        synchronized (heartbeatLock) {
            registerNew();
        }
        if (!config.manualRounds()) {
            heartbeatThread = Thread.ofVirtual().name("taskevents-cluster-heartbeat").start(this::heartbeatLoop);
            claimThread = Thread.ofVirtual().name("taskevents-cluster-claim").start(this::claimLoop);
        }
    }

    /** @return when the registration was sent, by {@link Config#nanoClock} */
    private long registerNew() {
        String id = config.nodeName() + "/" + HexFormat.of().toHexDigits(RANDOM.nextInt());
        long sent = config.nanoClock().getAsLong();
        leases.register(id, config.address(), config.lease());
        nodeId = id;
        localDeadline = sent + config.lease().toNanos();
        LOG.log(Level.INFO, "cluster node " + id + " registered (" + shardCount + " shards)");
        return sent;
    }

    public String nodeId() {
        return nodeId;
    }

    public int shardCount() {
        return shardCount;
    }

    /** The current tenure of {@code shard}, or null if this node does not hold it. */
    public ShardTenure tenure(int shard) {
        return tenures.get(shard);
    }

    /** Whether {@code shard} is ACTIVE here. */
    public boolean isActive(int shard) {
        ShardTenure t = tenures.get(shard);
        return t != null && t.state() == ShardState.ACTIVE;
    }

    /**
     * Whether the node may take events: its last successful heartbeat was less than a lease ago
     * (by the local monotonic clock, from the time it was sent). Politeness, not correctness.
     */
    public boolean admitting() {
        return config.nanoClock().getAsLong() - localDeadline < 0;
    }

    /** The address of the shard's owner in the latest map, or null if none, unknown or this node. */
    public String ownerAddress(int shard) {
        ClusterRead read = lastRead;
        List<ShardInfo> map = read == null ? List.of() : read.map();
        if (shard >= map.size()) {
            return null;
        }
        ShardInfo info = map.get(shard);
        if (info.shard() != shard || info.ownerNode() == null || info.ownerNode().equals(nodeId) || !info.ownerAlive()) {
            return null;
        }
        return info.ownerAddress();
    }

    /**
     * A write under {@code tenure} was fenced: unless the node holds the shard at a newer epoch
     * now, the tenure is lost.
     *
     * @return the newer tenure to process the event under again, or null (answer Moved)
     */
    public ShardTenure fenced(ShardTenure tenure) {
        ShardTenure now = tenures.get(tenure.shard());
        if (now != null && now.epoch() > tenure.epoch()) {
            return now;
        }
        lose(tenure, "a write under its epoch was fenced");
        return null;
    }

    /**
     * Renews the lease (invariant 3), unless the node's claim rounds ended or its work made no
     * progress (invariants 8 and 10); begins a grace after an outage (invariant 9). Public for
     * tests that run rounds by hand.
     */
    public void heartbeat() {
        synchronized (heartbeatLock) {
            String stalled = stalled();
            if (stalled != null) {
                withhold(stalled);
                return;
            }
            if (withholding) {
                withholding = false;
                LOG.log(Level.WARNING, "cluster node " + nodeId + " renews its lease again");
            }
            String id = nodeId;
            long sent = config.nanoClock().getAsLong();
            Renewal renewal;
            try {
                renewal = leases.heartbeat(id, config.lease());
            } catch (RuntimeException e) {
                heartbeatFailures.increment();
                cutOff = true;
                LOG.log(Level.WARNING, "cluster heartbeat of " + id + " failed: " + e.getMessage());
                return;
            } catch (Error e) {
                // Cut off as after any failed heartbeat (invariant 9); the heartbeat loop logs
                // and counts it, and goes on.
                cutOff = true;
                throw e;
            }
            if (stopping.getCount() == 0) {
                leftWhileInFlight(id, renewal);
                return;
            }
            switch (renewal) {
                case RENEWED -> {
                    localDeadline = sent + config.lease().toNanos();
                    if (cutOff) {
                        beginGrace(sent, "a heartbeat had failed");
                    }
                }
                case RENEWED_AFTER_EXPIRY -> {
                    localDeadline = sent + config.lease().toNanos();
                    beginGrace(sent, "its lease had run out by the store's clock");
                }
                case NOT_REGISTERED -> {
                    heartbeatFailures.increment();
                    LOG.log(Level.WARNING, "cluster node " + id + " is no longer registered (its lease ran out and it"
                            + " was reaped): every shard it held is lost; registering anew");
                    loseAll(List.copyOf(tenures.values()), "the node's registration is gone");
                    formerIds.add(id);
                    try {
                        beginGrace(registerNew(), "its registration had been reaped");
                    } catch (RuntimeException e) {
                        cutOff = true;
                        LOG.log(Level.WARNING, "registering anew failed; retrying at the next heartbeat: "
                                + e.getMessage());
                    }
                }
            }
        }
    }

    /**
     * A heartbeat answered once the member was closing (invariant 3). The close counts
     * {@link #stopping} down before it ends the lease, so a renewal the store made after that end
     * is seen here: it is ended again, and a node gone is not registered anew. Either would leave
     * a live node holding nothing for a lease, lowering the other nodes' share.
     */
    private void leftWhileInFlight(String id, Renewal renewal) {
        if (renewal == Renewal.NOT_REGISTERED) {
            LOG.log(Level.INFO, "cluster node " + id + " is closing and no longer registered; it does not register"
                    + " anew");
            return;
        }
        try {
            leases.leave(id);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a heartbeat of closing node " + id + " renewed its lease; ending it again failed,"
                    + " it runs out by itself: " + e.getMessage());
        }
    }

    /**
     * Starts the grace after an outage (invariant 9): for one lease from {@code from} (by
     * {@link Config#nanoClock}), rounds take no shard of another node.
     */
    private void beginGrace(long from, String why) {
        graceUntil = OptionalLong.of(from + config.lease().toNanos());
        cutOff = false;
        LOG.log(Level.INFO, "cluster node " + nodeId + " reached the store again (" + why + "): for the next "
                + config.lease() + " it takes only unowned shards and its own former ones, so that nodes cut off by"
                + " the same outage can renew their leases first");
    }

    /** Whether the grace after an outage lasts (invariant 9). */
    private boolean inGrace() {
        OptionalLong until = graceUntil;
        return until.isPresent() && config.nanoClock().getAsLong() - until.getAsLong() < 0;
    }

    /**
     * Why this node must not renew its lease now (invariants 8 and 10), or null. Called by
     * heartbeats only (under {@link #heartbeatLock}): it advances the watch on progress.
     */
    private String stalled() {
        String why = null;
        if (roundsEnded) {
            why = "its claim rounds ended";
        } else {
            long now = config.nanoClock().getAsLong();
            ShardHost.Progress work = host.progress();
            // Not takeovers nor losses: a node that cannot serve may still take shards, and loses
            // them when it stops renewing; neither says that waiting work got done.
            long completed = work.completed() + answered.sum() + activations.sum() + releases.sum();
            // Events let in under a tenure wait for the store before the committer sees them too
            // (a snapshot load waiting for a connection): they are waiting work.
            boolean pending = work.pending() || tenures.values().stream()
                    .anyMatch(t -> t.state() != ShardState.ACTIVE || t.inFlight() > 0);
            if (!pending || completed != seenCompleted) {
                seenCompleted = completed;
                lastProgress = now;
            } else if (now - lastProgress > stallBound().toNanos()) {
                why = "its writes and shard changes made no progress for "
                        + Duration.ofNanos(now - lastProgress).toMillis() + " ms while work waited for them (a batch"
                        + " pool that gives no connection, or a database that stopped answering it)";
            }
        }
        stall = why;
        return why;
    }

    /**
     * How long work may wait without progress before the node stops renewing its lease
     * (invariant 10): a lease, plus the drain timeout, the longest a healthy round keeps a
     * tenure from ACTIVE on purpose.
     */
    private Duration stallBound() {
        return config.lease().plus(config.drainTimeout());
    }

    /**
     * Does not renew the lease (invariant 8); once the lease ran out by the local clock, ends
     * every tenure, so that events parked on them are answered Moved instead of waiting for
     * rounds that will not come.
     */
    private void withhold(String why) {
        if (!withholding) {
            withholding = true;
            LOG.log(Level.ERROR, "cluster node " + nodeId + " stops renewing its lease: " + why + "; its shards go"
                    + " to other nodes once the lease runs out");
        }
        if (!admitting()) {
            loseAll(List.copyOf(tenures.values()),
                    "the node stopped renewing its lease (" + why + ") and the lease ran out");
        }
    }

    /**
     * One claim round (docs/plans/cluster-mode §5.4): reads the live nodes and the shard map, drops tenures the map
     * contradicts, finishes re-tells, then takes shards up to the fair share or gives the surplus
     * up. Public for tests that run rounds by hand.
     *
     * @return whether this node holds fewer shards than its fair share after the round
     */
    public synchronized boolean round() {
        String me = nodeId;
        List<NodeInfo> nodes = new ArrayList<>(leases.liveNodes());
        nodes.sort(Comparator.comparing(NodeInfo::nodeId));
        List<ShardInfo> map = leases.shards();
        lastRead = new ClusterRead(List.copyOf(nodes), map, config.nanoClock().getAsLong());
        List<ShardTenure> contradicted = new ArrayList<>();
        for (ShardTenure t : List.copyOf(tenures.values())) {
            ShardInfo info = map.get(t.shard());
            if (!me.equals(info.ownerNode()) || info.epoch() != t.epoch()) {
                contradicted.add(t);
            }
        }
        if (contradicted.size() == 1) {
            ShardInfo info = map.get(contradicted.get(0).shard());
            lose(contradicted.get(0), "the shard map shows it at epoch " + info.epoch() + " owned by " + info.ownerNode());
        } else {
            loseAll(contradicted, "the shard map shows them at another epoch or owner");
        }
        releaseOrphans(map, me);
        // Releases that failed in an earlier round (invariant 5).
        releaseAll(tenures.values().stream().filter(t -> t.state() == ShardState.DRAINING).toList(), me);
        retellWaiting();
        int index = -1;
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).nodeId().equals(me)) {
                index = i;
            }
        }
        if (index < 0) {
            cutOff = true; // our lease ran out: the renewal that brings it back begins a grace
            return false; // not live by the store's clock: take nothing (our acquire would fail anyway)
        }
        int target = target(index, nodes.size());
        int owned = tenures.size();
        if (owned < target && stall != null) {
            LOG.log(Level.WARNING, "cluster node " + me + " holds " + owned + " shards, below its share of " + target
                    + ", and takes none: " + stall);
        } else if (owned < target) {
            acquire(map, me, Math.min(target - owned, config.maxMovesPerRound()));
        } else if (owned > target && someNodeBelowTarget(nodes, map, me)) {
            // Tenures still DRAINING (their release failed again) are on their way out already.
            long giving = tenures.values().stream().filter(t -> t.state() == ShardState.DRAINING).count();
            List<ShardTenure> surplus = tenures.values().stream()
                    .filter(t -> t.state() != ShardState.DRAINING)
                    .sorted(Comparator.comparingInt(ShardTenure::shard).reversed())
                    .limit(Math.max(0, Math.min(owned - target - giving, config.maxMovesPerRound())))
                    .toList();
            drainAndRelease(surplus, me, OptionalLong.empty());
        }
        long now = config.nanoClock().getAsLong();
        if (now - lastReap >= REAP_EVERY.toNanos()) {
            lastReap = now;
            try {
                leases.reap(REAP_OLDER_THAN);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "reaping dead cluster nodes failed: " + e.getMessage());
            }
        }
        return tenures.size() < target;
    }

    /** Node {@code index}'s fair share: N / k, plus one for the first N % k nodes (by id). */
    private int target(int index, int liveNodes) {
        return shardCount / liveNodes + (index < shardCount % liveNodes ? 1 : 0);
    }

    private boolean someNodeBelowTarget(List<NodeInfo> nodes, List<ShardInfo> map, String me) {
        Map<String, Integer> counts = new HashMap<>();
        for (ShardInfo s : map) {
            if (s.ownerNode() != null && s.ownerAlive()) {
                counts.merge(s.ownerNode(), 1, Integer::sum);
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            String id = nodes.get(i).nodeId();
            if (!id.equals(me) && counts.getOrDefault(id, 0) < target(i, nodes.size())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Releases every shard the map shows owned by this node with no tenure here at that epoch
     * (invariant 6). A release that fails or is refused changes nothing here: the next round
     * reads the map again.
     */
    private void releaseOrphans(List<ShardInfo> map, String me) {
        for (ShardInfo s : map) {
            if (!me.equals(s.ownerNode())) {
                continue;
            }
            ShardTenure t = tenures.get(s.shard());
            if (t != null && t.epoch() == s.epoch()) {
                continue;
            }
            boolean released;
            try {
                released = leases.release(s.shard(), me, s.epoch());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "the shard map names this node (" + me + ") the owner of shard " + s.shard()
                        + " at epoch " + s.epoch() + " but it holds no tenure there; releasing it failed, retried"
                        + " next round: " + e.getMessage());
                continue;
            }
            LOG.log(Level.WARNING, "the shard map named this node (" + me + ") the owner of shard " + s.shard()
                    + " at epoch " + s.epoch() + " but it held no tenure there (an acquire whose answer was lost,"
                    + " or a tenure dropped while the store kept it): " + (released
                    ? "released it, to take it again normally" : "the store had moved on already"));
        }
    }

    /**
     * Takes up to {@code moves} shards: unowned ones first, then dead owners', lowest id first;
     * in the grace after an outage, of dead owners only this node's former ids (invariant 9).
     */
    private void acquire(List<ShardInfo> map, String me, int moves) {
        boolean grace = inGrace();
        List<ShardInfo> candidates = new ArrayList<>();
        map.stream().filter(s -> s.ownerNode() == null && !tenures.containsKey(s.shard())).forEach(candidates::add);
        map.stream().filter(s -> s.ownerNode() != null && !s.ownerAlive() && !s.ownerNode().equals(me)
                && (!grace || formerIds.contains(s.ownerNode()))
                && !tenures.containsKey(s.shard())).forEach(candidates::add);
        List<ShardTenure> taken = new ArrayList<>();
        for (ShardInfo s : candidates) {
            if (taken.size() >= moves) {
                break;
            }
            OptionalLong epoch;
            try {
                epoch = leases.acquire(s.shard(), me, s.epoch());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "taking shard " + s.shard() + " failed; next round: " + e.getMessage());
                continue;
            }
            if (epoch.isEmpty()) {
                continue; // someone moved first, or our own lease ran out by the store's clock
            }
            ShardTenure t = new ShardTenure(s.shard(), epoch.getAsLong(), config.probe(), answered);
            tenures.put(s.shard(), t); // from here on, the shard's events park
            takeovers.increment();
            boolean begun;
            try {
                host.sweep(s.shard());
                synchronized (ownership) {
                    begun = t.begin(() -> calls.tell(new ListenerCalls.Acquired(t.shard(), t.epoch())));
                }
            } catch (RuntimeException | Error e) {
                // Left ACQUIRING, the shard's events would park for ever: drop the tenure (its
                // events are answered Moved); the next round releases the orphan (invariant 6).
                LOG.log(Level.ERROR, "beginning " + t + " failed; dropping it", e);
                lose(t, "beginning it failed: " + e);
                continue;
            }
            if (!begun) {
                continue; // lost before it began (a heartbeat found the node gone): not announced
            }
            taken.add(t);
        }
        if (!taken.isEmpty()) {
            LOG.log(Level.INFO, "cluster node " + me + " took shards "
                    + taken.stream().map(t -> t.shard() + "@" + t.epoch()).collect(Collectors.joining(", ")));
            awaitAnnounced(taken);
            retellWaiting();
        }
    }

    /**
     * Waits (up to a lease) for the host to return from {@code acquired} of the tenures, so that
     * this round can re-tell them. One that has not returned by then stays RETELLING and is
     * re-told by a later round (invariant 7).
     */
    private void awaitAnnounced(List<ShardTenure> taken) {
        long deadline = System.nanoTime() + config.lease().toNanos();
        for (ShardTenure t : taken) {
            try {
                if (!ListenerCalls.awaitCall(t.announcement(), Duration.ofNanos(deadline - System.nanoTime()))) {
                    LOG.log(Level.WARNING, "the shard listener has not returned from acquired(" + t.shard() + ", "
                            + t.epoch() + ") within " + config.lease() + "; the shard's events wait until it has");
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Re-tells every RETELLING shard whose {@code acquired} the host returned from, in one pass;
     * all go ACTIVE if it completed.
     */
    private void retellWaiting() {
        List<ShardTenure> waiting = tenures.values().stream()
                .filter(t -> t.state() == ShardState.RETELLING && t.announcement().isDone()).toList();
        if (waiting.isEmpty()) {
            return;
        }
        Set<Integer> shards = new TreeSet<>();
        waiting.forEach(t -> shards.add(t.shard()));
        boolean complete;
        try {
            complete = host.retell(shards);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, "re-telling the state events of shards " + shards + " failed; their events wait,"
                    + " retried next round: " + e.getMessage());
            return;
        }
        if (!complete) {
            LOG.log(Level.WARNING, "the state sink refused a re-told state event of shards " + shards
                    + "; their events wait, retried next round");
            return;
        }
        waiting.forEach(t -> {
            if (t.moveTo(ShardState.ACTIVE)) {
                activations.increment();
            }
        });
    }

    /**
     * Drains the tenures together (one deadline: the drain timeout, or {@code closeDeadline} by
     * {@link System#nanoTime} if that comes first), then releases each (invariant 5).
     */
    private void drainAndRelease(List<ShardTenure> give, String me, OptionalLong closeDeadline) {
        for (ShardTenure t : give) {
            t.moveTo(ShardState.DRAINING);
        }
        long deadline = System.nanoTime() + config.drainTimeout().toNanos();
        if (closeDeadline.isPresent() && closeDeadline.getAsLong() - deadline < 0) {
            deadline = closeDeadline.getAsLong();
        }
        List<ShardTenure> undrained = new ArrayList<>();
        long inFlight = 0;
        for (ShardTenure t : give) {
            try {
                if (!t.awaitDrained(deadline)) {
                    undrained.add(t);
                    inFlight += t.inFlight();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!undrained.isEmpty()) {
            LOG.log(Level.WARNING, inFlight + " events of " + describe(undrained) + " were still in flight after the"
                    + " drain timeout; releasing anyway (their writes will be fenced and answered Moved)");
        }
        releaseAll(give, me);
    }

    /** {@link #release}s each of {@code ts}; the failures are logged once, together. */
    private void releaseAll(List<ShardTenure> ts, String me) {
        List<ShardTenure> failed = new ArrayList<>();
        RuntimeException first = null;
        for (ShardTenure t : ts) {
            RuntimeException e = release(t, me);
            if (e != null) {
                failed.add(t);
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            LOG.log(Level.WARNING, "releasing " + describe(failed) + " failed; they stay DRAINING (their events wait)"
                    + " and the release is retried next round: " + first.getMessage());
        }
    }

    /**
     * Releases a drained tenure (invariant 5): RELEASED if the store gave it up, LOST if the
     * store no longer has it here at its epoch, still DRAINING if the release threw; returns what
     * it threw then (the caller logs it), else null.
     */
    private RuntimeException release(ShardTenure t, String me) {
        boolean released;
        try {
            released = leases.release(t.shard(), me, t.epoch());
        } catch (RuntimeException e) {
            return e;
        }
        if (!released) {
            lose(t, "its release was refused: the store no longer has it at this node and epoch");
            return null;
        }
        List<Runnable> parked;
        synchronized (ownership) {
            if (!tenures.remove(t.shard(), t)) {
                return null;
            }
            parked = t.end(ShardState.RELEASED, () -> calls.tell(new ListenerCalls.Released(t.shard(), t.epoch())));
        }
        t.resume(parked);
        releases.increment();
        sweep(t);
        return null;
    }

    /**
     * Ends {@code t} as LOST, once: parked events are answered Moved, cached state dropped, the
     * listener told (if it heard the tenure begin). Any thread (invariant 7).
     */
    private void lose(ShardTenure t, String why) {
        loseAll(List.of(t), why);
    }

    /** {@link #lose}s each of {@code ts}, logged once, together. */
    private void loseAll(List<ShardTenure> ts, String why) {
        List<ShardTenure> ended = new ArrayList<>();
        for (ShardTenure t : ts) {
            List<Runnable> parked;
            synchronized (ownership) {
                if (!tenures.remove(t.shard(), t)) {
                    continue;
                }
                parked = t.end(ShardState.LOST, () -> calls.tell(new ListenerCalls.Lost(t.shard(), t.epoch())));
            }
            t.resume(parked);
            lost.increment();
            ended.add(t);
            sweep(t);
        }
        if (!ended.isEmpty()) {
            LOG.log(Level.WARNING, "cluster node " + nodeId + " lost " + describe(ended) + ": " + why);
        }
    }

    /** "shard 3 (epoch 1)", or "5 shards [3, 4, 9, 12, 40]" (at most 16 named). */
    private static String describe(List<ShardTenure> ts) {
        if (ts.size() == 1) {
            return "shard " + ts.get(0).shard() + " (epoch " + ts.get(0).epoch() + ")";
        }
        List<Integer> shards = ts.stream().map(ShardTenure::shard).sorted().toList();
        return ts.size() + " shards " + (shards.size() <= 16 ? shards.toString()
                : shards.subList(0, 16).toString().replace("]", ", ...]"));
    }

    /**
     * Drops the host's cache of an ended tenure's shard. Whatever the host throws, an
     * {@link Error} included, is logged: the tenure has ended already, and the round, heartbeat,
     * io thread or close that ended it goes on (a later tenure's acquisition sweeps again).
     */
    private void sweep(ShardTenure t) {
        try {
            host.sweep(t.shard());
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, "dropping the cached state of " + t + " failed; the next tenure of the shard"
                    + " drops it when it begins", e);
        }
    }

    /**
     * Waits until the listener has returned from every call queued so far (tests: the calls run
     * on the listener's own thread).
     *
     * @return false if they had not within {@code timeout}
     */
    public boolean awaitListenerCalls(Duration timeout) throws InterruptedException {
        return calls.awaitCalls(timeout);
    }

    /** The live nodes and the shard map one round read, and when (by {@link Config#nanoClock}). */
    private record ClusterRead(List<NodeInfo> nodes, List<ShardInfo> map, long at) {
    }

    /** The view {@link dev.taskevents.engine.TaskEventEngine#cluster()} returns, without the engine's counters. */
    public ClusterView view(long fencedRows, long movedAnswers) {
        List<ClusterView.OwnedShard> owned = tenures.values().stream()
                .map(t -> new ClusterView.OwnedShard(t.shard(), t.epoch(), t.state()))
                .sorted(Comparator.comparingInt(ClusterView.OwnedShard::shard))
                .toList();
        ClusterRead read = lastRead;
        return new ClusterView(nodeId, shardCount, owned, read == null ? List.of() : read.nodes(),
                read == null ? List.of() : read.map(),
                read == null ? null : Duration.ofNanos(Math.max(0, config.nanoClock().getAsLong() - read.at())),
                new ClusterView.Counters(takeovers.sum(),
                releases.sum(), lost.sum(), fencedRows, movedAnswers, heartbeatFailures.sum()));
    }

    private void heartbeatLoop() {
        try {
            while (!stopping.await(config.renewInterval().toMillis(), TimeUnit.MILLISECONDS)) {
                try {
                    heartbeat();
                } catch (RuntimeException | Error e) {
                    heartbeatFailures.increment();
                    LOG.log(Level.ERROR, "cluster heartbeat failed; next one in " + config.renewInterval(), e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void claimLoop() {
        long fastUntil = System.nanoTime() + config.lease().toNanos();
        Duration wait = Duration.ZERO;
        try {
            while (!stopping.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                boolean below;
                try {
                    below = round();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "cluster claim round failed; next round: " + e.getMessage());
                    below = false;
                } catch (Error e) {
                    // An Error ends this round only: a claim thread that stopped would leave
                    // RETELLING shards wedged while the heartbeats keep the lease alive.
                    LOG.log(Level.ERROR, "cluster claim round failed; next round", e);
                    below = false;
                }
                // Below target: the surplus others release shows up soon; look often, for a while.
                if (below && System.nanoTime() - fastUntil < 0) {
                    wait = FAST_ROUND;
                } else {
                    wait = config.renewInterval();
                    if (!below) {
                        fastUntil = System.nanoTime() + config.lease().toNanos();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (stopping.getCount() > 0) {
                roundsEnded = true;
                LOG.log(Level.ERROR, "the cluster claim thread of " + nodeId + " ended before the member closed");
            }
        }
    }

    /** {@link #close(Duration)} with a 30 s deadline. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    /**
     * Graceful leave, within {@code deadline}: stops the claim rounds, drains and releases every
     * shard, stops the heartbeats and ends the node's lease. A shard whose release fails is LOST
     * here (its parked events are answered Moved) and expires with the lease; the store fences its
     * late writes once another node takes it. Every wait here (the threads' ends, the drain, the
     * listener) lasts at most what is left of the deadline; store calls are bounded by the store
     * (the engine refuses them past the deadline, see CloseBoundedLeases). The listener has heard
     * every release and loss when it returns, unless it was stuck at the deadline: then its
     * running call is interrupted and the calls not made are logged.
     */
    public void close(Duration deadline) {
        long end = System.nanoTime() + Math.max(0, Math.min(deadline.toNanos(), Duration.ofDays(365).toNanos()));
        stopping.countDown();
        try {
            join(claimThread, end);
            synchronized (this) {
                // Highest shard first, as a round gives its surplus up.
                drainAndRelease(tenures.values().stream()
                        .sorted(Comparator.comparingInt(ShardTenure::shard).reversed()).toList(), nodeId,
                        OptionalLong.of(end));
                loseAll(List.copyOf(tenures.values()),
                        "their release failed while the node was closing; they expire with the node's lease");
            }
            join(heartbeatThread, end);
        } finally {
            try {
                leases.leave(nodeId);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "ending the lease of " + nodeId + " failed; it runs out by itself: "
                        + e.getMessage());
            } finally {
                calls.close(Duration.ofNanos(Math.max(0, end - System.nanoTime())));
            }
        }
    }

    /** Waits for {@code t} to end until {@code end} (by {@link System#nanoTime}). */
    private static void join(Thread t, long end) {
        if (t == null) {
            return;
        }
        try {
            if (!t.join(Duration.ofNanos(Math.max(0, end - System.nanoTime())))) {
                LOG.log(Level.WARNING, t.getName() + " did not stop by the close's deadline");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
