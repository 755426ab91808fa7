import type { AdminRole } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import { type GrantingAssignmentRow, highestGrantingAssignment } from './admin-roles.repository.js';

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
  return toEffectiveAdminRole(await highestGrantingAssignment(db, userTenantId, userId));
}

/** The effective role of a user's highest granting assignment (highestGrantingAssignmentQuery). */
export function toEffectiveAdminRole(
  row: GrantingAssignmentRow | null | undefined,
): EffectiveAdminRole | null {
  if (!row) return null;
  return {
    role: ROLE_NAMES[row.role],
    partnerId: row.role === 'TENANT_ADMIN' ? row.tenant_partner_id : row.partner_id,
    tenantId: row.role === 'TENANT_ADMIN' ? row.tenant_id : null,
  };
}
