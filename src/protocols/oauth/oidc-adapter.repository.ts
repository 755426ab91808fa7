import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { isStorableText } from '../../lib/text.js';
import {
  type GrantingAssignmentRow,
  highestGrantingAssignmentQuery,
} from '../../modules/admin-roles/index.js';
import { findUsableClient } from '../../modules/applications/index.js';
import { activeAccountQuery } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import type { ApplicationRow, UserRow } from '../../platform/db/schema.js';
import { deleteInBatches, type HousekeepingTask } from '../../platform/housekeeping.js';
import { CONFIDENTIAL_TYPES } from './client-authentication.js';

/** RFC 8693 token exchange (confidential clients only). */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Extra client metadata ScaiKey hands to oidc-provider with every client. */
export const EXTRA_CLIENT_METADATA = [
  'scaikey_allowed_scopes',
  'scaikey_app_scope',
  'scaikey_partner_id',
  'scaikey_tenant_id',
  'scaikey_token_lifetime',
  'scaikey_application_type',
  'scaikey_assignment_required',
  'scaikey_secret_rotated_at',
  'scaikey_allowed_origins',
];

/** oidc-provider client metadata of an application (the client_id of an application is its id). */
export function clientMetadata(application: ApplicationRow): AdapterPayload {
  const confidential = CONFIDENTIAL_TYPES.has(application.application_type);
  const interactive = application.redirect_uris.length > 0;
  return {
    client_id: application.id,
    // The stored SHA-256 digest; compareClientSecret is overridden to compare against it.
    ...(confidential && application.client_secret_digest
      ? { client_secret: application.client_secret_digest }
      : {}),
    grant_types: [
      ...(confidential ? ['client_credentials', TOKEN_EXCHANGE] : []),
      ...(interactive ? ['authorization_code', 'refresh_token'] : []),
    ],
    response_types: interactive ? ['code'] : [],
    redirect_uris: application.redirect_uris,
    post_logout_redirect_uris: application.post_logout_redirect_uris,
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    // RFC 9126 §6: the authorization endpoint then takes only pushed requests of this client.
    require_pushed_authorization_requests: application.require_pushed_authorization_requests,
    // allowed_scopes are free-form (downstream products define their own), which the standard
    // `scope` metadata does not allow; they travel as extra metadata and are enforced by
    // getResourceServerInfo (platform-provider.ts).
    scaikey_allowed_scopes: application.allowed_scopes,
    scaikey_app_scope: application.scope,
    scaikey_partner_id: application.partner_id,
    scaikey_tenant_id: application.tenant_id,
    scaikey_token_lifetime: application.token_lifetime,
    scaikey_application_type: application.application_type,
    scaikey_assignment_required: application.assignment_required,
    // Browser origins whose requests to the token, PAR, revocation, introspection and userinfo
    // endpoints get CORS headers (cors.ts).
    scaikey_allowed_origins: application.allowed_origins,
    // Tokens minted in the second of a rotation wait for the next one (access-token.ts).
    scaikey_secret_rotated_at: application.secret_rotated_at?.getTime() ?? null,
  };
}

/**
 * oidc-provider's storage in SQL (table oidc_payloads): every session, grant, code and token the
 * provider keeps lives in the database, so any instance can answer and Providers can be evicted.
 * Clients are read from the applications table.
 */
export function createOidcAdapterClass(
  db: Db,
  /** Which applications are clients of this provider (a tenant's provider serves its own). */
  acceptsClient: (application: ApplicationRow) => boolean = () => true,
  /** Where clients are read: the instance's client cache in the app (issue 17), else the table. */
  findClient: (clientId: string) => Promise<ApplicationRow | undefined> = (id) => findUsableClient(db, id),
): new (
  model: string,
) => Adapter {
  return class SqlAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const row: PayloadRow = {
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grantId: payload.grantId ?? null,
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      const pending = pendingWrites.getStore();
      if (pending?.open) {
        // Written with the request's other upserts, before it answers (batchAdapterWrites).
        pending.rows.delete(`${row.model}\u0000${row.id}`);
        pending.rows.set(`${row.model}\u0000${row.id}`, row);
        return;
      }
      await upsertRow(db, row);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      await flushPendingWrites(db);
      // Ids come from requests (client_id, codes, tokens, cookies): one the database cannot hold
      // (a NUL character) cannot exist, and must not reach SQL as an error.
      if (!isStorableText(id)) return undefined;
      if (this.model === 'Client') {
        const application = await findClient(id);
        return application && acceptsClient(application) ? clientMetadata(application) : undefined;
      }
      return this.#findBy('id', id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      await flushPendingWrites(db);
      return this.#findBy('user_code', userCode);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      await flushPendingWrites(db);
      return this.#findBy('uid', uid);
    }

    async consume(id: string): Promise<void> {
      await flushPendingWrites(db);
      await consumePayload(db, this.model, id);
    }

    async destroy(id: string): Promise<void> {
      await flushPendingWrites(db);
      await destroyPayload(db, this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await flushPendingWrites(db);
      await db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
    }

    async #findBy(column: 'id' | 'user_code' | 'uid', value: string): Promise<AdapterPayload | undefined> {
      if (!isStorableText(value)) return undefined;
      const [row] = await findPayloadBy[column](db, this.model, value);
      if (!row) return undefined;
      return {
        ...(row.payload as AdapterPayload),
        ...(row.consumed_at ? { consumed: Math.floor(row.consumed_at.getTime() / 1000) } : {}),
      };
    }
  };
}

/** An upsert of the adapter, as its statement's arguments. */
interface PayloadRow {
  model: string;
  id: string;
  payload: string;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
}

/** One stored row, written alone. */
const upsertRow = (db: Db, row: PayloadRow) =>
  upsertPayload(db, row.model, row.id, row.payload, row.grantId, row.userCode, row.uid, row.expiresAt);

/** The upserts of one provider request not yet written, by model and id (the last one counts). */
interface PendingWrites {
  rows: Map<string, PayloadRow>;
  /** False once the request has answered: a later upsert in its async context writes at once. */
  open: boolean;
}

const pendingWrites = new AsyncLocalStorage<PendingWrites>();

/**
 * Runs one oidc-provider request (`handle`, its middleware chain) with its adapter upserts
 * collected and written together in one statement when it has run, before the answer leaves
 * (Koa writes the response after the whole chain). Every other adapter call (find, consume,
 * destroy, revoke) first writes what was collected, so reads and the order of writes are as
 * without the batch; only consecutive upserts (a sign-in's resume: grant, session, code) share
 * one round trip. A failed write fails the request as a failed upsert would.
 */
export async function batchAdapterWrites<T>(db: Db, handle: () => Promise<T>): Promise<T> {
  const pending: PendingWrites = { rows: new Map(), open: true };
  try {
    return await pendingWrites.run(pending, handle);
  } finally {
    pending.open = false;
    await writePending(db, pending);
  }
}

async function flushPendingWrites(db: Db): Promise<void> {
  const pending = pendingWrites.getStore();
  if (pending && pending.rows.size > 0) await writePending(db, pending);
}

async function writePending(db: Db, pending: PendingWrites): Promise<void> {
  const rows = [...pending.rows.values()];
  pending.rows.clear();
  if (rows.length === 0) return;
  if (rows.length === 1) {
    await upsertRow(db, rows[0] as PayloadRow);
    return;
  }
  await upsertPayloads(
    db,
    rows.map((row) => row.model),
    rows.map((row) => row.id),
    rows.map((row) => row.payload),
    rows.map((row) => row.grantId),
    rows.map((row) => row.userCode),
    rows.map((row) => row.uid),
    rows.map((row) => row.expiresAt?.toISOString() ?? null),
  );
}

/*
 * The adapter's statements, prepared (platform/db/prepared.ts): a sign-in makes a dozen adapter
 * calls (interaction, session, grant, code), each otherwise built and compiled by Kysely anew.
 */
const findPayloadByColumn = (column: 'id' | 'user_code' | 'uid') =>
  preparedQuery<[string, string], { payload: unknown; consumed_at: Date | null }>(2, (db, model, value) =>
    db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at'])
      .where('model', '=', model)
      .where(column, '=', value)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)])),
  );
const findPayloadBy = {
  id: findPayloadByColumn('id'),
  user_code: findPayloadByColumn('user_code'),
  uid: findPayloadByColumn('uid'),
};

const upsertPayload = preparedQuery<
  [string, string, string, string | null, string | null, string | null, Date | null],
  never
>(7, (db, model, id, payload, grantId, userCode, uid, expiresAt) =>
  db
    .insertInto('oidc_payloads')
    .values({ model, id, payload, grant_id: grantId, user_code: userCode, uid, expires_at: expiresAt })
    .onConflict((conflict) =>
      conflict.columns(['model', 'id']).doUpdateSet((eb) => ({
        payload: eb.ref('excluded.payload'),
        grant_id: eb.ref('excluded.grant_id'),
        user_code: eb.ref('excluded.user_code'),
        uid: eb.ref('excluded.uid'),
        expires_at: eb.ref('excluded.expires_at'),
      })),
    ),
);

/** Several upserts in one statement (distinct model and id each), as arrays of their columns. */
const upsertPayloads = preparedQuery<
  [string[], string[], string[], (string | null)[], (string | null)[], (string | null)[], (string | null)[]],
  never
>(7, (db, models, ids, payloads, grantIds, userCodes, uids, expiresAts) => ({
  compile: () =>
    sql<never>`
      insert into oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
      select model, id, cast(payload as jsonb), grant_id, user_code, uid, cast(expires_at as timestamptz)
      from unnest(cast(${models} as text[]), cast(${ids} as text[]), cast(${payloads} as text[]),
        cast(${grantIds} as text[]), cast(${userCodes} as text[]), cast(${uids} as text[]),
        cast(${expiresAts} as text[]))
        as rows (model, id, payload, grant_id, user_code, uid, expires_at)
      on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
        user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`.compile(db),
}));

const consumePayload = preparedQuery<[string, string], never>(2, (db, model, id) =>
  db
    .updateTable('oidc_payloads')
    .set({ consumed_at: sql<Date>`now()` })
    .where('model', '=', model)
    .where('id', '=', id),
);

const destroyPayload = preparedQuery<[string, string], never>(2, (db, model, id) =>
  db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id),
);

/** A code or refresh token as stored, with its grant and (by the token's sessionUid) its session. */
export interface GrantSourceRows {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
  grant: Record<string, unknown> | null;
  session: Record<string, unknown> | null;
  /** The token's account: a live, ACTIVE user of the tenant (activeAccountQuery), or none. */
  account: UserRow | undefined;
  /** The account's highest granting admin role assignment (highestGrantingAssignmentQuery), or none. */
  adminRole: GrantingAssignmentRow | undefined;
}

const live = (alias: string) => sql.raw(`(${alias}.expires_at is null or ${alias}.expires_at > now())`);

/** The columns of the grant source row that are not the account's. */
interface GrantSourceColumns {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
  grant: Record<string, unknown> | null;
  session: Record<string, unknown> | null;
  admin_role: GrantingAssignmentRow['role'] | null;
  admin_partner_id: string | null;
  admin_tenant_id: string | null;
  admin_tenant_partner_id: string | null;
}

type GrantSourceRow = GrantSourceColumns & { [column in keyof UserRow]: UserRow[column] | null };

const accountOfToken = sql<string>`tok.payload->>'accountId'`;

const selectGrantSource = preparedQuery<[string, string, string], GrantSourceRow>(
  3,
  (db, model, id, tenantId) => ({
    compile: () =>
      sql<GrantSourceRow>`
        select tok.payload, tok.consumed_at,
          (select g.payload from oidc_payloads g
            where g.model = 'Grant' and g.id = tok.grant_id and ${live('g')}) as grant,
          (select s.payload from oidc_payloads s
            where s.model = 'Session' and s.uid = tok.payload->>'sessionUid' and ${live('s')}) as session,
          role.role as admin_role, role.partner_id as admin_partner_id, role.tenant_id as admin_tenant_id,
          role.tenant_partner_id as admin_tenant_partner_id,
          account.*
        from oidc_payloads tok
        left join lateral (${activeAccountQuery(db, tenantId, accountOfToken)}) account on true
        left join lateral (${highestGrantingAssignmentQuery(db, tenantId, accountOfToken)}) role on true
        where tok.model = ${model} and tok.id = ${id} and ${live('tok')}`.compile(db),
  }),
);

/**
 * The native user grants' read (user-grants.ts), one statement: the code or refresh token, its
 * grant, its session, and the account of the tenant it names with the account's admin role (so a
 * disabled or deleted user and a changed role count from the next request on). Rows past their
 * expiry are absent, as through the adapter.
 */
export async function readGrantSource(
  db: Db,
  model: 'AuthorizationCode' | 'RefreshToken',
  id: string,
  tenantId: string,
): Promise<GrantSourceRows | undefined> {
  const row = (await selectGrantSource(db, model, id, tenantId))[0];
  if (!row) return undefined;
  const {
    payload,
    consumed_at,
    grant,
    session,
    admin_role,
    admin_partner_id,
    admin_tenant_id,
    admin_tenant_partner_id,
    ...account
  } = row;
  return {
    payload,
    consumed_at,
    grant,
    session,
    account: account.id === null ? undefined : (account as UserRow),
    adminRole:
      admin_role === null
        ? undefined
        : {
            role: admin_role,
            partner_id: admin_partner_id,
            tenant_id: admin_tenant_id,
            tenant_partner_id: admin_tenant_partner_id,
          },
  };
}

const consumeOnce = preparedQuery<[string, string], { id: string }>(2, (db, model, id) => ({
  compile: () =>
    sql<{ id: string }>`
      update oidc_payloads set consumed_at = now()
      where model = ${model} and id = ${id} and consumed_at is null
      returning id`.compile(db),
}));

const consumeOnceAndInsert = preparedQuery<[string, string, string, string, string, Date], { id: string }>(
  6,
  (db, model, id, nextId, payload, grantId, expiresAt) => ({
    compile: () =>
      sql<{ id: string }>`
        with consumed as (
          update oidc_payloads set consumed_at = now()
          where model = ${model} and id = ${id} and consumed_at is null
          returning id
        )
        insert into oidc_payloads (model, id, payload, grant_id, expires_at)
        select 'RefreshToken', ${nextId}, cast(${payload} as jsonb), ${grantId}, ${expiresAt}
        from consumed
        returning id`.compile(db),
  }),
);

/**
 * Consumes a code or refresh token and stores the refresh token issued for it, in one statement:
 * `consumed_at is null` in the update decides which of simultaneous uses wins (the others wait for
 * its row lock, then find it consumed). False: it was already used, and nothing was stored.
 */
export async function consumeAndStoreRefreshToken(
  db: Db,
  model: 'AuthorizationCode' | 'RefreshToken',
  id: string,
  next: { id: string; payload: Record<string, unknown>; grantId: string; expiresAt: Date } | null,
): Promise<boolean> {
  const rows = next
    ? await consumeOnceAndInsert(
        db,
        model,
        id,
        next.id,
        JSON.stringify(next.payload),
        next.grantId,
        next.expiresAt,
      )
    : await consumeOnce(db, model, id);
  return rows.length === 1;
}

/**
 * Removes oidc-provider state past its expiry (sessions, grants, codes, tokens, interactions):
 * the adapter already answers such rows as absent (oidc-provider checks `exp` itself), so they
 * only take room. Rows without an expiry stay. One bounded batch (the expiry index).
 */
async function deleteExpiredPayloads(db: Db, size: number): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where(
      sql<boolean>`(model, id) in (select model, id from oidc_payloads where expires_at < now() limit ${size})`,
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Housekeeping: expired `oidc_payloads` rows, every 10 minutes. */
export const expiredOidcPayloadsTask = (db: Db): HousekeepingTask => ({
  name: 'oidc-payloads',
  everyMs: 10 * 60_000,
  run: () => deleteInBatches((size) => deleteExpiredPayloads(db, size)),
});
