import { createHash, randomBytes } from 'node:crypto';
import type * as client from 'openid-client';
import { lazyImport } from '../../../lib/lazy-import.js';
import { expiringLru, setUntil } from '../../../lib/lru.js';
import { AppError, type ErrorCode } from '../../../platform/errors.js';
import type { ConnectionCheck, OidcProviderConfig, UpstreamIdentity } from '../types.js';

/** openid-client, loaded at the first upstream OIDC use (docs/performance.md, "Idle memory"). */
const openidClient = lazyImport(() => import('openid-client'));
type OpenidClient = typeof client;

/**
 * Upstream OpenID Connect (issue 15): ScaiKey as the relying party of a tenant's identity provider,
 * with openid-client. Pure functions over an {@link OidcProviderConfig}: resolve the preset,
 * discover the provider (cached), build the authorization request (code + PKCE S256 + nonce +
 * state), and turn the callback into an {@link UpstreamIdentity} after every check of OpenID
 * Connect Core §3.1.3.7 (iss, aud, signature, nonce, exp — done by openid-client) passed. Where the
 * login's state, nonce and code verifier are kept, and what becomes of the identity, is the
 * federation core's business.
 */

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const DEFAULT_SCOPES = 'openid email profile';
export const DEFAULT_GROUPS_CLAIM = 'groups';

/** Seconds an upstream request (discovery, token, userinfo, JWKS) may take. */
const REQUEST_TIMEOUT_SECONDS = 10;
/** How long a discovered configuration is reused before the provider's metadata is read again. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;

/**
 * Entra ID's multi-tenant endpoints: their ID tokens come from whichever directory the user belongs
 * to, so a provider configured with one of them would let every Entra user in the world sign in.
 */
const ENTRA_MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
/** A directory (tenant) id (a GUID) or one of its domains (contoso.onmicrosoft.com, contoso.com). */
const ENTRA_TENANT =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)$/i;

/** Why an upstream sign-in or a discovery failed, for the federation core to tell apart. */
export type UpstreamOidcFailure =
  /** The configuration cannot work (insecure or malformed issuer, multi-tenant Entra endpoint). */
  | 'configuration'
  /** The provider's metadata could not be read or is not valid. */
  | 'discovery'
  /** The provider answered the authorization request with `error` (e.g. `access_denied`). */
  | 'upstream_error'
  /** The callback's `state` is not the one of this login. */
  | 'state_mismatch'
  /** The ID token's `nonce` is not the one of this login. */
  | 'nonce_mismatch'
  /** The token endpoint refused the code (`invalid_grant`: used, expired, or PKCE mismatch) or the client. */
  | 'token_error'
  /** The callback or the token response is not valid (ID token signature, iss, aud, exp, missing claims). */
  | 'invalid_response'
  /** The provider could not be reached or did not answer in time. */
  | 'unreachable';

/**
 * An upstream OIDC failure: an {@link AppError} (so that it is answered as one) that also says
 * which check failed and, when the provider answered with an OAuth error, that error and its
 * description. Never carries a code, token or secret.
 */
export class UpstreamOidcError extends AppError {
  constructor(
    readonly reason: UpstreamOidcFailure,
    detail: string,
    readonly upstream: { error: string; description: string | null } | null = null,
    code: ErrorCode = reason === 'configuration'
      ? 'BAD_REQUEST'
      : reason === 'unreachable'
        ? 'SERVICE_UNAVAILABLE'
        : 'FEDERATION_FAILED',
  ) {
    super(code, detail);
  }
}

/**
 * The issuer a provider's configuration stands for: the preset's (Google; Entra ID from its
 * directory id) or the one given (generic). Presets are only defaults of the same code path.
 */
export function resolveIssuer(
  config: Pick<OidcProviderConfig, 'preset' | 'issuer' | 'entra_tenant_id'>,
): string {
  if (config.preset === 'google') return GOOGLE_ISSUER;
  if (config.preset === 'entra') {
    const tenant = config.entra_tenant_id?.trim() ?? '';
    if (ENTRA_MULTI_TENANT.has(tenant.toLowerCase())) {
      throw new UpstreamOidcError(
        'configuration',
        `Entra ID tenant "${tenant}" is a multi-tenant endpoint whose tokens come from any directory; give your directory (tenant) id`,
      );
    }
    if (!ENTRA_TENANT.test(tenant)) {
      throw new UpstreamOidcError(
        'configuration',
        'An Entra ID provider needs entra_tenant_id: the directory (tenant) id or a verified domain of the directory',
      );
    }
    return `https://login.microsoftonline.com/${tenant.toLowerCase()}/v2.0`;
  }
  return config.issuer;
}

/** The issuer as a URL, refusing what no deployment should talk to (http:// unless allowed). */
function issuerUrl(issuer: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new UpstreamOidcError('configuration', `The issuer "${issuer}" is not a URL`);
  }
  if (url.protocol === 'http:' && !allowInsecure) {
    throw new UpstreamOidcError(
      'configuration',
      `The issuer ${url.origin} is not https://; plain http is only allowed for local test providers`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UpstreamOidcError('configuration', `The issuer "${issuer}" is not an https:// URL`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new UpstreamOidcError('configuration', 'The issuer has no query, fragment or credentials');
  }
  return url;
}

export interface DiscoverOptions {
  /**
   * Allow an http:// issuer (and http:// endpoints). For loopback test providers only; the
   * proposed setting is `SCAIKEY_FEDERATION_ALLOW_HTTP` (off by default).
   */
  allowInsecure?: boolean;
}

function clientAuthentication(
  client: OpenidClient,
  config: OidcProviderConfig,
  clientSecret: string | undefined,
): client.ClientAuth {
  const method = config.token_endpoint_auth_method ?? 'client_secret_basic';
  if (method === 'none') return client.None();
  if (!clientSecret) {
    throw new UpstreamOidcError(
      'configuration',
      `Token endpoint authentication ${method} needs a client secret`,
    );
  }
  return method === 'client_secret_post'
    ? client.ClientSecretPost(clientSecret)
    : client.ClientSecretBasic(clientSecret);
}

/** Discovered configurations by issuer, client and a digest of the secret (a new secret misses). */
const discovered = expiringLru<string, Promise<client.Configuration>>(500);

function discoveryKey(
  issuer: string,
  config: OidcProviderConfig,
  clientSecret: string | undefined,
  insecure: boolean,
) {
  const secret = clientSecret ? createHash('sha256').update(clientSecret).digest('base64url') : '';
  return JSON.stringify([issuer, config.client_id, config.token_endpoint_auth_method, secret, insecure]);
}

/**
 * The provider's configuration for this client (openid-client `discovery()`: reads
 * `${issuer}/.well-known/openid-configuration` and checks that the document's issuer is the one
 * configured). Reused for an hour per (issuer, client, secret); {@link forgetDiscovery} drops it
 * when the provider's configuration changes.
 */
export async function discover(
  config: OidcProviderConfig,
  clientSecret: string | undefined,
  options: DiscoverOptions = {},
): Promise<client.Configuration> {
  const allowInsecure = options.allowInsecure ?? false;
  const issuer = resolveIssuer(config);
  const url = issuerUrl(issuer, allowInsecure);
  const client = await openidClient();
  const authentication = clientAuthentication(client, config, clientSecret);
  const key = discoveryKey(issuer, config, clientSecret, allowInsecure);
  const cached = discovered.get(key);
  if (cached) return cached;
  const pending = client
    .discovery(url, config.client_id, undefined, authentication, {
      timeout: REQUEST_TIMEOUT_SECONDS,
      execute: allowInsecure ? [client.allowInsecureRequests] : [],
    })
    .catch((error: unknown) => {
      discovered.delete(key);
      throw discoveryError(client, url, error);
    });
  setUntil(discovered, key, pending, Date.now() + DISCOVERY_TTL_MS);
  return pending;
}

/** Drops the cached discovery of a provider (call when its configuration or secret changes). */
export function forgetDiscovery(
  config: Pick<OidcProviderConfig, 'preset' | 'issuer' | 'entra_tenant_id' | 'client_id'>,
) {
  let issuer: string;
  try {
    issuer = resolveIssuer(config);
  } catch {
    return;
  }
  for (const key of [...discovered.keys()]) {
    const [keyIssuer, keyClient] = JSON.parse(key) as [string, string];
    if (keyIssuer === issuer && keyClient === config.client_id) discovered.delete(key);
  }
}

function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    parts.push(
      typeof code === 'string' && !code.startsWith('OAUTH_')
        ? `${current.message} (${code})`
        : current.message,
    );
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}

function discoveryError(client: OpenidClient, url: URL, error: unknown): UpstreamOidcError {
  if (error instanceof UpstreamOidcError) return error;
  const where = `${url.href.replace(/\/$/, '')}/.well-known/openid-configuration`;
  if (error instanceof client.ClientError && error.code?.startsWith('OAUTH_')) {
    const reason =
      error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT' ? 'unreachable' : 'discovery';
    return new UpstreamOidcError(
      reason,
      `The identity provider's metadata at ${where} is not usable: ${describeCause(error)}`,
    );
  }
  return new UpstreamOidcError(
    'unreachable',
    `The identity provider at ${where} could not be reached: ${describeCause(error)}`,
  );
}

/**
 * Fresh secrets for one upstream login (stored by the core until its callback): 32 random bytes,
 * base64url, each — what openid-client's randomState, randomNonce and randomPKCECodeVerifier make.
 */
export function newLoginSecrets(): { state: string; nonce: string; codeVerifier: string } {
  const random = () => randomBytes(32).toString('base64url');
  return { state: random(), nonce: random(), codeVerifier: random() };
}

export interface AuthorizationRequest {
  redirectUri: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Space-separated or a list; `openid` is always requested. */
  scopes: string | string[];
  loginHint?: string | null;
}

/** The URL to send the user to: authorization code flow with PKCE (S256), a nonce and a state. */
export async function authorizationUrl(
  configuration: client.Configuration,
  request: AuthorizationRequest,
): Promise<URL> {
  const scopes = typeof request.scopes === 'string' ? request.scopes.split(/\s+/) : request.scopes;
  const scope = [...new Set(['openid', ...scopes.filter(Boolean)])].join(' ');
  const client = await openidClient();
  const parameters: Record<string, string> = {
    response_type: 'code',
    redirect_uri: request.redirectUri,
    scope,
    state: request.state,
    nonce: request.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
    code_challenge_method: 'S256',
  };
  if (request.loginHint) parameters.login_hint = request.loginHint;
  return client.buildAuthorizationUrl(configuration, parameters);
}

export interface CallbackChecks {
  /** The URL the provider redirected the browser to (with code, state, iss — or error). */
  currentUrl: URL | string;
  expectedState: string;
  expectedNonce: string;
  codeVerifier: string;
  useUserinfo: boolean;
  groupsClaim: string;
  /** `entra` takes the subject from `oid` and the email's verification from `xms_edov`. */
  preset?: OidcProviderConfig['preset'];
}

/** JWT and protocol claims of the ID token that say nothing about the user. */
const PROTOCOL_CLAIMS = new Set([
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'jti',
  'azp',
]);

/**
 * Completes an upstream login: checks the callback (state, RFC 9207 `iss`, or the provider's
 * `error`), exchanges the code with the PKCE verifier, validates the ID token (signature with the
 * provider's JWKS, iss, aud, exp, nonce — openid-client), optionally merges userinfo (whose `sub`
 * must be the ID token's), and returns who the provider vouched for.
 */
export async function handleCallback(
  configuration: client.Configuration,
  checks: CallbackChecks,
): Promise<UpstreamIdentity> {
  const currentUrl = new URL(checks.currentUrl);
  const client = await openidClient();
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      expectedState: checks.expectedState,
      expectedNonce: checks.expectedNonce,
      pkceCodeVerifier: checks.codeVerifier,
      idTokenExpected: true,
    });
  } catch (error) {
    throw callbackError(client, error);
  }
  const idToken = tokens.claims();
  if (!idToken) throw new UpstreamOidcError('invalid_response', 'The identity provider returned no ID token');
  let claims: Record<string, unknown> = { ...idToken };
  if (checks.useUserinfo) {
    try {
      // fetchUserInfo refuses a response whose `sub` is not the ID token's (OIDC Core §5.3.4).
      const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
      claims = { ...claims, ...userinfo, sub: idToken.sub };
    } catch (error) {
      throw callbackError(client, error, 'userinfo');
    }
  }
  for (const claim of PROTOCOL_CLAIMS) delete claims[claim];
  return identityFromClaims(claims, checks.groupsClaim, checks.preset ?? 'generic');
}

/**
 * The identity in the provider's claims.
 *
 * - Subject: the `sub` — except for Entra ID, whose `sub` is pairwise per application registration
 *   (a new registration would make every user a stranger); there the directory object id `oid`
 *   is the stable key (the issuer already pins the directory, `tid`). An Entra token without
 *   `oid` (the `profile` scope was not requested) is refused rather than keyed differently.
 * - Email verified: only when the provider says so (`email_verified` true). Entra ID sends no
 *   `email_verified` and its `email` is any value an administrator typed, so there it counts as
 *   verified only when the optional claim `xms_edov` (email domain owner verified) is true;
 *   otherwise false, and the core will not link by email.
 * - Groups: the configured claim (a dotted path such as `realm_access.roles` reaches nested
 *   claims). A groups claim that was left out for size (Entra's "overage": `_claim_names`) is
 *   refused, since signing in with no groups would strip the user's mapped groups.
 */
export function identityFromClaims(
  claims: Record<string, unknown>,
  groupsClaim: string,
  preset: OidcProviderConfig['preset'],
): UpstreamIdentity {
  let subject = typeof claims.sub === 'string' ? claims.sub : '';
  if (preset === 'entra') {
    subject = typeof claims.oid === 'string' ? claims.oid : '';
    if (!subject) {
      throw new UpstreamOidcError(
        'invalid_response',
        'The Entra ID token has no oid claim; request the profile scope',
      );
    }
  }
  if (!subject) throw new UpstreamOidcError('invalid_response', 'The ID token has no subject');
  const email = typeof claims.email === 'string' && claims.email.length > 0 ? claims.email : null;
  const emailVerified =
    email !== null && (isTrue(claims.email_verified) || (preset === 'entra' && isTrue(claims.xms_edov)));
  const claimNames = claims._claim_names as Record<string, unknown> | undefined;
  if (claimNames && typeof claimNames === 'object' && groupsClaim in claimNames) {
    throw new UpstreamOidcError(
      'invalid_response',
      `The identity provider left the ${groupsClaim} claim out (too many groups); limit the groups it sends for this application`,
    );
  }
  return {
    subject,
    email,
    emailVerified,
    attributes: claims,
    groups: stringList(claimAt(claims, groupsClaim)),
    amr: stringList(claims.amr),
  };
}

function isTrue(value: unknown): boolean {
  // Some providers (e.g. Amazon Cognito) send booleans as strings.
  return value === true || value === 'true';
}

function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let current: unknown = claims;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string' && item.length > 0);
}

function callbackError(
  client: OpenidClient,
  error: unknown,
  stage: 'token' | 'userinfo' = 'token',
): UpstreamOidcError {
  if (error instanceof UpstreamOidcError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    const description = error.error_description ?? null;
    return new UpstreamOidcError(
      'upstream_error',
      `The identity provider refused the sign-in: ${error.error}${description ? ` (${description})` : ''}`,
      { error: error.error, description },
    );
  }
  if (error instanceof client.ResponseBodyError) {
    const description = error.error_description ?? null;
    const what = stage === 'userinfo' ? 'userinfo endpoint' : 'token endpoint';
    return new UpstreamOidcError(
      'token_error',
      `The identity provider's ${what} answered ${error.error}${description ? ` (${description})` : ''}`,
      { error: error.error, description },
    );
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with WWW-Authenticate (e.g. invalid_client with client_secret_basic, RFC 6749 §5.2).
    const parameters = error.cause.find((challenge) => challenge.parameters.error)?.parameters;
    const upstreamError = parameters?.error ?? `HTTP ${error.status}`;
    const description = parameters?.error_description ?? null;
    const what = stage === 'userinfo' ? 'userinfo endpoint' : 'token endpoint';
    return new UpstreamOidcError(
      'token_error',
      `The identity provider's ${what} answered ${upstreamError}${description ? ` (${description})` : ''}`,
      { error: upstreamError, description },
    );
  }
  if (error instanceof client.ClientError) {
    const cause = error.cause instanceof Error ? error.cause.message : '';
    if (cause.includes('"state"')) {
      return new UpstreamOidcError(
        'state_mismatch',
        'The callback does not belong to this sign-in (state mismatch)',
      );
    }
    if (cause.includes('"nonce"')) {
      return new UpstreamOidcError(
        'nonce_mismatch',
        'The ID token does not belong to this sign-in (nonce mismatch)',
      );
    }
    if (error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT') {
      return new UpstreamOidcError('unreachable', `The identity provider did not answer in time (${stage})`);
    }
    return new UpstreamOidcError(
      'invalid_response',
      `The identity provider's ${stage} response was refused: ${describeCause(error)}`,
    );
  }
  if (error instanceof TypeError) {
    return new UpstreamOidcError(
      'unreachable',
      `The identity provider could not be reached (${stage}): ${describeCause(error)}`,
    );
  }
  return new UpstreamOidcError('invalid_response', `The identity provider's ${stage} response was refused`);
}

async function fetchJson(url: string, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: null };
  }
}

/**
 * What `POST /identity-providers/{id}/test` reports for an OIDC provider: each check with what it
 * found or why it failed — the issuer's configuration, discovery reachable, the document's issuer
 * the configured one, the endpoints a code flow needs, PKCE S256 and the client authentication,
 * the JWKS reachable with signing keys, and openid-client accepting the whole.
 */
export async function testConnection(
  config: OidcProviderConfig,
  clientSecret: string | undefined,
  options: DiscoverOptions = {},
): Promise<ConnectionCheck[]> {
  const checks: ConnectionCheck[] = [];
  const record = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    return ok;
  };
  let url: URL;
  try {
    url = issuerUrl(resolveIssuer(config), options.allowInsecure ?? false);
  } catch (error) {
    record('configuration', false, error instanceof Error ? error.message : String(error));
    return checks;
  }
  record('configuration', true, `issuer ${url.href.replace(/\/$/, '')}`);
  const where = `${url.href.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_SECONDS * 1000);
  let metadata: Record<string, unknown>;
  try {
    const { status, body } = await fetchJson(where, signal);
    if (status !== 200 || body === null || typeof body !== 'object') {
      record('discovery', false, `${where} answered HTTP ${status}${body === null ? ' without JSON' : ''}`);
      return checks;
    }
    metadata = body as Record<string, unknown>;
  } catch (error) {
    record('discovery', false, `${where} could not be reached: ${describeCause(error)}`);
    return checks;
  }
  record('discovery', true, `${where} answered`);
  // Entra ID's document names the directory by its id when it was asked by domain (openid-client
  // accepts that for login.microsoftonline.com and checks each ID token's iss against the document).
  const issuerOk =
    (typeof metadata.issuer === 'string' &&
      URL.canParse(metadata.issuer) &&
      new URL(metadata.issuer).href === url.href) ||
    (config.preset === 'entra' &&
      typeof metadata.issuer === 'string' &&
      metadata.issuer.startsWith('https://login.microsoftonline.com/'));
  record(
    'issuer',
    issuerOk,
    issuerOk
      ? `issuer ${String(metadata.issuer)}`
      : `the document names issuer ${String(metadata.issuer)}, not ${resolveIssuer(config)}`,
  );
  const required = [
    'authorization_endpoint',
    'token_endpoint',
    'jwks_uri',
    ...(config.use_userinfo ? ['userinfo_endpoint'] : []),
  ];
  const missing = required.filter((name) => typeof metadata[name] !== 'string');
  record(
    'endpoints',
    missing.length === 0,
    missing.length === 0 ? required.join(', ') : `missing ${missing.join(', ')}`,
  );
  const challenges = metadata.code_challenge_methods_supported;
  // Absent means "not said" (Entra ID does not list it yet supports S256); listed without S256 is a failure.
  const pkceOk = !Array.isArray(challenges) || challenges.includes('S256');
  record(
    'pkce',
    pkceOk,
    pkceOk ? 'S256' : `code_challenge_methods_supported is ${JSON.stringify(challenges)}`,
  );
  const method = config.token_endpoint_auth_method ?? 'client_secret_basic';
  const methods = metadata.token_endpoint_auth_methods_supported;
  const methodOk = Array.isArray(methods) ? methods.includes(method) : method === 'client_secret_basic';
  record(
    'client_authentication',
    methodOk,
    methodOk ? method : `${method} is not in ${JSON.stringify(methods ?? ['client_secret_basic'])}`,
  );
  if (typeof metadata.jwks_uri === 'string') {
    try {
      const jwksUrl = new URL(metadata.jwks_uri);
      if (jwksUrl.protocol !== 'https:' && !(options.allowInsecure && jwksUrl.protocol === 'http:')) {
        record('jwks', false, `${jwksUrl.href} is not https://`);
      } else {
        const { status, body } = await fetchJson(jwksUrl.href, signal);
        const keys = (body as { keys?: unknown } | null)?.keys;
        const signing = Array.isArray(keys)
          ? keys.filter((key) => (key as { use?: string }).use !== 'enc').length
          : 0;
        record(
          'jwks',
          status === 200 && signing > 0,
          status === 200
            ? `${signing} signing key(s) at ${jwksUrl.href}`
            : `${jwksUrl.href} answered HTTP ${status}`,
        );
      }
    } catch (error) {
      record('jwks', false, `the JWKS could not be read: ${describeCause(error)}`);
    }
  }
  try {
    forgetDiscovery(config);
    await discover(config, clientSecret, options);
    record('client', true, `client ${config.client_id} configured with ${method}`);
  } catch (error) {
    record('client', false, error instanceof Error ? error.message : String(error));
  }
  return checks;
}
