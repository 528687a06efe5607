package dev.taskevents.storage.jdbc.migration;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * Creates {@code task_instance} and its workflow index. Frozen: this is the DDL the first
 * release rendered through jOOQ, written out literally per family so that it can never change
 * again. Schema changes go in later migrations. A Java migration, handed to Flyway explicitly,
 * because Flyway's scanner cannot list resources inside a named module or a jlink image.
 */
public final class V1__CreateTaskInstance extends BaseJavaMigration {
    static final int CHECKSUM = 0x7A51_0001;

    @Override
    public void migrate(Context context) throws Exception {
        String[] ddl = switch (DialectFamily.of(context.getConnection())) {
            case POSTGRES -> new String[] {
                "create table \"task_instance\" (\"id\" bigint not null, \"workflow_instance_id\" bigint not null, "
                        + "\"name\" text not null, \"state\" varchar(16) not null, \"host\" varchar(255) null, "
                        + "\"log_path\" text null, \"execute_path\" text null, \"pid\" int not null, "
                        + "\"app_ids\" text null, \"start_time\" timestamp(6) null, \"end_time\" timestamp(6) null, "
                        + "\"var_pool\" text null, \"finish_event_id\" varchar(128) null, \"version\" bigint not null, "
                        + "\"updated_at\" timestamp(6) not null, primary key (\"id\"))",
                "create index \"task_instance_workflow_idx\" on \"task_instance\"(\"workflow_instance_id\", \"id\")"};
            case MYSQL -> new String[] {
                "create table `task_instance` (`id` bigint not null, `workflow_instance_id` bigint not null, "
                        + "`name` longtext not null, `state` varchar(16) not null, `host` varchar(255) null, "
                        + "`log_path` longtext null, `execute_path` longtext null, `pid` int not null, "
                        + "`app_ids` longtext null, `start_time` datetime(6) null, `end_time` datetime(6) null, "
                        + "`var_pool` longtext null, `finish_event_id` varchar(128) null, `version` bigint not null, "
                        + "`updated_at` datetime(6) not null, primary key (`id`))",
                "create index `task_instance_workflow_idx` on `task_instance`(`workflow_instance_id`, `id`)"};
            case H2 -> new String[] {
                "create table \"task_instance\" (\"id\" bigint not null, \"workflow_instance_id\" bigint not null, "
                        + "\"name\" clob not null, \"state\" varchar(16) not null, \"host\" varchar(255), "
                        + "\"log_path\" clob, \"execute_path\" clob, \"pid\" int not null, \"app_ids\" clob, "
                        + "\"start_time\" timestamp(6), \"end_time\" timestamp(6), \"var_pool\" clob, "
                        + "\"finish_event_id\" varchar(128), \"version\" bigint not null, "
                        + "\"updated_at\" timestamp(6) not null, primary key (\"id\"))",
                "create index \"task_instance_workflow_idx\" on \"task_instance\"(\"workflow_instance_id\", \"id\")"};
        };
        DialectFamily.execute(context.getConnection(), ddl);
    }

    @Override
    public Integer getChecksum() {
        return CHECKSUM;
    }
}
