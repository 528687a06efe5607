import java.sql.*;
Connection a = DriverManager.getConnection("jdbc:h2:mem:lt", "sa", "");
ResultSet r = a.createStatement().executeQuery("select setting_name, setting_value from information_schema.settings where setting_name in ('LOCK_TIMEOUT','DEFAULT_LOCK_TIMEOUT','MODE','info.VERSION')");
while (r.next()) System.out.println(r.getString(1) + "=" + r.getString(2));
a.setAutoCommit(false);
ResultSet t = a.createStatement().executeQuery("select current_timestamp"); t.next(); String t1 = t.getString(1);
Thread.sleep(300);
t = a.createStatement().executeQuery("select current_timestamp"); t.next(); System.out.println("in one tx: " + t1 + " then " + t.getString(1));
/exit
