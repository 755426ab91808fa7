import { type ExpressionBuilder, sql } from 'kysely';
import type { ApplicationScope, ApplicationType, Database, UserStatus } from '../../platform/db/schema.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

/** Removes every application assignment of these users or groups of the tenant (they are being deleted). */
export async function removeAssignmentsOf(
  db: TenantQueryable,
  principalType: 'USER' | 'GROUP',
  principalIds: readonly string[],
): Promise<void> {
  if (principalIds.length === 0) return;
  await db
    .deleteFrom('application_assignments')
    .where('principal_type', '=', principalType)
    .where('principal_id', 'in', [...principalIds])
    .execute();
}

/**
 * Whether a user may use an application that requires assignment: assigned directly, or through
 * any group the user is an effective member of (nested groups included, via the maintained
 * group_effective_members closure). Deleted groups grant nothing (their closure rows are gone, and
 * the join below makes sure). Two index probes; no recursion.
 */
export async function isUserAssigned(
  db: TenantQueryable,
  applicationId: string,
  userId: string,
): Promise<boolean> {
  // Raw SQL is not rewritten by the tenant-bound handle: the predicates name the tenant themselves.
  const tenantId = boundTenantId(db);
  const row = await sql<{ assigned: boolean }>`select (
      exists (select 1 from application_assignments aa
              where aa.tenant_id = ${tenantId} and aa.application_id = ${applicationId}
                and aa.principal_type = 'USER' and aa.principal_id = ${userId})
      or exists (select 1 from group_effective_members e
                 join groups g on g.tenant_id = e.tenant_id and g.id = e.group_id and g.deleted_at is null
                 join application_assignments aa on aa.tenant_id = e.tenant_id
                   and aa.application_id = ${applicationId} and aa.principal_type = 'GROUP'
                   and aa.principal_id = e.group_id
                 where e.tenant_id = ${tenantId} and e.user_id = ${userId})
    ) as assigned`.execute(db);
  return row.rows[0]?.assigned === true;
}

export interface AssignableApplication {
  id: string;
  name: string;
  application_type: ApplicationType;
  scope: ApplicationScope;
  status: 'ACTIVE' | 'DISABLED';
  assignment_required: boolean;
}

export interface AssignmentRow {
  application_id: string;
  application_name: string;
  application_type: ApplicationType;
  scope: ApplicationScope;
  status: 'ACTIVE' | 'DISABLED';
  principal_type: 'USER' | 'GROUP';
  principal_id: string;
  created_at: Date;
}

export interface AssignedUserRow {
  user_id: string;
  email: string;
  display_name: string | null;
  status: UserStatus;
  assigned_at: Date;
}

export interface AssignedGroupRow {
  group_id: string;
  name: string;
  assigned_at: Date;
}

export interface EffectiveUserRow {
  user_id: string;
  email: string;
  display_name: string | null;
  status: UserStatus;
  direct: boolean;
  group_ids: string[];
}

export interface UserApplicationRow extends AssignableApplication {
  direct: boolean;
  group_ids: string[];
}

type AppEb = ExpressionBuilder<Database & { a: Database['applications'] }, 'a'>;

/** A tenant by its id and partner (where its applications come from). */
interface TenantPlace {
  id: string;
  partner_id: string;
}

/** The applications usable in a tenant: its TENANT ones, its partner's PARTNER ones, every GLOBAL one. */
function usableIn(eb: AppEb, tenant: TenantPlace) {
  return eb.or([
    eb('a.scope', '=', 'GLOBAL'),
    eb.and([eb('a.scope', '=', 'PARTNER'), eb('a.partner_id', '=', tenant.partner_id)]),
    eb.and([eb('a.scope', '=', 'TENANT'), eb('a.tenant_id', '=', tenant.id)]),
  ]);
}

/** Raw-SQL twin of `usableIn` for the aggregate queries below. */
function usableInSql(tenant: TenantPlace) {
  return sql`(a.scope = 'GLOBAL' or (a.scope = 'PARTNER' and a.partner_id = ${tenant.partner_id})
    or (a.scope = 'TENANT' and a.tenant_id = ${tenant.id}))`;
}

/** Users reached by an application's assignments in one tenant: direct ones and members of assigned groups. */
function reachedUsers(tenantId: string, applicationId: string) {
  return sql`direct as (
      select aa.principal_id as user_id from application_assignments aa
      where aa.tenant_id = ${tenantId} and aa.application_id = ${applicationId} and aa.principal_type = 'USER'
    ), via as (
      select e.user_id, aa.principal_id as group_id from application_assignments aa
      join groups g on g.tenant_id = aa.tenant_id and g.id = aa.principal_id and g.deleted_at is null
      join group_effective_members e on e.tenant_id = aa.tenant_id and e.group_id = aa.principal_id
      where aa.tenant_id = ${tenantId} and aa.application_id = ${applicationId} and aa.principal_type = 'GROUP'
    ), reached as (select user_id from direct union select user_id from via)`;
}

/**
 * Kysely access to the application assignments of the tenant `db` is bound to (whose partner is
 * `partnerId`): the handle adds the tenant predicate to builder statements; the raw SQL below
 * writes it itself.
 */
export function createAssignmentsRepository(db: TenantQueryable, partnerId: string) {
  const tenantId = boundTenantId(db);
  const tenant: TenantPlace = { id: tenantId, partner_id: partnerId };
  /** This tenant's assignment rows with the application each one is for (AssignmentRow's columns). */
  const withApplication = () =>
    db
      .selectFrom('application_assignments as aa')
      .innerJoin('applications as a', 'a.id', 'aa.application_id')
      .select([
        'aa.application_id',
        'a.name as application_name',
        'a.application_type',
        'a.scope',
        'a.status',
      ])
      .select(['aa.principal_type', 'aa.principal_id', 'aa.created_at']);

  return {
    /**
     * A live application usable in the tenant; `lock` takes a share lock so that a concurrent
     * delete of the application (which removes its assignments) waits for this transaction.
     */
    async findUsable(applicationId: string, lock = false): Promise<AssignableApplication | undefined> {
      let query = db
        .selectFrom('applications as a')
        .select(['a.id', 'a.name', 'a.application_type', 'a.scope', 'a.status', 'a.assignment_required'])
        .where('a.id', '=', applicationId)
        .where('a.deleted_at', 'is', null)
        .where((eb) => usableIn(eb, tenant));
      if (lock) query = query.forShare();
      return query.executeTakeFirst();
    },

    async liveGroup(groupId: string): Promise<boolean> {
      return !!(await db
        .selectFrom('groups')
        .select('id')
        .where('id', '=', groupId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst());
    },

    /** A live user of the tenant; `lock` holds the row so that a concurrent user delete waits. */
    async liveUser(userId: string, lock = false): Promise<boolean> {
      let query = db
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .where('deleted_at', 'is', null);
      if (lock) query = query.forUpdate();
      return !!(await query.executeTakeFirst());
    },

    /** Adds an assignment; `created` is false when it already existed (then nothing changed). */
    async assign(
      applicationId: string,
      principalType: 'USER' | 'GROUP',
      principalId: string,
    ): Promise<{ created: boolean }> {
      const inserted = await db
        .insertInto('application_assignments')
        .values({
          // The handle checks it is its tenant (the column is required by the row type).
          tenant_id: tenantId,
          application_id: applicationId,
          principal_type: principalType,
          principal_id: principalId,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('principal_id')
        .executeTakeFirst();
      return { created: !!inserted };
    },

    async unassign(
      applicationId: string,
      principalType: 'USER' | 'GROUP',
      principalId: string,
    ): Promise<boolean> {
      const result = await db
        .deleteFrom('application_assignments')
        .where('application_id', '=', applicationId)
        .where('principal_type', '=', principalType)
        .where('principal_id', '=', principalId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** One assignment with its application, or undefined. */
    async findAssignment(
      applicationId: string,
      principalType: 'USER' | 'GROUP',
      principalId: string,
    ): Promise<AssignmentRow | undefined> {
      return (await withApplication()
        .where('aa.application_id', '=', applicationId)
        .where('aa.principal_type', '=', principalType)
        .where('aa.principal_id', '=', principalId)
        .executeTakeFirst()) as AssignmentRow | undefined;
    },

    /** Applications assigned to a group directly, by name. */
    async groupAssignments(groupId: string): Promise<AssignmentRow[]> {
      return (await withApplication()
        .where('aa.principal_type', '=', 'GROUP')
        .where('aa.principal_id', '=', groupId)
        .where('a.deleted_at', 'is', null)
        .where((eb) => usableIn(eb, tenant))
        .orderBy(sql`lower(a.name)`)
        .orderBy('a.id')
        .execute()) as AssignmentRow[];
    },

    /** Live users assigned directly, by email. */
    async assignedUsers(applicationId: string): Promise<AssignedUserRow[]> {
      return (await db
        .selectFrom('application_assignments as aa')
        .innerJoin('users as u', 'u.id', 'aa.principal_id')
        .select(['u.id as user_id', 'u.email', 'u.display_name', 'u.status', 'aa.created_at as assigned_at'])
        .where('aa.application_id', '=', applicationId)
        .where('aa.principal_type', '=', 'USER')
        .where('u.deleted_at', 'is', null)
        .orderBy(sql`lower(u.email)`)
        .orderBy('u.id')
        .execute()) as AssignedUserRow[];
    },

    /** Live groups assigned, by name. */
    async assignedGroups(applicationId: string): Promise<AssignedGroupRow[]> {
      return (await db
        .selectFrom('application_assignments as aa')
        .innerJoin('groups as g', 'g.id', 'aa.principal_id')
        .select(['g.id as group_id', 'g.name', 'aa.created_at as assigned_at'])
        .where('aa.application_id', '=', applicationId)
        .where('aa.principal_type', '=', 'GROUP')
        .where('g.deleted_at', 'is', null)
        .orderBy(sql`lower(g.name)`)
        .orderBy('g.id')
        .execute()) as AssignedGroupRow[];
    },

    /**
     * One page of the effective users: direct assignees and effective members of assigned groups,
     * each live user once, by email; `group_ids` lists the assigned groups that reach the user.
     */
    async effectiveUsers(
      applicationId: string,
      limit: number,
      offset: number,
      onlyUserId?: string,
    ): Promise<EffectiveUserRow[]> {
      const only = onlyUserId ? sql`and u.id = ${onlyUserId}` : sql``;
      const result = await sql<EffectiveUserRow>`with ${reachedUsers(tenantId, applicationId)}
        select u.id as user_id, u.email, u.display_name, u.status,
          exists (select 1 from direct d where d.user_id = u.id) as direct,
          coalesce((select jsonb_agg(v.group_id order by v.group_id) from via v where v.user_id = u.id),
                   '[]'::jsonb) as group_ids
        from reached r
        join users u on u.tenant_id = ${tenantId} and u.id = r.user_id
        where u.deleted_at is null ${only}
        order by lower(u.email), u.id
        limit ${limit} offset ${offset}`.execute(db);
      return result.rows;
    },

    async effectiveUserCount(applicationId: string): Promise<number> {
      const result = await sql<{ n: number }>`with ${reachedUsers(tenantId, applicationId)}
        select count(*)::int as n from reached r
        join users u on u.tenant_id = ${tenantId} and u.id = r.user_id
        where u.deleted_at is null`.execute(db);
      return result.rows[0]?.n ?? 0;
    },

    /** Applications a user is assigned to, directly or through any group it is an effective member of. */
    async userApplications(userId: string): Promise<UserApplicationRow[]> {
      const result = await sql<UserApplicationRow>`with direct as (
          select aa.application_id from application_assignments aa
          where aa.tenant_id = ${tenantId} and aa.principal_type = 'USER' and aa.principal_id = ${userId}
        ), via as (
          select aa.application_id, aa.principal_id as group_id from group_effective_members e
          join groups g on g.tenant_id = e.tenant_id and g.id = e.group_id and g.deleted_at is null
          join application_assignments aa on aa.tenant_id = e.tenant_id and aa.principal_type = 'GROUP'
            and aa.principal_id = e.group_id
          where e.tenant_id = ${tenantId} and e.user_id = ${userId}
        )
        select a.id, a.name, a.application_type, a.scope, a.status, a.assignment_required,
          exists (select 1 from direct d where d.application_id = a.id) as direct,
          coalesce((select jsonb_agg(v.group_id order by v.group_id) from via v where v.application_id = a.id),
                   '[]'::jsonb) as group_ids
        from applications a
        where a.id in (select application_id from direct union select application_id from via)
          and a.deleted_at is null and ${usableInSql(tenant)}
        order by lower(a.name), a.id`.execute(db);
      return result.rows;
    },
  };
}

export type AssignmentsRepository = ReturnType<typeof createAssignmentsRepository>;
