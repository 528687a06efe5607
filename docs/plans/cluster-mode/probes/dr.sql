set search_path=cdx_probe;
update s2 set lease = now() + interval '10 seconds' where shard_id in (1, 2);
