drop schema if exists cdx_probe cascade; create schema cdx_probe; set search_path=cdx_probe;
create table "task_instance" ("id" bigint not null, "workflow_instance_id" bigint not null, "version" bigint not null, primary key ("id"));
create table "task_state_outbox" ("seq" bigint generated always as identity not null, "entries" text not null, primary key ("seq"));
-- V3
create table "cluster_info" ("id" int not null, "shard_count" int not null, "created_at" timestamptz not null, primary key ("id"), constraint "cluster_info_one_row" check ("id" = 1), constraint "cluster_info_shard_count" check ("shard_count" between 1 and 65536));
create table "cluster_node" ("node_id" varchar(128) not null, "address" varchar(255) null, "started_at" timestamptz not null, "heartbeat_at" timestamptz not null, "lease_expires_at" timestamptz not null, primary key ("node_id"));
create table "cluster_shard" ("shard_id" int not null, "epoch" bigint not null, "owner_node" varchar(128) null, "owner_since" timestamptz null, primary key ("shard_id"));
alter table "task_instance" add column "written_epoch" bigint null;
alter table "task_state_outbox" add column "shard_id" int null;
create index "task_state_outbox_shard_idx" on "task_state_outbox"("shard_id", "seq");
insert into "cluster_info" ("id", "shard_count", "created_at") values (1, 4, now());
insert into "cluster_shard" ("shard_id", "epoch") values (0, 0), (1, 0), (2, 0), (3, 0);
-- register
insert into "cluster_node" ("node_id", "address", "started_at", "heartbeat_at", "lease_expires_at") values ('n1/aaaa', 'http://10.0.0.1:8080', now(), now(), now() + 10000 * interval '1 millisecond');
insert into "cluster_node" ("node_id", "address", "started_at", "heartbeat_at", "lease_expires_at") values ('n2/bbbb', 'http://10.0.0.2:8080', now(), now(), now() - 1 * interval '1 millisecond');
-- heartbeat (renew the node lease)
update "cluster_node" set "heartbeat_at" = now(), "lease_expires_at" = now() + 10000 * interval '1 millisecond' where "node_id" = 'n1/aaaa';
-- live nodes, with the lease left by the database's clock
select "node_id", "address", floor(extract(epoch from ("lease_expires_at" - now())) * 1000)::bigint as "lease_left_ms" from "cluster_node" where "lease_expires_at" > now() order by "node_id";
-- shard map
update "cluster_shard" set "epoch" = 3, "owner_node" = 'n2/bbbb' where "shard_id" = 2;
select s."shard_id", s."epoch", s."owner_node", n."address", coalesce(n."lease_expires_at" > now(), false) as "owner_alive" from "cluster_shard" s left join "cluster_node" n on n."node_id" = s."owner_node" order by s."shard_id";
-- takeover: unowned shard 0 (seen epoch 0) and expired owner's shard 2 (seen epoch 3)
update "cluster_shard" s set "epoch" = s."epoch" + 1, "owner_node" = 'n1/aaaa', "owner_since" = now() where s."shard_id" = 0 and s."epoch" = 0 and (s."owner_node" is null or not exists (select 1 from "cluster_node" o where o."node_id" = s."owner_node" and o."lease_expires_at" > now())) and exists (select 1 from "cluster_node" m where m."node_id" = 'n1/aaaa' and m."lease_expires_at" > now());
update "cluster_shard" s set "epoch" = s."epoch" + 1, "owner_node" = 'n1/aaaa', "owner_since" = now() where s."shard_id" = 2 and s."epoch" = 3 and (s."owner_node" is null or not exists (select 1 from "cluster_node" o where o."node_id" = s."owner_node" and o."lease_expires_at" > now())) and exists (select 1 from "cluster_node" m where m."node_id" = 'n1/aaaa' and m."lease_expires_at" > now());
-- takeover refused: a live owner (n1 owns 0), from n2 whose own lease is expired
update "cluster_shard" s set "epoch" = s."epoch" + 1, "owner_node" = 'n2/bbbb', "owner_since" = now() where s."shard_id" = 0 and s."epoch" = 1 and (s."owner_node" is null or not exists (select 1 from "cluster_node" o where o."node_id" = s."owner_node" and o."lease_expires_at" > now())) and exists (select 1 from "cluster_node" m where m."node_id" = 'n2/bbbb' and m."lease_expires_at" > now());
-- fence inside the write transaction
begin;
select "shard_id", "epoch" from "cluster_shard" where "shard_id" in (0, 2) order by "shard_id" for share;
commit;
-- release (drained): epoch+1, no owner
update "cluster_shard" set "epoch" = "epoch" + 1, "owner_node" = null, "owner_since" = null where "shard_id" = 2 and "epoch" = 4 and "owner_node" = 'n1/aaaa';
-- graceful leave: expire own lease at once
update "cluster_node" set "lease_expires_at" = now() where "node_id" = 'n1/aaaa';
-- reap long-dead nodes that own nothing
delete from "cluster_node" where "lease_expires_at" < now() - 3600000 * interval '1 millisecond' and "node_id" not in (select "owner_node" from "cluster_shard" where "owner_node" is not null);
select * from "cluster_shard" order by 1;
drop schema cdx_probe cascade;
