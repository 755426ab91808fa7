import type { Queryable } from '../../platform/db/database.js';

/**
 * The partner's `max_users_per_tenant` for a tenant, read in the caller's transaction, or null
 * when the partner sets none. When there is a limit, the tenant row is locked until the
 * transaction ends, so that concurrent user creates in the tenant cannot pass the limit together.
 */
export async function lockUserLimit(
  db: Queryable,
  tenant: { id: string; partner_id: string },
): Promise<number | null> {
  const partner = await db
    .selectFrom('partners')
    .select('max_users_per_tenant')
    .where('id', '=', tenant.partner_id)
    .executeTakeFirstOrThrow();
  if (partner.max_users_per_tenant === null) return null;
  await db.selectFrom('tenants').select('id').where('id', '=', tenant.id).forUpdate().execute();
  return partner.max_users_per_tenant;
}
