import { sql } from 'kysely';
import type { AdminRole } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import { grantsNow } from './admin-roles.repository.js';

export interface EffectiveAdminRole {
  role: AdminRole;
  /** PARTNER_ADMIN: its partner; TENANT_ADMIN: the partner of its tenant; SUPER_ADMIN: null. */
  partnerId: string | null;
  tenantId: string | null;
}

const ROLE_NAMES = {
  SUPER_ADMIN: 'super_admin',
  PARTNER_ADMIN: 'partner_admin',
  TENANT_ADMIN: 'tenant_admin',
} as const satisfies Record<string, AdminRole>;

/**
 * The admin role a user acts with: the highest assignment that grants now (active, not expired,
 * on a live user and a live partner / tenant), super > partner > tenant, ties to the oldest. One
 * token carries one role, so the highest wins rather than a union. Null when the user has none.
 */
export async function effectiveAdminRole(
  db: Queryable,
  userTenantId: string,
  userId: string,
): Promise<EffectiveAdminRole | null> {
  const row = await db
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
    .where(grantsNow, '=', true)
    .where((eb) => eb.or([eb('r.partner_id', 'is', null), eb('p.deleted_at', 'is', null)]))
    .where((eb) => eb.or([eb('r.tenant_id', 'is', null), eb('t.deleted_at', 'is', null)]))
    .orderBy(sql`case r.role when 'SUPER_ADMIN' then 0 when 'PARTNER_ADMIN' then 1 else 2 end`)
    .orderBy('r.created_at', 'asc')
    .orderBy('r.id', 'asc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return {
    role: ROLE_NAMES[row.role],
    partnerId: row.role === 'TENANT_ADMIN' ? row.tenant_partner_id : row.partner_id,
    tenantId: row.role === 'TENANT_ADMIN' ? row.tenant_id : null,
  };
}
