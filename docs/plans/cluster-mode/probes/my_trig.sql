drop database if exists cdx_probe; create database cdx_probe; use cdx_probe;
create table `task_instance` (`id` bigint primary key, `workflow_instance_id` bigint not null, `version` bigint not null, `written_epoch` bigint);
create table `cluster_shard` (`shard_id` int primary key, `epoch` bigint not null, `owner_node` varchar(128));
insert into `cluster_shard` values (5, 3, 'n1');
insert into `task_instance` values (1, 100, 0, null);
create table `chaos_workflow_shard` (`workflow_instance_id` bigint primary key, `shard_id` int not null);
insert into `chaos_workflow_shard` values (100, 5);
create table `chaos_audit` (`seq` bigint auto_increment primary key, `task_instance_id` bigint, `version` bigint, `written_epoch` bigint, `current_epoch` bigint);
create trigger `chaos_audit_trg` after update on `task_instance` for each row
  insert into `chaos_audit` (`task_instance_id`, `version`, `written_epoch`, `current_epoch`)
  select new.`id`, new.`version`, new.`written_epoch`, s.`epoch` from `cluster_shard` s join `chaos_workflow_shard` w on w.`shard_id` = s.`shard_id`
   where w.`workflow_instance_id` = new.`workflow_instance_id`;
begin; select epoch from cluster_shard where shard_id = 5 lock in share mode; update task_instance set version = 1, written_epoch = 3 where id = 1; commit;
update cluster_shard set epoch = 4 where shard_id = 5;
update task_instance set version = 2, written_epoch = 3 where id = 1;
select task_instance_id, version, written_epoch, current_epoch, written_epoch = current_epoch as ok from chaos_audit order by seq;
drop database cdx_probe;
