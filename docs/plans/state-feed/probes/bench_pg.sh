# What produced bench1.out / bench2.out (bench2: the inner loop order "counter base idfeed").
P="psql -h 127.0.0.1 -U postgres test -qAtX"
$P -c "drop schema if exists fdx_bench cascade; create schema fdx_bench;
create table fdx_bench.t(id int primary key, v bigint not null, pad text); insert into fdx_bench.t select g, 0, repeat('x',100) from generate_series(1,100000) g;
create table fdx_bench.outbox(seq bigint generated always as identity primary key, entries text not null);
create table fdx_bench.feed_id(last_position bigint generated always as identity primary key, n int, recorded_at timestamptz default now(), entries text not null);
create table fdx_bench.head(id int primary key, last bigint not null); insert into fdx_bench.head values (1,0);
create table fdx_bench.feed(last_position bigint primary key, n int not null, recorded_at timestamptz not null default now(), entries text not null);" && $P -c "vacuum analyze fdx_bench.t"
for n in 32 500; do for c in 2 6; do for s in base idfeed counter; do
 r=$(pgbench -h 127.0.0.1 -U postgres -n -f ${s}_$n.sql -c $c -j 2 -T 8 test 2>&1 | grep -E "^(tps|latency average)" | tr '\n' ' ')
 echo "rows=$n clients=$c $s: $r"; done; done; done
$P -c "drop schema fdx_bench cascade"
