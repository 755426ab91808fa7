import type { AdminRights } from './auth/principal.js';
import type { TenantRow } from './db/schema.js';
import type { TenantDb, TenantTx } from './db/tenant-scope.js';
import type { Work } from './events/unit-of-work.js';
import type { CallContext } from './http.js';

/**
 * What a management route may do, declared on the route (`config: { access }`): the management
 * context checks the caller's rights once and, on a tenant route, resolves `:tenant_id` into
 * `request.tenantScope` before the handler runs (src/contexts/management.ts, ADR 0010).
 *
 * - `tenant`: the tenant routes (`/api/v1/tenants/{tenant_id}/...`), where an application's
 *   `users:read`/`groups:read` also reads (platform/auth/access.ts tenantRouteRights);
 * - `admin`: the admin API (`/api/v1/admin/...`), admin scopes only;
 * - `superAdmin`: refused (403) to anyone below super_admin.
 */
export interface Access {
  readonly area: 'tenant' | 'admin';
  readonly write: boolean;
  readonly superAdmin?: boolean;
}

export const access = {
  tenantRead: { area: 'tenant', write: false },
  tenantWrite: { area: 'tenant', write: true },
  adminRead: { area: 'admin', write: false },
  adminWrite: { area: 'admin', write: true },
  superAdminRead: { area: 'admin', write: false, superAdmin: true },
  superAdminWrite: { area: 'admin', write: true, superAdmin: true },
} as const satisfies Record<string, Access>;

/**
 * One tenant as a caller may act on it: the live tenant row, the caller's rights, the request's
 * audit facts, the tenant-bound database handle (the only handle a tenant service gets for the
 * tenant's rows) and units of work in the tenant. Tenant routes get it from the context; admin
 * routes get it for the tenant of the resource they address (`request.scopeForTenant`), so that
 * both call the same service method.
 */
export interface TenantScope {
  readonly tenant: TenantRow;
  readonly rights: AdminRights;
  readonly call: CallContext;
  readonly db: TenantDb;
  work<T>(body: (work: Work<TenantTx>) => Promise<T>): Promise<T>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The access a management route needs (required in the management context). */
    access?: Access;
  }
  interface FastifyRequest {
    /** The caller's rights for the route's declared access (management context). */
    rights: AdminRights;
    /** The tenant of a tenant route, resolved once (management context). */
    tenantScope: TenantScope;
    /**
     * The scope of a tenant the caller may see, or a 404 naming `missing` (the resource an admin
     * route addresses, so that a tenant out of reach looks like a resource that does not exist).
     */
    scopeForTenant(tenantId: string, missing?: string): Promise<TenantScope>;
  }
}
