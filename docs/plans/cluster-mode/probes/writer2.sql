set search_path=cdx_probe;
begin;
select 'writer fence read (reverse)', epoch, clock_timestamp() from te_shard where shard_id = 1 for share;
commit;
