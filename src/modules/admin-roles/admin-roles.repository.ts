import { type Expression, type ExpressionBuilder, sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { Database } from '../../platform/db/schema.js';
import type { AdminRoleName } from './admin-roles.schemas.js';

export interface RoleAssignmentRow {
  user_tenant_id: string;
  id: string;
  user_id: string;
  user_email: string;
  role: AdminRoleName;
  /** Stored partner, or for TENANT_ADMIN the partner of the tenant. */
  partner_id: string | null;
  tenant_id: string | null;
  expires_at: Date | null;
  /** Stored flag AND not expired: what the assignment grants now. */
  is_active: boolean;
  stored_active: boolean;
  created_by: string | null;
  created_at: Date;
}

export interface RoleAssignmentFilter {
  role?: AdminRoleName | null;
  userId?: string | null;
  isActive?: boolean | null;
}

type RoleEb = ExpressionBuilder<Database & { r: Database['admin_role_assignments'] }, 'r'>;

/** An assignment grants its role while it is active and not expired (expires_at in the past grants nothing). */
export const grantsNow = sql<boolean>`(r.is_active and (r.expires_at is null or r.expires_at > now()))`;

function activeIs(eb: RoleEb, active: boolean) {
  return active ? eb(grantsNow, '=', true) : eb(grantsNow, '=', false);
}

/** What the highest granting assignment of a user is read as (effective-role.ts). */
export interface GrantingAssignmentRow {
  role: AdminRoleName;
  partner_id: string | null;
  tenant_id: string | null;
  tenant_partner_id: string | null;
}

/**
 * The highest assignment of a user that grants now (active, not expired, on a live user and a live
 * partner / tenant), super > partner > tenant, ties to the oldest (effective-role.ts). The user may
 * be given as a value or as an expression of an enclosing query (the native user grants read it in
 * the same statement as the grant: oidc-adapter.repository.ts).
 */
export function highestGrantingAssignmentQuery(
  db: Queryable,
  userTenantId: string | Expression<string>,
  userId: string | Expression<string>,
) {
  return db
    .selectFrom('admin_role_assignments as r')
    .innerJoin('users as u', (join) =>
      join.onRef('u.tenant_id', '=', 'r.user_tenant_id').onRef('u.id', '=', 'r.user_id'),
    )
    .leftJoin('partners as p', 'p.id', 'r.partner_id')
    .leftJoin('tenants as t', 't.id', 'r.tenant_id')
    .select(['r.role', 'r.partner_id', 'r.tenant_id', 't.partner_id as tenant_partner_id'])
    .where('r.user_tenant_id', '=', userTenantId)
    .where('r.user_id', '=', userId)
    .where('u.deleted_at', 'is', null)
    .where(grantsNow)
    .where((eb) => eb.or([eb('r.partner_id', 'is', null), eb('p.deleted_at', 'is', null)]))
    .where((eb) => eb.or([eb('r.tenant_id', 'is', null), eb('t.deleted_at', 'is', null)]))
    .orderBy(sql`case r.role when 'SUPER_ADMIN' then 0 when 'PARTNER_ADMIN' then 1 else 2 end`)
    .orderBy('r.created_at', 'asc')
    .orderBy('r.id', 'asc')
    .limit(sql.lit(1));
}

export function highestGrantingAssignment(
  db: Queryable,
  userTenantId: string,
  userId: string,
): Promise<GrantingAssignmentRow | undefined> {
  return highestGrantingAssignmentQuery(db, userTenantId, userId).executeTakeFirst();
}

/** Kysely access to admin role assignments (platform-wide: only super admins manage them). */
export function createAdminRolesRepository(db: Queryable) {
  function filtered(filter: RoleAssignmentFilter) {
    let query = db.selectFrom('admin_role_assignments as r');
    if (filter.role) query = query.where('r.role', '=', filter.role);
    if (filter.userId) query = query.where('r.user_id', '=', filter.userId);
    if (filter.isActive !== undefined && filter.isActive !== null) {
      const active = filter.isActive;
      query = query.where((eb) => activeIs(eb, active));
    }
    return query;
  }

  function withDetails(query: ReturnType<typeof filtered>) {
    return query
      .innerJoin('users as u', (join) =>
        join.onRef('u.tenant_id', '=', 'r.user_tenant_id').onRef('u.id', '=', 'r.user_id'),
      )
      .leftJoin('tenants as t', 't.id', 'r.tenant_id')
      .select([
        'r.user_tenant_id',
        'r.id',
        'r.user_id',
        'u.email as user_email',
        'r.role',
        'r.tenant_id',
        'r.expires_at',
        'r.is_active as stored_active',
        'r.created_by',
        'r.created_at',
      ])
      .select(sql<string | null>`coalesce(r.partner_id, t.partner_id)`.as('partner_id'))
      .select(grantsNow.as('is_active'));
  }

  return {
    /** One page, oldest first (stable across pages). */
    async list(filter: RoleAssignmentFilter, limit: number, offset: number): Promise<RoleAssignmentRow[]> {
      return (await withDetails(filtered(filter))
        .orderBy('r.created_at', 'asc')
        .orderBy('r.id', 'asc')
        .limit(limit)
        .offset(offset)
        .execute()) as RoleAssignmentRow[];
    },

    async count(filter: RoleAssignmentFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return row.n;
    },

    async find(id: string): Promise<RoleAssignmentRow | undefined> {
      return (await withDetails(filtered({})).where('r.id', '=', id).executeTakeFirst()) as
        | RoleAssignmentRow
        | undefined;
    },

    /** Locks the assignment row for a change. */
    async lock(id: string): Promise<{ user_tenant_id: string; user_id: string } | undefined> {
      return db
        .selectFrom('admin_role_assignments')
        .select(['user_tenant_id', 'user_id'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
    },

    async forUser(
      userTenantId: string,
      userId: string,
      isActive?: boolean | null,
    ): Promise<RoleAssignmentRow[]> {
      return (await withDetails(filtered({ userId, isActive }))
        .where('r.user_tenant_id', '=', userTenantId)
        .orderBy('r.created_at', 'asc')
        .orderBy('r.id', 'asc')
        .execute()) as RoleAssignmentRow[];
    },

    /** Whether the user already holds this exact role, granted now (another assignment than `exceptId`). */
    async hasActiveDuplicate(
      target: {
        userTenantId: string;
        userId: string;
        role: AdminRoleName;
        partnerId: string | null;
        tenantId: string | null;
      },
      exceptId: string | null = null,
    ): Promise<boolean> {
      let query = db
        .selectFrom('admin_role_assignments as r')
        .select('r.id')
        .where('r.user_tenant_id', '=', target.userTenantId)
        .where('r.user_id', '=', target.userId)
        .where('r.role', '=', target.role)
        .where((eb) =>
          target.partnerId === null
            ? eb('r.partner_id', 'is', null)
            : eb('r.partner_id', '=', target.partnerId),
        )
        .where((eb) =>
          target.tenantId === null ? eb('r.tenant_id', 'is', null) : eb('r.tenant_id', '=', target.tenantId),
        )
        .where((eb) => activeIs(eb, true));
      if (exceptId) query = query.where('r.id', '<>', exceptId);
      return !!(await query.executeTakeFirst());
    },

    async insert(row: {
      user_tenant_id: string;
      id: string;
      user_id: string;
      role: AdminRoleName;
      partner_id: string | null;
      tenant_id: string | null;
      expires_at: string | null;
      created_by: string | null;
    }): Promise<void> {
      await db.insertInto('admin_role_assignments').values(row).execute();
    },

    async update(id: string, changes: { expires_at?: string | null; is_active?: boolean }): Promise<void> {
      await db.updateTable('admin_role_assignments').set(changes).where('id', '=', id).execute();
    },
  };
}
