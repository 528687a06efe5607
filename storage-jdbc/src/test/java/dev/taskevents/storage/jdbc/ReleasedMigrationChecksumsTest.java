package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Map;
import java.util.stream.Collectors;
import org.jooq.Field;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * A released migration's checksum is what every database migrated so far has recorded: if it
 * changed, Flyway would refuse to open all of them. The values are written out here, as released.
 */
class ReleasedMigrationChecksumsTest {

    @Test
    void theRecordedChecksumsAreTheReleasedOnes() throws Exception {
        String url = TestDatabases.freshH2Url();
        JdbcStores.migrate(JdbcStoreOptions.of(url));
        Field<String> version = DSL.field(DSL.name("version"), String.class);
        Field<Integer> checksum = DSL.field(DSL.name("checksum"), Integer.class);
        Map<String, Integer> recorded;
        try (Connection c = DriverManager.getConnection(url)) {
            recorded = DSL.using(c).select(version, checksum).from(DSL.table(DSL.name("flyway_schema_history")))
                    .where(version.isNotNull()).fetch().stream()
                    .collect(Collectors.toMap(r -> r.value1(), r -> r.value2()));
        }
        assertEquals(Map.of("1", 0x7A51_0001, "2", 0x7A51_0002, "3", 0x7A51_0003, "4", 0x7A51_0004), recorded);
    }
}
