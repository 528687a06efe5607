select 'takeover start', now(6);
update te_shard s set epoch = epoch + 1, owner_node = 'A', owner_since = utc_timestamp(6)
 where s.shard_id = 1 and s.epoch = 1
   and (s.owner_node is null or not exists (select 1 from te_node n where n.node_id = s.owner_node and n.lease_expires_at > utc_timestamp(6)));
select 'rows', row_count();
select 'takeover done', now(6);
