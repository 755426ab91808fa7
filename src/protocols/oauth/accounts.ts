import { type EffectiveAdminRole, effectiveAdminRole } from '../../modules/admin-roles/index.js';
import { userGroupMemberships } from '../../modules/groups/index.js';
import { findActiveAccount } from '../../modules/users/index.js';
import type { AdminRole } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';

/** Standard OpenID scopes and the claims each one releases (OIDC Core §5.4, plus `groups`). */
export const OIDC_SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};
export const OIDC_SCOPES = new Set([...Object.keys(OIDC_SCOPE_CLAIMS), 'offline_access']);

/** A live, ACTIVE user of the tenant: the subject of a user access token. */
export const findActiveUser = findActiveAccount;

/** The claims of a user for a set of scopes: identity claims by scope, `groups` = effective group ids. */
export async function userClaims(
  db: Db,
  user: UserRow,
  scopes: ReadonlySet<string>,
): Promise<{ sub: string } & Record<string, unknown>> {
  const claims: { sub: string } & Record<string, unknown> = { sub: user.id };
  if (scopes.has('email')) {
    claims.email = user.email;
    claims.email_verified = user.email_verified;
  }
  if (scopes.has('profile')) {
    const name = user.display_name ?? ([user.first_name, user.last_name].filter(Boolean).join(' ') || null);
    Object.assign(claims, {
      ...(name ? { name } : {}),
      ...(user.first_name ? { given_name: user.first_name } : {}),
      ...(user.last_name ? { family_name: user.last_name } : {}),
      preferred_username: user.username ?? user.email,
      locale: user.locale,
      zoneinfo: user.timezone,
      updated_at: Math.floor((user.updated_at ?? user.created_at).getTime() / 1000),
    });
  }
  if (scopes.has('groups')) {
    claims.groups = (await userGroupMemberships(db, user.tenant_id, user.id)).map((group) => group.group_id);
  }
  return claims;
}

/**
 * The admin role a user's access tokens carry: the highest active assignment. A tenant_admin
 * administers the tenant the user belongs to (the token's tenant_id); an assignment for another
 * tenant is not carried.
 */
export async function tokenRole(
  db: Db,
  tenant: TenantRow,
  userId: string,
): Promise<{ role: AdminRole; partnerId: string } | null> {
  return tokenRoleOf(tenant, await effectiveAdminRole(db, tenant.id, userId));
}

/** The role a user token of `tenant` carries for the user's effective admin role (tokenRole). */
export function tokenRoleOf(
  tenant: TenantRow,
  role: EffectiveAdminRole | null,
): { role: AdminRole; partnerId: string } | null {
  if (!role) return null;
  if (role.role === 'tenant_admin' && role.tenantId !== tenant.id) return null;
  return {
    role: role.role,
    partnerId: role.role === 'partner_admin' ? (role.partnerId ?? tenant.partner_id) : tenant.partner_id,
  };
}
