import { sql } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { isStorableText } from '../../lib/text.js';
import { findUsableClient } from '../../modules/applications/index.js';
import type { Db } from '../../platform/db/database.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
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
): new (
  model: string,
) => Adapter {
  return class SqlAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await upsertPayload(
        db,
        this.model,
        id,
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Ids come from requests (client_id, codes, tokens, cookies): one the database cannot hold
      // (a NUL character) cannot exist, and must not reach SQL as an error.
      if (!isStorableText(id)) return undefined;
      if (this.model === 'Client') {
        const application = await findUsableClient(db, id);
        return application && acceptsClient(application) ? clientMetadata(application) : undefined;
      }
      return this.#findBy('id', id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('user_code', userCode);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('uid', uid);
    }

    async consume(id: string): Promise<void> {
      await consumePayload(db, this.model, id);
    }

    async destroy(id: string): Promise<void> {
      await destroyPayload(db, this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
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
}

const live = (alias: string) => sql.raw(`(${alias}.expires_at is null or ${alias}.expires_at > now())`);

const selectGrantSource = preparedQuery<[string, string], GrantSourceRows>(2, (db, model, id) => ({
  compile: () =>
    sql<GrantSourceRows>`
      select t.payload, t.consumed_at,
        (select g.payload from oidc_payloads g
          where g.model = 'Grant' and g.id = t.grant_id and ${live('g')}) as grant,
        (select s.payload from oidc_payloads s
          where s.model = 'Session' and s.uid = t.payload->>'sessionUid' and ${live('s')}) as session
      from oidc_payloads t
      where t.model = ${model} and t.id = ${id} and ${live('t')}`.compile(db),
}));

/**
 * The native user grants' read (user-grants.ts): the code or refresh token, its grant and its
 * session in one statement; rows past their expiry are absent, as through the adapter.
 */
export async function readGrantSource(
  db: Db,
  model: 'AuthorizationCode' | 'RefreshToken',
  id: string,
): Promise<GrantSourceRows | undefined> {
  return (await selectGrantSource(db, model, id))[0];
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
