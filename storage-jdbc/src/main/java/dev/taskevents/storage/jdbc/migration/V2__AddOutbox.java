package dev.taskevents.storage.jdbc.migration;

import java.sql.Statement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * The outbox ({@code task_state_outbox}): one row per committed change the workflow state sink
 * must hear of, written in the batch's own transaction and deleted once told. {@code seq} orders
 * the entries; a workflow's entries are in commit order because a workflow has at most one write
 * in flight. The primary key {@code (task_instance_id, version)} is how told entries are removed.
 * Indexes cost every write of the hot path, so there is no other (MySQL and MariaDB require one
 * on an auto-increment column): the outbox holds only changes not yet told, so the rare reads
 * by workflow or in {@code seq} order (after a fault, at start) scan a small table.
 *
 * <p>Also {@code task_instance.last_event_id}: the id of the event whose change the row is, so that
 * after a commit with an unknown outcome the engine recognises its own write. Existing rows keep
 * every value; their {@code last_event_id} is null. Frozen like V1 once released.
 */
public final class V2__AddOutbox extends BaseJavaMigration {
    static final int CHECKSUM = 0x7A51_0002;

    @Override
    public void migrate(Context context) throws Exception {
        String[] ddl = switch (DialectFamily.of(context.getConnection())) {
            case POSTGRES -> new String[] {
                "alter table \"task_instance\" add column \"last_event_id\" varchar(128) null",
                "create table \"task_state_outbox\" (\"seq\" bigint generated always as identity not null, "
                        + "\"workflow_instance_id\" bigint not null, \"task_instance_id\" bigint not null, "
                        + "\"event_type\" varchar(16) not null, \"state\" varchar(16) not null, "
                        + "\"event_id\" varchar(128) not null, \"version\" bigint not null, "
                        + "\"committed_at\" timestamp(6) not null, "
                        + "primary key (\"task_instance_id\", \"version\"))"};
            case MYSQL -> new String[] {
                "alter table `task_instance` add column `last_event_id` varchar(128) null",
                "create table `task_state_outbox` (`seq` bigint not null auto_increment, "
                        + "`workflow_instance_id` bigint not null, `task_instance_id` bigint not null, "
                        + "`event_type` varchar(16) not null, `state` varchar(16) not null, "
                        + "`event_id` varchar(128) not null, `version` bigint not null, "
                        + "`committed_at` datetime(6) not null, "
                        + "primary key (`task_instance_id`, `version`), key `task_state_outbox_seq_idx` (`seq`))"};
            case H2 -> new String[] {
                "alter table \"task_instance\" add column \"last_event_id\" varchar(128)",
                "create table \"task_state_outbox\" (\"seq\" bigint generated always as identity not null, "
                        + "\"workflow_instance_id\" bigint not null, \"task_instance_id\" bigint not null, "
                        + "\"event_type\" varchar(16) not null, \"state\" varchar(16) not null, "
                        + "\"event_id\" varchar(128) not null, \"version\" bigint not null, "
                        + "\"committed_at\" timestamp(6) not null, "
                        + "primary key (\"task_instance_id\", \"version\"))"};
        };
        try (Statement statement = context.getConnection().createStatement()) {
            for (String sql : ddl) {
                statement.execute(sql);
            }
        }
    }

    @Override
    public Integer getChecksum() {
        return CHECKSUM;
    }
}
