package dev.taskevents.storage.jdbc.migration;

import java.security.SecureRandom;
import java.sql.PreparedStatement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * The state-event feed ({@code docs/plans/state-feed/DESIGN.md} §2.1):
 * <ul>
 *   <li>{@code task_state_feed_head}: one row, the feed's random id and the last position handed
 *       out. Each batch that records in the feed raises {@code last_position} by its event count
 *       as its last statement, so positions are committed gaplessly, in commit order.
 *   <li>{@code task_state_feed}: one row per batch, keyed by the batch's last position, with its
 *       event count, the database clock's {@code recorded_at} (for retention) and its events in
 *       the outbox's text encoding.
 *   <li>{@code task_state_feed_pruned}: one row, the position up to which retention deleted rows.
 *       A table of its own so that the cleaner never locks the writers' counter row.
 * </ul>
 * The feed id is bound as a parameter (the checksum does not depend on it): a new database gets a
 * new id, so cursors of another database are recognised. Frozen like V1 once released.
 * Follows V3 (cluster mode, {@code V3__AddCluster}).
 */
public final class V4__AddStateFeed extends BaseJavaMigration {
    static final int CHECKSUM = 0x7A51_0004;

    @Override
    public void migrate(Context context) throws Exception {
        String[] ddl = switch (DialectFamily.of(context.getConnection())) {
            case POSTGRES -> new String[] {
                "create table \"task_state_feed_head\" (\"id\" int not null, \"feed_id\" bigint not null, "
                        + "\"last_position\" bigint not null, primary key (\"id\"), "
                        + "constraint \"task_state_feed_head_one_row\" check (\"id\" = 1))",
                "create table \"task_state_feed_pruned\" (\"id\" int not null, \"through_position\" bigint not null, "
                        + "\"through_recorded_at\" timestamptz null, primary key (\"id\"), "
                        + "constraint \"task_state_feed_pruned_one_row\" check (\"id\" = 1))",
                "create table \"task_state_feed\" (\"last_position\" bigint not null, \"event_count\" int not null, "
                        + "\"recorded_at\" timestamptz not null default now(), \"entries\" text not null, "
                        + "primary key (\"last_position\"))",
                "insert into \"task_state_feed_pruned\" (\"id\", \"through_position\") values (1, 0)"};
            case MYSQL -> new String[] {
                "create table `task_state_feed_head` (`id` int not null, `feed_id` bigint not null, "
                        + "`last_position` bigint not null, primary key (`id`), "
                        + "constraint `task_state_feed_head_one_row` check (`id` = 1))",
                "create table `task_state_feed_pruned` (`id` int not null, `through_position` bigint not null, "
                        + "`through_recorded_at` datetime(6) null, primary key (`id`), "
                        + "constraint `task_state_feed_pruned_one_row` check (`id` = 1))",
                "create table `task_state_feed` (`last_position` bigint not null, `event_count` int not null, "
                        + "`recorded_at` datetime(6) not null default (utc_timestamp(6)), `entries` longtext not null, "
                        + "primary key (`last_position`))",
                "insert into `task_state_feed_pruned` (`id`, `through_position`) values (1, 0)"};
            case H2 -> new String[] {
                "create table \"task_state_feed_head\" (\"id\" int not null, \"feed_id\" bigint not null, "
                        + "\"last_position\" bigint not null, primary key (\"id\"), "
                        + "constraint \"task_state_feed_head_one_row\" check (\"id\" = 1))",
                "create table \"task_state_feed_pruned\" (\"id\" int not null, \"through_position\" bigint not null, "
                        + "\"through_recorded_at\" timestamp(6) with time zone, primary key (\"id\"), "
                        + "constraint \"task_state_feed_pruned_one_row\" check (\"id\" = 1))",
                "create table \"task_state_feed\" (\"last_position\" bigint not null, \"event_count\" int not null, "
                        + "\"recorded_at\" timestamp(6) with time zone default current_timestamp not null, "
                        + "\"entries\" clob not null, primary key (\"last_position\"))",
                "insert into \"task_state_feed_pruned\" (\"id\", \"through_position\") values (1, 0)"};
        };
        DialectFamily.execute(context.getConnection(), ddl);
        String quote = DialectFamily.of(context.getConnection()) == DialectFamily.MYSQL ? "`" : "\"";
        try (PreparedStatement head = context.getConnection().prepareStatement("insert into " + quote
                + "task_state_feed_head" + quote + " (" + quote + "id" + quote + ", " + quote + "feed_id" + quote
                + ", " + quote + "last_position" + quote + ") values (1, ?, 0)")) {
            head.setLong(1, new SecureRandom().nextLong(1, Long.MAX_VALUE));
            head.executeUpdate();
        }
    }

    @Override
    public Integer getChecksum() {
        return CHECKSUM;
    }
}
