begin;
select 'snapshot read', epoch from te_shard where shard_id = 1;
select sleep(2);
select 'plain read after takeover', epoch from te_shard where shard_id = 1;
select 'locking read after takeover', epoch from te_shard where shard_id = 1 lock in share mode;
commit;
