import java.sql.*; import java.util.concurrent.*;
String url = "jdbc:h2:mem:fdx;DB_CLOSE_DELAY=-1";
Connection s = DriverManager.getConnection(url);
s.createStatement().execute("create table head(id int primary key, last bigint not null); insert into head values (1,0); create table feed(last_position bigint primary key, n int, e varchar(10)); create table outbox(seq bigint generated always as identity primary key, e varchar(10))");
Connection a = DriverManager.getConnection(url), b = DriverManager.getConnection(url), r = DriverManager.getConnection(url);
a.setAutoCommit(false); b.setAutoCommit(false);
// the trap with identity
a.createStatement().executeUpdate("insert into outbox(e) values ('A')");
b.createStatement().executeUpdate("insert into outbox(e) values ('B')"); b.commit();
var rs = r.createStatement().executeQuery("select seq, e from outbox where seq > 0 order by seq"); while (rs.next()) System.out.println("trap: reader with cursor 0 sees " + rs.getLong(1) + " " + rs.getString(2));
a.commit();
rs = r.createStatement().executeQuery("select count(*) from outbox where seq > 2"); rs.next(); System.out.println("trap: after A commits, rows after cursor 2: " + rs.getLong(1));
// the counter
a.createStatement().executeUpdate("update head set last = last + 3 where id = 1");
a.createStatement().executeUpdate("insert into feed select last, 3, 'A' from head where id = 1");
var bDone = CompletableFuture.runAsync(() -> { try { b.createStatement().execute("set lock_timeout 10000"); b.createStatement().executeUpdate("update head set last = last + 2 where id = 1"); b.createStatement().executeUpdate("insert into feed select last, 2, 'B' from head where id = 1"); b.commit(); } catch (SQLException e) { throw new RuntimeException(e); } });
Thread.sleep(500);
rs = r.createStatement().executeQuery("select count(*) from feed"); rs.next(); System.out.println("counter: B done while A holds? " + bDone.isDone() + "; reader sees rows: " + rs.getLong(1));
rs = r.createStatement().executeQuery("select count(*) from information_schema.sessions where blocker_id is not null"); rs.next(); System.out.println("counter: sessions blocked: " + rs.getLong(1));
a.commit(); bDone.get(5, TimeUnit.SECONDS);
rs = r.createStatement().executeQuery("select e, last_position - n + 1, last_position from feed order by last_position"); while (rs.next()) System.out.println("counter: " + rs.getString(1) + " positions " + rs.getLong(2) + ".." + rs.getLong(3));
rs = r.createStatement().executeQuery("select setting_value from information_schema.settings where setting_name = 'DEFAULT_LOCK_TIMEOUT'"); if (rs.next()) System.out.println("H2 DEFAULT_LOCK_TIMEOUT " + rs.getString(1));
/exit
