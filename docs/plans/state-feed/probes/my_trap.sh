M="mariadb -h 127.0.0.1 -u root -N -B"
$M -e "drop database if exists fdx_probe; create database fdx_probe;
create table fdx_probe.outbox(seq bigint not null auto_increment primary key, e text);
create table fdx_probe.head(id int primary key, last bigint not null); insert into fdx_probe.head values (1,0);
create table fdx_probe.feed(last_position bigint primary key, n int, e text);"
echo "== (0) the trap: auto_increment seq, lower seq commits after higher"
( $M -e "begin; insert into fdx_probe.outbox(e) values ('A'); select concat('A got seq ', last_insert_id()); do sleep(2); commit;" ) &
sleep 0.5
$M -e "insert into fdx_probe.outbox(e) values ('B'); select concat('B got seq ', last_insert_id(), ' and committed')"
echo "reader cursor 0 reads:"; $M -e "select seq, e from fdx_probe.outbox where seq > 0 order by seq"
wait
echo "after A commits, reader with cursor 2 reads:"; $M -e "select count(*) from fdx_probe.outbox where seq > 2"
echo "== (b) MariaDB: own transaction id and the oldest running one come only from information_schema.innodb_trx"
$M -e "begin; insert into fdx_probe.outbox(e) values ('X'); select concat('own trx_id ', trx_id, ', min running ', (select min(trx_id) from information_schema.innodb_trx)) from information_schema.innodb_trx where trx_mysql_thread_id = connection_id(); rollback;"
echo "== (a) counter row updated last in the txn"
( $M -e "begin; update fdx_probe.head set last = last + 3 where id = 1; insert into fdx_probe.feed select last, 3, 'A' from fdx_probe.head where id=1; select concat('A got last_position ', last) from fdx_probe.head; do sleep(2); commit; select concat('A committed ', now(6));" ) &
sleep 0.5
( $M -e "select concat('B starts ', now(6)); begin; update fdx_probe.head set last = last + 2 where id = 1; insert into fdx_probe.feed select last, 2, 'B' from fdx_probe.head where id=1; commit; select concat('B committed ', now(6), ' with last_position ', (select last_position from fdx_probe.feed where e='B'));" ) &
sleep 0.5
echo "reader while A holds the counter:"; $M -e "select coalesce(group_concat(concat(e,'@',last_position)),'(nothing)') from fdx_probe.feed where last_position > 0"
$M -e "select concat('B is ', trx_state) from information_schema.innodb_trx where trx_query like '%last + 2%'"
wait
echo "reader after both:"; $M -e "select group_concat(concat(e,' positions ',last_position-n+1,'..',last_position) order by last_position separator ', ') from fdx_probe.feed"
echo "== (a) in READ COMMITTED writers too (isolation does not matter: the UPDATE is a locking read of the latest version)"
( $M -e "set session transaction isolation level read committed; begin; update fdx_probe.head set last = last + 1 where id = 1; insert into fdx_probe.feed select last, 1, 'C' from fdx_probe.head where id=1; do sleep(1); commit;" ) &
sleep 0.3
$M -e "set session transaction isolation level read committed; begin; update fdx_probe.head set last = last + 1 where id = 1; insert into fdx_probe.feed select last, 1, 'D' from fdx_probe.head where id=1; commit;"
wait
$M -e "select group_concat(concat(e,'@',last_position) order by last_position) from fdx_probe.feed"
$M -e "drop database fdx_probe"
