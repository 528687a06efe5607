M="mariadb -h 127.0.0.1 -u root -N -B test"
$M -e "drop database if exists fdx_probe; create database fdx_probe; create table fdx_probe.feed(last_position bigint primary key, n int, e text);
insert into fdx_probe.feed select seq, 1, 'x' from test.seq_1_to_100;
create table fdx_probe.head(id int primary key, last bigint not null); insert into fdx_probe.head values (1,100);"
for iso in "repeatable read" "read committed"; do
echo "== cleaner in $iso deletes the tail 1..50 and holds its transaction 2 s; a writer appends at the head"
( $M -e "set session transaction isolation level $iso; begin; delete from fdx_probe.feed where last_position <= 50; do sleep(2); rollback;" ) &
sleep 0.5
t0=$(date +%s.%N)
$M -e "begin; update fdx_probe.head set last = last + 1 where id = 1; insert into fdx_probe.feed select last, 1, 'w' from fdx_probe.head where id = 1; commit;"
echo "writer took $(echo "$(date +%s.%N) - $t0" | bc) s"
wait
done
$M -e "drop database fdx_probe"
