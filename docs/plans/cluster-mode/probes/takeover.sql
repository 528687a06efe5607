set search_path=cdx_probe;
select 'takeover start', clock_timestamp();
update te_shard s set epoch = epoch + 1, owner_node = 'A', owner_since = now()
 where s.shard_id = 1 and s.epoch = 1
   and (s.owner_node is null or not exists (select 1 from te_node n where n.node_id = s.owner_node and n.lease_expires_at > now()));
select 'takeover done', clock_timestamp();
