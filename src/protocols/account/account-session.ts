import { createHash, randomBytes } from 'node:crypto';
import { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { tenantMfaPolicy } from '../../modules/mfa/index.js';
import { findActiveAccount } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import type { AuditOrigin } from '../../platform/http.js';
import type { MountedProvider } from '../oauth/providers.js';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from './account-client.js';

/** oidc-provider's record of a browser's sign-in at a tenant (the `_session` cookie's). */
export type ProviderSession = InstanceType<Provider['Session']>;

/** The person on the account page: signed in at the tenant through this browser's session. */
export interface AccountVisitor {
  tenant: TenantRow;
  /** Where the tenant's provider (and the account page under it) is mounted. */
  mountPath: string;
  user: UserRow;
  session: ProviderSession;
  /**
   * A grant of the session (the account page's own where it has one): it marks the session as
   * "this one" in the sessions list and is the sign-in a password change keeps.
   */
  grantId: string | null;
  /** Audit facts: the actor is the user. */
  origin: AuditOrigin;
}

/** The grants the session holds, the account page's first. */
function grantsOfSession(session: ProviderSession): string[] {
  const entries = Object.entries(session.authorizations ?? {});
  entries.sort(([a], [b]) => Number(b === ACCOUNT_CLIENT_ID) - Number(a === ACCOUNT_CLIENT_ID));
  return entries.flatMap(([, state]) => (typeof state?.grantId === 'string' ? [state.grantId] : []));
}

/**
 * The tenant provider's session of this browser, as oidc-provider reads it itself
 * (`Session.get`: the signed `_session` cookie, then the stored session by its id). A throwaway
 * response takes whatever the cookie library would write (the removal of a badly signed cookie):
 * the page's own response is not the provider's to change.
 */
async function providerSession(mounted: MountedProvider, request: FastifyRequest): Promise<ProviderSession> {
  const res = new ServerResponse(request.raw);
  return mounted.provider.Session.get({
    req: request.raw,
    res,
    secure: request.protocol === 'https',
  } as never);
}

/**
 * Who is on the account page: the user of the browser's live session at this tenant, or null.
 * The session must exist (a session ended from the admin API, the sessions list or by signing out
 * is gone at once), name an active user of this tenant (a session of another tenant's user, whose
 * cookie a browser would never send here, signs in no one), and, when the tenant requires MFA,
 * have passed a second factor (otherwise the sign-in asks for one).
 */
export async function accountVisitor(
  db: Db,
  mounted: MountedProvider,
  request: FastifyRequest,
): Promise<AccountVisitor | null> {
  const tenant = mounted.tenant;
  if (!tenant) return null;
  const session = await providerSession(mounted, request);
  if (!session.accountId) return null;
  const user = await findActiveAccount(db, tenant.id, session.accountId);
  if (user?.status !== 'ACTIVE') return null;
  if (tenantMfaPolicy(tenant).mfa_required && !session.amr?.includes('mfa')) return null;
  return {
    tenant,
    mountPath: mounted.mountPath,
    user,
    session,
    grantId: grantsOfSession(session)[0] ?? null,
    origin: { actorType: 'user', actorId: user.id, ipAddress: request.ip, requestId: request.id },
  };
}

/**
 * The tenant's authorization request that signs a browser in for the account page (through the
 * hosted sign-in, or at once when its session is still good) and comes back to the callback.
 * PKCE is required of public clients: the challenge is of a verifier no one keeps, since the code
 * is never redeemed (the callback destroys it).
 */
export function signInUrl(mounted: MountedProvider): string {
  const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
  const url = new URL(`${mounted.issuer}/oauth/authorize`);
  url.searchParams.set('client_id', ACCOUNT_CLIENT_ID);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid');
  url.searchParams.set('redirect_uri', accountCallbackUrl(mounted.issuer));
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/**
 * The callback's code: destroyed unredeemed when it is one of the account page's (a code of any
 * other client is left alone: it is not this page's to spend).
 */
export async function discardCode(mounted: MountedProvider, code: string): Promise<void> {
  const found = await mounted.provider.AuthorizationCode.find(code, { ignoreExpiration: true });
  if (found?.clientId === ACCOUNT_CLIENT_ID) await found.destroy();
}
