import { isId } from '../../lib/ids.js';
import { canSeeTenant, tenantRouteRights } from '../../platform/auth/access.js';
import type { AdminRights, Principal } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { notFound } from '../../platform/errors.js';
import { type RowCache, rowKey } from '../../platform/row-cache.js';
import { createTenantsRepository } from './tenants.repository.js';

/**
 * The live tenant `tenantId` if a caller with `rights` may see it; anything else (malformed id,
 * unknown, deleted, or outside the caller's reach) is a 404 naming `missing`.
 */
export async function visibleTenant(
  db: Queryable,
  rights: AdminRights,
  tenantId: string,
  missing = 'Tenant',
  rows: RowCache | null = null,
): Promise<TenantRow> {
  const load = () => createTenantsRepository(db).findLiveRow(tenantId);
  const tenant = !isId('tenant', tenantId)
    ? undefined
    : rows
      ? await rows.read(rowKey('tenant', tenantId), load)
      : await load();
  if (!tenant || !canSeeTenant(rights, tenant)) throw notFound(missing);
  return tenant;
}

/**
 * The live tenant of a tenant route, if the caller may read (or, with `write`, change) it.
 * A tenant that does not exist, is deleted or is outside the caller's reach is a 404.
 */
export async function accessibleTenant(
  db: Queryable,
  principal: Principal,
  tenantId: string,
  write: boolean,
): Promise<TenantRow> {
  return visibleTenant(db, tenantRouteRights(principal, write), tenantId);
}

/** A live tenant row by id (no visibility check: for services that check the target themselves). */
export async function findLiveTenant(db: Queryable, tenantId: string): Promise<TenantRow | undefined> {
  return createTenantsRepository(db).findLiveRow(tenantId);
}

/** A live tenant row, locked until the transaction ends (changes in the tenant serialize on it). */
export async function lockLiveTenant(db: Queryable, tenantId: string): Promise<TenantRow | undefined> {
  return createTenantsRepository(db).lockLive(tenantId);
}
