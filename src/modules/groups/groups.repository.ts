import { type RawBuilder, sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Db, Queryable } from '../../platform/db/database.js';
import { jsonColumnValue } from '../../platform/db/json.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import { bindTenant, boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import { removeAssignmentsOf } from '../applications/index.js';
import type { GroupType } from './groups.schemas.js';

export interface GroupRow {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  group_type: GroupType;
  parent_group_id: string | null;
  custom_attributes: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date | null;
}

export interface GroupDetailsRow extends GroupRow {
  member_count: number;
  effective_member_count: number;
  nested_group_count: number;
  parent_group_path: string | null;
}

export interface GroupListRow {
  id: string;
  tenant_id: string;
  name: string;
  group_type: GroupType;
  member_count: number;
  parent_group_id: string | null;
}

export interface MemberRow {
  user_id: string;
  email: string;
  display_name: string | null;
  direct: boolean;
}

export interface GroupRefRow {
  group_id: string;
  name: string;
  member_count: number;
}

export type EdgeKind = 'HIERARCHY' | 'NESTED';

export interface UserGroupMembershipRow {
  group_id: string;
  name: string;
  membership_type: 'DIRECT' | 'INHERITED';
}

export interface GroupListFilter {
  search?: string | null;
  groupType?: GroupType | null;
  parentGroupId?: string | null;
  /** Groups this (live) user is an effective member of. */
  userId?: string | null;
}

/** Ids as one JSON parameter: the same SQL on PGlite and PostgreSQL, whatever the list length. */
const idSet = (ids: readonly string[]) =>
  sql`(select value from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`;

/**
 * The live direct (`direct_count`) or effective (`effective_count`) members of one group, read by
 * key from group_member_counts (migration 0019), which the writes below keep exact. Both
 * arguments are values or column references (`sql\`g.id\``).
 */
export function liveMemberCount(
  counter: 'direct_count' | 'effective_count',
  tenantId: RawBuilder<unknown> | string,
  groupId: RawBuilder<unknown> | string,
): RawBuilder<number> {
  return sql<number>`coalesce((select ${sql.ref(`mc.${counter}`)} from group_member_counts mc
      where mc.tenant_id = ${tenantId} and mc.group_id = ${groupId}), 0)::int`;
}

/** Slash-joined names of the hierarchy ancestors of the group `g` ("/Engineering/Backend"), or null. */
function parentPath(tenantId: string): RawBuilder<string | null> {
  return sql<string | null>`(with recursive chain (id, parent_group_id, name, depth) as (
      select p.id, p.parent_group_id, p.name, 1 from groups p
      where p.tenant_id = ${tenantId} and p.id = g.parent_group_id
      union all
      select p.id, p.parent_group_id, p.name, c.depth + 1 from chain c
      join groups p on p.tenant_id = ${tenantId} and p.id = c.parent_group_id
      where c.depth < 10000
    ) select '/' || string_agg(name, '/' order by depth desc) from chain)`;
}

// The reads behind a group's routes and its effective members (bench: groups.effective-members),
// built once and, on PostgreSQL, planned once per connection (prepared.ts). They run on
// tenant-bound handles: the tenant predicates are the handle's, and the tenant a parameter.
/** The columns of a group row (`GroupRow`), as the row cache keeps it (`group:<id>`). */
export const GROUP_ROW_COLUMNS = [
  'g.tenant_id',
  'g.id',
  'g.name',
  'g.description',
  'g.group_type',
  'g.parent_group_id',
  'g.custom_attributes',
  'g.created_at',
  'g.updated_at',
] as const;

const findLiveGroup = preparedQuery(1, (db, id: string) =>
  db
    .selectFrom('groups as g')
    .select(GROUP_ROW_COLUMNS)
    .where('g.deleted_at', 'is', null)
    .where('g.id', '=', id),
);

/**
 * A page of live effective members in user id order (the closure's primary-key order), each once,
 * and their exact total (the counter), in one statement: one round trip per page. The result has
 * one row with the total and the page's columns null when the page is empty. The live user (and
 * in a user's groups below, the live group) is a LATERAL lookup by key: the plan stays a walk of
 * the outer index in its order with one probe per row, where the planner otherwise merges with or
 * hashes the whole users or groups table (the table's size instead of the page's).
 */
const effectiveMembersPageWithTotal = preparedQuery(
  3,
  (db, groupId: string, limit: number, offset: number) => ({
    compile: () => {
      const tenantId = boundTenantId(db as TenantQueryable);
      return sql<{
        total: number;
        user_id: string | null;
        email: string | null;
        display_name: string | null;
        direct: boolean | null;
      }>`select c.total, m.user_id, m.email, m.display_name, m.direct
        from (select ${liveMemberCount('effective_count', tenantId, groupId)} as total) c
        left join lateral (
          select e.user_id, u.email, u.display_name, e.direct
          from group_effective_members e
          cross join lateral (select u.email, u.display_name from users u
            where u.tenant_id = ${tenantId} and u.id = e.user_id and u.deleted_at is null limit 1) u
          where e.tenant_id = ${tenantId} and e.group_id = ${groupId}
          order by e.user_id limit ${limit} offset ${offset}
        ) m on true`.compile(db);
    },
  }),
);

/** A user's groups (`userGroups`): on the token path (the `groups` claim), so built once. */
const userGroupsOf = preparedQuery(1, (db, userId: string) =>
  db
    .selectFrom('group_effective_members as e')
    // An index-only range of the user's pairs (direct included), then each live group by key.
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('groups as g')
          .select('g.name')
          .whereRef('g.id', '=', 'e.group_id')
          .where('g.deleted_at', 'is', null)
          .limit(sql.lit(1))
          .as('g'),
      (join) => join.onTrue(),
    )
    .select(['e.group_id', 'g.name'])
    .select((eb) =>
      eb
        .case()
        .when(sql<boolean>`e.direct`)
        .then(sql<'DIRECT'>`'DIRECT'`)
        .else(sql<'INHERITED'>`'INHERITED'`)
        .end()
        .as('membership_type'),
    )
    .where('e.user_id', '=', userId)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('users as u')
          .select('u.id')
          .where('u.id', '=', userId)
          .where('u.deleted_at', 'is', null),
      ),
    )
    .orderBy(sql`lower(g.name)`)
    .orderBy('e.group_id'),
);

/**
 * Kysely access to the groups of one tenant, on a tenant-bound handle (platform/db/tenant-scope.ts):
 * the handle adds the tenant predicate to every builder statement; the raw SQL here writes it
 * itself (`boundTenantId`).
 *
 * The group graph (HIERARCHY edges mirroring `parent_group_id`, NESTED edges) is a DAG kept in
 * group_edges; group_closure and group_effective_members (migration 0002) are maintained here, in
 * the caller's transaction, by every edge and membership change. Callers hold `lockGraph()`.
 *
 * The form with an ordinary handle and a tenant id binds it to the tenant: it serves callers that
 * are not on tenant-bound handles yet (users.service.ts).
 */
export function createGroupsRepository(db: TenantQueryable): GroupsRepository;
export function createGroupsRepository(db: Queryable, tenantId: string): GroupsRepository;
export function createGroupsRepository(db: Queryable | TenantQueryable, tenantId?: string): GroupsRepository {
  return groupsRepository(
    tenantId === undefined ? (db as TenantQueryable) : bindTo(db as Queryable, tenantId),
  );
}

/** `db` bound to `tenantId` (a transaction binds into a transaction: bindTenant's overloads). */
export function bindTo(db: Queryable, tenantId: string): TenantQueryable {
  return bindTenant(db as Db, tenantId);
}

function groupsRepository(db: TenantQueryable) {
  const tenantId = boundTenantId(db);
  const live = () => db.selectFrom('groups as g').where('g.deleted_at', 'is', null);

  /** Adds the paths through a new edge parent → child to both closures. */
  async function linkClosure(parentId: string, childId: string): Promise<void> {
    // Pairs (ancestor of parent, descendant of child) are distinct rows, so each upsert row is
    // touched once; neither side changes by adding this edge (the graph stays acyclic).
    await sql`insert into group_closure (tenant_id, ancestor_group_id, descendant_group_id, path_count)
      select a.tenant_id, a.ancestor_group_id, d.descendant_group_id, a.path_count * d.path_count
      from group_closure a
      join group_closure d on d.tenant_id = a.tenant_id and d.ancestor_group_id = ${childId}
      where a.tenant_id = ${tenantId} and a.descendant_group_id = ${parentId}
      on conflict (tenant_id, ancestor_group_id, descendant_group_id)
      do update set path_count = group_closure.path_count + excluded.path_count`.execute(db);
    // A pair is new exactly when its stored count is the count just added (an existing pair had
    // at least 1 before); new pairs of live users raise their group's effective count. A new pair
    // is never direct: a direct member of an ancestor already had its pair.
    await sql`with source as (
        select a.ancestor_group_id as group_id, e.user_id, a.path_count * e.path_count as path_count
        from group_closure a
        join group_effective_members e on e.tenant_id = a.tenant_id and e.group_id = ${childId}
        where a.tenant_id = ${tenantId} and a.descendant_group_id = ${parentId}
      ), upserted as (
        insert into group_effective_members (tenant_id, group_id, user_id, path_count)
        select ${tenantId}, group_id, user_id, path_count from source
        on conflict (tenant_id, group_id, user_id)
        do update set path_count = group_effective_members.path_count + excluded.path_count
        returning group_id, user_id, path_count
      ), added as (
        select x.group_id, count(*) as n from upserted x
        join source s on s.group_id = x.group_id and s.user_id = x.user_id and s.path_count = x.path_count
        join users u on u.tenant_id = ${tenantId} and u.id = x.user_id and u.deleted_at is null
        group by x.group_id
      )
      update group_member_counts c set effective_count = c.effective_count + added.n
      from added where c.tenant_id = ${tenantId} and c.group_id = added.group_id`.execute(db);
  }

  /** Removes the paths through the edge parent → child from both closures (pairs left at 0 go). */
  async function unlinkClosure(parentId: string, childId: string): Promise<void> {
    const pairs = sql`a.tenant_id = ${tenantId} and a.descendant_group_id = ${parentId}
      and d.tenant_id = ${tenantId} and d.ancestor_group_id = ${childId}
      and t.tenant_id = ${tenantId} and t.ancestor_group_id = a.ancestor_group_id
      and t.descendant_group_id = d.descendant_group_id`;
    await sql`delete from group_closure t using group_closure a, group_closure d
      where ${pairs} and t.path_count = a.path_count * d.path_count`.execute(db);
    await sql`update group_closure t set path_count = t.path_count - a.path_count * d.path_count
      from group_closure a, group_closure d where ${pairs}`.execute(db);
    const members = sql`a.tenant_id = ${tenantId} and a.descendant_group_id = ${parentId}
      and e.tenant_id = ${tenantId} and e.group_id = ${childId}
      and t.tenant_id = ${tenantId} and t.group_id = a.ancestor_group_id and t.user_id = e.user_id`;
    await sql`with removed as (
        delete from group_effective_members t using group_closure a, group_effective_members e
        where ${members} and t.path_count = a.path_count * e.path_count
        returning t.group_id, t.user_id
      ), lost as (
        select x.group_id, count(*) as n from removed x
        join users u on u.tenant_id = ${tenantId} and u.id = x.user_id and u.deleted_at is null
        group by x.group_id
      )
      update group_member_counts c set effective_count = c.effective_count - lost.n
      from lost where c.tenant_id = ${tenantId} and c.group_id = lost.group_id`.execute(db);
    await sql`update group_effective_members t set path_count = t.path_count - a.path_count * e.path_count
      from group_closure a, group_effective_members e where ${members}`.execute(db);
  }

  function filtered(filter: GroupListFilter) {
    let query = live();
    if (filter.search) query = query.where('g.name', 'ilike', likeContains(filter.search));
    if (filter.groupType) query = query.where('g.group_type', '=', filter.groupType);
    if (filter.parentGroupId) query = query.where('g.parent_group_id', '=', filter.parentGroupId);
    if (filter.userId) {
      const userId = filter.userId;
      query = query.where('g.id', 'in', (eb) =>
        eb
          .selectFrom('group_effective_members as e')
          .innerJoin('users as u', 'u.id', 'e.user_id')
          .select('e.group_id')
          .where('e.user_id', '=', userId)
          .where('u.deleted_at', 'is', null),
      );
    }
    return query;
  }

  async function relatives(
    direction: 'child' | 'parent',
    groupId: string,
    limit: number,
    offset: number,
  ): Promise<GroupRefRow[]> {
    const [from, to] =
      direction === 'child'
        ? (['e.parent_group_id', 'e.child_group_id'] as const)
        : (['e.child_group_id', 'e.parent_group_id'] as const);
    return (await db
      .selectFrom('group_edges as e')
      .innerJoin('groups as g', 'g.id', to)
      .select(['g.id as group_id', 'g.name'])
      .select(liveMemberCount('direct_count', tenantId, sql`g.id`).as('member_count'))
      .where(from, '=', groupId)
      .where('g.deleted_at', 'is', null)
      .orderBy(sql`lower(g.name)`)
      .orderBy('g.id')
      .limit(limit)
      .offset(offset)
      .execute()) as GroupRefRow[];
  }

  return {
    /**
     * Serializes every change of this tenant's groups (edges, memberships, deletes) until the
     * transaction ends: cycle checks read the closure under it, and the closures' path counts are
     * only exact if no two changes interleave.
     */
    async lockGraph(): Promise<void> {
      await sql`select pg_advisory_xact_lock(hashtext(${`groups:${tenantId}`}))`.execute(db);
    },

    async find(id: string): Promise<GroupRow | undefined> {
      return (await findLiveGroup(db, id))[0] as GroupRow | undefined;
    },

    /** A live group of the tenant by its name (names are unique per tenant). */
    async findByName(name: string): Promise<{ id: string } | undefined> {
      return db
        .selectFrom('groups')
        .select('id')
        .where('name', '=', name)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
    },

    /** The groups the user is a direct member of. */
    async directGroupsOfUser(userId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('group_memberships')
        .select('group_id')
        .where('user_id', '=', userId)
        .execute();
      return rows.map((row) => row.group_id);
    },

    /** The group with its counts and hierarchy path. */
    async details(id: string): Promise<GroupDetailsRow | undefined> {
      return (await live()
        .selectAll('g')
        .select([
          liveMemberCount('direct_count', tenantId, sql`g.id`).as('member_count'),
          liveMemberCount('effective_count', tenantId, sql`g.id`).as('effective_member_count'),
          sql<number>`(select count(*)::int from group_edges e
            where e.tenant_id = ${tenantId} and e.parent_group_id = g.id)`.as('nested_group_count'),
          parentPath(tenantId).as('parent_group_path'),
        ])
        .where('g.id', '=', id)
        .executeTakeFirst()) as GroupDetailsRow | undefined;
    },

    /** Which of `ids` are live groups of this tenant. */
    async liveGroupIds(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await live()
        .select('g.id')
        .where('g.id', 'in', sql<string>`${idSet(ids)}`)
        .execute();
      return new Set(rows.map((row) => row.id));
    },

    /** Which of `ids` are live users of this tenant. */
    async liveUserIds(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('deleted_at', 'is', null)
        .where('id', 'in', sql<string>`${idSet(ids)}`)
        .execute();
      return new Set(rows.map((row) => row.id));
    },

    async list(filter: GroupListFilter, limit: number, offset: number): Promise<GroupListRow[]> {
      return (await filtered(filter)
        .select(['g.id', 'g.tenant_id', 'g.name', 'g.group_type', 'g.parent_group_id'])
        .select(liveMemberCount('direct_count', tenantId, sql`g.id`).as('member_count'))
        .orderBy(sql`lower(g.name)`)
        .orderBy('g.id')
        .limit(limit)
        .offset(offset)
        .execute()) as GroupListRow[];
    },

    async count(filter: GroupListFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return row.n;
    },

    /** Inserts a group and its reflexive closure row. */
    async insert(row: {
      id: string;
      name: string;
      description: string | null;
      group_type: GroupType;
      parent_group_id: string | null;
      custom_attributes: Record<string, unknown> | null;
    }): Promise<void> {
      // tenant_id is the handle's own (it checks the value): the column is required by the types.
      await db
        .insertInto('groups')
        .values({
          ...row,
          tenant_id: tenantId,
          custom_attributes:
            row.custom_attributes === null ? undefined : JSON.stringify(row.custom_attributes),
        })
        .execute();
      await db
        .insertInto('group_closure')
        .values({
          tenant_id: tenantId,
          ancestor_group_id: row.id,
          descendant_group_id: row.id,
          path_count: 1,
        })
        .execute();
      await db.insertInto('group_member_counts').values({ tenant_id: tenantId, group_id: row.id }).execute();
    },

    async updateFields(
      id: string,
      fields: {
        name?: string;
        description?: string | null;
        custom_attributes?: Record<string, unknown> | null;
        parent_group_id?: string | null;
      },
    ): Promise<void> {
      const { custom_attributes, ...rest } = fields;
      await db
        .updateTable('groups')
        .set({
          ...rest,
          ...(custom_attributes !== undefined
            ? { custom_attributes: jsonColumnValue(custom_attributes) }
            : {}),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    /** Sets `parent_group_id` of several groups (the HIERARCHY edges are the caller's to change). */
    async setParentColumn(ids: readonly string[], parentId: string | null): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('groups')
        .set({ parent_group_id: parentId, updated_at: sql<Date>`now()` })
        .where('id', 'in', [...ids])
        .execute();
    },

    // --- the graph -------------------------------------------------------------------------

    async edge(parentId: string, childId: string): Promise<{ kind: EdgeKind } | undefined> {
      return db
        .selectFrom('group_edges')
        .select('kind')
        .where('parent_group_id', '=', parentId)
        .where('child_group_id', '=', childId)
        .executeTakeFirst();
    },

    /** Whether `descendantId` is reachable from `ancestorId` (or is the same group). */
    async reaches(ancestorId: string, descendantId: string): Promise<boolean> {
      return !!(await db
        .selectFrom('group_closure')
        .select('path_count')
        .where('ancestor_group_id', '=', ancestorId)
        .where('descendant_group_id', '=', descendantId)
        .executeTakeFirst());
    },

    /** Adds the edge parent → child and its paths. The caller has checked it closes no cycle. */
    async addEdge(parentId: string, childId: string, kind: EdgeKind): Promise<void> {
      await db
        .insertInto('group_edges')
        .values({ tenant_id: tenantId, parent_group_id: parentId, child_group_id: childId, kind })
        .execute();
      await linkClosure(parentId, childId);
    },

    async removeEdge(parentId: string, childId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('group_edges')
        .where('parent_group_id', '=', parentId)
        .where('child_group_id', '=', childId)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await unlinkClosure(parentId, childId);
      return true;
    },

    /** Turns an existing edge into the other kind: the paths do not change. */
    async setEdgeKind(parentId: string, childId: string, kind: EdgeKind): Promise<void> {
      await db
        .updateTable('group_edges')
        .set({ kind })
        .where('parent_group_id', '=', parentId)
        .where('child_group_id', '=', childId)
        .execute();
    },

    /** Edges from groups outside `ids` into groups of `ids`. */
    async edgesInto(ids: readonly string[]) {
      return db
        .selectFrom('group_edges')
        .select(['parent_group_id', 'child_group_id', 'kind'])
        .where('child_group_id', 'in', [...ids])
        .where('parent_group_id', 'not in', [...ids])
        .execute();
    },

    /** Edges from groups of `ids` to groups outside `ids`. */
    async edgesOutOf(ids: readonly string[]) {
      return db
        .selectFrom('group_edges')
        .select(['parent_group_id', 'child_group_id', 'kind'])
        .where('parent_group_id', 'in', [...ids])
        .where('child_group_id', 'not in', [...ids])
        .execute();
    },

    async childEdges(id: string) {
      return db
        .selectFrom('group_edges')
        .select(['child_group_id', 'kind'])
        .where('parent_group_id', '=', id)
        .execute();
    },

    /** The group and its descendants along HIERARCHY edges only (the parent_group_id tree). */
    async hierarchySubtree(id: string): Promise<string[]> {
      const rows = await sql<{ id: string }>`with recursive tree (id) as (
          select ${id}::text
          union
          select g.id from groups g join tree on g.tenant_id = ${tenantId} and g.parent_group_id = tree.id
          where g.deleted_at is null
        ) select id from tree`.execute(db);
      return rows.rows.map((row) => row.id);
    },

    /**
     * Removes groups whose incoming edges from outside the set are already gone (so no other group
     * reaches them): their closure rows, effective members, edges, memberships and application
     * assignments, then marks them deleted. Returns how many memberships were unlinked.
     */
    async purge(ids: readonly string[]): Promise<number> {
      const list = [...ids];
      await removeAssignmentsOf(db, 'GROUP', list);
      await db.deleteFrom('group_effective_members').where('group_id', 'in', list).execute();
      await db.deleteFrom('group_member_counts').where('group_id', 'in', list).execute();
      await db
        .deleteFrom('group_closure')
        .where((eb) => eb.or([eb('ancestor_group_id', 'in', list), eb('descendant_group_id', 'in', list)]))
        .execute();
      await db
        .deleteFrom('group_edges')
        .where((eb) => eb.or([eb('parent_group_id', 'in', list), eb('child_group_id', 'in', list)]))
        .execute();
      const memberships = await db
        .deleteFrom('group_memberships')
        .where('group_id', 'in', list)
        .executeTakeFirst();
      await db
        .updateTable('groups')
        .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where('id', 'in', list)
        .execute();
      return Number(memberships.numDeletedRows);
    },

    // --- memberships -----------------------------------------------------------------------

    /** Adds direct memberships (existing ones are left alone); returns the user ids actually added. */
    async addMembers(groupId: string, userIds: readonly string[]): Promise<string[]> {
      if (userIds.length === 0) return [];
      const added = await sql<{
        user_id: string;
      }>`insert into group_memberships (tenant_id, group_id, user_id)
        select ${tenantId}, ${groupId}, ids.value from ${idSet(userIds)} ids (value)
        on conflict do nothing returning user_id`.execute(db);
      const ids = added.rows.map((row) => row.user_id);
      if (ids.length === 0) return ids;
      // The group's own pair (its reflexive closure row) becomes direct; a pair is new exactly
      // when its stored count is the count just added. Live users among the added raise the
      // group's direct count and every ancestor's effective count where their pair is new.
      await sql`with live as (
          select u.id from users u
          where u.tenant_id = ${tenantId} and u.deleted_at is null and u.id in ${idSet(ids)}
        ), upserted as (
          insert into group_effective_members (tenant_id, group_id, user_id, path_count, direct)
          select a.tenant_id, a.ancestor_group_id, ids.value, a.path_count, a.ancestor_group_id = ${groupId}
          from group_closure a cross join ${idSet(ids)} ids (value)
          where a.tenant_id = ${tenantId} and a.descendant_group_id = ${groupId}
          on conflict (tenant_id, group_id, user_id)
          do update set path_count = group_effective_members.path_count + excluded.path_count,
            direct = group_effective_members.direct or excluded.direct
          returning group_id, user_id, path_count
        ), delta as (
          select x.group_id,
            count(*) filter (where x.path_count = a.path_count) as effective,
            count(*) filter (where x.group_id = ${groupId}) as direct
          from upserted x
          join live on live.id = x.user_id
          join group_closure a on a.tenant_id = ${tenantId} and a.ancestor_group_id = x.group_id
            and a.descendant_group_id = ${groupId}
          group by x.group_id
        )
        update group_member_counts c
        set effective_count = c.effective_count + delta.effective, direct_count = c.direct_count + delta.direct
        from delta where c.tenant_id = ${tenantId} and c.group_id = delta.group_id`.execute(db);
      return ids;
    },

    /** Ends direct memberships; returns the user ids that were members. */
    async removeMembers(groupId: string, userIds: readonly string[]): Promise<string[]> {
      if (userIds.length === 0) return [];
      const removed = await sql<{ user_id: string }>`delete from group_memberships
        where tenant_id = ${tenantId} and group_id = ${groupId} and user_id in ${idSet(userIds)}
        returning user_id`.execute(db);
      const ids = removed.rows.map((row) => row.user_id);
      if (ids.length === 0) return ids;
      const pairs = sql`a.tenant_id = ${tenantId} and a.descendant_group_id = ${groupId}
        and t.tenant_id = ${tenantId} and t.group_id = a.ancestor_group_id and t.user_id = ids.value`;
      // Pairs left without a path go (live users among them lower their group's effective count);
      // the others lose the paths and, in the group itself, the direct flag. Live users among the
      // removed lower the group's direct count.
      await sql`with live as (
          select u.id from users u
          where u.tenant_id = ${tenantId} and u.deleted_at is null and u.id in ${idSet(ids)}
        ), removed as (
          delete from group_effective_members t using group_closure a, ${idSet(ids)} ids (value)
          where ${pairs} and t.path_count = a.path_count
          returning t.group_id, t.user_id
        ), delta as (
          select x.group_id, count(*) as effective, 0 as direct
          from removed x join live on live.id = x.user_id group by x.group_id
          union all
          select ${groupId}::text, 0, count(*) from live
        )
        update group_member_counts c
        set effective_count = c.effective_count - d.effective, direct_count = c.direct_count - d.direct
        from (select group_id, sum(effective) as effective, sum(direct) as direct from delta group by group_id) d
        where c.tenant_id = ${tenantId} and c.group_id = d.group_id`.execute(db);
      await sql`update group_effective_members t
        set path_count = t.path_count - a.path_count, direct = t.direct and t.group_id <> ${groupId}
        from group_closure a, ${idSet(ids)} ids (value) where ${pairs}`.execute(db);
      return ids;
    },

    async isDirectMember(groupId: string, userId: string): Promise<boolean> {
      return !!(await db
        .selectFrom('group_memberships')
        .select('user_id')
        .where('group_id', '=', groupId)
        .where('user_id', '=', userId)
        .executeTakeFirst());
    },

    async memberCount(groupId: string): Promise<number> {
      const row = await sql<{
        n: number;
      }>`select ${liveMemberCount('direct_count', tenantId, groupId)} as n`.execute(db);
      return (row.rows[0] as { n: number }).n;
    },

    /** Live direct members in user id order (the membership index order: no sort). */
    async directMembers(groupId: string, limit: number, offset: number): Promise<MemberRow[]> {
      return (await db
        .selectFrom('group_memberships as m')
        .innerJoinLateral(
          (eb) =>
            eb
              .selectFrom('users as u')
              .select(['u.email', 'u.display_name'])
              .whereRef('u.id', '=', 'm.user_id')
              .where('u.deleted_at', 'is', null)
              .limit(sql.lit(1))
              .as('u'),
          (join) => join.onTrue(),
        )
        .select(['m.user_id', 'u.email', 'u.display_name', sql<boolean>`true`.as('direct')])
        .where('m.group_id', '=', groupId)
        .orderBy('m.user_id')
        .limit(limit)
        .offset(offset)
        .execute()) as MemberRow[];
    },

    /** A page of live effective members in user id order, each once, and their exact total. */
    async effectiveMembersWithTotal(
      groupId: string,
      limit: number,
      offset: number,
    ): Promise<{ rows: MemberRow[]; total: number }> {
      const result = await effectiveMembersPageWithTotal(db, groupId, limit, offset);
      const rows: MemberRow[] = [];
      for (const row of result) {
        if (row.user_id === null) continue;
        rows.push(row as MemberRow);
      }
      return { rows, total: result[0]?.total ?? 0 };
    },

    /** Direct child groups (HIERARCHY and NESTED), by name. */
    async childGroups(groupId: string, limit: number, offset: number): Promise<GroupRefRow[]> {
      return relatives('child', groupId, limit, offset);
    },

    /** Direct parent groups (the HIERARCHY parent and NESTED parents), by name. */
    async parentGroups(groupId: string, limit: number, offset: number): Promise<GroupRefRow[]> {
      return relatives('parent', groupId, limit, offset);
    },

    async relativeCount(direction: 'child' | 'parent', groupId: string): Promise<number> {
      const row = await db
        .selectFrom('group_edges')
        .select(sql<number>`count(*)::int`.as('n'))
        .where(direction === 'child' ? 'parent_group_id' : 'child_group_id', '=', groupId)
        .executeTakeFirstOrThrow();
      return row.n;
    },

    /**
     * The groups a user belongs to, inherited ones included (docs/api-contract.md, "Groups"): every live
     * group the user is an effective member of, `DIRECT` where the user is a direct member, else
     * `INHERITED` (a member of a group nested in it). Ordered by name. Empty for an unknown or
     * deleted user. Served by the maintained closure (group_effective_members_user_idx): no
     * recursion at read time.
     */
    async userGroups(userId: string): Promise<UserGroupMembershipRow[]> {
      return (await userGroupsOf(db, userId)) as UserGroupMembershipRow[];
    },

    /**
     * The ids of the users in a group, as a subquery for `where('u.id', 'in', ...)`: its direct
     * members, or with `effective` every user reachable through nested groups too. It does not
     * filter deleted users (the outer users query does). A deleted or unknown group has no members.
     */
    usersInGroup(groupId: string, effective: boolean) {
      // Both tables have (tenant_id, group_id, user_id) leading their primary key; the cast only
      // gives Kysely one static shape for the two.
      const table = (effective ? 'group_effective_members' : 'group_memberships') as 'group_memberships';
      // The tenant predicate is written out: a subquery is compiled by the statement it is placed
      // in, whose handle may not be this one (an ordinary handle adds no predicate).
      return db
        .selectFrom(table)
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('group_id', '=', groupId);
    },
  };
}

export type GroupsRepository = ReturnType<typeof groupsRepository>;
