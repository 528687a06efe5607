import java.sql.*; import java.nio.file.*;
Connection c = DriverManager.getConnection("jdbc:h2:mem:all", "sa", "");
for (String sql : Files.readString(Path.of("h2_all.sql")).split(";\n")) {
  sql = sql.strip(); if (sql.isEmpty()) continue;
  try (Statement s = c.createStatement()) {
    if (s.execute(sql)) { ResultSet r = s.getResultSet(); int n = r.getMetaData().getColumnCount(); while (r.next()) { StringBuilder b = new StringBuilder("  row:"); for (int i = 1; i <= n; i++) b.append(' ').append(r.getString(i)); System.out.println(b); } }
    else System.out.println("ok " + s.getUpdateCount() + ": " + sql.substring(0, Math.min(70, sql.length())));
  } catch (SQLException e) { System.out.println("ERROR " + e.getMessage().lines().findFirst().get()); }
}
/exit
