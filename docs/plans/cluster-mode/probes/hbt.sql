set session transaction isolation level read committed;
update cdx_probe.cluster_shard s set s.epoch = s.epoch + 1, s.owner_node = 'A' where s.shard_id = 1 and s.epoch = 1
 and (s.owner_node is null or not exists (select 1 from cdx_probe.cluster_node o where o.node_id = s.owner_node and o.lease_expires_at > utc_timestamp(6)))
 and exists (select 1 from cdx_probe.cluster_node m where m.node_id = 'A' and m.lease_expires_at > utc_timestamp(6));
select 'takeover rows', row_count();
