package dev.taskevents.storage.jdbc.migration;

import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.COLUMNS;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.ID;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.TASK_INSTANCE;
import static dev.taskevents.storage.jdbc.internal.TaskInstanceTable.WORKFLOW_INSTANCE_ID;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jooq.tools.jdbc.JDBCUtils;

/**
 * Creates {@code task_instance} and its workflow index. The DDL is built with jOOQ and rendered
 * for the connected database, so one migration serves every dialect family. A Java migration,
 * handed to Flyway explicitly, because Flyway's scanner cannot list resources inside a named
 * module or a jlink image.
 *
 * <p>The checksum is fixed: change it whenever this migration's DDL changes, so that Flyway's
 * validation reports a database migrated by another version of it.
 */
public final class V1__CreateTaskInstance extends BaseJavaMigration {
    static final int CHECKSUM = 0x7A51_0001;

    @Override
    public void migrate(Context context) {
        DSLContext sql = DSL.using(context.getConnection(), JDBCUtils.dialect(context.getConnection()));
        sql.createTable(TASK_INSTANCE).columns(COLUMNS).primaryKey(ID).execute();
        // findByWorkflow: WHERE workflow_instance_id = ? ORDER BY id
        sql.createIndex("task_instance_workflow_idx").on(TASK_INSTANCE, WORKFLOW_INSTANCE_ID, ID).execute();
    }

    @Override
    public Integer getChecksum() {
        return CHECKSUM;
    }
}
