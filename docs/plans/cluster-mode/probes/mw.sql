begin;
select 'writer fence read', epoch, now(6) from te_shard where shard_id = 1 lock in share mode;
select sleep(4);
update t set v = v + 1 where id = 1;
commit;
select 'writer committed', now(6);
