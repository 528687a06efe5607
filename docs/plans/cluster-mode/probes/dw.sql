set search_path=cdx_probe;
begin;
select shard_id from s2 where shard_id = 1 for share;
select pg_sleep(1.5);
select shard_id from s2 where shard_id = 2 for share;
commit;
