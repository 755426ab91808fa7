import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionResults } from 'oidc-provider';
import { isUserAssigned } from '../../modules/applications/index.js';
import type { ProviderRecord } from '../../modules/identity-providers/index.js';
import type { ChallengeRow, MfaService } from '../../modules/mfa/index.js';
import { pageBranding } from '../../modules/tenants/index.js';
import { findAccount, passwordChange, updateAccount } from '../../modules/users/index.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { type Federation, readProvidersOnce } from '../federation/federation.js';
import type { UpstreamIdentity } from '../federation/types.js';
import type { MountedProvider } from '../oauth/providers.js';
import { answered, next, type Step, type StepResult } from '../steps.js';
import { acrOf } from './acr.js';
import { directorySignIn, federationHint, homeRealm } from './federation-steps.js';
import {
  askSecondFactor,
  loadChallenge,
  secondFactorOperation,
  secondFactorPolicy,
  stepUpSession,
} from './mfa-steps.js';
import { passkeyAssertion, passkeyPageData, passkeysAllowed } from './passkey-steps.js';
import {
  accountStatusStep,
  findAccountStep,
  type PasswordCheck,
  passwordAgeStep,
  reserveAttemptStep,
  verifyPasswordStep,
} from './password-check.js';

/** How long the change-password form of a sign-in stays valid. */
const CHANGE_WINDOW_MS = 10 * 60_000;

type InteractionDetails = Awaited<ReturnType<MountedProvider['provider']['interactionDetails']>>;

/**
 * One sign-in attempt (an oidc-provider interaction) as the steps see it. Built by
 * {@link loadInteraction}: the interaction, its tenant and branding; the steps add what they learn.
 */
export interface SignIn extends PasswordCheck {
  request: FastifyRequest;
  reply: FastifyReply;
  mounted: MountedProvider;
  details: InteractionDetails;
  uid: string;
  /** The absolute URL of the interaction: the forms post below it. */
  action: string;
  /** Signs the change-password proof (HMAC with the instance's cookie key). */
  sign: (...parts: string[]) => string;
  form: Record<string, string>;
  mfa: MfaService;
  work: UnitOfWork;
  /** The methods (RFC 8176) this sign-in has passed so far. */
  amr: string[];
  /** After the password: a second factor to give, or one to set up first (mfa-steps.ts). */
  secondFactor?: 'verify' | 'enroll';
  /** The open second-factor challenge of this interaction, and its token (in the page). */
  challenge?: ChallengeRow;
  challengeToken?: string;
  /** How the answers look: the hosted pages, or JSON for the direct-login API. */
  present: SignInPresenter;
  /** The tenant's identity providers (src/protocols/federation). */
  federation: Federation;
  /** After an upstream provider vouched for the user: which, and what it said. */
  upstream?: { provider: ProviderRecord; identity: UpstreamIdentity };
}

/** What the second-factor step shows: the methods the user can give, an error, an email sent. */
export interface SecondFactorView {
  challenge: string;
  totp: boolean;
  email: boolean;
  sms: boolean;
  error?: string;
  sentTo?: string;
  /** What the page needs for passkeys (passkey-steps.ts `passkeyPageData`). */
  [page: string]: unknown;
}

/** What the enrollment step offers (a tenant requiring MFA, a user without a factor). */
export interface EnrollmentView {
  challenge: string;
  methods: readonly string[];
  /** Starts (or shows again) the authenticator-app enrollment; null when the tenant does not allow it. */
  totp: (() => Promise<{ secret: string; otpauth_uri: string; qr_svg: string }>) | null;
  email: boolean;
  error?: string;
  sentTo?: string;
  /** What the page needs for passkeys (passkey-steps.ts `passkeyPageData`). */
  [page: string]: unknown;
}

/**
 * The answers of the sign-in steps, apart from what they decide: the hosted pages
 * (hosted-presenter.ts) or the JSON of the direct-login API (direct-login.routes.ts).
 */
export interface SignInPresenter {
  secondFactor(signIn: SignIn, status: number, view: SecondFactorView): Promise<unknown>;
  enrollment(signIn: SignIn, status: number, view: EnrollmentView): Promise<unknown>;
  backupCodes(signIn: SignIn, codes: string[]): Promise<unknown>;
  passwordChange(signIn: SignIn, status: number, userId: string, error?: string): Promise<unknown>;
  /** The interaction is finished: continue the authorization at `returnTo`. */
  finished(signIn: SignIn, returnTo: string): unknown;
}

export type SignInStep = Step<SignIn>;

/** Step 0, which builds the context: the interaction of this browser, its tenant and branding. */
export async function loadInteraction(
  base: Omit<
    SignIn,
    'mounted' | 'tenant' | 'details' | 'action' | 'clientId' | 'email' | 'password' | 'now' | 'amr'
  >,
  forSlug: (slug: string) => Promise<MountedProvider | null | undefined>,
  slug: string,
): Promise<SignIn> {
  const mounted = await forSlug(slug);
  if (!mounted?.tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
  let details: InteractionDetails;
  try {
    details = await mounted.provider.interactionDetails(base.request.raw, base.reply.raw);
    if (details.uid !== base.uid) throw new Error('interaction mismatch');
  } catch {
    throw new AppError(
      'BAD_REQUEST',
      'This sign-in attempt has expired or is not valid in this browser. Start again from the application.',
    );
  }
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : null;
  return {
    ...base,
    // The steps of one request ask for the tenant's identity providers more than once.
    federation: readProvidersOnce(base.federation),
    mounted,
    tenant: mounted.tenant,
    details,
    clientId,
    action: `${mounted.mountPath}/interaction/${encodeURIComponent(base.uid)}`,
    email: String(base.form.email ?? ''),
    password: String(base.form.password ?? ''),
    now: new Date(),
    amr: [],
  };
}

/**
 * Finishes the interaction and sends the browser back into the authorization flow: what
 * oidc-provider's `interactionResult(…, { mergeWithLastSubmission: false })` does, on the
 * interaction this request loaded already (loadInteraction checked it against the browser's
 * cookie), instead of reading it again.
 */
async function finish(signIn: SignIn, result: InteractionResults): Promise<StepResult> {
  const { details } = signIn;
  details.result = result;
  await details.save(details.exp - Math.floor(Date.now() / 1000));
  return answered(await signIn.present.finished(signIn, details.returnTo));
}

const branding = (tenant: TenantRow) => pageBranding(tenant);

/** The tenant's "Forgot password?" page (forgot-password.routes.ts), with a way back here. */
const forgotPasswordUrl = (signIn: SignIn) =>
  `${signIn.mounted.mountPath}/forgot-password?interaction=${encodeURIComponent(signIn.uid)}`;

/** The sign-in form, again with a message when `error` is given; the SSO buttons of the tenant. */
export async function signInForm(signIn: SignIn, status: number, email: string, error?: string) {
  const providers = await signIn.federation.enabledProviders(signIn.tenant.id);
  const sso = providers
    .filter((provider) => provider.type !== 'LDAP')
    .map((provider) => ({ label: provider.buttonLabel, url: `${signIn.action}/federation/${provider.id}` }));
  // With an LDAP provider whose users type another login than their email, the field takes text.
  const textLogin = providers.some(
    (provider) => provider.type === 'LDAP' && provider.config.login_attribute !== 'mail',
  );
  return signIn.reply.page(status, 'sign-in', branding(signIn.tenant), 'Sign in', {
    action: signIn.action,
    csrf: signIn.reply.generateCsrf(),
    email,
    error,
    forgotPasswordUrl: forgotPasswordUrl(signIn),
    sso,
    loginType: textLogin ? 'text' : 'email',
    // Home-realm discovery: an email of a provider's domain needs no password here.
    passwordRequired: !providers.some(
      (provider) => provider.type !== 'LDAP' && provider.emailDomains.length > 0,
    ),
    ...passkeyPageData(signIn, passkeysAllowed(signIn)),
  });
}

/** The change-password form of the sign-in, its proof signed for the user and ten minutes. */
export function passwordChangeForm(signIn: SignIn, status: number, userId: string, error?: string) {
  const expires = String(Date.now() + CHANGE_WINDOW_MS);
  const amr = signIn.amr.join(' ');
  return signIn.reply.page(status, 'password-change', branding(signIn.tenant), 'Choose a new password', {
    action: signIn.action,
    csrf: signIn.reply.generateCsrf(),
    userId,
    expires,
    amr,
    proof: signIn.sign(signIn.uid, userId, expires, 'change', amr),
    error,
  });
}

// ——— the sign-in page (GET) ———

/** Consent is implied for first-party applications: grant what is missing and continue. */
export const impliedConsent: SignInStep = async (signIn) => {
  const { details } = signIn;
  if (details.prompt.name !== 'consent') return next();
  const { Grant } = signIn.mounted.provider;
  const grant =
    (details.grantId ? await Grant.find(details.grantId) : undefined) ??
    new Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return finish(signIn, { consent: { grantId: await grant.save() } });
};

/** Any other prompt than login (none is left): back into the flow. */
export const nothingToAsk: SignInStep = (signIn) =>
  signIn.details.prompt.name === 'login' ? next() : finish(signIn, {});

/** The sign-in form, the email filled in from login_hint. */
export const showSignInForm: SignInStep = async (signIn) => {
  const hint = typeof signIn.details.params.login_hint === 'string' ? signIn.details.params.login_hint : '';
  return answered(await signInForm(signIn, 200, hint));
};

/** GET …/interaction/:uid */
export const SIGN_IN_PAGE: readonly SignInStep[] = [
  impliedConsent,
  nothingToAsk,
  stepUpSession,
  federationHint,
  showSignInForm,
];

// ——— email and password (POST …/login) ———

/** An application with assignment_required signs in only its assigned users. */
export const assignmentCheck: SignInStep = async (signIn) => {
  const user = signIn.user as UserRow;
  const application = signIn.clientId ? await signIn.mounted.findClient(signIn.clientId) : undefined;
  if (!application?.assignment_required) return next();
  if (await isUserAssigned(bindTenant(signIn.db, signIn.tenant.id), application.id, user.id)) return next();
  await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) =>
    w.audit({
      action: 'user.login_failed',
      resourceType: 'user',
      resourceId: user.id,
      tenantId: signIn.tenant.id,
      partnerId: signIn.tenant.partner_id,
      after: { reason: 'not assigned to the application', client_id: signIn.clientId },
      result: 'FAILURE',
    }),
  );
  return finish(signIn, {
    error: 'access_denied',
    error_description: 'The user is not assigned to this application',
  });
};

/** A password that must change first: the change form (its POST continues the sign-in). */
export const requiredPasswordChange: SignInStep = async (signIn) =>
  signIn.mustChangePassword
    ? answered(await signIn.present.passwordChange(signIn, 200, (signIn.user as UserRow).id))
    : next();

/** The user is signed in: back into the authorization flow, with how (amr) and its class (acr). */
export const signedIn: SignInStep = (signIn) => {
  const amr = signIn.amr.length > 0 ? signIn.amr : ['pwd'];
  return finish(signIn, { login: { accountId: (signIn.user as UserRow).id, amr, acr: acrOf(amr) } });
};

/** The password was right: it is the first method of the sign-in. */
const passwordPassed: SignInStep = (signIn) => {
  signIn.amr = ['pwd'];
  return next();
};

/**
 * POST …/login, in order (docs/adr/0011-sign-in-step-pipeline.md): the password, then the second
 * factor (its own page, mfa-steps.ts) before a required password change. Federation comes first:
 * an email of an OIDC/SAML provider's domain goes there, a directory login is checked by the
 * directory (federation-steps.ts).
 */
export const PASSWORD_SIGN_IN: readonly SignInStep[] = [
  homeRealm,
  directorySignIn,
  findAccountStep,
  reserveAttemptStep,
  verifyPasswordStep,
  passwordPassed,
  secondFactorPolicy,
  accountStatusStep,
  assignmentCheck,
  passwordAgeStep,
  askSecondFactor,
  requiredPasswordChange,
  signedIn,
];

/** POST …/mfa: the second factor given (or set up), then the rest of the sign-in. */
export const SECOND_FACTOR: readonly SignInStep[] = [
  loadChallenge,
  secondFactorOperation,
  assignmentCheck,
  passwordAgeStep,
  requiredPasswordChange,
  signedIn,
];

/** POST …/passkey: a passkey alone (passkey-steps.ts), then what any sign-in checks last. */
export const PASSKEY_SIGN_IN: readonly SignInStep[] = [passkeyAssertion, assignmentCheck, signedIn];

// ——— a required password change (POST …/password) ———

const sameSignature = (given: unknown, expected: string) =>
  typeof given === 'string' &&
  given.length === expected.length &&
  timingSafeEqual(Buffer.from(given), Buffer.from(expected));

/** The form comes from the password step of this interaction, within its ten minutes. */
export const changeProof: SignInStep = (signIn) => {
  const { form } = signIn;
  const userId = String(form.user ?? '');
  const expires = String(form.expires ?? '');
  const amr = String(form.amr ?? '');
  if (
    !sameSignature(form.proof, signIn.sign(signIn.uid, userId, expires, 'change', amr)) ||
    Number(expires) < Date.now()
  ) {
    throw new AppError('BAD_REQUEST', 'The form expired. Start again from the application.');
  }
  signIn.amr = amr ? amr.split(' ') : ['pwd'];
  return next();
};

/** The account may still sign in. */
export const accountStillActive: SignInStep = async (signIn) => {
  const user = await findAccount(signIn.db, signIn.tenant.id, String(signIn.form.user));
  if (user?.status !== 'ACTIVE') throw new AppError('BAD_REQUEST', 'This account cannot sign in.');
  signIn.user = user;
  return next();
};

/** The new password, twice the same and within the tenant's policy, is saved (audited). */
export const saveNewPassword: SignInStep = async (signIn) => {
  const user = signIn.user as UserRow;
  const { form } = signIn;
  if (form.new_password !== form.confirm_password) {
    return answered(await signIn.present.passwordChange(signIn, 400, user.id, 'The two passwords differ.'));
  }
  let change: Awaited<ReturnType<typeof passwordChange>>;
  try {
    change = await passwordChange(signIn.tenant.settings, String(form.new_password ?? ''), user);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return answered(await signIn.present.passwordChange(signIn, 400, user.id, error.detail));
  }
  await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
    await updateAccount(w.db, signIn.tenant.id, user.id, { ...change, require_password_change: false });
    w.audit({
      action: 'user.password_changed',
      resourceType: 'user',
      resourceId: user.id,
      tenantId: signIn.tenant.id,
      partnerId: signIn.tenant.partner_id,
      after: { method: 'SIGN_IN_REQUIRED_CHANGE' },
    });
  });
  return next();
};

/** POST …/password */
export const REQUIRED_PASSWORD_CHANGE: readonly SignInStep[] = [
  changeProof,
  accountStillActive,
  saveNewPassword,
  signedIn,
];

/** The HMAC the change-password proof is made with. */
export const proofSigner =
  (secret: string) =>
  (...parts: string[]) =>
    createHmac('sha256', secret).update(parts.join('\u0000')).digest('base64url');
