import { type Kysely, sql } from 'kysely';

/**
 * Issue 6 (groups): two closures of the group graph, maintained in the transaction of every edge
 * and membership change (src/modules/groups/groups.repository.ts), so that effective members and
 * a user's effective groups are index range scans instead of recursive queries at read time.
 *
 * - group_closure: one row per (ancestor, descendant) pair of live groups with at least one path,
 *   reflexive rows included (path_count 1); `path_count` is the number of distinct paths, so that
 *   removing one edge of a diamond keeps the pairs still reachable by another path.
 * - group_effective_members: one row per (group, user) with the user reachable from the group;
 *   `path_count` = sum over the group's descendants D (itself included) of paths(group → D) for
 *   each D the user is a direct member of. Derived data only: no foreign keys (it is checked
 *   against the recursive definition instead, see group-closure.ts).
 *
 * Both are filled here from any groups, edges and memberships already stored.
 */
const statements = [
  `create table group_closure (
    tenant_id text not null,
    ancestor_group_id text not null,
    descendant_group_id text not null,
    path_count bigint not null check (path_count > 0),
    primary key (tenant_id, ancestor_group_id, descendant_group_id),
    constraint group_closure_ancestor_fkey foreign key (tenant_id, ancestor_group_id)
      references groups (tenant_id, id),
    constraint group_closure_descendant_fkey foreign key (tenant_id, descendant_group_id)
      references groups (tenant_id, id)
  )`,
  `create index group_closure_descendant_idx
    on group_closure (tenant_id, descendant_group_id, ancestor_group_id) include (path_count)`,

  `create table group_effective_members (
    tenant_id text not null,
    group_id text not null,
    user_id text not null,
    path_count bigint not null check (path_count > 0),
    primary key (tenant_id, group_id, user_id)
  )`,
  `create index group_effective_members_user_idx on group_effective_members (tenant_id, user_id, group_id)`,

  // Live counts are computed as "all rows minus rows of deleted users": this index makes the
  // second part cost the (usually few) deleted users instead of a probe per member.
  `create index users_deleted_idx on users (tenant_id, id) where deleted_at is not null`,
  // The admin routes address a group by id alone (ids are globally unique).
  `create index groups_id_idx on groups (id)`,

  `insert into group_closure (tenant_id, ancestor_group_id, descendant_group_id, path_count)
    with recursive paths (tenant_id, ancestor_group_id, descendant_group_id) as (
      select tenant_id, id, id from groups where deleted_at is null
      union all
      select p.tenant_id, p.ancestor_group_id, e.child_group_id
      from paths p
      join group_edges e on e.tenant_id = p.tenant_id and e.parent_group_id = p.descendant_group_id
    )
    select tenant_id, ancestor_group_id, descendant_group_id, count(*) from paths
    group by tenant_id, ancestor_group_id, descendant_group_id`,
  `insert into group_effective_members (tenant_id, group_id, user_id, path_count)
    select c.tenant_id, c.ancestor_group_id, m.user_id, sum(c.path_count)
    from group_closure c
    join group_memberships m on m.tenant_id = c.tenant_id and m.group_id = c.descendant_group_id
    group by c.tenant_id, c.ancestor_group_id, m.user_id`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('drop table group_effective_members').execute(db);
  await sql.raw('drop table group_closure').execute(db);
  await sql.raw('drop index users_deleted_idx').execute(db);
  await sql.raw('drop index groups_id_idx').execute(db);
}
