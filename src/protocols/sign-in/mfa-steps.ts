import { newId } from '../../lib/ids.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import {
  codeHash,
  codeMail,
  createMfaRepository,
  EMAIL_CODE_TTL_MS,
  type FactorRow,
  type MfaMethod,
  maskEmail,
  newNumericCode,
  phoneOf,
  refuseEarlyResend,
  tenantMfaPolicy,
} from '../../modules/mfa/index.js';
import {
  findAccount,
  lockAccountAfterFailures,
  reserveSignInAttempt,
  resetSignInAttempts,
} from '../../modules/users/index.js';
import type { UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import { maskPhone } from '../../platform/sms.js';
import { answered, next, type StepResult } from '../steps.js';
import { ACR_MFA } from './acr.js';
import { passkeyEnrollment, passkeyPageData, passkeySecondFactor, passkeysAllowed } from './passkey-steps.js';
import type { SignIn, SignInStep } from './sign-in-steps.js';

/** How long a sign-in may wait for its second factor (the interaction itself lasts 10 minutes). */
const CHALLENGE_TTL_MS = 10 * 60_000;

/** A challenge's purposes: a second factor to give, one to set up, or done (backup codes shown). */
export const VERIFY = 'SIGN_IN';
export const ENROLL = 'SIGN_IN_ENROLL';
const DONE = 'SIGN_IN_DONE';

const METHOD_OF_TYPE: Partial<Record<FactorRow['factor_type'], MfaMethod>> = {
  TOTP: 'totp',
  EMAIL: 'email',
  WEBAUTHN: 'webauthn',
  SMS: 'sms',
};

const tenantDb = (signIn: SignIn) => bindTenant(signIn.db, signIn.tenant.id);
const methodsAllowed = (signIn: SignIn) => tenantMfaPolicy(signIn.tenant).mfa_methods;

/**
 * The user's confirmed factors of methods the tenant allows: a factor of a method the tenant no
 * longer allows is neither offered nor accepted (docs/account-security.md).
 */
async function usableFactors(signIn: SignIn, userId: string): Promise<FactorRow[]> {
  const allowed = methodsAllowed(signIn);
  const factors = await createMfaRepository(tenantDb(signIn)).factors(userId);
  return factors.filter((factor) => {
    const method = METHOD_OF_TYPE[factor.factor_type];
    return factor.confirmed_at !== null && method !== undefined && allowed.includes(method);
  });
}

/** Whether the authorization request asks for a multi-factor sign-in (`acr_values`). */
function requestsMfa(signIn: SignIn): boolean {
  const values = signIn.details.params.acr_values;
  return typeof values === 'string' && values.split(' ').includes(ACR_MFA);
}

/**
 * What the user must do after the password: give a factor, set one up, or nothing. A user whose
 * row says `mfa_enabled: false` has no confirmed factor (the MFA service keeps the flag in the
 * factor's own transaction), so the factors are not read for them (issue 17: one statement less
 * per sign-in of a user without a second factor).
 */
async function secondFactorNeeded(
  signIn: SignIn,
  user: Pick<UserRow, 'id' | 'mfa_enabled'>,
): Promise<'verify' | 'enroll' | undefined> {
  if (user.mfa_enabled && (await usableFactors(signIn, user.id)).length > 0) return 'verify';
  if (tenantMfaPolicy(signIn.tenant).mfa_required || requestsMfa(signIn)) return 'enroll';
  return undefined;
}

/** Step (after the password): decides whether a second factor follows; the lockout count then stays. */
export const secondFactorPolicy: SignInStep = async (signIn) => {
  signIn.secondFactor = await secondFactorNeeded(signIn, signIn.user as UserRow);
  signIn.secondFactorPending = signIn.secondFactor !== undefined;
  return next();
};

// ——— pages ———

async function mfaPage(signIn: SignIn, status: number, options: { error?: string; sentTo?: string } = {}) {
  const user = signIn.user as UserRow;
  const factors = await usableFactors(signIn, user.id);
  return signIn.present.secondFactor(signIn, status, {
    challenge: signIn.challengeToken as string,
    totp: factors.some((factor) => factor.factor_type === 'TOTP'),
    email: factors.some((factor) => factor.factor_type === 'EMAIL'),
    sms: factors.some((factor) => factor.factor_type === 'SMS'),
    ...passkeyPageData(
      signIn,
      factors.some((factor) => factor.factor_type === 'WEBAUTHN'),
    ),
    ...options,
  });
}

async function enrollPage(signIn: SignIn, status: number, options: { error?: string; sentTo?: string } = {}) {
  const allowed = methodsAllowed(signIn);
  if (!allowed.includes('totp') && !allowed.includes('email') && !passkeysAllowed(signIn)) {
    throw new AppError(
      'BAD_REQUEST',
      'Your organization requires a second factor, but none of its methods can be set up here. Ask your administrator.',
    );
  }
  const account = { tenant: signIn.tenant, user: signIn.user as UserRow, origin: signIn.origin };
  return signIn.present.enrollment(signIn, status, {
    challenge: signIn.challengeToken as string,
    methods: allowed,
    totp: allowed.includes('totp') ? () => signIn.mfa.totpEnrollment(account) : null,
    email: allowed.includes('email'),
    ...passkeyPageData(signIn, allowed.includes('webauthn')),
    ...options,
  });
}

/** Opens a challenge for this interaction: its token goes into the page, its hash into the table. */
async function openChallenge(signIn: SignIn, purpose: string, amr: string[]): Promise<void> {
  const token = generateSecret();
  await createMfaRepository(tenantDb(signIn)).insertChallenge({
    id: newId('mfaChallenge'),
    token_hash: sha256Hex(token),
    user_id: (signIn.user as UserRow).id,
    purpose,
    interaction_uid: signIn.uid,
    client_id: signIn.clientId,
    amr: amr.join(' '),
    expires_at: new Date(signIn.now.getTime() + CHALLENGE_TTL_MS),
  });
  signIn.challengeToken = token;
}

/** Step: asks for the second factor (or its set-up) when one is needed. */
export const askSecondFactor: SignInStep = async (signIn) => {
  if (!signIn.secondFactor) return next();
  await openChallenge(signIn, signIn.secondFactor === 'verify' ? VERIFY : ENROLL, signIn.amr);
  return answered(
    signIn.secondFactor === 'verify' ? await mfaPage(signIn, 200) : await enrollPage(signIn, 200),
  );
};

/**
 * Step of the sign-in page: a signed-in session that lacks the second factor the request or the
 * tenant asks for (`mfa_step_up`, oidc-provider.ts) gives it without the password again. Any
 * other reason to sign in (no session, `max_age`, `prompt=login`) is the full form.
 */
export const stepUpSession: SignInStep = async (signIn) => {
  const { prompt, session } = signIn.details;
  const reasons = prompt.reasons ?? [];
  if (prompt.name !== 'login' || !session?.accountId || !reasons.includes('mfa_step_up')) return next();
  if (!reasons.every((reason) => reason === 'mfa_step_up' || reason.startsWith('essential_acr')))
    return next();
  const user = await findAccount(signIn.db, signIn.tenant.id, session.accountId);
  if (user?.status !== 'ACTIVE') return next();
  signIn.user = user;
  signIn.amr = ((session as { amr?: string[] }).amr ?? []).filter((value) => value !== 'mfa');
  signIn.secondFactor = (await secondFactorNeeded(signIn, user)) ?? 'enroll';
  return askSecondFactor(signIn);
};

// ——— the second-factor form (POST …/mfa) ———

/** Step: the challenge of this interaction named by the form, still open, and its active user. */
export const loadChallenge: SignInStep = async (signIn) => {
  const token = String(signIn.form.challenge ?? '');
  const challenge = token
    ? await createMfaRepository(tenantDb(signIn)).challengeByToken(sha256Hex(token))
    : undefined;
  if (!challenge || challenge.interaction_uid !== signIn.uid || challenge.expires_at <= signIn.now) {
    throw new AppError('BAD_REQUEST', 'This verification has expired. Start again from the application.');
  }
  const user = challenge.user_id
    ? await findAccount(signIn.db, signIn.tenant.id, challenge.user_id)
    : undefined;
  if (user?.status !== 'ACTIVE') throw new AppError('BAD_REQUEST', 'This account cannot sign in.');
  signIn.user = user;
  signIn.challenge = challenge;
  signIn.challengeToken = token;
  signIn.amr = challenge.amr ? challenge.amr.split(' ') : [];
  return next();
};

const account = (signIn: SignIn) => ({
  tenant: signIn.tenant,
  user: signIn.user as UserRow,
  origin: signIn.origin,
});

function audit(
  signIn: SignIn,
  action: string,
  after: Record<string, unknown>,
  result: 'SUCCESS' | 'FAILURE',
) {
  return {
    action,
    resourceType: 'user',
    resourceId: (signIn.user as UserRow).id,
    tenantId: signIn.tenant.id,
    partnerId: signIn.tenant.partner_id,
    after: { ...after, client_id: signIn.clientId },
    result,
  } as const;
}

/**
 * Sends a fresh code for this challenge by mail or text message (the previous one stops
 * working; at most one per 30 seconds). Answers where it went, masked.
 */
async function sendCode(signIn: SignIn, factor: FactorRow): Promise<string> {
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  const user = signIn.user as UserRow;
  // The last code's time: its expiry less its validity.
  refuseEarlyResend(
    challenge.code_expires_at ? new Date(challenge.code_expires_at.getTime() - EMAIL_CODE_TTL_MS) : null,
    signIn.now,
  );
  const code = newNumericCode();
  const phone = factor.factor_type === 'SMS' ? phoneOf(factor) : null;
  await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
    await createMfaRepository(w.db).updateChallenge(challenge.id, {
      code_hash: codeHash(challenge.id, code),
      code_expires_at: new Date(signIn.now.getTime() + EMAIL_CODE_TTL_MS),
      code_channel: factor.factor_type,
    });
    if (!phone) await w.mail(codeMail(signIn.tenant, user, code, 'to sign in'));
  });
  if (phone) {
    await signIn.mfa.textCode(signIn.tenant, phone, code);
    return maskPhone(phone);
  }
  return maskEmail(user.email);
}

/** The code is right: the lockout count starts again and the sign-in goes on with `mfa` in its amr. */
async function verified(signIn: SignIn, method: string, amr = 'otp'): Promise<StepResult> {
  const user = signIn.user as UserRow;
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
    await resetSignInAttempts(w.db, signIn.tenant.id, user.id, signIn.now);
    await createMfaRepository(w.db).deleteChallenge(challenge.id);
    w.audit(audit(signIn, 'user.mfa_verified', { method }, 'SUCCESS'));
    w.audit(audit(signIn, 'user.login', { method: `password+${method}` }, 'SUCCESS'));
  });
  signIn.amr = [...new Set([...signIn.amr, amr, 'mfa'])];
  return next();
}

/**
 * A wrong code counts like a wrong password (docs/security.md, "Lockout"): the attempt was
 * reserved before the check, and the one that reaches the threshold locks the account.
 */
async function refusedCode(signIn: SignIn, failedAttempts: number): Promise<StepResult> {
  const user = signIn.user as UserRow;
  const { lockout } = tenantMfaPolicy(signIn.tenant);
  const locked = await signIn.work.inTenant(
    signIn.tenant.id,
    { ...signIn.origin, actorId: user.id },
    async (w) => {
      const lockNow =
        failedAttempts >= lockout.max_failed_attempts &&
        (await lockAccountAfterFailures(
          w.db,
          signIn.tenant.id,
          user.id,
          signIn.now,
          lockout.lockout_minutes,
        ));
      w.audit(
        audit(
          signIn,
          'user.mfa_failed',
          { reason: 'wrong code', failed_login_attempts: failedAttempts },
          'FAILURE',
        ),
      );
      if (lockNow) {
        w.audit(audit(signIn, 'user.locked', { failed_login_attempts: failedAttempts }, 'SUCCESS'));
        w.invalidate(`user:${user.id}`);
      }
      return lockNow;
    },
  );
  if (locked) throw new AppError('BAD_REQUEST', 'Too many wrong codes: this account is locked for a while.');
  return answered(await mfaPage(signIn, 401, { error: 'The code is not correct. Try again.' }));
}

/** op=verify: a code of an allowed factor (TOTP, the emailed code) or a backup code. */
async function verifyCode(signIn: SignIn): Promise<StepResult> {
  const user = signIn.user as UserRow;
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  const { lockout } = tenantMfaPolicy(signIn.tenant);
  const reserved = await reserveSignInAttempt(
    signIn.db,
    signIn.tenant.id,
    user.id,
    lockout.max_failed_attempts,
    signIn.now,
  );
  if (!reserved) {
    await signIn.work.inTenant(signIn.tenant.id, signIn.origin, async (w) => {
      w.audit(audit(signIn, 'user.mfa_failed', { reason: 'locked' }, 'FAILURE'));
    });
    throw new AppError('BAD_REQUEST', 'Too many wrong codes: this account is locked for a while.');
  }
  const code = String(signIn.form.code ?? '').trim();
  const factors = await usableFactors(signIn, user.id);
  const allowed = factors.map((factor) => METHOD_OF_TYPE[factor.factor_type] as MfaMethod);
  const repo = createMfaRepository(tenantDb(signIn));
  // A code this challenge sent, through a factor the user may still use.
  const sentThrough = factors.find((factor) => factor.factor_type === challenge.code_channel);
  if (
    sentThrough &&
    challenge.code_hash &&
    (await repo.spendChallengeCode(challenge.id, codeHash(challenge.id, code), signIn.now))
  ) {
    await repo.touch(sentThrough.id, signIn.now);
    return sentThrough.factor_type === 'SMS' ? verified(signIn, 'sms', 'sms') : verified(signIn, 'email');
  }
  const spent = code
    ? await signIn.mfa.spendCode(tenantDb(signIn), user.id, code, allowed, signIn.now)
    : null;
  if (spent) return verified(signIn, spent.method);
  return refusedCode(signIn, reserved.failed_login_attempts);
}

/** A factor was set up during the sign-in: backup codes (once), then on. */
async function enrolled(signIn: SignIn, backupCodes: string[] | null, amr = 'otp'): Promise<StepResult> {
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  signIn.amr = [...new Set([...signIn.amr, amr, 'mfa'])];
  const repo = createMfaRepository(tenantDb(signIn));
  if (!backupCodes) {
    await repo.deleteChallenge(challenge.id);
    return next();
  }
  await repo.updateChallenge(challenge.id, { amr: signIn.amr.join(' ') });
  await repo.markChallenge(challenge.id, DONE);
  return answered(await signIn.present.backupCodes(signIn, backupCodes));
}

async function enrollmentStep(signIn: SignIn, body: () => Promise<StepResult>, sentTo?: string) {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof AppError) || error.status >= 500 || error.code === 'BAD_REQUEST') throw error;
    return answered(await enrollPage(signIn, 400, { error: error.detail, sentTo }));
  }
}

/** Step: what the form asks (`op`), for the challenge's purpose. */
export const secondFactorOperation: SignInStep = async (signIn) => {
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  const op = String(signIn.form.op ?? '');
  const code = String(signIn.form.code ?? '');
  const wrongStep = () => {
    throw new AppError(
      'BAD_REQUEST',
      'This form does not belong to this step. Start again from the application.',
    );
  };
  if (challenge.purpose === VERIFY) {
    if (op === 'verify') return verifyCode(signIn);
    if (op === 'webauthn') {
      const passkey = await passkeySecondFactor(signIn);
      if (passkey.ok) return verified(signIn, 'webauthn', passkey.amr);
      return answered(await mfaPage(signIn, 401, { error: passkey.error }));
    }
    if (op === 'send_email' || op === 'send_sms') {
      const channel = op === 'send_email' ? 'EMAIL' : 'SMS';
      const factors = await usableFactors(signIn, (signIn.user as UserRow).id);
      const factor = factors.find((candidate) => candidate.factor_type === channel);
      if (!factor) return wrongStep();
      return answered(await mfaPage(signIn, 200, { sentTo: await sendCode(signIn, factor) }));
    }
    return wrongStep();
  }
  if (challenge.purpose === ENROLL) {
    if (op === 'enroll_totp') {
      return enrollmentStep(signIn, async () =>
        enrolled(signIn, (await signIn.mfa.confirmTotp(account(signIn), code)).backup_codes),
      );
    }
    if (op === 'enroll_webauthn') {
      return enrollmentStep(signIn, async () => {
        const passkey = await passkeyEnrollment(signIn);
        return enrolled(signIn, passkey.backup_codes, passkey.amr);
      });
    }
    if (op === 'enroll_email') {
      return enrollmentStep(signIn, async () => {
        const sent = await signIn.mfa.startEmail(account(signIn));
        return answered(await enrollPage(signIn, 200, { sentTo: sent.sent_to }));
      });
    }
    if (op === 'enroll_email_confirm') {
      return enrollmentStep(
        signIn,
        async () => enrolled(signIn, (await signIn.mfa.confirmEmail(account(signIn), code)).backup_codes),
        'your address',
      );
    }
    return wrongStep();
  }
  if (challenge.purpose === DONE && op === 'continue') {
    await createMfaRepository(tenantDb(signIn)).deleteChallenge(challenge.id);
    return next();
  }
  return wrongStep();
};

export { ACR_MFA };
