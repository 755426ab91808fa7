import type { Queryable } from '../../platform/db/database.js';
import { createApplicationsRepository } from './applications.repository.js';

/**
 * A tenant moved to another partner takes its tenant applications along (their partner_id follows
 * the tenant's); called by the tenants service inside the transaction of the move (ADR 0009).
 */
export async function moveTenantApplications(
  trx: Queryable,
  tenantId: string,
  partnerId: string,
): Promise<void> {
  await createApplicationsRepository(trx).moveTenantApplications(tenantId, partnerId);
}
