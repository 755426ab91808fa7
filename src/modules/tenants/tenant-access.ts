import { isId } from '../../lib/ids.js';
import { canSeeTenant, tenantRouteRights } from '../../platform/auth/access.js';
import type { Principal } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { notFound } from '../../platform/errors.js';
import { createTenantsRepository } from './tenants.repository.js';

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
  const rights = tenantRouteRights(principal, write);
  const tenant = isId('tenant', tenantId)
    ? await createTenantsRepository(db).findLiveRow(tenantId)
    : undefined;
  if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
  return tenant;
}
