package dev.taskevents.storage.jdbc.migration;

import java.sql.PreparedStatement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * Cluster mode (docs/plans/cluster-mode §2): {@code cluster_info} (one row: the shard
 * count, chosen here once and for ever), {@code cluster_node} (a node's lease, renewed by one
 * UPDATE per node), {@code cluster_shard} (rows {@code 0 .. shardCount-1}: epoch and owner; the
 * lease is deliberately not here, since any UPDATE of a shard row waits for the shard's writers),
 * and {@code task_instance.written_epoch} (the epoch a fenced write was made under; null otherwise).
 * Times on the MySQL family are UTC {@code datetime(6)}, always written with
 * {@code utc_timestamp(6)}. No foreign key from a shard's owner to the node: node rows are reaped
 * while shards may still name them.
 *
 * <p>The shard count comes from the constructor, not from the DDL, so the checksum does not depend
 * on it. Frozen like V1 once released.
 */
public final class V3__AddCluster extends BaseJavaMigration {
    static final int CHECKSUM = 0x7A51_0003;

    private final int shardCount;

    /** @param shardCount the count to record (1 to 65536) */
    public V3__AddCluster(int shardCount) {
        if (shardCount < 1 || shardCount > 65_536) {
            throw new IllegalArgumentException("shard count must be between 1 and 65536, was " + shardCount);
        }
        this.shardCount = shardCount;
    }

    @Override
    public void migrate(Context context) throws Exception {
        DialectFamily family = DialectFamily.of(context.getConnection());
        String[] ddl = switch (family) {
            case POSTGRES -> new String[] {
                "create table \"cluster_info\" (\"id\" int not null, \"shard_count\" int not null, "
                        + "\"created_at\" timestamptz not null, primary key (\"id\"), "
                        + "constraint \"cluster_info_one_row\" check (\"id\" = 1), "
                        + "constraint \"cluster_info_shard_count\" check (\"shard_count\" between 1 and 65536))",
                "create table \"cluster_node\" (\"node_id\" varchar(128) not null, \"address\" varchar(255) null, "
                        + "\"started_at\" timestamptz not null, \"heartbeat_at\" timestamptz not null, "
                        + "\"lease_expires_at\" timestamptz not null, primary key (\"node_id\"))",
                "create table \"cluster_shard\" (\"shard_id\" int not null, \"epoch\" bigint not null, "
                        + "\"owner_node\" varchar(128) null, \"owner_since\" timestamptz null, primary key (\"shard_id\"))",
                "alter table \"task_instance\" add column \"written_epoch\" bigint null"};
            case MYSQL -> new String[] {
                "create table `cluster_info` (`id` int not null, `shard_count` int not null, "
                        + "`created_at` datetime(6) not null, primary key (`id`), "
                        + "constraint `cluster_info_one_row` check (`id` = 1), "
                        + "constraint `cluster_info_shard_count` check (`shard_count` between 1 and 65536))",
                "create table `cluster_node` (`node_id` varchar(128) not null, `address` varchar(255) null, "
                        + "`started_at` datetime(6) not null, `heartbeat_at` datetime(6) not null, "
                        + "`lease_expires_at` datetime(6) not null, primary key (`node_id`))",
                "create table `cluster_shard` (`shard_id` int not null, `epoch` bigint not null, "
                        + "`owner_node` varchar(128) null, `owner_since` datetime(6) null, primary key (`shard_id`))",
                "alter table `task_instance` add column `written_epoch` bigint null"};
            case H2 -> new String[] {
                "create table \"cluster_info\" (\"id\" int not null, \"shard_count\" int not null, "
                        + "\"created_at\" timestamp(6) with time zone not null, primary key (\"id\"), "
                        + "constraint \"cluster_info_one_row\" check (\"id\" = 1), "
                        + "constraint \"cluster_info_shard_count\" check (\"shard_count\" between 1 and 65536))",
                "create table \"cluster_node\" (\"node_id\" varchar(128) not null, \"address\" varchar(255), "
                        + "\"started_at\" timestamp(6) with time zone not null, "
                        + "\"heartbeat_at\" timestamp(6) with time zone not null, "
                        + "\"lease_expires_at\" timestamp(6) with time zone not null, primary key (\"node_id\"))",
                "create table \"cluster_shard\" (\"shard_id\" int not null, \"epoch\" bigint not null, "
                        + "\"owner_node\" varchar(128), \"owner_since\" timestamp(6) with time zone, "
                        + "primary key (\"shard_id\"))",
                "alter table \"task_instance\" add column \"written_epoch\" bigint"};
        };
        DialectFamily.execute(context.getConnection(), ddl);
        String q = family == DialectFamily.MYSQL ? "`" : "\"";
        String now = switch (family) {
            case POSTGRES -> "now()";
            case MYSQL -> "utc_timestamp(6)";
            case H2 -> "current_timestamp";
        };
        try (PreparedStatement info = context.getConnection().prepareStatement("insert into " + q + "cluster_info" + q
                + " (" + q + "id" + q + ", " + q + "shard_count" + q + ", " + q + "created_at" + q + ") values (1, ?, "
                + now + ")")) {
            info.setInt(1, shardCount);
            info.executeUpdate();
        }
        try (PreparedStatement shard = context.getConnection().prepareStatement("insert into " + q + "cluster_shard" + q
                + " (" + q + "shard_id" + q + ", " + q + "epoch" + q + ") values (?, 0)")) {
            for (int id = 0; id < shardCount; id++) {
                shard.setInt(1, id);
                shard.addBatch();
                if (id % 1_000 == 999) {
                    shard.executeBatch();
                }
            }
            shard.executeBatch();
        }
    }

    @Override
    public Integer getChecksum() {
        return CHECKSUM;
    }
}
