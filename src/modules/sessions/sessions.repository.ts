import { type ExpressionBuilder, sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { Database } from '../../platform/db/schema.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';

/**
 * Ends every session of a user: sessions, grants, refresh tokens and every other state
 * oidc-provider keeps for the account (stored in oidc_payloads with `accountId`), and ScaiKey's
 * record of those sessions (`user_sessions`).
 */
export async function revokeUserSessions(db: Queryable, userId: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where(sql`payload->>'accountId'`, '=', userId)
    .executeTakeFirst();
  await db.deleteFrom('user_sessions').where('user_id', '=', userId).execute();
  return Number(result.numDeletedRows);
}

/**
 * Whether a grant (one user's sign-in to one client, oidc-provider's `Grant`) still exists and has
 * not expired. oidc-provider removes it when the user signs out, when an authorization code or a
 * rotated refresh token is presented again, and with the user's sessions.
 */
export async function grantIsLive(db: Queryable, grantId: string): Promise<boolean> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select('id')
    .where('model', '=', 'Grant')
    .where('id', '=', grantId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return !!row;
}

/**
 * Ends every session of a user but one sign-in: the grant `keepGrantId` (the sign-in of the access
 * token making the call), the tokens issued from it, and the browser session holding it (its
 * refresh tokens, when not `offline_access`, expire with that session). Every other session, grant,
 * refresh token, code and interaction of the user is removed. Returns how many rows were removed.
 */
export async function revokeUserSessionsExcept(
  db: Queryable,
  userId: string,
  keepGrantId: string,
): Promise<number> {
  if (!keepGrantId) return revokeUserSessions(db, userId);
  const result = await db
    .deleteFrom('oidc_payloads')
    .where(sql`payload->>'accountId'`, '=', userId)
    .where((eb) =>
      eb.not(
        eb.or([
          eb.and([eb('model', '=', 'Grant'), eb('id', '=', keepGrantId)]),
          // coalesce: a null comparison would make the whole `not (…)` null and keep the row.
          eb(sql`coalesce(grant_id, '')`, '=', keepGrantId),
          eb(sql`coalesce(payload->>'grantId', '')`, '=', keepGrantId),
          eb.and([
            eb('model', '=', 'Session'),
            eb.exists(
              sql`(select 1 from jsonb_each(coalesce(payload->'authorizations', '{}'::jsonb)) as a(client_id, entry)
                   where a.entry->>'grantId' = ${keepGrantId})`,
            ),
          ]),
        ]),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A session as stored: ScaiKey's row and oidc-provider's payload (`Session`) with its expiry. */
export interface SessionRecord {
  tenant_id: string;
  id: string;
  user_id: string;
  session_uid: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: Date;
  last_active_at: Date;
  payload: Record<string, unknown>;
  expires_at: Date | null;
}

/** A grant as oidc-provider stores it (`Grant`): its id and payload. */
export interface GrantRecord {
  id: string;
  payload: Record<string, unknown>;
}

type SessionQuery = ExpressionBuilder<
  Database & { s: Database['user_sessions']; p: Database['oidc_payloads'] },
  's' | 'p'
>;

/** oidc-provider's record of the session exists, has not expired and still names the row's user. */
export const liveSession = (eb: SessionQuery) =>
  eb.and([
    eb.or([eb('p.expires_at', 'is', null), eb('p.expires_at', '>', sql<Date>`now()`)]),
    eb(sql`p.payload->>'accountId'`, '=', eb.ref('s.user_id')),
  ]);

/** The sessions of `user_sessions` joined to oidc-provider's record, on any handle. */
export function sessionsWithPayload(db: Queryable) {
  return db
    .selectFrom('user_sessions as s')
    .innerJoin('oidc_payloads as p', (join) =>
      join.on('p.model', '=', 'Session').onRef('p.uid', '=', 's.session_uid'),
    )
    .select([
      's.tenant_id',
      's.id',
      's.user_id',
      's.session_uid',
      's.ip_address',
      's.user_agent',
      's.created_at',
      's.last_active_at',
      'p.payload',
      'p.expires_at',
    ])
    .where(liveSession);
}

/** One page of a sessions query, most recently active first, and the total it pages through. */
export async function pageOfSessions(
  base: ReturnType<typeof sessionsWithPayload>,
  page: { limit: number; offset: number },
): Promise<{ rows: SessionRecord[]; total: number }> {
  const [rows, counted] = await Promise.all([
    base
      .orderBy('s.last_active_at', 'desc')
      .orderBy('s.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.clearSelect().select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as SessionRecord[], total: counted.n };
}

/** The sessions of one tenant (a tenant-bound handle: the tenant predicate is added to every statement). */
export function createSessionsRepository(db: TenantQueryable) {
  return {
    /**
     * Records that a session signed in or was used: its row is made at the first sign-in (with
     * the browser's address and user agent), later uses only move `last_active_at`.
     */
    async noteActivity(input: {
      id: string;
      userId: string;
      sessionUid: string;
      ipAddress: string | null;
      userAgent: string | null;
    }): Promise<void> {
      await db
        .insertInto('user_sessions')
        .values({
          id: input.id,
          user_id: input.userId,
          session_uid: input.sessionUid,
          ip_address: input.ipAddress,
          user_agent: input.userAgent,
        } as never)
        .onConflict((conflict) =>
          conflict.columns(['tenant_id', 'session_uid']).doUpdateSet({ last_active_at: sql<Date>`now()` }),
        )
        .execute();
    },

    /** Live sessions, most recently active first (of one user if given): a page and the total. */
    async list(
      filter: { userId?: string | undefined },
      page: { limit: number; offset: number },
    ): Promise<{ rows: SessionRecord[]; total: number }> {
      let base = sessionsWithPayload(db);
      if (filter.userId) base = base.where('s.user_id', '=', filter.userId);
      return pageOfSessions(base, page);
    },

    /** Every live session (of one user if given), locked until the transaction ends. */
    async lockAll(filter: { userId?: string | undefined }): Promise<SessionRecord[]> {
      let query = sessionsWithPayload(db);
      if (filter.userId) query = query.where('s.user_id', '=', filter.userId);
      return (await query.orderBy('s.id').forUpdate().execute()) as SessionRecord[];
    },

    /** A live session by its id (of one user if given). */
    async find(id: string, userId?: string): Promise<SessionRecord | undefined> {
      let query = sessionsWithPayload(db).where('s.id', '=', id);
      if (userId) query = query.where('s.user_id', '=', userId);
      return (await query.executeTakeFirst()) as SessionRecord | undefined;
    },

    /** A live session by its id (of one user if given), locked until the transaction ends. */
    async lock(id: string, userId?: string): Promise<SessionRecord | undefined> {
      let query = sessionsWithPayload(db).where('s.id', '=', id);
      if (userId) query = query.where('s.user_id', '=', userId);
      return (await query.forUpdate().executeTakeFirst()) as SessionRecord | undefined;
    },

    /** Forgets ScaiKey's record of sessions (after oidc-provider's state was removed). */
    async remove(ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await db.deleteFrom('user_sessions').where('id', 'in', ids).execute();
    },

    /** Forgets ScaiKey's record of every session of a user. */
    async removeOfUser(userId: string): Promise<void> {
      await db.deleteFrom('user_sessions').where('user_id', '=', userId).execute();
    },
  };
}

/**
 * Ends one oidc-provider session: the session itself (found by its uid, never by its cookie
 * value) and the given grants with everything issued under them (authorization codes, refresh
 * tokens; JWT access tokens end with their grant, TokenVerifier checks it).
 */
export async function endOidcSession(db: Queryable, sessionUid: string, grantIds: readonly string[]) {
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('uid', '=', sessionUid).execute();
  await endGrants(db, grantIds);
}

/** Ends grants and everything issued under them; answers how many grants there were. */
export async function endGrants(db: Queryable, grantIds: readonly string[]): Promise<number> {
  if (grantIds.length === 0) return 0;
  await db.deleteFrom('oidc_payloads').where('grant_id', 'in', grantIds).execute();
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('model', '=', 'Grant')
    .where('id', 'in', grantIds)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The live grants of a user (of one client if given), oldest first. */
export async function grantsOfUser(db: Queryable, userId: string, clientId?: string): Promise<GrantRecord[]> {
  let query = db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload'])
    .where('model', '=', 'Grant')
    .where(sql`payload->>'accountId'`, '=', userId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]));
  if (clientId) query = query.where(sql`payload->>'clientId'`, '=', clientId);
  const rows = await query.orderBy('id').execute();
  return rows as GrantRecord[];
}
