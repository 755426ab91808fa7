import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

/**
 * The recursive definitions the maintained closures must equal (migration 0002), for a check in
 * tests and benchmarks and for rebuilding after bulk loads that bypass the repository.
 *
 * Paths are enumerated one by one: fine for real directories (a few paths per pair), exponential
 * only for long chains of diamonds.
 */
function closureDefinition(tenantId: string) {
  return sql`with recursive paths (ancestor_group_id, descendant_group_id) as (
      select id, id from groups where tenant_id = ${tenantId} and deleted_at is null
      union all
      select p.ancestor_group_id, e.child_group_id
      from paths p
      join group_edges e on e.tenant_id = ${tenantId} and e.parent_group_id = p.descendant_group_id
    )
    select ancestor_group_id, descendant_group_id, count(*)::bigint as path_count
    from paths group by ancestor_group_id, descendant_group_id`;
}

function effectiveDefinition(tenantId: string) {
  return sql`select c.ancestor_group_id as group_id, m.user_id, sum(c.path_count)::bigint as path_count
    from (${closureDefinition(tenantId)}) c
    join group_memberships m on m.tenant_id = ${tenantId} and m.group_id = c.descendant_group_id
    group by c.ancestor_group_id, m.user_id`;
}

export interface ClosureDrift {
  /** Closure rows that differ from the recursive definition (missing, extra or wrong count). */
  closure: {
    ancestor_group_id: string;
    descendant_group_id: string;
    stored: number | null;
    expected: number | null;
  }[];
  /** Effective-member rows that differ from the definition. */
  effective: { group_id: string; user_id: string; stored: number | null; expected: number | null }[];
}

/**
 * Compares group_closure and group_effective_members of a tenant with their recursive definition
 * over group_edges and group_memberships; both lists are empty when the maintained data is exact.
 * The tenant is the handle's (a tenant-bound handle) or given (an ordinary one).
 */
export async function groupClosureDrift(db: TenantQueryable): Promise<ClosureDrift>;
export async function groupClosureDrift(db: Queryable, tenantId: string): Promise<ClosureDrift>;
export async function groupClosureDrift(
  db: Queryable | TenantQueryable,
  givenTenantId?: string,
): Promise<ClosureDrift> {
  const tenantId = givenTenantId ?? boundTenantId(db as TenantQueryable);
  const closure = await sql<ClosureDrift['closure'][number]>`
    select coalesce(s.ancestor_group_id, d.ancestor_group_id) as ancestor_group_id,
           coalesce(s.descendant_group_id, d.descendant_group_id) as descendant_group_id,
           s.path_count::float8 as stored, d.path_count::float8 as expected
    from (select ancestor_group_id, descendant_group_id, path_count from group_closure
          where tenant_id = ${tenantId}) s
    full join (${closureDefinition(tenantId)}) d
      on d.ancestor_group_id = s.ancestor_group_id and d.descendant_group_id = s.descendant_group_id
    where s.path_count is distinct from d.path_count
    order by 1, 2`.execute(db);
  const effective = await sql<ClosureDrift['effective'][number]>`
    select coalesce(s.group_id, d.group_id) as group_id, coalesce(s.user_id, d.user_id) as user_id,
           s.path_count::float8 as stored, d.path_count::float8 as expected
    from (select group_id, user_id, path_count from group_effective_members where tenant_id = ${tenantId}) s
    full join (${effectiveDefinition(tenantId)}) d on d.group_id = s.group_id and d.user_id = s.user_id
    where s.path_count is distinct from d.path_count
    order by 1, 2`.execute(db);
  return { closure: closure.rows, effective: effective.rows };
}

/**
 * Recomputes both closures of a tenant from group_edges and group_memberships, and the member
 * counts (group_member_counts, the `direct` flags): for data written
 * around the repository (bulk seeding, repairs). Run it in a transaction holding the tenant's
 * group lock (lockGroupGraph) when the service is live. The tenant is the handle's (a
 * tenant-bound handle) or given (an ordinary one).
 */
export async function rebuildGroupClosure(db: TenantQueryable): Promise<void>;
export async function rebuildGroupClosure(db: Queryable, tenantId: string): Promise<void>;
export async function rebuildGroupClosure(
  db: Queryable | TenantQueryable,
  givenTenantId?: string,
): Promise<void> {
  const tenantId = givenTenantId ?? boundTenantId(db as TenantQueryable);
  await sql`delete from group_effective_members where tenant_id = ${tenantId}`.execute(db);
  await sql`delete from group_closure where tenant_id = ${tenantId}`.execute(db);
  await sql`insert into group_closure (tenant_id, ancestor_group_id, descendant_group_id, path_count)
    select ${tenantId}, ancestor_group_id, descendant_group_id, path_count
    from (${closureDefinition(tenantId)}) d`.execute(db);
  await sql`insert into group_effective_members (tenant_id, group_id, user_id, path_count, direct)
    select c.tenant_id, c.ancestor_group_id, m.user_id, sum(c.path_count),
      bool_or(c.descendant_group_id = c.ancestor_group_id)
    from group_closure c
    join group_memberships m on m.tenant_id = c.tenant_id and m.group_id = c.descendant_group_id
    where c.tenant_id = ${tenantId}
    group by c.tenant_id, c.ancestor_group_id, m.user_id`.execute(db);
  await sql`delete from group_member_counts where tenant_id = ${tenantId}`.execute(db);
  await sql`insert into group_member_counts (tenant_id, group_id, direct_count, effective_count)
    select tenant_id, group_id, direct_count, effective_count from (${countsDefinition(tenantId)}) d`.execute(
    db,
  );
}

/** The live direct and effective members of every live group of the tenant, counted. */
function countsDefinition(tenantId: string) {
  return sql`select g.tenant_id, g.id as group_id,
      coalesce(d.n, 0)::bigint as direct_count, coalesce(e.n, 0)::bigint as effective_count
    from groups g
    left join (
      select m.group_id, count(*) as n from group_memberships m
      join users u on u.tenant_id = m.tenant_id and u.id = m.user_id and u.deleted_at is null
      where m.tenant_id = ${tenantId} group by m.group_id
    ) d on d.group_id = g.id
    left join (
      select x.group_id, count(*) as n from group_effective_members x
      join users u on u.tenant_id = x.tenant_id and u.id = x.user_id and u.deleted_at is null
      where x.tenant_id = ${tenantId} group by x.group_id
    ) e on e.group_id = g.id
    where g.tenant_id = ${tenantId} and g.deleted_at is null`;
}

export interface CountDrift {
  /** Groups whose stored counts differ from a recount (missing, extra or wrong). */
  counts: {
    group_id: string;
    stored_direct: number | null;
    expected_direct: number | null;
    stored_effective: number | null;
    expected_effective: number | null;
  }[];
  /** Effective-member rows whose `direct` flag differs from the direct memberships. */
  direct: { group_id: string; user_id: string; stored: boolean; expected: boolean }[];
}

/**
 * Compares group_member_counts of a tenant with a recount over group_memberships,
 * group_effective_members and the users' liveness, and the `direct` flag of
 * group_effective_members with group_memberships (migration 0019); both lists are empty when the
 * maintained data is exact. Check groupClosureDrift too: the effective count is only as right as
 * the closure it counts. The tenant is the handle's (a tenant-bound handle) or given.
 */
export async function groupCountDrift(db: TenantQueryable): Promise<CountDrift>;
export async function groupCountDrift(db: Queryable, tenantId: string): Promise<CountDrift>;
export async function groupCountDrift(
  db: Queryable | TenantQueryable,
  givenTenantId?: string,
): Promise<CountDrift> {
  const tenantId = givenTenantId ?? boundTenantId(db as TenantQueryable);
  const counts = await sql<CountDrift['counts'][number]>`
    select coalesce(s.group_id, d.group_id) as group_id,
           s.direct_count::float8 as stored_direct, d.direct_count::float8 as expected_direct,
           s.effective_count::float8 as stored_effective, d.effective_count::float8 as expected_effective
    from (select group_id, direct_count, effective_count from group_member_counts
          where tenant_id = ${tenantId}) s
    full join (${countsDefinition(tenantId)}) d on d.group_id = s.group_id
    where s.direct_count is distinct from d.direct_count
       or s.effective_count is distinct from d.effective_count
    order by 1`.execute(db);
  const direct = await sql<CountDrift['direct'][number]>`
    select e.group_id, e.user_id, e.direct as stored, m.user_id is not null as expected
    from group_effective_members e
    left join group_memberships m
      on m.tenant_id = e.tenant_id and m.group_id = e.group_id and m.user_id = e.user_id
    where e.tenant_id = ${tenantId} and e.direct is distinct from (m.user_id is not null)
    order by 1, 2`.execute(db);
  return { counts: counts.rows, direct: direct.rows };
}
