set search_path=cdx_probe;
begin;
select 'writer fence read', epoch, clock_timestamp() from te_shard where shard_id = 1 for share;
select pg_sleep(4);
update t set v = v + 1 where id = 1;
commit;
select 'writer committed', clock_timestamp();
