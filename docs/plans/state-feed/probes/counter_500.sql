\set n 500
BEGIN;
WITH ids AS (SELECT id FROM fdx_bench.t WHERE id IN (SELECT (random()*99999)::int+1 FROM generate_series(1,:n)) ORDER BY id FOR UPDATE) UPDATE fdx_bench.t t SET v = t.v + 1 FROM ids WHERE t.id = ids.id;
UPDATE fdx_bench.head SET last = last + :n WHERE id = 1;
INSERT INTO fdx_bench.feed(last_position, n, entries) SELECT last, :n, repeat('1	2	RESULT	SUCCESS	3	1700000000000000	ev-123456' || chr(10), :n) FROM fdx_bench.head WHERE id = 1;
COMMIT;
