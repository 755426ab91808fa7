import { sql } from 'kysely';
import { isId } from '../../lib/ids.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import { deleteInBatches, type HousekeepingTask } from '../../platform/housekeeping.js';
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

/**
 * How long a `user_sessions` row without a live provider session is kept: the row is written when
 * a session signs in, next to oidc-provider saving the session, so a young row may not have its
 * session yet.
 */
const ENDED_SESSION_GRACE = '1 hour';

/**
 * Forgets `user_sessions` rows of sessions that ended (signed out, revoked: oidc-provider's record
 * is gone) or expired, or that another user's sign-in took over: exactly the rows the sessions
 * lists no longer show (`liveSession`), once inactive for an hour.
 */
async function deleteEndedSessions(db: Queryable, size: number): Promise<number> {
  const result = await db
    .deleteFrom('user_sessions')
    .where(
      sql<boolean>`(tenant_id, id) in (
        select s.tenant_id, s.id from user_sessions s
        where s.last_active_at < now() - ${ENDED_SESSION_GRACE}::interval
          and not exists (
            select 1 from oidc_payloads p
            where p.model = 'Session' and p.uid = s.session_uid
              and (p.expires_at is null or p.expires_at > now())
              and p.payload->>'accountId' = s.user_id)
        limit ${size})`,
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Housekeeping: `user_sessions` rows of ended or expired sessions, every hour. */
export const endedSessionsTask = (db: Queryable): HousekeepingTask => ({
  name: 'user-sessions',
  everyMs: 60 * 60_000,
  run: () => deleteInBatches((size) => deleteEndedSessions(db, size)),
});
