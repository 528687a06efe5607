begin; select epoch from cdx_probe.cluster_shard where shard_id = 1 for share; select pg_sleep(3); commit;
