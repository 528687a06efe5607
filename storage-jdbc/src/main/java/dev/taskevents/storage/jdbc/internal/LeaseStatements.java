package dev.taskevents.storage.jdbc.internal;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.jooq.SQLDialect;

/**
 * The lease statements of one database family (docs/plans/cluster-mode/DESIGN.md §3.1), each
 * named: the node's registration, heartbeat, leave and reaping, the live nodes and the shard map,
 * a shard's acquisition and release. Times are the database's own ({@code now()},
 * {@code current_timestamp}, {@code utc_timestamp(6)}), so the nodes' clocks never compare.
 */
final class LeaseStatements {
    final SQLDialect family;
    /** Whether a lease shift is bound in microseconds (the MySQL family) rather than milliseconds. */
    final boolean microseconds;
    /** The transaction isolation the lease connections take, or null for the database's default. */
    final String isolation;
    final String register;
    final String heartbeat;
    final String liveNodes;
    final String shards;
    final String acquire;
    final String release;
    final String leave;
    final String reap;

    LeaseStatements(SQLDialect dialect) {
        family = dialect.family();
        boolean my = family == SQLDialect.MYSQL || family == SQLDialect.MARIADB;
        microseconds = my;
        isolation = my ? "TRANSACTION_READ_COMMITTED" : null;
        String q = my ? "`" : "\"";
        String now;
        String nowPlus;
        String leaseLeft;
        switch (family) {
            case POSTGRES -> {
                now = "now()";
                nowPlus = "now() + ? * interval '1 millisecond'";
                leaseLeft = "floor(extract(epoch from (n.\"lease_expires_at\" - now())) * 1000)::bigint";
            }
            case H2 -> {
                now = "current_timestamp";
                nowPlus = "dateadd(millisecond, ?, current_timestamp)";
                leaseLeft = "datediff(millisecond, current_timestamp, n.\"lease_expires_at\")";
            }
            default -> {
                now = "utc_timestamp(6)";
                nowPlus = "utc_timestamp(6) + interval ? microsecond";
                leaseLeft = "timestampdiff(microsecond, utc_timestamp(6), n.`lease_expires_at`) div 1000";
            }
        }
        UnaryOperator<String> n = name -> q + name + q;
        String node = n.apply("cluster_node");
        String shard = n.apply("cluster_shard");
        register = "insert into " + node + " (" + n.apply("node_id") + ", " + n.apply("address") + ", "
                + n.apply("started_at") + ", " + n.apply("heartbeat_at") + ", " + n.apply("lease_expires_at")
                + ") values (?, ?, " + now + ", " + now + ", " + nowPlus + ")";
        heartbeat = "update " + node + " set " + n.apply("heartbeat_at") + " = " + now + ", "
                + n.apply("lease_expires_at") + " = " + nowPlus + " where " + n.apply("node_id") + " = ?";
        liveNodes = "select n." + n.apply("node_id") + ", n." + n.apply("address") + ", " + leaseLeft + " from " + node
                + " n where n." + n.apply("lease_expires_at") + " > " + now + " order by n." + n.apply("node_id");
        shards = "select s." + n.apply("shard_id") + ", s." + n.apply("epoch") + ", s." + n.apply("owner_node") + ", n."
                + n.apply("address") + ", case when n." + n.apply("lease_expires_at") + " > " + now
                + " then 1 else 0 end from " + shard + " s left join " + node + " n on n." + n.apply("node_id")
                + " = s." + n.apply("owner_node") + " order by s." + n.apply("shard_id");
        acquire = "update " + shard + " s set " + n.apply("epoch") + " = s." + n.apply("epoch") + " + 1, "
                + n.apply("owner_node") + " = ?, " + n.apply("owner_since") + " = " + now
                + " where s." + n.apply("shard_id") + " = ? and s." + n.apply("epoch") + " = ?"
                + " and (s." + n.apply("owner_node") + " is null or not exists (select 1 from " + node
                + " o where o." + n.apply("node_id") + " = s." + n.apply("owner_node") + " and o."
                + n.apply("lease_expires_at") + " > " + now + "))"
                + " and exists (select 1 from " + node + " m where m." + n.apply("node_id") + " = ? and m."
                + n.apply("lease_expires_at") + " > " + now + ")";
        release = "update " + shard + " set " + n.apply("epoch") + " = " + n.apply("epoch") + " + 1, "
                + n.apply("owner_node") + " = null, " + n.apply("owner_since") + " = null where "
                + n.apply("shard_id") + " = ? and " + n.apply("epoch") + " = ? and " + n.apply("owner_node") + " = ?";
        leave = "update " + node + " set " + n.apply("lease_expires_at") + " = " + now + " where "
                + n.apply("node_id") + " = ? and " + n.apply("lease_expires_at") + " > " + now;
        reap = "delete from " + node + " where " + n.apply("lease_expires_at") + " < " + nowPlus + " and "
                + n.apply("node_id") + " not in (select " + n.apply("owner_node") + " from " + shard
                + " where " + n.apply("owner_node") + " is not null)";
    }

    /** {@link #heartbeat}, renewing only a lease that has not expired. */
    String heartbeatWhileLive() {
        return heartbeat + switch (family) {
            case POSTGRES -> " and \"lease_expires_at\" > now()";
            case H2 -> " and \"lease_expires_at\" > current_timestamp";
            default -> " and `lease_expires_at` > utc_timestamp(6)";
        };
    }

    /** A bind for {@code nowPlus}: milliseconds, or microseconds on the MySQL family. */
    long shift(long millis) {
        return microseconds ? millis * 1000 : millis;
    }

    /** How long a lease statement waits for a row lock, set on its connection. */
    String lockWaitSql(Duration wait) {
        return switch (family) {
            case POSTGRES -> "set lock_timeout = " + Math.max(1, wait.toMillis());
            case H2 -> "set lock_timeout " + Math.max(1, wait.toMillis());
            default -> "set session innodb_lock_wait_timeout = " + Math.max(1, (wait.toMillis() + 999) / 1000);
        };
    }
}
