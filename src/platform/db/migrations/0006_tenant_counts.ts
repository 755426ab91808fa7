import { type Kysely, sql } from 'kysely';

/**
 * Live users, groups and OUs per tenant, kept by triggers in the transaction of each change, so
 * that reading a tenant does not count 100,000 rows. Soft deletes (deleted_at set) count as
 * removals. Existing rows are counted once here. Each tenant's counts are spread over 16 rows (a
 * random one per change, summed on read) so that concurrent creates in one tenant do not queue on
 * a single row lock until each other's commit.
 */
const statements = [
  `create table tenant_counts (
    tenant_id text not null references tenants (id),
    shard smallint not null,
    users bigint not null default 0,
    groups bigint not null default 0,
    ous bigint not null default 0,
    primary key (tenant_id, shard)
  )`,
  `insert into tenant_counts (tenant_id, shard, users, groups, ous)
   select t.id, 0,
     (select count(*) from users u where u.tenant_id = t.id and u.deleted_at is null),
     (select count(*) from groups g where g.tenant_id = t.id and g.deleted_at is null),
     (select count(*) from ous o where o.tenant_id = t.id)
   from tenants t`,
  `create function tenant_counts_track() returns trigger language plpgsql as $$
   declare
     counter text := tg_argv[0];
     delta integer := 0;
     tenant text;
     was_live boolean;
     is_live boolean;
   begin
     if tg_op = 'INSERT' then
       tenant := new.tenant_id;
       delta := case when (to_jsonb(new) ->> 'deleted_at') is null then 1 else 0 end;
     elsif tg_op = 'DELETE' then
       tenant := old.tenant_id;
       delta := case when (to_jsonb(old) ->> 'deleted_at') is null then -1 else 0 end;
     else
       tenant := new.tenant_id;
       was_live := (to_jsonb(old) ->> 'deleted_at') is null;
       is_live := (to_jsonb(new) ->> 'deleted_at') is null;
       delta := case when was_live and not is_live then -1 when is_live and not was_live then 1 else 0 end;
     end if;
     if delta <> 0 then
       execute format(
         'insert into tenant_counts (tenant_id, shard, %1$I) values ($1, $3, $2)
          on conflict (tenant_id, shard) do update set %1$I = tenant_counts.%1$I + excluded.%1$I',
         counter
       ) using tenant, delta, floor(random() * 16)::smallint;
     end if;
     return null;
   end
   $$`,
  `create trigger users_tenant_count after insert or delete or update of deleted_at on users
   for each row execute function tenant_counts_track('users')`,
  `create trigger groups_tenant_count after insert or delete or update of deleted_at on groups
   for each row execute function tenant_counts_track('groups')`,
  `create trigger ous_tenant_count after insert or delete on ous
   for each row execute function tenant_counts_track('ous')`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
