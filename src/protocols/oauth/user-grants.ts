import { createHash, randomBytes } from 'node:crypto';
import { signRs256 } from '../../lib/jwt.js';
import { isStorableText } from '../../lib/text.js';
import { toEffectiveAdminRole } from '../../modules/admin-roles/index.js';
import { effectiveSettings, type TenantSettingsInput } from '../../modules/tenants/index.js';
import type { Db } from '../../platform/db/database.js';
import type { ApplicationRow, TenantRow, UserRow } from '../../platform/db/schema.js';
import type { KeyStore } from '../../platform/keys.js';
import { SIGNING_ALG } from '../../platform/keys.js';
import { issuedAfterRotation } from './access-token.js';
import { OIDC_SCOPE_CLAIMS, OIDC_SCOPES, tokenRoleOf, userClaims } from './accounts.js';
import { basicCredentials, type ClientAuthenticator, CONFIDENTIAL_TYPES } from './client-authentication.js';
import { MANAGEMENT_RESOURCE, tenantAcceptsClient } from './endpoints.js';
import {
  consumeAndStoreRefreshToken,
  type GrantSourceRows,
  readGrantSource,
} from './oidc-adapter.repository.js';

/**
 * `grant_type=authorization_code` and `refresh_token` answered natively at a tenant's token URL
 * (docs/adr/0016-native-user-grants.md). It reads oidc-provider's own rows (oidc_payloads: the
 * code or refresh token, its grant and its session) and writes them in the provider's formats, so
 * that either path can continue what the other started. Only the successful, ordinary request is
 * answered here: whenever anything is unusual (a failed check, DPoP, a `claims` request, another
 * resource, a client that is not an application), `null` sends the request to oidc-provider,
 * which answers it, errors included, as it always did. The one write consumes the code or the
 * refresh token with `consumed_at is null` in its condition, so of simultaneous uses at most one
 * wins; a loser is handed over and meets oidc-provider's reuse handling (the grant is revoked).
 */

/** The ID token lifetime of oidc-provider's configuration (ttl.IdToken, oidc-provider.ts). */
const ID_TOKEN_SECONDS = 3600;

/** oidc-provider's `claims` configuration: the claims of each OpenID scope (oidc-provider.ts). */
const SCOPE_CLAIMS: Record<string, readonly string[]> = {
  ...OIDC_SCOPE_CLAIMS,
  openid: [...(OIDC_SCOPE_CLAIMS.openid ?? []), 'acr', 'amr'],
};

export interface UserGrantTokens {
  access_token: string;
  expires_in: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
  token_type: 'Bearer';
}

export interface UserGrantResult {
  clientId: string;
  accountId: string;
  grantType: 'authorization_code' | 'refresh_token';
  response: UserGrantTokens;
}

export interface UserGrantOptions {
  db: Db;
  keys: KeyStore;
  issuer: string;
  tenant: TenantRow;
  clients: ClientAuthenticator;
  params: URLSearchParams;
  authorization: string | undefined;
}

/** An oidc-provider payload as stored (AuthorizationCode, RefreshToken, Grant, Session). */
type Payload = Record<string, unknown>;

const epoch = () => Math.floor(Date.now() / 1000);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The client as oidc-provider would authenticate it: a confidential application by HTTP Basic
 * (its one registered method), a public one by client_id alone. Anything else: null (handed over).
 */
async function authenticatedClient(options: UserGrantOptions): Promise<ApplicationRow | null> {
  const { params, authorization } = options;
  if (params.has('client_secret') || params.has('client_assertion')) return null;
  let application: ApplicationRow;
  try {
    ({ application } = await options.clients.authenticate(authorization, params, { allowPublic: true }));
  } catch {
    return null;
  }
  const confidential = CONFIDENTIAL_TYPES.has(application.application_type);
  if (confidential !== !!basicCredentials(authorization)) return null;
  if (!confidential && authorization !== undefined) return null;
  // A client of this issuer that signs users in (grant types authorization_code and refresh_token).
  if (!tenantAcceptsClient(options.tenant, application) || application.redirect_uris.length === 0)
    return null;
  return application;
}

/** Whether the grant, session and account behind a code or refresh token are as oidc-provider requires. */
function sourceUsable(rows: GrantSourceRows, application: ApplicationRow, now: number): boolean {
  const { payload, grant, session } = rows;
  if (rows.consumed_at !== null) return false;
  if (payload.clientId !== application.id || typeof payload.exp !== 'number' || payload.exp <= now)
    return false;
  // Sender-constrained tokens, rich authorization requests, attestations, `claims` requests: the provider's.
  for (const field of ['jkt', 'x5t#S256', 'dpopJkt', 'rar', 'attestationJkt', 'claims']) {
    if (payload[field] !== undefined) return false;
  }
  if (payload.resource !== MANAGEMENT_RESOURCE || typeof payload.scope !== 'string') return false;
  if (typeof payload.accountId !== 'string' || typeof payload.grantId !== 'string') return false;
  if (!grant || grant.clientId !== application.id || grant.accountId !== payload.accountId) return false;
  if (typeof grant.exp === 'number' && grant.exp <= now) return false;
  if (grant.rejected !== undefined) return false;
  if (payload.expiresWithSession) {
    const authorizations = session?.authorizations as Record<string, { grantId?: string }> | undefined;
    if (
      !session ||
      session.accountId !== payload.accountId ||
      authorizations?.[application.id]?.grantId !== payload.grantId
    ) {
      return false;
    }
  }
  return true;
}

/**
 * The account behind a grant (oidc-provider's findAccount: a live, ACTIVE user of the tenant) and
 * the admin role its access token carries, as the grant source read found them (same statement).
 */
function accountOf(options: UserGrantOptions, rows: GrantSourceRows) {
  return {
    user: rows.account,
    role: tokenRoleOf(options.tenant, toEffectiveAdminRole(rows.adminRole)),
  };
}

/** RFC 7636 S256 (the only method ScaiKey's provider accepts for a code with a challenge). */
function pkceMatches(payload: Payload, verifier: string | null): boolean {
  const challenge = str(payload.codeChallenge);
  if (challenge === undefined) return verifier === null;
  if (verifier === null || payload.codeChallengeMethod !== 'S256') return false;
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  return createHash('sha256').update(verifier).digest('base64url') === challenge;
}

/** A refresh token id like oidc-provider's opaque format (256 bits, 43 URL-safe characters). */
const newOpaqueId = () => randomBytes(32).toString('base64url');

/** oidc-provider's RefreshToken payload: only the fields it stores, none undefined. */
function refreshTokenPayload(fields: Payload): Payload {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The session lifetime of the tenant as now (ttl.RefreshToken of oidc-provider.ts). */
const sessionSeconds = (tenant: TenantRow) =>
  effectiveSettings(tenant.settings as TenantSettingsInput).session_timeout * 60;

/** What oidc-provider issues for a code or refresh token: access token, ID token, response fields. */
async function issue(
  options: UserGrantOptions,
  application: ApplicationRow,
  user: UserRow,
  role: ReturnType<typeof tokenRoleOf>,
  source: Payload,
  grant: Payload,
  scopes: ReadonlySet<string>,
  /** The scope string the account's claims are read for (oidc-provider's getCtxAccountClaims). */
  claimsScope: string,
  now: number,
): Promise<{ accessToken: string; idToken?: string; resourceScope: string }> {
  const { db, tenant, keys, issuer } = options;
  const accountId = source.accountId as string;
  const grantId = source.grantId as string;
  const grantOidcScope = str((grant.openid as Payload | undefined)?.scope) ?? '';
  const grantResourceScope = str((grant.resources as Payload | undefined)?.[MANAGEMENT_RESOURCE]) ?? '';
  // getResourceServerInfo: the resource server's scopes are the application's non-OpenID ones.
  const serverScopes = new Set(application.allowed_scopes.filter((scope) => !OIDC_SCOPES.has(scope)));
  const wanted = new Set([...scopes].filter((scope) => serverScopes.has(scope)));
  const resourceScope = grantResourceScope
    .split(' ')
    .filter((scope) => wanted.has(scope))
    .join(' ');
  // The JWT customizer of oidc-provider.ts: the grant's OpenID scopes and the token's API scopes.
  const tokenScopes = [...new Set([...grantOidcScope.split(' '), ...resourceScope.split(' ')])].filter(
    Boolean,
  );
  const claims = scopes.has('openid')
    ? await userClaims(db, user, new Set(claimsScope.split(' ')))
    : undefined;
  const lifetime = application.token_lifetime;
  const issued = await issuedAfterRotation(now, now + lifetime, application.secret_rotated_at?.getTime());
  const key = keys.active;
  const accessToken = signRs256(
    { alg: SIGNING_ALG, typ: 'at+jwt', kid: key.kid },
    {
      // oidc-provider's access token ids are opaque ids (43 characters), unlike client_credentials'.
      jti: newOpaqueId(),
      ...issued,
      iss: issuer,
      sub: accountId,
      aud: application.id,
      client_id: application.id,
      ...(tokenScopes.length > 0 ? { scope: tokenScopes.join(' ') } : {}),
      tenant_id: tenant.id,
      partner_id: role?.partnerId ?? tenant.partner_id,
      ...(role ? { role: role.role } : {}),
      grant_id: grantId,
    },
    key.privateKey,
  );
  if (!claims) return { accessToken, resourceScope };
  // oidc-provider's IdToken: the account's claims masked by the granted OpenID scopes (conformIdTokenClaims off).
  const available: Payload = { ...claims, acr: source.acr, amr: source.amr, auth_time: source.authTime };
  const released = new Set(
    grantOidcScope
      .split(' ')
      .filter((scope) => scopes.has(scope))
      .flatMap((scope) => SCOPE_CLAIMS[scope] ?? []),
  );
  const idClaims: Payload = {};
  for (const name of released) if (available[name] !== undefined) idClaims[name] = available[name];
  if (source.nonce !== undefined) idClaims.nonce = source.nonce;
  if (source.sid !== undefined) idClaims.sid = source.sid;
  const idToken = signRs256(
    { alg: SIGNING_ALG, kid: key.kid },
    { ...idClaims, aud: application.id, exp: now + ID_TOKEN_SECONDS, iat: now, iss: issuer, sub: accountId },
    key.privateKey,
  );
  return { accessToken, idToken, resourceScope };
}

/** `grant_type=authorization_code` (RFC 6749 §4.1.3 with RFC 7636), or null to hand it over. */
async function authorizationCodeGrant(options: UserGrantOptions): Promise<UserGrantResult | null> {
  const { params, db } = options;
  const code = params.get('code');
  const redirectUri = params.get('redirect_uri');
  if (!code || !redirectUri || !isStorableText(code)) return null;
  const application = await authenticatedClient(options);
  if (!application) return null;
  const rows = await readGrantSource(db, 'AuthorizationCode', code, options.tenant.id);
  const now = epoch();
  if (!rows?.grant || !sourceUsable(rows, application, now)) return null;
  const source = rows.payload;
  if (source.redirectUri !== redirectUri || !pkceMatches(source, params.get('code_verifier'))) return null;
  const scopes = new Set((source.scope as string).split(' ').filter(Boolean));
  const { user, role } = accountOf(options, rows);
  if (!user) return null;
  // issueRefreshToken of oidc-provider.ts.
  const type = application.application_type;
  const withRefresh = type === 'WEB' || type === 'NATIVE' || scopes.has('offline_access');
  const next = withRefresh
    ? nextRefreshToken(options.tenant, application.id, source, now, {
        gty: 'authorization_code',
        rotations: 0,
        iiat: now,
      })
    : null;
  if (!(await consumeAndStoreRefreshToken(db, 'AuthorizationCode', code, next))) return null;
  const tokens = await issue(
    options,
    application,
    user,
    role,
    source,
    rows.grant,
    scopes,
    source.scope as string,
    now,
  );
  return {
    clientId: application.id,
    accountId: source.accountId as string,
    grantType: 'authorization_code',
    response: {
      access_token: tokens.accessToken,
      expires_in: application.token_lifetime,
      ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
      ...(next ? { refresh_token: next.id } : {}),
      scope: tokens.resourceScope,
      token_type: 'Bearer',
    },
  };
}

/** `grant_type=refresh_token` (RFC 6749 §6), rotating as configured, or null to hand it over. */
async function refreshTokenGrant(options: UserGrantOptions): Promise<UserGrantResult | null> {
  const { params, db } = options;
  const value = params.get('refresh_token');
  if (!value || !isStorableText(value)) return null;
  const application = await authenticatedClient(options);
  if (!application) return null;
  const rows = await readGrantSource(db, 'RefreshToken', value, options.tenant.id);
  const now = epoch();
  if (!rows?.grant || !sourceUsable(rows, application, now)) return null;
  const source = rows.payload;
  const tokenScopes = new Set((source.scope as string).split(' ').filter(Boolean));
  // RFC 6749 §6: a narrower scope, within the token's and the application's (getResourceServerInfo).
  const requested = params.get('scope');
  let scopes: ReadonlySet<string> = tokenScopes;
  if (requested) {
    const asked = new Set(requested.split(' ').filter(Boolean));
    const allowed = new Set(application.allowed_scopes);
    for (const scope of asked) {
      if (!tokenScopes.has(scope) || (!OIDC_SCOPES.has(scope) && !allowed.has(scope))) return null;
    }
    scopes = asked;
  }
  const { user, role } = accountOf(options, rows);
  if (!user) return null;
  const gty = str(source.gty);
  const next = nextRefreshToken(options.tenant, application.id, source, now, {
    gty: gty && !gty.endsWith('refresh_token') ? `${gty} refresh_token` : gty,
    rotations: typeof source.rotations === 'number' ? source.rotations + 1 : 1,
    iiat: typeof source.iiat === 'number' ? source.iiat : (source.iat ?? now),
  });
  // rotateRefreshToken: true (oidc-provider.ts): every use consumes the token and issues a new one.
  if (!(await consumeAndStoreRefreshToken(db, 'RefreshToken', value, next))) return null;
  const claimsScope = [...scopes].join(' ');
  const tokens = await issue(options, application, user, role, source, rows.grant, scopes, claimsScope, now);
  return {
    clientId: application.id,
    accountId: source.accountId as string,
    grantType: 'refresh_token',
    response: {
      access_token: tokens.accessToken,
      expires_in: application.token_lifetime,
      ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
      refresh_token: next.id,
      scope: tokens.resourceScope,
      token_type: 'Bearer',
    },
  };
}

/**
 * The refresh token a native grant stores, as oidc-provider would (issueRefreshToken of
 * oidc-provider.ts): the source's session facts, a new opaque id, the tenant's session lifetime.
 */
function nextRefreshToken(
  tenant: TenantRow,
  clientId: string,
  source: Payload,
  now: number,
  lineage: { gty: unknown; rotations: number; iiat: unknown },
) {
  const ttl = sessionSeconds(tenant);
  const id = newOpaqueId();
  return {
    id,
    grantId: source.grantId as string,
    expiresAt: new Date((now + ttl) * 1000),
    payload: refreshTokenPayload({
      iat: now,
      exp: now + ttl,
      accountId: source.accountId,
      acr: source.acr,
      amr: source.amr,
      authTime: source.authTime,
      expiresWithSession: source.expiresWithSession,
      grantId: source.grantId,
      gty: lineage.gty,
      nonce: source.nonce,
      resource: source.resource,
      rotations: lineage.rotations,
      scope: source.scope,
      sessionUid: source.sessionUid,
      sid: source.sid,
      iiat: lineage.iiat,
      jti: id,
      kind: 'RefreshToken',
      clientId,
    }),
  };
}

/** The parameters the native grants know (RFC 6749, RFC 7636); any other, or a repeated one, is the provider's. */
const KNOWN_PARAMETERS = new Set([
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'client_id',
]);

function plainRequest(params: URLSearchParams): boolean {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!KNOWN_PARAMETERS.has(name) || seen.has(name)) return false;
    seen.add(name);
  }
  return true;
}

/** The native user grants; null: the request is oidc-provider's. */
export function userGrant(options: UserGrantOptions): Promise<UserGrantResult | null> {
  if (!plainRequest(options.params)) return Promise.resolve(null);
  const grantType = options.params.get('grant_type');
  if (grantType === 'authorization_code') return authorizationCodeGrant(options);
  if (grantType === 'refresh_token') return refreshTokenGrant(options);
  return Promise.resolve(null);
}
