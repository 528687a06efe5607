import java.sql.*;
import java.util.concurrent.*;
String url = "jdbc:h2:mem:cdx;DB_CLOSE_DELAY=-1";
Connection a = DriverManager.getConnection(url, "sa", "");
Connection b = DriverManager.getConnection(url, "sa", "");
Connection c = DriverManager.getConnection(url, "sa", "");
try (Statement s = a.createStatement()) {
  s.execute("create table \"te_node\" (\"node_id\" varchar(64) primary key, \"lease_expires_at\" timestamp(6) with time zone not null)");
  s.execute("create table \"te_shard\" (\"shard_id\" int primary key, \"epoch\" bigint not null, \"owner_node\" varchar(64))");
  s.execute("insert into \"te_shard\" values (0,0,null),(1,1,'B')");
  s.execute("insert into \"te_node\" values ('A', current_timestamp + interval '10' second), ('B', dateadd(millisecond, -1000, current_timestamp))");
  try { s.executeQuery("select \"epoch\" from \"te_shard\" where \"shard_id\" = 1 for share").close(); System.out.println("FOR SHARE accepted"); }
  catch (SQLException e) { System.out.println("FOR SHARE refused: " + e.getMessage().lines().findFirst().get()); }
  try { s.executeQuery("select \"epoch\" from \"te_shard\" where \"shard_id\" = 1 lock in share mode").close(); System.out.println("LOCK IN SHARE MODE accepted"); }
  catch (SQLException e) { System.out.println("LOCK IN SHARE MODE refused: " + e.getMessage().lines().findFirst().get()); }
  ResultSet r = s.executeQuery("select current_timestamp, localtimestamp, dateadd(millisecond, 2500, current_timestamp), current_timestamp + 2.5 * interval '1' second"); r.next();
  System.out.println("clock fns: " + r.getString(1) + " | " + r.getString(2) + " | " + r.getString(3) + " | " + r.getString(4) + "");
}
// writer a: FOR UPDATE on the shard row, held
a.setAutoCommit(false);
try (Statement s = a.createStatement()) { ResultSet r = s.executeQuery("select \"epoch\" from \"te_shard\" where \"shard_id\" = 1 for update"); r.next(); System.out.println("writer fence read epoch " + r.getLong(1)); }
long t0 = System.nanoTime();
try (Statement s = b.createStatement()) { s.execute("set lock_timeout 10000"); }
Future<Integer> takeover = Executors.newSingleThreadExecutor().submit(() -> {
  try (Statement s = b.createStatement()) {
    return s.executeUpdate("update \"te_shard\" s set \"epoch\" = \"epoch\" + 1, \"owner_node\" = 'A' where s.\"shard_id\" = 1 and s.\"epoch\" = 1 and (s.\"owner_node\" is null or not exists (select 1 from \"te_node\" n where n.\"node_id\" = s.\"owner_node\" and n.\"lease_expires_at\" > current_timestamp))");
  }
});
Thread.sleep(800);
try (Statement s = c.createStatement()) { ResultSet r = s.executeQuery("select count(*) from information_schema.sessions where blocker_id is not null"); r.next(); System.out.println("sessions blocked while writer holds the lock: " + r.getInt(1) + "; takeover done? " + takeover.isDone()); }
a.commit();
System.out.println("takeover rows " + takeover.get() + " after " + (System.nanoTime() - t0) / 1_000_000 + " ms");
try (Statement s = a.createStatement()) { ResultSet r = s.executeQuery("select \"epoch\", \"owner_node\" from \"te_shard\" where \"shard_id\" = 1 for update"); r.next(); System.out.println("writer next tx epoch " + r.getLong(1) + " owner " + r.getString(2)); }
a.commit();
/exit
