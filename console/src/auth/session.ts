import { useSyncExternalStore } from 'react';
import { CONSOLE_SCOPES, callbackUrl, consoleConfig, signedOutUrl, tenantIssuer } from '../config';
import { texts } from '../texts';
import { jwtClaims, randomToken, s256 } from './pkce';

/**
 * The signed-in person, kept in memory only (never in storage): a reload signs in again through the
 * tenant's authorization endpoint, which answers at once while the sign-in session there lasts.
 * Tokens renew with the rotating refresh token shortly before they expire.
 */
export type AdminRole = 'super_admin' | 'partner_admin' | 'tenant_admin';

export interface Session {
  accessToken: string;
  refreshToken: string | null;
  idToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  issuer: string;
  userId: string;
  tenantId: string;
  partnerId: string | null;
  role: AdminRole | null;
  email: string | null;
  name: string | null;
}

export type SessionState =
  | { status: 'signed-out' }
  | { status: 'signing-in' }
  | { status: 'signed-in'; session: Session }
  | { status: 'failed'; message: string };

interface PendingSignIn {
  created: number;
  state: string;
  verifier: string;
  nonce: string;
  /** The tenant issuer asked, or null for the platform's sign-in page (any tenant may answer). */
  issuer: string | null;
  returnTo: string;
}

/**
 * The sign-in in flight, by its state, in localStorage: the platform's sign-in page may mail the
 * link that finishes it, and a mailed link opens in another tab. The verifier is useless without
 * the code, and it is removed when the sign-in finishes or after ten minutes.
 */
const PENDING_PREFIX = 'scaikey.console.pending.';
const PENDING_LIFETIME_MS = 10 * 60_000;
/** Per tab: the issuer it last signed in at. */
const ISSUER_KEY = 'scaikey.console.issuer';

function forgetStalePending() {
  for (const key of Object.keys(localStorage)) {
    if (!key.startsWith(PENDING_PREFIX)) continue;
    const created = (JSON.parse(localStorage.getItem(key) ?? '{}') as { created?: number }).created ?? 0;
    if (Date.now() - created > PENDING_LIFETIME_MS) localStorage.removeItem(key);
  }
}

let state: SessionState = { status: 'signed-out' };
const listeners = new Set<() => void>();
let renewal: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<Session> | null = null;

function setState(next: SessionState) {
  state = next;
  for (const listener of listeners) listener();
}

export function useSessionState(): SessionState {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => state,
  );
}

/** The signed-in session; only for components rendered inside the signed-in shell. */
export function useSession(): Session {
  const current = useSessionState();
  if (current.status !== 'signed-in') throw new Error('useSession outside the signed-in console');
  return current.session;
}

/** The issuer this tab last signed in at, so that a reload goes straight back there. */
export const rememberedIssuer = (): string | null => sessionStorage.getItem(ISSUER_KEY);

const isTenantIssuer = (value: string) =>
  value.startsWith(`${consoleConfig.public_url}/api/v1/auth/tenants/`) &&
  /^[a-z0-9-]+$/.test(value.slice(`${consoleConfig.public_url}/api/v1/auth/tenants/`.length));

/**
 * Sends the browser to sign in: at one organization's (tenant's) issuer when its slug or issuer is
 * known, else at the platform's sign-in page, which asks for the email address.
 */
export async function startSignIn(options: { organization?: string; issuer?: string; returnTo?: string }) {
  const issuer =
    options.issuer ?? (options.organization ? tenantIssuer(options.organization.trim().toLowerCase()) : null);
  forgetStalePending();
  const pending: PendingSignIn = {
    created: Date.now(),
    state: randomToken(),
    verifier: randomToken(48),
    nonce: randomToken(),
    issuer,
    returnTo: options.returnTo ?? '/console/',
  };
  localStorage.setItem(PENDING_PREFIX + pending.state, JSON.stringify(pending));
  const authorize = new URL(
    issuer ? `${issuer}/oauth/authorize` : `${consoleConfig.platform_issuer}/authorize`,
  );
  authorize.search = new URLSearchParams({
    client_id: consoleConfig.client_id,
    redirect_uri: callbackUrl,
    response_type: 'code',
    scope: CONSOLE_SCOPES,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
    // oidc-provider issues a refresh token (offline_access) only on a request with prompt=consent; the
    // console's consent is implied (a first-party application), so no page is shown for it.
    prompt: 'consent',
  }).toString();
  setState({ status: 'signing-in' });
  window.location.assign(authorize.toString());
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
}

async function tokenRequest(issuer: string, form: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: consoleConfig.client_id, ...form }).toString(),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<TokenAnswer> & {
    error_description?: string;
  };
  if (!response.ok || !body.access_token) {
    throw new Error(body.error_description ?? texts.auth.tokenFailed);
  }
  return body as TokenAnswer;
}

function sessionFrom(issuer: string, answer: TokenAnswer, previous?: Session): Session {
  const access = jwtClaims(answer.access_token);
  const idToken = answer.id_token ?? previous?.idToken ?? '';
  const identity = idToken ? jwtClaims(idToken) : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token ?? null,
    idToken,
    expiresAt: Date.now() + answer.expires_in * 1000,
    issuer,
    userId: String(access.sub),
    tenantId: String(access.tenant_id),
    partnerId: text(access.partner_id),
    role: (text(access.role) as AdminRole | null) ?? null,
    email: text(identity.email) ?? previous?.email ?? null,
    name: text(identity.name) ?? previous?.name ?? null,
  };
}

function signedIn(session: Session) {
  sessionStorage.setItem(ISSUER_KEY, session.issuer);
  setState({ status: 'signed-in', session });
  clearTimeout(renewal);
  if (session.refreshToken) {
    const delay = Math.max(5_000, session.expiresAt - Date.now() - 30_000);
    renewal = setTimeout(() => void refresh().catch(() => sessionEnded()), delay);
  }
}

/** Finishes the sign-in at /console/callback; answers where the person was going. */
export async function completeSignIn(url: URL): Promise<string> {
  const params = url.searchParams;
  const key = PENDING_PREFIX + (params.get('state') ?? '');
  const raw = localStorage.getItem(key);
  localStorage.removeItem(key);
  try {
    const pending = raw ? (JSON.parse(raw) as PendingSignIn) : null;
    if (
      !pending ||
      params.get('state') !== pending.state ||
      Date.now() - pending.created > PENDING_LIFETIME_MS
    ) {
      throw new Error(texts.auth.stateMismatch);
    }
    const error = params.get('error');
    if (error) throw new Error(params.get('error_description') ?? error);
    // RFC 9207: the answer names its issuer; the platform's page hands over to the person's tenant.
    const issuer = params.get('iss') ?? pending.issuer;
    if (!issuer || !isTenantIssuer(issuer) || (pending.issuer && pending.issuer !== issuer)) {
      throw new Error(texts.auth.issuerMismatch);
    }
    const answer = await tokenRequest(issuer, {
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: callbackUrl,
      code_verifier: pending.verifier,
    });
    if (answer.id_token && jwtClaims(answer.id_token).nonce !== pending.nonce) {
      throw new Error(texts.auth.nonceMismatch);
    }
    signedIn(sessionFrom(issuer, answer));
    return pending.returnTo.startsWith('/console/') ? pending.returnTo : '/console/';
  } catch (error) {
    setState({ status: 'failed', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

/** Renews the tokens with the refresh token (one renewal at a time). */
export function refresh(): Promise<Session> {
  if (state.status !== 'signed-in' || !state.session.refreshToken) {
    return Promise.reject(new Error(texts.auth.sessionEnded));
  }
  const current = state.session;
  refreshing ??= tokenRequest(current.issuer, {
    grant_type: 'refresh_token',
    refresh_token: current.refreshToken as string,
  })
    .then((answer) => {
      const next = sessionFrom(current.issuer, answer, current);
      signedIn(next);
      return next;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** A valid access token for an API call, renewed first when it is about to expire. */
export async function accessToken(): Promise<string> {
  if (state.status !== 'signed-in') throw new Error(texts.auth.sessionEnded);
  if (state.session.expiresAt - Date.now() < 10_000 && state.session.refreshToken) {
    return (await refresh()).accessToken;
  }
  return state.session.accessToken;
}

/** The API said 401: the sign-in ended elsewhere (signed out, disabled, role removed). */
export function sessionEnded() {
  clearTimeout(renewal);
  const issuer = state.status === 'signed-in' ? state.session.issuer : rememberedIssuer();
  setState({ status: 'signed-out' });
  if (issuer) void startSignIn({ issuer, returnTo: window.location.pathname + window.location.search });
}

/**
 * Signs out: revokes the refresh token (RFC 7009; it would outlive the sign-in session, as
 * offline_access grants do), forgets the tokens and ends the sign-in session at the tenant
 * (RP-initiated logout).
 */
export async function signOut() {
  if (state.status !== 'signed-in') return;
  const { issuer, idToken, refreshToken } = state.session;
  clearTimeout(renewal);
  sessionStorage.removeItem(ISSUER_KEY);
  setState({ status: 'signed-out' });
  if (refreshToken) {
    await fetch(`${issuer}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: consoleConfig.client_id,
        token: refreshToken,
        token_type_hint: 'refresh_token',
      }).toString(),
    }).catch(() => undefined);
  }
  const logout = new URL(`${issuer}/oauth/logout`);
  logout.search = new URLSearchParams({
    client_id: consoleConfig.client_id,
    post_logout_redirect_uri: signedOutUrl,
    ...(idToken ? { id_token_hint: idToken } : {}),
  }).toString();
  window.location.assign(logout.toString());
}
