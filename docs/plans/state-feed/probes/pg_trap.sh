P="psql -h 127.0.0.1 -U postgres test -qAtX"
$P -c "drop schema if exists fdx_probe cascade; create schema fdx_probe;
create table fdx_probe.outbox(seq bigint generated always as identity primary key, xid xid8 not null default pg_current_xact_id(), e text);
create table fdx_probe.head(id int primary key, last bigint not null); insert into fdx_probe.head values (1,0);
create table fdx_probe.feed(last_position bigint primary key, n int, e text);"
echo "== (0) the trap: identity seq, lower seq commits after higher"
( $P -c "begin; insert into fdx_probe.outbox(e) values ('A'); select 'A got seq '||max(seq) from fdx_probe.outbox; select pg_sleep(2); commit;" ) &
sleep 0.5
$P -c "insert into fdx_probe.outbox(e) values ('B') returning 'B got seq '||seq||' and committed'"
echo "reader cursor 0 reads:"; $P -c "select seq, e from fdx_probe.outbox where seq > 0 order by seq"
echo "reader advances cursor to 2"; wait
echo "after A commits, reader with cursor 2 reads (A is skipped for ever):"; $P -c "select seq, e from fdx_probe.outbox where seq > 2 order by seq"; echo "(nothing)"
echo "== (b) xid8 horizon: same interleaving, reader reads only xid < pg_snapshot_xmin(pg_current_snapshot())"
$P -c "truncate fdx_probe.outbox"
( $P -c "begin; insert into fdx_probe.outbox(e) values ('A'); select 'A xid '||pg_current_xact_id(); select pg_sleep(2); commit;" ) &
sleep 0.5
$P -c "insert into fdx_probe.outbox(e) values ('B') returning 'B xid '||xid||' committed'"
$P -c "select 'horizon '||pg_snapshot_xmin(pg_current_snapshot())||', visible rows below it: '||count(*) from fdx_probe.outbox where xid < pg_snapshot_xmin(pg_current_snapshot())"
wait
$P -c "select 'after A commit: horizon '||pg_snapshot_xmin(pg_current_snapshot())||', rows below: '||string_agg(e||'@'||xid, ',' order by xid, seq) from fdx_probe.outbox where xid < pg_snapshot_xmin(pg_current_snapshot())"
echo "== (b) a writer in ANOTHER database (postgres) holds the horizon of test back?"
( psql -h 127.0.0.1 -U postgres postgres -qAtX -c "begin; create temp table fdx_t(x int); select 'other-db xid '||pg_current_xact_id(); select pg_sleep(2); commit;" ) &
sleep 0.5
$P -c "insert into fdx_probe.outbox(e) values ('C') returning 'C xid '||xid"
$P -c "select 'horizon '||pg_snapshot_xmin(pg_current_snapshot())||', C readable: '||count(*) from fdx_probe.outbox where e='C' and xid < pg_snapshot_xmin(pg_current_snapshot())"
wait
$P -c "select 'after other-db commit, C readable: '||count(*) from fdx_probe.outbox where e='C' and xid < pg_snapshot_xmin(pg_current_snapshot())"
echo "== (a) counter row updated last in the txn: A takes position first, B waits, commit order = position order"
( $P -c "begin; update fdx_probe.head set last = last + 3 where id = 1; insert into fdx_probe.feed select last, 3, 'A' from fdx_probe.head where id=1; select 'A at '||clock_timestamp()::time||' got last_position '||last from fdx_probe.head; select pg_sleep(2); commit; select 'A committed '||clock_timestamp()::time;" ) &
sleep 0.5
( $P -c "select 'B starts '||clock_timestamp()::time; begin; update fdx_probe.head set last = last + 2 where id = 1; insert into fdx_probe.feed select last, 2, 'B' from fdx_probe.head where id=1; commit; select 'B committed '||clock_timestamp()::time||' with last_position '||(select last_position from fdx_probe.feed where e='B');" ) &
sleep 0.5
echo "reader while A holds the counter, B waiting:"; $P -c "select coalesce(string_agg(e||'@'||last_position, ','),'(nothing)') from fdx_probe.feed where last_position > 0"
$P -c "select 'B waits: '||wait_event_type||'/'||wait_event from pg_stat_activity where query like '%last + 2%' and pid <> pg_backend_pid()"
wait
echo "reader after both:"; $P -c "select string_agg(e||' positions '||(last_position-n+1)||'..'||last_position, ', ' order by last_position) from fdx_probe.feed"
$P -c "drop schema fdx_probe cascade"
