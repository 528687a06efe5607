# A reader advancing a cursor while 6 mariadb-slap writers commit 32-row batches: counter design vs auto_increment key.
M="mariadb -h 127.0.0.1 -u root -N -B test"
$M -e "drop database if exists fdx_bench; create database fdx_bench; create table fdx_bench.t(id int primary key, v bigint not null, pad varchar(100)); insert into fdx_bench.t select seq, 0, repeat('x',100) from test.seq_1_to_100000;
create table fdx_bench.feed_id(last_position bigint auto_increment primary key, n int not null, entries longtext not null);
create table fdx_bench.head(id int primary key, last bigint not null); insert into fdx_bench.head values (1,0);
create table fdx_bench.feed(last_position bigint primary key, n int not null, entries longtext not null); create table fdx_bench.holes(cur bigint, seen bigint, n int, at datetime(6));"
E="repeat('1\t2\tRESULT\tSUCCESS\t3\t1700000000000000\tev-123456\n', 32)"
CNT="begin; set @r = floor(rand()*99000); update t set v = v + 1 where id between @r and @r + 31; update head set last = last + 32 where id = 1; insert into feed(last_position, n, entries) select last, 32, $E from head where id = 1; commit"
IDF="begin; set @r = floor(rand()*99000); update t set v = v + 1 where id between @r and @r + 31; insert into feed_id(n, entries) values (32, $E); commit"
for design in ${DESIGNS:-counter idfeed}; do
  if [ $design = counter ]; then q=$CNT; tbl=fdx_bench.feed; expect="cur + v_n"; else q=$IDF; tbl=fdx_bench.feed_id; expect="cur + 1"; fi
  stm=$(echo "$q" | tr ';' '\n' | wc -l)
  mariadb-slap -h 127.0.0.1 -u root --create-schema=fdx_bench --delimiter=";" --query="$q" --concurrency=6 --number-of-queries=$((6*3000*stm)) --iterations=1 > /dev/null 2>&1 &
  $M <<SQL 2>&1 | grep -v Warning
set session transaction isolation level read committed;
delimiter //
begin not atomic
    declare cur bigint default 0; declare v_last bigint; declare v_n int; declare nread int default 0; declare holes int default 0; declare t0 datetime(6) default now(6);
    while now(6) < t0 + interval 10 second do
      set v_last = null;
      select last_position, n into v_last, v_n from $tbl where last_position > cur order by last_position limit 1;
      if v_last is not null then
        if v_last <> $expect then set holes = holes + 1; insert into fdx_bench.holes values (cur, v_last, v_n, now(6)); end if;
        set cur = v_last; set nread = nread + 1;
      end if;
    end while;
    select concat('$design: rows committed ', (select count(*) from $tbl), ', rows read by the cursor ', nread, ', missed ', (select count(*) from $tbl) - nread, ', holes seen while reading ', holes);
end //
SQL
  wait
done
$M -e "select concat('max position ', max(last_position), ' = 32 x ', count(*), '? ', max(last_position) = 32 * count(*)) from fdx_bench.feed; select * from fdx_bench.holes"
[ -n "$KEEP" ] || $M -e "drop database fdx_bench"
