package dev.taskevents.storage.jdbc.internal;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.SQLDataType;

/**
 * The cluster tables of {@code V3__AddCluster}, written by hand like {@link TaskInstanceTable}, and
 * {@code task_instance.written_epoch}, which {@link TaskInstanceTable#COLUMNS} leaves out on
 * purpose: it is the store's own record of the epoch a fenced write was made under, not part of a
 * task instance.
 */
final class ClusterTables {
    static final Table<Record> CLUSTER_INFO = table(name("cluster_info"));
    static final Field<Integer> SHARD_COUNT = field(name("shard_count"), SQLDataType.INTEGER.nullable(false));

    static final Table<Record> CLUSTER_SHARD = table(name("cluster_shard"));
    static final Field<Integer> SHARD_ID = field(name("shard_id"), SQLDataType.INTEGER.nullable(false));
    static final Field<Long> EPOCH = field(name("epoch"), SQLDataType.BIGINT.nullable(false));

    static final Field<Long> WRITTEN_EPOCH = field(name("written_epoch"), SQLDataType.BIGINT.nullable(true));

    private ClusterTables() {}
}
