import { type Kysely, sql } from 'kysely';

/**
 * Issue 17 (effective members and a user's groups p99 <= 2 ms at 100,000 users): exact member
 * counts per group, so that a page of members and a group's details read their totals by key
 * instead of counting the closure (ADR 0004, "Counters").
 *
 * - group_member_counts: one row per live group; `direct_count` = its direct members that are live
 *   users, `effective_count` = its effective members (group_effective_members rows) that are live
 *   users. The groups repository keeps them in the transaction of every membership and edge change
 *   (under the tenant's group-graph lock); a trigger on users moves a user's groups' counts when
 *   the user is soft-deleted or restored while still a member (users.service.ts ends the
 *   memberships first, so there the trigger finds nothing to move).
 * - group_effective_members.direct: whether the user is also a direct member of the group, so that
 *   the members page and a user's groups read DIRECT/INHERITED from the row they already scan.
 *   The user index carries it, so a user's groups are an index-only range.
 *
 * Existing groups and memberships are counted here.
 */
const statements = [
  `create table group_member_counts (
    tenant_id text not null,
    group_id text not null,
    direct_count bigint not null default 0 check (direct_count >= 0),
    effective_count bigint not null default 0 check (effective_count >= 0),
    primary key (tenant_id, group_id),
    constraint group_member_counts_group_fkey foreign key (tenant_id, group_id)
      references groups (tenant_id, id)
  )`,

  `alter table group_effective_members add column direct boolean not null default false`,
  `update group_effective_members e set direct = true
    from group_memberships m
    where m.tenant_id = e.tenant_id and m.group_id = e.group_id and m.user_id = e.user_id`,
  `create index group_effective_members_user_direct_idx
    on group_effective_members (tenant_id, user_id, group_id) include (direct)`,
  `drop index group_effective_members_user_idx`,

  // Set-based (one pass over each table): the tables may not be analyzed yet (a fresh bulk load),
  // and a correlated count per group could then scan the closure once per group.
  `insert into group_member_counts (tenant_id, group_id, direct_count, effective_count)
    select g.tenant_id, g.id, coalesce(d.n, 0), coalesce(e.n, 0)
    from groups g
    left join (
      select m.tenant_id, m.group_id, count(*) as n from group_memberships m
      join users u on u.tenant_id = m.tenant_id and u.id = m.user_id and u.deleted_at is null
      group by m.tenant_id, m.group_id
    ) d on d.tenant_id = g.tenant_id and d.group_id = g.id
    left join (
      select x.tenant_id, x.group_id, count(*) as n from group_effective_members x
      join users u on u.tenant_id = x.tenant_id and u.id = x.user_id and u.deleted_at is null
      group by x.tenant_id, x.group_id
    ) e on e.tenant_id = g.tenant_id and e.group_id = g.id
    where g.deleted_at is null`,

  // A user soft-deleted (or restored) while still a member leaves (or rejoins) the counts of
  // every group it is a direct or effective member of.
  `create function group_member_counts_user_liveness() returns trigger language plpgsql as $$
   declare
     delta integer := case when new.deleted_at is null then 1 else -1 end;
   begin
     update group_member_counts c set direct_count = c.direct_count + delta
       from group_memberships m
       where m.tenant_id = new.tenant_id and m.user_id = new.id
         and c.tenant_id = m.tenant_id and c.group_id = m.group_id;
     update group_member_counts c set effective_count = c.effective_count + delta
       from group_effective_members e
       where e.tenant_id = new.tenant_id and e.user_id = new.id
         and c.tenant_id = e.tenant_id and c.group_id = e.group_id;
     return null;
   end
   $$`,
  `create trigger users_group_member_counts after update of deleted_at on users
   for each row when ((old.deleted_at is null) <> (new.deleted_at is null))
   execute function group_member_counts_user_liveness()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
