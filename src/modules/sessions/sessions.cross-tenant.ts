import { isId } from '../../lib/ids.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import { pageOfSessions, type SessionRecord, sessionsWithPayload } from './sessions.repository.js';

/**
 * Reads of the sessions module that cross tenants on purpose: the admin API lists sessions across
 * the tenants the caller may see and addresses a session by its id alone (conventions:
 * `*.cross-tenant.ts`). Everything else goes through tenant-bound handles.
 */

/** The tenant of a session of a live tenant, by the session's id alone; undefined when there is none. */
export async function tenantOfSession(db: Queryable, sessionId: string): Promise<string | undefined> {
  if (!isId('session', sessionId)) return undefined;
  const row = await db
    .selectFrom('user_sessions as s')
    .innerJoin('tenants as t', 't.id', 's.tenant_id')
    .select('s.tenant_id')
    .where('s.id', '=', sessionId)
    .where('t.deleted_at', 'is', null)
    .executeTakeFirst();
  return row?.tenant_id;
}

export interface CrossTenantSessionFilter {
  userId?: string | undefined;
  tenantId?: string | undefined;
  partnerId?: string | undefined;
}

/** Live sessions in live tenants within the caller's reach, most recently active first: a page and the total. */
export async function listSessionsAcrossTenants(
  db: Queryable,
  rights: AdminRights,
  filter: CrossTenantSessionFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: SessionRecord[]; total: number }> {
  let base = sessionsWithPayload(db)
    .innerJoin('tenants as t', 't.id', 's.tenant_id')
    .where('t.deleted_at', 'is', null);
  if (rights.level === 'partner_admin') base = base.where('t.partner_id', '=', rights.partnerId ?? '');
  if (rights.level === 'tenant_admin') base = base.where('t.id', '=', rights.tenantId ?? '');
  if (filter.userId) base = base.where('s.user_id', '=', filter.userId);
  if (filter.tenantId) base = base.where('s.tenant_id', '=', filter.tenantId);
  if (filter.partnerId) base = base.where('t.partner_id', '=', filter.partnerId);
  return pageOfSessions(base, page);
}
