import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { newId } from '../../lib/ids.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import {
  createMfaRepository,
  type FactorRow,
  parseWebAuthnResponse,
  passkeyAmr,
  signedChallenge,
  tenantMfaPolicy,
  WEBAUTHN_TTL_MS,
} from '../../modules/mfa/index.js';
import { findAccount, resetSignInAttempts, updateAccount } from '../../modules/users/index.js';
import type { UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import { answered, next, type StepResult } from '../steps.js';
import type { SignIn, SignInStep } from './sign-in-steps.js';

/**
 * Passkeys in the hosted sign-in (docs/api-decisions.md, "Passkeys"): the page flag and script,
 * a passkey as the second factor, a passkey set up during a forced enrollment, and the sign-in
 * with a passkey alone. The browser's part is assets/passkeys.js (passkey.routes.ts serves it).
 */

/** The purpose of the challenge row of a sign-in with a passkey alone (bound to the interaction). */
export const PASSKEY_SIGN_IN_PURPOSE = 'PASSKEY_SIGN_IN';

const tenantDb = (signIn: SignIn) => bindTenant(signIn.db, signIn.tenant.id);

/**
 * Whether passkeys work here: the tenant allows them (`settings.mfa_methods` has `webauthn`) and
 * the public URL can be an RP ID (not an IP address, webauthn.service.ts `relyingParty`).
 */
export const passkeysAllowed = (signIn: SignIn) =>
  signIn.mfa.webauthn.rp.usable && tenantMfaPolicy(signIn.tenant).mfa_methods.includes('webauthn');

/** What a page shows of passkeys: the flag its template reads, and the script it then loads. */
export function passkeyPageData(signIn: SignIn, offered: boolean): Record<string, unknown> {
  return offered && signIn.mfa.webauthn.rp.usable
    ? { passkey: true, scripts: [`${signIn.mounted.mountPath}/passkeys.js`] }
    : { passkey: false };
}

/** The user's passkeys usable here: confirmed WEBAUTHN factors, while the tenant allows the method. */
export async function usablePasskeys(signIn: SignIn, userId: string): Promise<FactorRow[]> {
  return passkeysAllowed(signIn) ? signIn.mfa.webauthn.credentialsOf(tenantDb(signIn), userId) : [];
}

const auditEntry = (
  signIn: SignIn,
  userId: string,
  action: string,
  after: Record<string, unknown>,
  result: 'SUCCESS' | 'FAILURE',
) =>
  ({
    action,
    resourceType: 'user',
    resourceId: userId,
    tenantId: signIn.tenant.id,
    partnerId: signIn.tenant.partner_id,
    after: { ...after, client_id: signIn.clientId },
    result,
  }) as const;

/** Refuses a passkey ceremony where passkeys do not work (409, with the reason). */
function assertPasskeys(signIn: SignIn): void {
  if (!signIn.mfa.webauthn.rp.usable) {
    throw new AppError('WEBAUTHN_UNAVAILABLE', 'Passkeys cannot be used with this server’s address.');
  }
  if (!passkeysAllowed(signIn)) {
    throw new AppError('MFA_METHOD_NOT_ALLOWED', 'This organization does not allow passkeys.');
  }
}

// ——— options (POST …/interaction/:uid/passkey/options, passkey.routes.ts) ———

/**
 * Request options of a sign-in with a passkey alone: a discoverable credential of any user of the
 * tenant, user verification required. The challenge is kept (5 minutes) in a row bound to this
 * interaction; an earlier one of the interaction is replaced.
 */
export async function passkeySignInOptions(signIn: SignIn) {
  assertPasskeys(signIn);
  const options = await signIn.mfa.webauthn.authenticationOptions(null);
  const repo = createMfaRepository(tenantDb(signIn));
  await repo.deleteInteractionChallenges(signIn.uid, PASSKEY_SIGN_IN_PURPOSE);
  await repo.insertChallenge({
    id: newId('mfaChallenge'),
    token_hash: sha256Hex(generateSecret()),
    user_id: null,
    purpose: PASSKEY_SIGN_IN_PURPOSE,
    interaction_uid: signIn.uid,
    client_id: signIn.clientId,
    webauthn_challenge: options.challenge,
    expires_at: new Date(signIn.now.getTime() + WEBAUTHN_TTL_MS),
  });
  return options;
}

/** Request options of the second factor: the user's passkeys; the challenge goes into the sign-in's row. */
export async function secondFactorPasskeyOptions(signIn: SignIn) {
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  const passkeys = await usablePasskeys(signIn, (signIn.user as UserRow).id);
  if (passkeys.length === 0) {
    throw new AppError('MFA_NOT_ENROLLED', 'No passkey of this account can be used here');
  }
  const options = await signIn.mfa.webauthn.authenticationOptions(passkeys);
  await createMfaRepository(tenantDb(signIn)).updateChallenge(challenge.id, {
    webauthn_challenge: options.challenge,
  });
  return options;
}

/** Creation options of a forced enrollment: bound to the sign-in's challenge, not to a token. */
export function enrollmentPasskeyOptions(signIn: SignIn) {
  return signIn.mfa.webauthn.registrationOptions(
    { tenant: signIn.tenant, user: signIn.user as UserRow, origin: signIn.origin },
    signIn.challenge,
  );
}

// ——— a passkey as the second factor (op=webauthn of POST …/mfa) ———

export type PasskeyOutcome = { ok: true; amr: 'hwk' | 'swk' } | { ok: false; error: string };

/**
 * Verifies the assertion of the form (`response`) against the challenge of this sign-in and one of
 * the user's passkeys; spends the challenge and records the counter. A refusal is audited
 * (`user.mfa_failed`); the caller shows the page again. An assertion cannot be guessed, so a
 * refusal does not count toward the lockout (the route's per-IP limit applies).
 */
export async function passkeySecondFactor(signIn: SignIn): Promise<PasskeyOutcome> {
  const user = signIn.user as UserRow;
  const challenge = signIn.challenge as NonNullable<SignIn['challenge']>;
  try {
    const response = parseWebAuthnResponse<AuthenticationResponseJSON>(signIn.form.response ?? '');
    const factor = (await usablePasskeys(signIn, user.id)).find((row) => row.credential_id === response.id);
    const expected = challenge.webauthn_challenge;
    if (!factor || !expected || signedChallenge(response) !== expected) {
      throw new AppError(
        'WEBAUTHN_VERIFICATION_FAILED',
        'This passkey is not one of this account’s, or the request expired. Try again.',
      );
    }
    const checked = await signIn.mfa.webauthn.verifyAssertion(factor, response, expected, false);
    await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
      if (!(await createMfaRepository(w.db).spendWebauthnChallenge(challenge.id, expected))) {
        throw new AppError('WEBAUTHN_VERIFICATION_FAILED', 'This passkey response was already used.');
      }
      await checked.record(w.db, signIn.now);
    });
    return { ok: true, amr: passkeyAmr(factor) };
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'WEBAUTHN_VERIFICATION_FAILED') throw error;
    await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
      w.audit(auditEntry(signIn, user.id, 'user.mfa_failed', { reason: 'passkey not verified' }, 'FAILURE'));
    });
    return { ok: false, error: 'The passkey could not be verified. Try again, or use another method.' };
  }
}

/** op=enroll_webauthn of a forced enrollment: the registration bound to the sign-in's challenge. */
export async function passkeyEnrollment(signIn: SignIn) {
  const done = await signIn.mfa.webauthn.register(
    { tenant: signIn.tenant, user: signIn.user as UserRow, origin: signIn.origin },
    signIn.form.response ?? '',
    signIn.form.name || undefined,
    signIn.challenge,
  );
  return { backup_codes: done.backup_codes, amr: passkeyAmr(done.factor) };
}

// ——— a passkey alone (POST …/interaction/:uid/passkey) ———

/** The refusal of a passkey sign-in: the sign-in form again (401), with the message. */
const refused = async (signIn: SignIn, message: string): Promise<StepResult> =>
  answered(await signIn.refuse({ message } as Parameters<SignIn['refuse']>[0]));

/**
 * Step: a discoverable passkey with user verification signs the user in. The assertion must answer
 * the challenge of this interaction; its credential id finds the factor among this tenant's (a
 * passkey of another tenant's user is not known here); the account must be ACTIVE. Audited as
 * `user.login` (method passkey) or `user.login_failed`.
 */
export const passkeyAssertion: SignInStep = async (signIn) => {
  assertPasskeys(signIn);
  let response: AuthenticationResponseJSON;
  try {
    response = parseWebAuthnResponse<AuthenticationResponseJSON>(signIn.form.response ?? '');
  } catch (error) {
    if (error instanceof AppError) return refused(signIn, error.detail);
    throw error;
  }
  const repo = createMfaRepository(tenantDb(signIn));
  const expected = signedChallenge(response);
  const open =
    expected &&
    (await repo.challengeByWebauthn(
      PASSKEY_SIGN_IN_PURPOSE,
      expected,
      { interactionUid: signIn.uid },
      signIn.now,
    ));
  if (!open || !expected) return refused(signIn, 'This passkey request has expired. Try again.');
  const factor = await repo.factorByCredentialId(response.id);
  if (!factor) return refused(signIn, 'This passkey is not registered for an account here.');
  const user = await findAccount(signIn.db, signIn.tenant.id, factor.user_id);
  const handle = response.response.userHandle;
  const fail = async (reason: string, message: string) => {
    await signIn.work.inTenant(signIn.tenant.id, { ...signIn.origin, actorId: factor.user_id }, async (w) => {
      w.audit(
        auditEntry(signIn, factor.user_id, 'user.login_failed', { method: 'passkey', reason }, 'FAILURE'),
      );
    });
    return refused(signIn, message);
  };
  if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== factor.user_id) {
    return fail('user handle mismatch', 'This passkey could not be verified.');
  }
  // A lock after failed attempts whose time is over ends with this sign-in (as with a password).
  const lockOver = user?.status === 'LOCKED' && !!user.locked_until && user.locked_until <= signIn.now;
  if (!user || (user.status !== 'ACTIVE' && !lockOver)) {
    return fail(user?.status ?? 'DELETED', 'This account cannot sign in.');
  }
  let checked: Awaited<ReturnType<SignIn['mfa']['webauthn']['verifyAssertion']>>;
  try {
    checked = await signIn.mfa.webauthn.verifyAssertion(factor, response, expected, true);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return fail('passkey not verified', 'This passkey could not be verified.');
  }
  const outcome = await signIn.work
    .inTenant(signIn.tenant.id, { ...signIn.origin, actorId: user.id }, async (w) => {
      if (!(await createMfaRepository(w.db).deleteChallenge(open.id))) {
        throw new AppError('WEBAUTHN_VERIFICATION_FAILED', 'This passkey response was already used.');
      }
      await checked.record(w.db, signIn.now);
      if (lockOver) {
        await updateAccount(w.db, signIn.tenant.id, user.id, {
          status: 'ACTIVE',
          status_reason: null,
          locked_until: null,
        });
        w.invalidate(`user:${user.id}`);
      }
      await resetSignInAttempts(w.db, signIn.tenant.id, user.id, signIn.now);
      w.audit(
        auditEntry(signIn, user.id, 'user.login', { method: 'passkey', factor_id: factor.id }, 'SUCCESS'),
      );
      return 'signed in' as const;
    })
    .catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'WEBAUTHN_VERIFICATION_FAILED') return error;
      throw error;
    });
  if (outcome !== 'signed in') return fail('passkey not verified', 'This passkey could not be verified.');
  signIn.user = { ...user, status: 'ACTIVE' };
  // User verification on the authenticator (PIN or biometric) and the key it holds: two factors.
  signIn.amr = [passkeyAmr(factor), 'mfa'];
  return next();
};
