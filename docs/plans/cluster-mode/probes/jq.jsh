import org.jooq.*; import org.jooq.impl.DSL;
for (SQLDialect d : new SQLDialect[] {SQLDialect.POSTGRES, SQLDialect.MARIADB, SQLDialect.MYSQL, SQLDialect.H2}) {
  DSLContext c = DSL.using(d);
  var sel = c.select(DSL.field(DSL.name("epoch"))).from(DSL.table(DSL.name("te_shard"))).where(DSL.field(DSL.name("shard_id")).in(1, 2)).orderBy(DSL.field(DSL.name("shard_id")));
  try { System.out.println(d + " forShare:  " + c.renderInlined(sel.forShare())); } catch (Exception e) { System.out.println(d + " forShare failed: " + e); }
  try { System.out.println(d + " forUpdate: " + c.renderInlined(sel.forUpdate())); } catch (Exception e) { System.out.println(d + " forUpdate failed: " + e); }
}
/exit
