# A reader advancing a cursor while 6 pgbench writers commit 32-row batches: counter design vs identity key.
P="psql -h 127.0.0.1 -U postgres test -qAtX"
$P -c "drop schema if exists fdx_bench cascade; create schema fdx_bench;
create table fdx_bench.t(id int primary key, v bigint not null, pad text); insert into fdx_bench.t select g, 0, repeat('x',100) from generate_series(1,100000) g;
create table fdx_bench.feed_id(last_position bigint generated always as identity primary key, n int, recorded_at timestamptz default now(), entries text not null);
create table fdx_bench.head(id int primary key, last bigint not null); insert into fdx_bench.head values (1,0);
create table fdx_bench.feed(last_position bigint primary key, n int not null, recorded_at timestamptz not null default now(), entries text not null);"
for design in counter idfeed; do
  if [ $design = counter ]; then tbl=fdx_bench.feed; check="if r.last_position - r.n <> cur then gaps := gaps + 1; end if;"; else tbl=fdx_bench.feed_id; check="if r.last_position <> cur + 1 then gaps := gaps + 1; end if;"; fi
  pgbench -h 127.0.0.1 -U postgres -n -f ${design}_32.sql -c 6 -j 2 -T 8 test > /dev/null 2>&1 &
  $P -c "do \$\$ declare cur bigint := 0; r record; nread bigint := 0; gaps int := 0; t0 timestamptz := clock_timestamp(); total bigint; begin
   while clock_timestamp() < t0 + interval '10 s' loop
     for r in select last_position, n from $tbl where last_position > cur order by last_position limit 100 loop
       $check
       cur := r.last_position; nread := nread + 1;
     end loop;
   end loop;
   select count(*) into total from $tbl;
   raise notice '$design: rows committed %, rows read by the cursor %, missed %, holes seen while reading %', total, nread, total - nread, gaps;
  end \$\$;" 2>&1 | sed 's/^NOTICE:  //'
  wait
done
$P -c "drop schema fdx_bench cascade" 2>/dev/null
