import type { ProviderRecord } from '../../modules/identity-providers/index.js';
import { findAccountByEmail } from '../../modules/users/index.js';
import type { UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import { emailDomain } from '../federation/federation.js';
import { consumeLogin } from '../federation/federation-logins.repository.js';
import { FederationRefusal, provisionUser } from '../federation/provisioning.js';
import type { UpstreamIdentity } from '../federation/types.js';
import { answered, next, runSteps, type StepResult } from '../steps.js';
import { askSecondFactor, secondFactorPolicy } from './mfa-steps.js';
import { WRONG_PASSWORD } from './password-check.js';
import { assignmentCheck, type SignIn, type SignInStep, signedIn, signInForm } from './sign-in-steps.js';

/**
 * The sign-in steps of federation (docs/federation.md): the SSO buttons' redirect, home-realm
 * discovery, the return from an upstream provider, and bind-through to an LDAP directory. After the
 * upstream has vouched for the user, the same checks as any sign-in follow: the tenant's MFA policy
 * (or the upstream's, when the provider is trusted for it), the account's status, the application's
 * assignment rule.
 */

/** RFC 8176 methods that show a second factor upstream. */
const MULTI_FACTOR = new Set([
  'mfa',
  'otp',
  'hwk',
  'swk',
  'sms',
  'tel',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
  'pop',
  'sc',
]);

/** Sends the browser to the provider's start (the SSO button's target). */
async function redirectTo(signIn: SignIn, provider: ProviderRecord): Promise<StepResult> {
  const url = await signIn.federation.start(signIn.tenant, provider, signIn.uid);
  return answered(signIn.reply.code(303).header('location', url).send());
}

/** The page (GET): `idp_hint` names a provider, or login_hint's domain belongs to one: go there at once. */
export async function federationHint(signIn: SignIn): Promise<StepResult> {
  const params = signIn.details.params;
  if (typeof params.idp_hint === 'string' && params.idp_hint) {
    const provider = await signIn.federation.enabledProvider(signIn.tenant.id, params.idp_hint);
    if (provider?.type !== 'LDAP' && provider) return redirectTo(signIn, provider);
  }
  if (typeof params.login_hint === 'string' && params.login_hint) {
    const provider = await signIn.federation.providerForEmail(signIn.tenant.id, params.login_hint);
    if (provider && provider.type !== 'LDAP') return redirectTo(signIn, provider);
  }
  return next();
}

/** GET …/interaction/:uid/federation/:idp_id: the SSO button. */
export async function startFederation(signIn: SignIn): Promise<StepResult> {
  const provider = await signIn.federation.enabledProvider(
    signIn.tenant.id,
    String(signIn.form.idp_id ?? ''),
  );
  if (!provider || provider.type === 'LDAP') {
    return answered(await signInForm(signIn, 404, '', 'This sign-in option is not available.'));
  }
  return redirectTo(signIn, provider);
}

/** POST …/login: an email of a domain that belongs to an OIDC or SAML provider goes there. */
export async function homeRealm(signIn: SignIn): Promise<StepResult> {
  const provider = await signIn.federation.providerForEmail(signIn.tenant.id, signIn.email);
  if (!provider || provider.type === 'LDAP') return next();
  return redirectTo(signIn, provider);
}

/** The steps after an upstream vouched for the user (redirect or bind-through). */
const afterUpstream = (): readonly SignInStep[] => [
  secondFactorPolicy,
  upstreamSecondFactor,
  federatedAccountStatus,
  assignmentCheck,
  askSecondFactor,
  signedIn,
];

/** The provider is trusted for MFA and the upstream sign-in had a second factor: it counts. */
async function upstreamSecondFactor(signIn: SignIn): Promise<StepResult> {
  const upstream = signIn.upstream;
  if (!upstream?.provider.trustUpstreamMfa) return next();
  if (!upstream.identity.amr.some((method) => MULTI_FACTOR.has(method))) return next();
  signIn.secondFactor = undefined;
  signIn.secondFactorPending = false;
  if (!signIn.amr.includes('mfa')) signIn.amr.push('mfa');
  return next();
}

/** A federated user signs in only while ACTIVE; audited with the provider. */
async function federatedAccountStatus(signIn: SignIn): Promise<StepResult> {
  const user = signIn.user as UserRow;
  const provider = signIn.upstream?.provider as ProviderRecord;
  const locked = user.locked_until !== null && user.locked_until.getTime() > signIn.now.getTime();
  const refused = user.status !== 'ACTIVE' || locked;
  await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) =>
    w.audit({
      action: refused
        ? 'user.login_failed'
        : signIn.secondFactorPending
          ? 'user.password_verified'
          : 'user.login',
      resourceType: 'user',
      resourceId: user.id,
      tenantId: signIn.tenant.id,
      partnerId: signIn.tenant.partner_id,
      after: {
        method: 'federation',
        identity_provider_id: provider.id,
        provider_type: provider.type,
        client_id: signIn.clientId,
        ...(refused ? { reason: locked ? 'LOCKED' : user.status } : {}),
      },
      result: refused ? 'FAILURE' : 'SUCCESS',
    }),
  );
  if (refused) {
    const message =
      user.status === 'DISABLED'
        ? 'This account is disabled. Ask your administrator.'
        : 'This account cannot sign in now. Ask your administrator.';
    return answered(await signInForm(signIn, 403, '', message));
  }
  return next();
}

/** Provisions the user of an upstream identity (JIT, link, mappings), then the common checks. */
async function continueAsUpstreamUser(
  signIn: SignIn,
  provider: ProviderRecord,
  identity: UpstreamIdentity,
  amr: string[],
): Promise<StepResult> {
  let user: UserRow;
  try {
    ({ user } = await provisionUser(
      { db: signIn.db, work: signIn.work, tenant: signIn.tenant, origin: signIn.origin },
      provider,
      identity,
    ));
  } catch (error) {
    if (!(error instanceof FederationRefusal)) throw error;
    await auditRefusal(signIn, provider, error.message);
    return answered(await signInForm(signIn, 403, '', error.message));
  }
  signIn.user = user;
  signIn.upstream = { provider, identity };
  signIn.amr = amr;
  return answered(await runSteps(afterUpstream(), signIn));
}

async function auditRefusal(signIn: SignIn, provider: ProviderRecord, reason: string): Promise<void> {
  await signIn.work.inTenant(signIn.tenant.id, signIn.origin, async (w) =>
    w.audit({
      action: 'user.login_failed',
      resourceType: 'user',
      resourceId: null,
      tenantId: signIn.tenant.id,
      partnerId: signIn.tenant.partner_id,
      after: { method: 'federation', identity_provider_id: provider.id, reason, client_id: signIn.clientId },
      result: 'FAILURE',
    }),
  );
}

/** GET …/interaction/:uid/federated?login=…: the upstream's answer, recorded by the callback or ACS. */
export async function federatedReturn(signIn: SignIn): Promise<StepResult> {
  const login = await consumeLogin(
    bindTenant(signIn.db, signIn.tenant.id),
    String(signIn.form.login ?? ''),
    signIn.uid,
  );
  if (!login?.identity) {
    throw new AppError(
      'BAD_REQUEST',
      'This sign-in has expired or was used already. Start again from the application.',
    );
  }
  const provider = await signIn.federation.enabledProvider(signIn.tenant.id, login.identity_provider_id);
  const answer = login.identity as { identity?: UpstreamIdentity; error?: string };
  if (!provider) {
    return answered(await signInForm(signIn, 403, '', 'This sign-in option is not available any more.'));
  }
  if (answer.error || !answer.identity) {
    await auditRefusal(signIn, provider, answer.error ?? 'no identity');
    return answered(
      await signInForm(
        signIn,
        401,
        '',
        `Signing in with ${provider.name} did not work: ${answer.error ?? 'no answer'}`,
      ),
    );
  }
  return continueAsUpstreamUser(signIn, provider, answer.identity, ['fed']);
}

/**
 * POST …/login, before the local password: a login of an LDAP provider's domain, or of a user
 * linked to an LDAP provider, is checked by the directory (bind-through; the password is never
 * stored). A directory that does not answer leaves local accounts (local admins) to the local
 * password steps.
 */
export async function directorySignIn(signIn: SignIn): Promise<StepResult> {
  const authenticate = signIn.federation.kinds.LDAP?.authenticate;
  if (!authenticate || !signIn.password) return next();
  const providers = (await signIn.federation.enabledProviders(signIn.tenant.id)).filter(
    (provider) => provider.type === 'LDAP',
  );
  if (providers.length === 0) return next();
  const local = signIn.email.includes('@')
    ? await findAccountByEmail(signIn.db, signIn.tenant.id, signIn.email)
    : undefined;
  // A local account with a password of its own signs in locally, unless its source is the directory.
  if (local?.password_hash && local.identity_source !== 'LDAP') return next();
  const domain = emailDomain(signIn.email);
  const candidates =
    local?.identity_source === 'LDAP'
      ? providers
      : providers.filter(
          (provider) =>
            provider.emailDomains.length === 0 || (domain !== null && provider.emailDomains.includes(domain)),
        );
  let unavailable = false;
  for (const provider of candidates) {
    let identity: UpstreamIdentity | null;
    try {
      identity = await authenticate(provider, signIn.email, signIn.password);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'DIRECTORY_UNAVAILABLE')) throw error;
      unavailable = true;
      signIn.request.log.warn({ identity_provider_id: provider.id }, 'directory unavailable at sign-in');
      continue;
    }
    if (identity) return continueAsUpstreamUser(signIn, provider, identity, ['pwd']);
  }
  if (local?.password_hash) return next();
  if (unavailable) {
    return answered(
      await signInForm(
        signIn,
        503,
        signIn.email,
        'The directory is not answering. Try again in a few minutes.',
      ),
    );
  }
  if (candidates.length > 0) return answered(await signIn.refuse({ message: WRONG_PASSWORD }));
  return next();
}
