begin; select epoch from cdx_probe.cluster_shard where shard_id = 1 lock in share mode; select sleep(3); commit;
