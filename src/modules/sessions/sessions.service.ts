import { isId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights, AdminRole } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantQueryable, TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Work } from '../../platform/events/unit-of-work.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { effectiveAdminRole } from '../admin-roles/index.js';
import { listSessionsAcrossTenants, tenantOfSession } from './sessions.cross-tenant.js';
import {
  createSessionsRepository,
  endGrants,
  endOidcSession,
  type GrantRecord,
  grantsOfUser,
  type SessionRecord,
} from './sessions.repository.js';
import type {
  AdminSessionListQuery,
  AuthorizedApp,
  MySessionResponse,
  SessionApplication,
  SessionResponse,
} from './sessions.schemas.js';

/** What the sessions service needs from outside the module (wired by the contexts). */
export interface SessionsDependencies {
  db: Db;
  /** The name of an application by its client_id; null when it is gone or not usable. */
  applicationName(clientId: string): Promise<string | null>;
}

/** Where a change happens: the tenant and its partner (every audit entry names both). */
export interface SessionPlace {
  tenantId: string;
  partnerId: string;
}

/** Runs a unit of work in the tenant of `place` (self-service: the user's own tenant). */
export type TenantWorkRunner = <T>(body: (work: Work<TenantTx>) => Promise<T>) => Promise<T>;

const ROLE_RANK: Record<AdminRole, number> = { super_admin: 0, partner_admin: 1, tenant_admin: 2 };

const sessionNotFound = () => notFound('Session');

/** The grants of a session: one per application signed in through it (`authorizations`). */
function authorizationsOf(payload: Record<string, unknown>): { clientId: string; grantId: string | null }[] {
  const authorizations = payload.authorizations;
  if (!authorizations || typeof authorizations !== 'object') return [];
  return Object.entries(authorizations as Record<string, unknown>).map(([clientId, value]) => {
    const grantId = (value as { grantId?: unknown } | null)?.grantId;
    return { clientId, grantId: typeof grantId === 'string' && grantId !== '' ? grantId : null };
  });
}

const grantIdsOf = (record: SessionRecord) =>
  authorizationsOf(record.payload).flatMap((authorization) =>
    authorization.grantId ? [authorization.grantId] : [],
  );

const seconds = (value: unknown): Date | null =>
  typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : null;

/** The scopes a grant holds: its OpenID scopes and those of its resources. */
function grantScopes(grant: GrantRecord): string[] {
  const payload = grant.payload;
  const scopes: string[] = [];
  const openid = payload.openid as { scope?: unknown } | undefined;
  if (typeof openid?.scope === 'string') scopes.push(...openid.scope.split(' '));
  const resources = payload.resources;
  if (resources && typeof resources === 'object') {
    for (const scope of Object.values(resources as Record<string, unknown>)) {
      if (typeof scope === 'string') scopes.push(...scope.split(' '));
    }
  }
  return scopes.filter(Boolean);
}

export function createSessionsService(deps: SessionsDependencies) {
  const { db } = deps;

  /** Application names for one response, each client looked up once. */
  function nameLookup() {
    const names = new Map<string, Promise<string | null>>();
    return (clientId: string) => {
      let name = names.get(clientId);
      if (!name) {
        name = deps.applicationName(clientId);
        names.set(clientId, name);
      }
      return name;
    };
  }

  async function toResponse(
    record: SessionRecord,
    nameOf: (clientId: string) => Promise<string | null>,
  ): Promise<SessionResponse> {
    const payload = record.payload;
    const applications: SessionApplication[] = await Promise.all(
      authorizationsOf(payload)
        .filter((authorization) => authorization.grantId)
        .map(async ({ clientId }) => ({ client_id: clientId, name: await nameOf(clientId) })),
    );
    const amr = Array.isArray(payload.amr)
      ? payload.amr.filter((x): x is string => typeof x === 'string')
      : [];
    return {
      id: record.id,
      user_id: record.user_id,
      tenant_id: record.tenant_id,
      created_at: (seconds(payload.loginTs) ?? record.created_at).toISOString(),
      last_active_at: record.last_active_at.toISOString(),
      expires_at: record.expires_at ? record.expires_at.toISOString() : null,
      amr,
      acr: typeof payload.acr === 'string' ? payload.acr : null,
      ip_address: record.ip_address,
      user_agent: record.user_agent,
      applications,
    };
  }

  /**
   * Ends sessions at once: oidc-provider's session (the browser's cookie signs in no more), every
   * grant made through it with its authorization codes and refresh tokens, and, since each access
   * token names its grant (TokenVerifier checks it), the access tokens too; verified tokens are
   * forgotten on every instance when the change commits. One `session.revoked` entry per session.
   */
  async function endSessions(w: Work<TenantTx>, place: SessionPlace, records: SessionRecord[]) {
    for (const record of records) {
      const grantIds = grantIdsOf(record);
      await endOidcSession(w.db, record.session_uid, grantIds);
      for (const grantId of grantIds) w.invalidate(`grant:${grantId}`);
      w.audit({
        action: 'session.revoked',
        resourceType: 'session',
        resourceId: record.id,
        tenantId: place.tenantId,
        partnerId: place.partnerId,
        before: { user_id: record.user_id, ip_address: record.ip_address },
        after: { grants_revoked: grantIds.length },
      });
    }
    await createSessionsRepository(w.db).remove(records.map((record) => record.id));
    return records.length;
  }

  /**
   * An administrator ends a user's session only when the user holds no admin role as high as the
   * caller's (the rule of every other change to a user, docs/api-contract.md); a super_admin ends
   * anyone's, and anyone their own.
   */
  async function mayEnd(tenantDb: TenantQueryable, scope: TenantScope, userId: string): Promise<boolean> {
    const principal = scope.call.principal;
    if (principal.kind === 'user' && principal.subject === userId) return true;
    const caller = scope.rights.level;
    if (caller === 'super_admin') return true;
    const held = await effectiveAdminRole(tenantDb, scope.tenant.id, userId);
    return !(held && ROLE_RANK[held.role] <= ROLE_RANK[caller]);
  }

  const placeOf = (scope: TenantScope): SessionPlace => ({
    tenantId: scope.tenant.id,
    partnerId: scope.tenant.partner_id,
  });

  return {
    /** The tenant of a session by its id alone (404 Session when there is none). */
    async tenantOfSession(sessionId: string): Promise<string> {
      const tenantId = await tenantOfSession(db, sessionId);
      if (!tenantId) throw sessionNotFound();
      return tenantId;
    },

    async adminList(rights: AdminRights, query: AdminSessionListQuery, page: PageRequest) {
      const { rows, total } = await listSessionsAcrossTenants(
        db,
        rights,
        { userId: query.user_id, tenantId: query.tenant_id, partnerId: query.partner_id },
        { limit: page.perPage, offset: pageOffset(page) },
      );
      const nameOf = nameLookup();
      return {
        items: await Promise.all(rows.map((row) => toResponse(row, nameOf))),
        pagination: paginationMeta(page, total),
      };
    },

    async get(scope: TenantScope, sessionId: string): Promise<SessionResponse> {
      if (!isId('session', sessionId)) throw sessionNotFound();
      const record = await createSessionsRepository(scope.db).find(sessionId);
      if (!record) throw sessionNotFound();
      return toResponse(record, nameLookup());
    },

    async revoke(scope: TenantScope, sessionId: string): Promise<void> {
      if (!isId('session', sessionId)) throw sessionNotFound();
      await scope.work(async (w) => {
        const record = await createSessionsRepository(w.db).lock(sessionId);
        if (!record) throw sessionNotFound();
        if (!(await mayEnd(w.db, scope, record.user_id))) {
          throw new AppError(
            'FORBIDDEN',
            'The user of this session holds an admin role: only an administrator above it may end it',
          );
        }
        await endSessions(w, placeOf(scope), [record]);
      });
    },

    /**
     * Ends every live session of the tenant, or of one user of it. For a user, also every grant
     * and refresh token the user still holds from sessions that already ended (offline access).
     * Tenant-wide, the sessions of users the caller may not change (an admin role as high as its
     * own) are left alone.
     */
    async revokeAll(scope: TenantScope, userId: string | null): Promise<number> {
      if (userId !== null && !(await mayEnd(scope.db, scope, userId))) {
        throw new AppError(
          'FORBIDDEN',
          'This user holds an admin role: only an administrator above it may end its sessions',
        );
      }
      return scope.work(async (w) => {
        const repository = createSessionsRepository(w.db);
        const records = await repository.lockAll(userId === null ? {} : { userId });
        const ended: SessionRecord[] = [];
        const allowed = new Map<string, boolean>();
        for (const record of records) {
          let may = allowed.get(record.user_id);
          if (may === undefined) {
            may = userId !== null || (await mayEnd(w.db, scope, record.user_id));
            allowed.set(record.user_id, may);
          }
          if (may) ended.push(record);
        }
        const count = await endSessions(w, placeOf(scope), ended);
        if (userId !== null) {
          const remaining = (await grantsOfUser(w.db, userId)).map((grant) => grant.id);
          await endGrants(w.db, remaining);
          for (const grantId of remaining) w.invalidate(`grant:${grantId}`);
          await repository.removeOfUser(userId);
        }
        return count;
      });
    },

    /** A user's own live sessions, most recently active first (at most 100). */
    async mine(
      tenantDb: TenantQueryable,
      userId: string,
      grantId: string | null,
    ): Promise<MySessionResponse[]> {
      const { rows } = await createSessionsRepository(tenantDb).list({ userId }, { limit: 100, offset: 0 });
      const nameOf = nameLookup();
      return Promise.all(
        rows.map(async (row) => ({
          ...(await toResponse(row, nameOf)),
          current: grantId !== null && grantIdsOf(row).includes(grantId),
        })),
      );
    },

    /** A user ends one of their own sessions; another user's session or an unknown id is a 404. */
    async revokeMine(run: TenantWorkRunner, place: SessionPlace, userId: string, sessionId: string) {
      if (!isId('session', sessionId)) throw sessionNotFound();
      await run(async (w) => {
        const record = await createSessionsRepository(w.db).lock(sessionId, userId);
        if (!record) throw sessionNotFound();
        await endSessions(w, place, [record]);
      });
    },

    /** The applications a user has a live grant with, most recently authorized first. */
    async authorizedApps(userId: string): Promise<AuthorizedApp[]> {
      const byClient = new Map<string, { scopes: Set<string>; first: number; last: number }>();
      for (const grant of await grantsOfUser(db, userId)) {
        const clientId = grant.payload.clientId;
        if (typeof clientId !== 'string') continue;
        const issued = typeof grant.payload.iat === 'number' ? grant.payload.iat : 0;
        const entry = byClient.get(clientId) ?? { scopes: new Set<string>(), first: issued, last: issued };
        for (const scope of grantScopes(grant)) entry.scopes.add(scope);
        entry.first = Math.min(entry.first, issued);
        entry.last = Math.max(entry.last, issued);
        byClient.set(clientId, entry);
      }
      const nameOf = nameLookup();
      const apps = await Promise.all(
        [...byClient].map(async ([clientId, entry]) => ({
          client_id: clientId,
          name: await nameOf(clientId),
          scopes: [...entry.scopes].sort(),
          first_authorized_at: new Date(entry.first * 1000).toISOString(),
          last_authorized_at: new Date(entry.last * 1000).toISOString(),
        })),
      );
      return apps.sort(
        (a, b) =>
          b.last_authorized_at.localeCompare(a.last_authorized_at) || a.client_id.localeCompare(b.client_id),
      );
    },

    /**
     * A user withdraws an application's authorization: every grant of the user with that client
     * ends with its refresh tokens and access tokens. The next sign-in to the application makes a
     * new grant. 404 when the user has no live grant with it.
     */
    async revokeAuthorizedApp(run: TenantWorkRunner, place: SessionPlace, userId: string, clientId: string) {
      return run(async (w) => {
        const grantIds = (await grantsOfUser(w.db, userId, clientId)).map((grant) => grant.id);
        if (grantIds.length === 0) throw notFound('Authorized app');
        await endGrants(w.db, grantIds);
        for (const grantId of grantIds) w.invalidate(`grant:${grantId}`);
        w.audit({
          action: 'authorized_app.revoked',
          resourceType: 'application',
          resourceId: clientId,
          tenantId: place.tenantId,
          partnerId: place.partnerId,
          before: { user_id: userId },
          after: { grants_revoked: grantIds.length },
        });
        return { client_id: clientId, grants_revoked: grantIds.length };
      });
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
