import java.lang.management.ManagementFactory;
import java.sql.*;
import java.time.LocalDateTime;
import java.util.*;
import org.jooq.*;
import org.jooq.impl.DSL;

/**
 * What binding the store's batch UPDATE through jOOQ costs: the same UPDATE of 100 random rows, 200
 * batches a turn, as {@code JdbcTaskInstanceStore.applyLocked} builds it (a {@code BatchBindStep})
 * and as a plain {@link PreparedStatement} with the SQL written once; turns alternate, the first pair
 * is a warm-up, each turn is rolled back. Prints the calling thread's CPU time per row (its share of
 * the JVM's work, little moved by other load) and the wall time per row.
 */
public class BindCostProbe {
    static final String[] COLS = {"name", "state", "host", "log_path", "execute_path", "pid", "app_ids", "start_time",
            "end_time", "var_pool", "finish_event_id", "last_event_id", "version", "updated_at", "written_epoch"};
    public static void main(String[] args) throws Exception {
        String url = args[0]; int batches = 200, rows = 100;
        var bean = ManagementFactory.getThreadMXBean();
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(false);
            DSLContext t = DSL.using(c, SQLDialect.POSTGRES);
            Table<?> table = DSL.table(DSL.name("task_instance"));
            UpdateSetFirstStep<?> u = t.update(table);
            UpdateSetMoreStep<?> s = null;
            for (String col : COLS) {
                Class<?> type = col.equals("pid") ? Integer.class : col.endsWith("_time") || col.equals("updated_at")
                        ? LocalDateTime.class : col.equals("version") || col.equals("written_epoch") ? Long.class : String.class;
                @SuppressWarnings("unchecked") Field<Object> f = (Field<Object>) DSL.field(DSL.name(col), type);
                s = (s == null ? u.set(f, (Object) null) : s.set(f, (Object) null));
            }
            Query jooq = s.where(DSL.field(DSL.name("id"), Long.class).eq((Long) null)).and(DSL.field(DSL.name("version"), Long.class).eq((Long) null));
            String sql = "update \"task_instance\" set " + String.join(", ", Arrays.stream(COLS).map(x -> "\"" + x + "\" = ?").toList())
                    + " where \"id\" = ? and \"version\" = ?";
            Random random = new Random(1);
            LocalDateTime now = LocalDateTime.now();
            Map<String, List<Double>> cpu = new LinkedHashMap<>(), wall = new LinkedHashMap<>();
            for (int pair = 0; pair < 7; pair++) {
                for (String mode : pair % 2 == 0 ? List.of("jooq", "plain") : List.of("plain", "jooq")) {
                    long c0 = bean.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                    for (int b = 0; b < batches; b++) {
                        if (mode.equals("jooq")) {
                            BatchBindStep batch = t.batch(jooq);
                            for (int r = 0; r < rows; r++) {
                                long id = 1 + random.nextInt(20000);
                                batch = batch.bind("t" + id, "RUNNING", "h" + b, null, null, 0, null, now, null, null, null, "e" + r, 0L, now, null, id, 0L);
                            }
                            batch.execute();
                        } else {
                            try (PreparedStatement p = c.prepareStatement(sql)) {
                                for (int r = 0; r < rows; r++) {
                                    long id = 1 + random.nextInt(20000);
                                    p.setString(1, "t" + id); p.setString(2, "RUNNING"); p.setString(3, "h" + b);
                                    p.setNull(4, Types.VARCHAR); p.setNull(5, Types.VARCHAR); p.setInt(6, 0);
                                    p.setNull(7, Types.VARCHAR); p.setObject(8, now); p.setNull(9, Types.TIMESTAMP);
                                    p.setNull(10, Types.VARCHAR); p.setNull(11, Types.VARCHAR); p.setString(12, "e" + r);
                                    p.setLong(13, 0L); p.setObject(14, now); p.setNull(15, Types.BIGINT);
                                    p.setLong(16, id); p.setLong(17, 0L); p.addBatch();
                                }
                                p.executeBatch();
                            }
                        }
                    }
                    c.rollback();
                    if (pair == 0) continue; // warm-up pair
                    cpu.computeIfAbsent(mode, k -> new ArrayList<>()).add((bean.getCurrentThreadCpuTime() - c0) / 1e3 / (batches * rows));
                    wall.computeIfAbsent(mode, k -> new ArrayList<>()).add((System.nanoTime() - w0) / 1e3 / (batches * rows));
                }
            }
            for (String mode : cpu.keySet()) {
                List<Double> cs = new ArrayList<>(cpu.get(mode)); Collections.sort(cs);
                List<Double> ws = new ArrayList<>(wall.get(mode)); Collections.sort(ws);
                System.out.printf(Locale.ROOT, "%-6s client-thread CPU per row: median %.2f us (%.2f-%.2f); wall per row median %.2f us (%.2f-%.2f)%n",
                        mode, (cs.get(2) + cs.get(3)) / 2, cs.get(0), cs.get(5), (ws.get(2) + ws.get(3)) / 2, ws.get(0), ws.get(5));
            }
        }
    }
}
