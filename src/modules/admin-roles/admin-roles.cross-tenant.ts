import type { Queryable } from '../../platform/db/database.js';

/**
 * Users addressed by id alone (ids are globally unique): an admin role may be given to a user of
 * any tenant, so these lookups cross tenants on purpose (super admins only reach them).
 */

/** A live user in a live tenant, with the tenant's partner. */
export async function findLiveUserAnywhere(
  db: Queryable,
  userId: string,
): Promise<{ id: string; tenant_id: string; email: string; partner_id: string } | undefined> {
  return db
    .selectFrom('users as u')
    .innerJoin('tenants as t', 't.id', 'u.tenant_id')
    .select(['u.id', 'u.tenant_id', 'u.email', 't.partner_id'])
    .where('u.id', '=', userId)
    .where('u.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Locks a live user row until the transaction ends; false when the user is gone. */
export async function lockLiveUser(db: Queryable, tenantId: string, userId: string): Promise<boolean> {
  const locked = await db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  return locked !== undefined;
}
