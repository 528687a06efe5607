# What produced my_bench.out (ROWS=32, 1000 txns per client) and my_bench500.out (ROWS=500, 300 per client).
ROWS=${ROWS:-32}; PER=${PER:-1000}
M="mariadb -h 127.0.0.1 -u root -N -B test"
$M -e "drop database if exists fdx_bench; create database fdx_bench; create table fdx_bench.t(id int primary key, v bigint not null, pad varchar(100)); insert into fdx_bench.t select seq, 0, repeat('x',100) from test.seq_1_to_100000;
create table fdx_bench.outbox(seq bigint auto_increment primary key, entries longtext not null);
create table fdx_bench.head(id int primary key, last bigint not null); insert into fdx_bench.head values (1,0);
create table fdx_bench.feed(last_position bigint primary key, n int not null, recorded_at datetime(6) not null default utc_timestamp(6), entries longtext not null);"
E="repeat('1\t2\tRESULT\tSUCCESS\t3\t1700000000000000\tev-123456\n', $ROWS)"
BASE="begin; set @r = floor(rand()*99000); update t set v = v + 1 where id between @r and @r + $((ROWS-1)); insert into outbox(entries) values ($E); commit"
CNT="begin; set @r = floor(rand()*99000); update t set v = v + 1 where id between @r and @r + $((ROWS-1)); update head set last = last + $ROWS where id = 1; insert into feed(last_position, n, entries) select last, $ROWS, $E from head where id = 1; commit"
for round in 1 2; do for c in 2 6; do for s in BASE CNT; do q=${!s}; stm=$(echo "$q" | tr ';' '\n' | wc -l)
 t=$(mariadb-slap -h 127.0.0.1 -u root --create-schema=fdx_bench --delimiter=";" --query="$q" --concurrency=$c --number-of-queries=$((c*PER*stm)) --iterations=1 2>&1 | grep "Average number of seconds" | awk '{print $(NF-1)}')
 echo "rows=$ROWS round $round clients=$c $s: $((c*PER)) txns in $t s = $(echo "$c*$PER/$t" | bc) commits/s"; done; done; done
$M -e "select concat('feed rows ', count(*), ', max position ', max(last_position)) from fdx_bench.feed; drop database fdx_bench"
