import { AppError } from '../errors.js';
import type { AdminRights, Principal } from './principal.js';

export const PLATFORM_TOKEN_SCOPE_DETAIL = 'Platform token requires admin:read or admin:write scope';

/**
 * The admin rights of a caller on `/api/v1/admin/...` (docs/api-contract.md, "Authentication and roles").
 * Every caller needs `admin:read` to read and `admin:write` to write (write implies read), in a
 * token addressed to its own client. A user token then acts with its `role`: it can carry those
 * scopes only from an application whose allowed_scopes include them (the console, first-party
 * tools); a token of any other relying party proves who the user is, not admin power. An
 * application's token acts as super_admin (GLOBAL), its partner's admin (PARTNER) or its tenant's
 * admin (TENANT).
 */
export function adminRights(principal: Principal, write: boolean): AdminRights {
  assertOwnAudience(principal);
  if (principal.kind === 'user') {
    if (!principal.role) throw new AppError('FORBIDDEN', 'Admin role required');
    const canWrite = assertAdminScope(principal, write);
    return {
      level: principal.role,
      partnerId: principal.partnerId,
      tenantId: principal.tenantId,
      canWrite,
    };
  }
  const canWrite = assertAdminScope(principal, write);
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

/**
 * A token addressed to another application (token exchange with `audience`, RFC 8693 §2.1) is that
 * application's to use, not a credential for ScaiKey's management API.
 */
function assertOwnAudience(principal: Principal): void {
  if (!principal.audience.includes(principal.clientId)) {
    throw new AppError('FORBIDDEN', 'Token is addressed to another application');
  }
}

/** Refuses a token without `admin:read` (any request) or `admin:write` (writes); says whether it may write. */
function assertAdminScope(principal: Principal, write: boolean): boolean {
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
  return canWrite;
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
 * an application also reads with `users:read` or `groups:read` (docs/api-contract.md: narrow scopes read
 * the tenant routes only), confined to its partner or tenant like its admin scopes.
 */
export function tenantRouteRights(principal: Principal, write: boolean): AdminRights {
  assertOwnAudience(principal);
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
