import { AppError } from '../errors.js';
import type { AdminRights, Principal } from './principal.js';

export const PLATFORM_TOKEN_SCOPE_DETAIL = 'Platform token requires admin:read or admin:write scope';

/**
 * The admin rights of a caller on `/api/v1/admin/...` (decisions.md, "Authentication and roles").
 * A user token acts with its `role`. An application token needs `admin:read` to read and
 * `admin:write` to write (write implies read); a GLOBAL application then acts as super_admin,
 * a PARTNER one as its partner's admin, a TENANT one as its tenant's admin.
 */
export function adminRights(principal: Principal, write: boolean): AdminRights {
  if (principal.kind === 'user') {
    if (!principal.role) throw new AppError('FORBIDDEN', 'Admin role required');
    return {
      level: principal.role,
      partnerId: principal.partnerId,
      tenantId: principal.tenantId,
      canWrite: true,
    };
  }
  const canWrite = principal.scopes.has('admin:write');
  const canRead = canWrite || principal.scopes.has('admin:read');
  if (!canRead) {
    throw new AppError(
      'FORBIDDEN',
      principal.platformToken
        ? PLATFORM_TOKEN_SCOPE_DETAIL
        : 'Token requires admin:read or admin:write scope',
    );
  }
  if (write && !canWrite) throw new AppError('FORBIDDEN', 'This operation requires the admin:write scope');
  switch (principal.appScope) {
    case 'GLOBAL':
      return { level: 'super_admin', partnerId: null, tenantId: null, canWrite };
    case 'PARTNER':
      return { level: 'partner_admin', partnerId: principal.partnerId, tenantId: null, canWrite };
    default:
      return {
        level: 'tenant_admin',
        partnerId: principal.partnerId,
        tenantId: principal.tenantId,
        canWrite,
      };
  }
}

/** Refuses anyone but a super_admin (partners API, tenant writes). */
export function requireSuperAdmin(rights: AdminRights): void {
  if (rights.level !== 'super_admin')
    throw new AppError('FORBIDDEN', 'This operation requires the super_admin role');
}

/** Whether the caller may see a tenant (anything outside its reach answers 404, never 403). */
export function canSeeTenant(rights: AdminRights, tenant: { id: string; partner_id: string }): boolean {
  switch (rights.level) {
    case 'super_admin':
      return true;
    case 'partner_admin':
      return tenant.partner_id === rights.partnerId;
    default:
      return tenant.id === rights.tenantId;
  }
}

/** Scopes that let an application read the tenant directory routes without admin rights. */
export const DIRECTORY_READ_SCOPES = ['users:read', 'groups:read'] as const;

/**
 * Rights on the tenant routes (`/api/v1/tenants/{tenant_id}/...`): admins as on the admin API;
 * an application also reads with `users:read` or `groups:read` (decisions.md: narrow scopes read
 * the tenant routes only), confined to its partner or tenant like its admin scopes.
 */
export function tenantRouteRights(principal: Principal, write: boolean): AdminRights {
  if (
    principal.kind === 'application' &&
    !write &&
    !principal.scopes.has('admin:read') &&
    !principal.scopes.has('admin:write')
  ) {
    if (!DIRECTORY_READ_SCOPES.some((scope) => principal.scopes.has(scope))) {
      throw new AppError(
        'FORBIDDEN',
        'Token requires admin:read, admin:write, users:read or groups:read scope',
      );
    }
    const narrowed = { ...principal, scopes: new Set(['admin:read']) };
    return { ...adminRights(narrowed, false), canWrite: false };
  }
  return adminRights(principal, write);
}
