import { isId, newId } from '../../lib/ids.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant, type TenantQueryable, type TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import type { AuditEvent } from '../../platform/events/audit-log.js';
import type { UnitOfWork, Work } from '../../platform/events/unit-of-work.js';
import type { AuditOrigin } from '../../platform/http.js';
import type { SecretBox } from '../../platform/secret-box.js';
import { maskPhone, type SmsSender } from '../../platform/sms.js';
import {
  effectiveSettings,
  type TenantSettings,
  type TenantSettingsInput,
  tenantDisplayName,
} from '../tenants/index.js';
import { updateAccount } from '../users/index.js';
import {
  codeHash,
  emailCodeWait,
  looksLikeBackupCode,
  maskEmail,
  newBackupCodes,
  newNumericCode,
  newTotpSecret,
  totpEnrollmentOf,
  totpStep,
} from './codes.js';
import { createMfaRepository, type FactorRow, type FactorType } from './mfa.repository.js';
import { createWebAuthn } from './webauthn.service.js';

/** A second-factor method as tenant settings name it. */
export type MfaMethod = TenantSettings['mfa_methods'][number];

/** How long an emailed code stays valid (issue 13: 10 minutes). */
export const EMAIL_CODE_TTL_MS = 10 * 60_000;

const TYPE_OF_METHOD: Record<MfaMethod, FactorType> = {
  totp: 'TOTP',
  email: 'EMAIL',
  sms: 'SMS',
  webauthn: 'WEBAUTHN',
};

/** What proves presence before a change to one's factors: a current code, or a passkey's assertion. */
export interface PresenceProof {
  code?: string | undefined;
  /** An AuthenticationResponseJSON (or its text) for the account's open presence challenge. */
  webauthn?: unknown;
}

/** The account a self-service call acts on: the signed-in user in their tenant. */
export interface Account {
  tenant: TenantRow;
  user: UserRow;
  origin: AuditOrigin;
}

/** A factor as the API shows it: never its secret or credential. */
export interface FactorView {
  id: string;
  type: 'totp' | 'email' | 'sms' | 'webauthn';
  name: string | null;
  confirmed: boolean;
  created_at: string;
  last_used_at: string | null;
}

export function toFactorView(row: FactorRow): FactorView {
  return {
    id: row.id,
    type: row.factor_type.toLowerCase() as FactorView['type'],
    name: row.label,
    confirmed: row.confirmed_at !== null,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at ? row.last_used_at.toISOString() : null,
  };
}

export const tenantMfaPolicy = (tenant: TenantRow) =>
  effectiveSettings(tenant.settings as TenantSettingsInput);

/** How a one-time code was accepted: the RFC 8176 `amr` value it adds. */
export type CodeMethod = 'totp' | 'email' | 'backup_code';
export const AMR_OF: Record<CodeMethod | 'webauthn', string> = {
  totp: 'otp',
  email: 'otp',
  backup_code: 'otp',
  webauthn: 'hwk',
};

export interface MfaServiceOptions {
  db: Db;
  work: UnitOfWork;
  box: SecretBox;
  /** The text-message sender (`SCAIKEY_SMS_WEBHOOK_URL`); null: SMS cannot be enabled. */
  sms: SmsSender | null;
  /** SCAIKEY_PUBLIC_URL: its host name is the WebAuthn RP ID, its origin the expected origin. */
  publicUrl: string;
}

/** The phone number an SMS factor sends to (kept in its `credential`). */
export const phoneOf = (factor: FactorRow): string | null =>
  typeof factor.credential?.phone_number === 'string' ? factor.credential.phone_number : null;

/**
 * Second factors of a tenant's users (issue 13; docs/account-security.md): TOTP, emailed codes and
 * backup codes (WebAuthn keeps its credentials in the same table). Every change is one unit of
 * work with its audit entries; `users.mfa_enabled` is true exactly while a confirmed factor exists.
 */
export function createMfaService({ db, work, box, sms, publicUrl }: MfaServiceOptions) {
  const inTenant = <T>(account: Account, body: (w: Work<TenantTx>) => Promise<T>) =>
    work.inTenant(account.tenant.id, account.origin, body);

  const subject = (account: Account) =>
    ({
      resourceType: 'user',
      resourceId: account.user.id,
      tenantId: account.tenant.id,
      partnerId: account.tenant.partner_id,
    }) as const;

  function smsSender(): SmsSender {
    if (!sms) {
      throw new AppError('SMS_NOT_CONFIGURED', 'This server has no SMS sender: SMS codes cannot be used');
    }
    return sms;
  }

  function assertAllowed(tenant: TenantRow, method: MfaMethod): void {
    if (!tenantMfaPolicy(tenant).mfa_methods.includes(method)) {
      throw new AppError('MFA_METHOD_NOT_ALLOWED', `The tenant does not allow ${method} as a second factor`);
    }
  }

  /**
   * After a factor was confirmed or removed: `mfa_enabled` follows whether a confirmed factor
   * remains (audited when it flips), and the first factor brings fresh backup codes.
   */
  async function settle(
    w: Work<TenantTx>,
    account: Account,
    change: Omit<AuditEvent, keyof ReturnType<typeof subject>>,
  ): Promise<{ enabled: boolean; backupCodes: string[] | null }> {
    const repo = createMfaRepository(w.db);
    const enabled = await repo.hasConfirmedFactor(account.user.id);
    let backupCodes: string[] | null = null;
    w.audit({ ...subject(account), ...change });
    if (enabled !== account.user.mfa_enabled) {
      await updateAccount(w.db, account.tenant.id, account.user.id, { mfa_enabled: enabled });
      w.audit({
        action: enabled ? 'user.mfa_enabled' : 'user.mfa_disabled',
        ...subject(account),
        before: { mfa_enabled: account.user.mfa_enabled },
        after: { mfa_enabled: enabled },
      });
      w.invalidate(`user:${account.user.id}`);
    }
    if (enabled && (await repo.backupCodesLeft(account.user.id)) === 0) {
      backupCodes = await replaceBackupCodes(w, account.user.id);
    }
    if (!enabled) await repo.deleteBackupCodes(account.user.id);
    return { enabled, backupCodes };
  }

  async function replaceBackupCodes(w: Work<TenantTx>, userId: string): Promise<string[]> {
    const codes = newBackupCodes();
    await createMfaRepository(w.db).replaceBackupCodes(
      userId,
      codes.map((code) => codeHash(userId, code)),
    );
    return codes;
  }

  /** The seed of a TOTP factor, opened with the instance key (bound to the factor's id). */
  function totpSeed(factor: FactorRow): string | null {
    return factor.secret ? box.unseal(factor.secret, factor.id) : null;
  }

  /**
   * Checks a one-time code against the user's confirmed TOTP factor or unused backup codes, and
   * spends it (a TOTP step or a backup code is accepted once). Null when it matches nothing.
   */
  async function spendCode(
    tx: TenantQueryable,
    userId: string,
    code: string,
    methods: readonly MfaMethod[],
    now: Date,
  ): Promise<{ method: CodeMethod; factorId: string | null } | null> {
    const repo = createMfaRepository(tx);
    const typed = code.trim();
    if (looksLikeBackupCode(typed)) {
      return (await repo.spendBackupCode(userId, codeHash(userId, typed), now))
        ? { method: 'backup_code', factorId: null }
        : null;
    }
    if (!methods.includes('totp')) return null;
    const totp = (await repo.factors(userId)).find(
      (factor) => factor.factor_type === 'TOTP' && factor.confirmed_at !== null,
    );
    const seed = totp && totpSeed(totp);
    if (!totp || !seed) return null;
    const step = totpStep(seed, typed, now);
    if (step === null || !(await repo.acceptTotpStep(totp.id, step, now))) return null;
    return { method: 'totp', factorId: totp.id };
  }

  /**
   * Presence, asked before a change to the user's own factors (re-authentication): a current code
   * (authenticator app or backup code), or an assertion of one of the user's passkeys (`webauthn`).
   */
  async function requirePresence(w: Work<TenantTx>, account: Account, proof: PresenceProof) {
    if (proof.webauthn !== undefined) {
      try {
        const factor = await webauthn.provePresence(w, account, proof.webauthn);
        return { method: 'webauthn' as const, factorId: factor.id };
      } catch (error) {
        if (error instanceof AppError && error.code === 'WEBAUTHN_VERIFICATION_FAILED') {
          w.audit({
            action: 'user.mfa_failed',
            ...subject(account),
            after: { reason: 'passkey not accepted for a factor change', method: 'webauthn' },
            result: 'FAILURE',
          });
        }
        throw error;
      }
    }
    const { code } = proof;
    const accepted =
      code !== undefined &&
      (await spendCode(w.db, account.user.id, code, tenantMfaPolicy(account.tenant).mfa_methods, new Date()));
    if (!accepted) {
      w.audit({
        action: 'user.mfa_failed',
        ...subject(account),
        after: { reason: 'wrong code for a factor change' },
        result: 'FAILURE',
      });
      throw new AppError(
        'INVALID_MFA_CODE',
        'A current code is required: one from the authenticator app, or an unused backup code',
      );
    }
    return accepted;
  }

  /** Passkeys (webauthn.service.ts), settled like every factor. */
  const webauthn = createWebAuthn({ db, publicUrl, inTenant, settle, assertAllowed });

  return {
    /** Whether an SMS sender is configured (SMS codes can be turned on where the tenant allows them). */
    smsConfigured: sms !== null,

    async overview(account: Pick<Account, 'tenant' | 'user'>) {
      const repo = createMfaRepository(bindTenant(db, account.tenant.id));
      const policy = tenantMfaPolicy(account.tenant);
      const factors = (await repo.factors(account.user.id)).filter((factor) => factor.confirmed_at);
      return {
        mfa_enabled: factors.length > 0,
        mfa_required: policy.mfa_required,
        methods_allowed: policy.mfa_methods,
        factors: factors.map(toFactorView),
        backup_codes_remaining: await repo.backupCodesLeft(account.user.id),
      };
    },

    /** Starts a TOTP enrollment: an unconfirmed factor with a fresh seed (an earlier one is replaced). */
    async startTotp(account: Account, name: string | undefined) {
      assertAllowed(account.tenant, 'totp');
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const factors = await repo.factors(account.user.id);
        if (factors.some((factor) => factor.factor_type === 'TOTP' && factor.confirmed_at)) {
          throw new AppError('MFA_ALREADY_ENROLLED', 'An authenticator app is already enrolled');
        }
        await repo.deleteUnconfirmed(account.user.id, 'TOTP');
        const issuer = tenantDisplayName(account.tenant);
        const seed = await newTotpSecret(issuer, account.user.email);
        const id = newId('mfaFactor');
        await repo.insertFactor({
          id,
          user_id: account.user.id,
          factor_type: 'TOTP',
          label: name?.trim() || 'Authenticator app',
          secret: box.seal(seed.secret, id),
        });
        return { factor_id: id, secret: seed.secret, otpauth_uri: seed.uri, qr_svg: seed.qrSvg };
      });
    },

    /**
     * The TOTP enrollment of a sign-in page: the unconfirmed seed of an enrollment in progress
     * (the page shown again shows the same key), or a new one.
     */
    async totpEnrollment(account: Account) {
      const repo = createMfaRepository(bindTenant(db, account.tenant.id));
      const pending = (await repo.factors(account.user.id)).find(
        (factor) => factor.factor_type === 'TOTP' && !factor.confirmed_at,
      );
      const seed = pending && totpSeed(pending);
      if (!pending || !seed) return this.startTotp(account, undefined);
      const shown = await totpEnrollmentOf(seed, tenantDisplayName(account.tenant), account.user.email);
      return { factor_id: pending.id, secret: seed, otpauth_uri: shown.uri, qr_svg: shown.qrSvg };
    },

    /** Confirms the TOTP enrollment with a first valid code. */
    async confirmTotp(account: Account, code: string) {
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const pending = (await repo.factors(account.user.id)).find(
          (factor) => factor.factor_type === 'TOTP' && !factor.confirmed_at,
        );
        const seed = pending && totpSeed(pending);
        if (!pending || !seed) {
          throw new AppError('MFA_NOT_ENROLLED', 'No authenticator app enrollment is in progress');
        }
        const now = new Date();
        const step = totpStep(seed, code, now);
        if (step === null || !(await repo.confirm(pending.id, now, step))) {
          throw new AppError('INVALID_MFA_CODE', 'The code is not valid: check the time on your device');
        }
        const settled = await settle(w, account, {
          action: 'user.mfa_factor_added',
          after: { factor_id: pending.id, type: 'totp' },
        });
        return {
          factor: toFactorView({ ...pending, confirmed_at: now, last_used_at: now }),
          backup_codes: settled.backupCodes,
        };
      });
    },

    /** Starts an email-code enrollment: a code to the user's address, confirmed by `confirmEmail`. */
    async startEmail(account: Account) {
      assertAllowed(account.tenant, 'email');
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        if ((await repo.factors(account.user.id)).some((f) => f.factor_type === 'EMAIL' && f.confirmed_at)) {
          throw new AppError('MFA_ALREADY_ENROLLED', 'Email codes are already enabled');
        }
        const previous = await repo.latestChallenge(account.user.id, 'ENROLL_EMAIL', new Date());
        refuseEarlyResend(previous?.created_at ?? null);
        await repo.deleteChallenges(account.user.id, 'ENROLL_EMAIL');
        const id = newId('mfaChallenge');
        const now = Date.now();
        const code = newNumericCode();
        await repo.insertChallenge({
          id,
          token_hash: sha256Hex(generateSecret()),
          user_id: account.user.id,
          purpose: 'ENROLL_EMAIL',
          expires_at: new Date(now + EMAIL_CODE_TTL_MS),
        });
        await repo.updateChallenge(id, {
          code_hash: codeHash(id, code),
          code_expires_at: new Date(now + EMAIL_CODE_TTL_MS),
        });
        await w.mail(codeMail(account.tenant, account.user, code, 'to turn on email codes'));
        return { sent_to: maskEmail(account.user.email), expires_in: EMAIL_CODE_TTL_MS / 1000 };
      });
    },

    async confirmEmail(account: Account, code: string) {
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const now = new Date();
        const challenge = await repo.latestChallenge(account.user.id, 'ENROLL_EMAIL', now);
        if (!challenge) throw new AppError('MFA_NOT_ENROLLED', 'No email-code enrollment is in progress');
        if (!(await repo.spendChallengeCode(challenge.id, codeHash(challenge.id, code), now))) {
          throw new AppError('INVALID_MFA_CODE', 'The code is wrong, expired or already used');
        }
        await repo.deleteChallenge(challenge.id);
        const id = newId('mfaFactor');
        await repo.insertFactor({
          id,
          user_id: account.user.id,
          factor_type: 'EMAIL',
          label: 'Email codes',
          confirmed_at: now,
        });
        const settled = await settle(w, account, {
          action: 'user.mfa_factor_added',
          after: { factor_id: id, type: 'email' },
        });
        const [factor] = (await repo.factors(account.user.id)).filter((f) => f.id === id);
        return { factor: toFactorView(factor as FactorRow), backup_codes: settled.backupCodes };
      });
    },

    /**
     * Starts an SMS enrollment: an unconfirmed factor for the number and a code texted to it,
     * confirmed by `confirmSms`. 409 SMS_NOT_CONFIGURED without a sender.
     */
    async startSms(account: Account, phoneNumber: string) {
      assertAllowed(account.tenant, 'sms');
      const sender = smsSender();
      const code = newNumericCode();
      const sent = await inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const factors = await repo.factors(account.user.id);
        if (factors.some((factor) => factor.factor_type === 'SMS' && factor.confirmed_at)) {
          throw new AppError('MFA_ALREADY_ENROLLED', 'SMS codes are already enabled');
        }
        const previous = await repo.latestChallenge(account.user.id, 'ENROLL_SMS', new Date());
        refuseEarlyResend(previous?.created_at ?? null);
        await repo.deleteChallenges(account.user.id, 'ENROLL_SMS');
        await repo.deleteUnconfirmed(account.user.id, 'SMS');
        const factorId = newId('mfaFactor');
        await repo.insertFactor({
          id: factorId,
          user_id: account.user.id,
          factor_type: 'SMS',
          label: `Text messages to ${maskPhone(phoneNumber)}`,
          credential: { phone_number: phoneNumber },
        });
        const id = newId('mfaChallenge');
        const now = Date.now();
        await repo.insertChallenge({
          id,
          token_hash: sha256Hex(generateSecret()),
          user_id: account.user.id,
          purpose: 'ENROLL_SMS',
          pending_factor_id: factorId,
          expires_at: new Date(now + EMAIL_CODE_TTL_MS),
        });
        await repo.updateChallenge(id, {
          code_hash: codeHash(id, code),
          code_expires_at: new Date(now + EMAIL_CODE_TTL_MS),
          code_channel: 'SMS',
        });
        return { sent_to: maskPhone(phoneNumber), expires_in: EMAIL_CODE_TTL_MS / 1000 };
      });
      // After the commit; a text that could not be sent takes its enrollment back, so that the
      // person may ask again at once.
      try {
        await sender.send(smsCodeMessage(account.tenant, phoneNumber, code, 'to turn on SMS codes'));
      } catch (error) {
        await inTenant(account, async (w) => {
          const repo = createMfaRepository(w.db);
          await repo.deleteChallenges(account.user.id, 'ENROLL_SMS');
          await repo.deleteUnconfirmed(account.user.id, 'SMS');
        });
        throw error;
      }
      return sent;
    },

    async confirmSms(account: Account, code: string) {
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const now = new Date();
        const challenge = await repo.latestChallenge(account.user.id, 'ENROLL_SMS', now);
        if (!challenge?.pending_factor_id) {
          throw new AppError('MFA_NOT_ENROLLED', 'No SMS enrollment is in progress');
        }
        if (!(await repo.spendChallengeCode(challenge.id, codeHash(challenge.id, code), now))) {
          throw new AppError('INVALID_MFA_CODE', 'The code is wrong, expired or already used');
        }
        await repo.deleteChallenge(challenge.id);
        if (!(await repo.confirm(challenge.pending_factor_id, now))) {
          throw new AppError('MFA_NOT_ENROLLED', 'No SMS enrollment is in progress');
        }
        const settled = await settle(w, account, {
          action: 'user.mfa_factor_added',
          after: { factor_id: challenge.pending_factor_id, type: 'sms' },
        });
        const factor = (await repo.factors(account.user.id)).find(
          (f) => f.id === challenge.pending_factor_id,
        );
        return { factor: toFactorView(factor as FactorRow), backup_codes: settled.backupCodes };
      });
    },

    /** Texts a sign-in code to the user's SMS factor (the sign-in's challenge holds its hash). */
    async textCode(tenant: TenantRow, phoneNumber: string, code: string) {
      await smsSender().send(smsCodeMessage(tenant, phoneNumber, code, 'to sign in'));
    },

    /**
     * Removes one confirmed factor (by id, or the one of a method), after a current code or a
     * passkey's assertion (`proof`). The last factor of a user whose tenant requires MFA stays (409).
     */
    async removeFactor(account: Account, which: { id?: string; method?: MfaMethod }, proof: PresenceProof) {
      await inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const confirmed = (await repo.factors(account.user.id)).filter((factor) => factor.confirmed_at);
        const factor = confirmed.find((candidate) =>
          which.id
            ? candidate.id === which.id
            : candidate.factor_type === TYPE_OF_METHOD[which.method as MfaMethod],
        );
        if (!factor) {
          if (which.id && !isId('mfaFactor', which.id)) throw new AppError('NOT_FOUND', 'Factor not found');
          throw which.id
            ? new AppError('NOT_FOUND', 'Factor not found')
            : new AppError('MFA_NOT_ENROLLED', `No ${which.method} factor is enrolled`);
        }
        if (confirmed.length === 1 && tenantMfaPolicy(account.tenant).mfa_required) {
          throw new AppError(
            'MFA_REQUIRED_BY_TENANT',
            'Your organization requires a second factor: add another one before removing this one',
          );
        }
        await requirePresence(w, account, proof);
        await repo.deleteFactor(account.user.id, factor.id);
        await settle(w, account, {
          action: 'user.mfa_factor_removed',
          after: { factor_id: factor.id, type: factor.factor_type.toLowerCase() },
        });
      });
      return this.overview(account);
    },

    /** Ten new backup codes (the old ones stop working), after a current code. */
    async regenerateBackupCodes(account: Account, code: string | undefined) {
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        if (!(await repo.hasConfirmedFactor(account.user.id))) {
          throw new AppError('MFA_NOT_ENROLLED', 'Backup codes need a second factor first');
        }
        await requirePresence(w, account, { code });
        const codes = await replaceBackupCodes(w, account.user.id);
        w.audit({
          action: 'user.mfa_backup_codes_regenerated',
          ...subject(account),
          after: { count: codes.length },
        });
        return { backup_codes: codes };
      });
    },

    spendCode,

    webauthn,
  };
}

export type MfaService = ReturnType<typeof createMfaService>;

/** A code mailed less than 30 seconds ago: 429 with the seconds to wait (mail bombing). */
export function refuseEarlyResend(lastSentAt: Date | null, now = new Date()): void {
  const wait = emailCodeWait(lastSentAt, now);
  if (wait > 0) {
    throw new AppError(
      'RATE_LIMITED',
      `A code was just sent. Wait ${wait} seconds before asking for another.`,
      {
        'retry-after': String(wait),
      },
    );
  }
}

/** The text of a one-time code (no link: codes only). */
function smsCodeMessage(tenant: TenantRow, to: string, code: string, purpose: string) {
  return {
    to,
    text: `${code} is your ${tenantDisplayName(tenant)} code ${purpose}. It expires in 10 minutes.`,
    kind: 'mfa_code',
    tenantId: tenant.id,
  };
}

/** The mail of a one-time code. */
export function codeMail(tenant: TenantRow, user: UserRow, code: string, purpose: string) {
  return {
    to: user.email,
    subject: `Your ${tenantDisplayName(tenant)} one-time code`,
    kind: 'mfa_code',
    tenantId: tenant.id,
    text: [
      'Hello,',
      '',
      `Your one-time code ${purpose} is: ${code}`,
      '',
      'It is valid for 10 minutes and can be used once. If you did not ask for it, someone may know your password: change it.',
    ].join('\n'),
  };
}

/** Every factor, backup code and challenge of the user (an administrator's MFA reset); the count of factors. */
export const removeSecondFactors = (tx: TenantQueryable, userId: string) =>
  createMfaRepository(tx).removeAll(userId);
