import { isIP } from 'node:net';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { newId } from '../../lib/ids.js';
import { lazyImport } from '../../lib/lazy-import.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant, type TenantQueryable, type TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import type { AuditEvent } from '../../platform/events/audit-log.js';
import type { Work } from '../../platform/events/unit-of-work.js';
import { tenantDisplayName } from '../tenants/index.js';
import { type ChallengeRow, createMfaRepository, type FactorRow } from './mfa.repository.js';
import type { Account, MfaMethod } from './mfa.service.js';

/** How long a WebAuthn ceremony may take (the challenge's lifetime and the browser's timeout). */
export const WEBAUTHN_TTL_MS = 5 * 60_000;

/** The purpose of a self-service registration's challenge row (mfa_challenges). */
export const ENROLL_WEBAUTHN = 'ENROLL_WEBAUTHN';

/** The purpose of the challenge row of a passkey assertion proving presence before a factor change. */
export const PRESENCE_WEBAUTHN = 'PRESENCE_WEBAUTHN';

/**
 * The relying party: RP ID = the host name of SCAIKEY_PUBLIC_URL, origin = its origin. An IP
 * address cannot be an RP ID (WebAuthn §5.1.3, browsers refuse it), so with a public URL such as
 * the default http://127.0.0.1:8080 passkeys are `usable: false`: not offered, not registered.
 */
export interface RelyingParty {
  id: string;
  origin: string;
  usable: boolean;
}

export function relyingParty(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { id: url.hostname, origin: url.origin, usable: isIP(host) === 0 };
}

/** What a WEBAUTHN factor keeps in `mfa_factors.credential` (its id is `credential_id`). */
export interface StoredCredential {
  /** The COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  transports: string[];
  /** The authenticator model (all zeros when attestation is not asked for, which it is not). */
  aaguid: string;
  /** `multiDevice`: a synced passkey (backup eligible); `singleDevice`: bound to one authenticator. */
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
}

export const storedCredential = (factor: FactorRow) => factor.credential as unknown as StoredCredential;

/**
 * The RFC 8176 `amr` value of a passkey (docs/api-decisions.md, "Passkeys"): `hwk` for a key that
 * stays in its authenticator (a security key, a platform authenticator without sync), `swk` for a
 * synced passkey, whose private key also lives in a cloud keychain (the backup-eligible flag).
 */
export const passkeyAmr = (factor: FactorRow): 'hwk' | 'swk' =>
  storedCredential(factor)?.device_type === 'multiDevice' ? 'swk' : 'hwk';

/** @simplewebauthn/server, loaded at the first passkey ceremony (docs/performance.md, "Idle memory"). */
const simpleWebAuthn = lazyImport(() => import('@simplewebauthn/server'));

const failed = (detail: string) => new AppError('WEBAUTHN_VERIFICATION_FAILED', detail);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A WebAuthn response as a browser's script sends it (a JSON object, or its text in a form field),
 * checked for the fields the verification reads; anything else is a 400.
 */
export function parseWebAuthnResponse<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  value: unknown,
): T {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw failed('The passkey response is not readable. Try again.');
    }
  }
  if (
    !isObject(parsed) ||
    typeof parsed.id !== 'string' ||
    typeof parsed.rawId !== 'string' ||
    !isObject(parsed.response) ||
    typeof parsed.response.clientDataJSON !== 'string'
  ) {
    throw failed('The passkey response is incomplete. Try again.');
  }
  return { clientExtensionResults: {}, ...parsed } as T;
}

/** The challenge the browser signed (from clientDataJSON), or null when it cannot be read. */
export function signedChallenge(
  response: RegistrationResponseJSON | AuthenticationResponseJSON,
): string | null {
  try {
    const clientData = JSON.parse(
      Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'),
    );
    return typeof clientData?.challenge === 'string' ? clientData.challenge : null;
  } catch {
    return null;
  }
}

const displayName = (user: UserRow) =>
  user.display_name || [user.first_name, user.last_name].filter(Boolean).join(' ') || user.email;

export interface WebAuthnDeps {
  db: Db;
  publicUrl: string;
  inTenant: <T>(account: Account, body: (w: Work<TenantTx>) => Promise<T>) => Promise<T>;
  settle: (
    w: Work<TenantTx>,
    account: Account,
    change: Pick<AuditEvent, 'action' | 'after'>,
  ) => Promise<{ enabled: boolean; backupCodes: string[] | null }>;
  assertAllowed: (tenant: TenantRow, method: MfaMethod) => void;
}

/**
 * WebAuthn / passkeys (issue 13; docs/api-decisions.md, "Passkeys"), with @simplewebauthn/server:
 * registration (self-service, or from the forced enrollment of a sign-in), and the assertions of
 * a sign-in (second factor, or a discoverable passkey alone). Factors are WEBAUTHN rows of
 * `mfa_factors`, one per credential; a registration goes through `settle` like any factor.
 */
export function createWebAuthn({ db, publicUrl, inTenant, settle, assertAllowed }: WebAuthnDeps) {
  const rp = relyingParty(publicUrl);

  /** The tenant allows passkeys, and the public URL can be an RP ID. */
  function assertUsable(tenant: TenantRow): void {
    assertAllowed(tenant, 'webauthn');
    if (!rp.usable) {
      throw new AppError(
        'WEBAUTHN_UNAVAILABLE',
        'Passkeys need SCAIKEY_PUBLIC_URL to name a host (a domain or localhost), not an IP address',
      );
    }
  }

  const credentialsOf = async (tx: TenantQueryable, userId: string) =>
    (await createMfaRepository(tx).factors(userId)).filter(
      (factor) => factor.factor_type === 'WEBAUTHN' && factor.confirmed_at && factor.credential_id,
    );

  const descriptor = (factor: FactorRow) => ({
    id: factor.credential_id as string,
    transports: (storedCredential(factor)?.transports ?? []) as AuthenticatorTransport[],
  });

  return {
    rp,

    /**
     * Creation options for a new passkey of the account: a discoverable credential (resident key
     * required) with user verification, none of the user's registered authenticators again. The
     * challenge is kept for 5 minutes in a challenge row of its own, or, for a sign-in's forced
     * enrollment, in that sign-in's challenge (`bound`).
     */
    async registrationOptions(
      account: Account,
      bound?: ChallengeRow,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      assertUsable(account.tenant);
      const { user } = account;
      const existing = await credentialsOf(bindTenant(db, account.tenant.id), user.id);
      const options = await (await simpleWebAuthn()).generateRegistrationOptions({
        rpName: tenantDisplayName(account.tenant),
        rpID: rp.id,
        userName: user.email,
        userID: new TextEncoder().encode(user.id),
        userDisplayName: displayName(user),
        timeout: WEBAUTHN_TTL_MS,
        attestationType: 'none',
        excludeCredentials: existing.map(descriptor),
        authenticatorSelection: {
          residentKey: 'required',
          requireResidentKey: true,
          userVerification: 'required',
        },
      });
      await inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        if (bound) {
          await repo.updateChallenge(bound.id, { webauthn_challenge: options.challenge });
          return;
        }
        await repo.deleteChallenges(user.id, ENROLL_WEBAUTHN);
        await repo.insertChallenge({
          id: newId('mfaChallenge'),
          token_hash: sha256Hex(generateSecret()),
          user_id: user.id,
          purpose: ENROLL_WEBAUTHN,
          webauthn_challenge: options.challenge,
          expires_at: new Date(Date.now() + WEBAUTHN_TTL_MS),
        });
      });
      return options;
    },

    /**
     * Verifies a registration response against the open challenge it signed (of this account, or
     * of the sign-in `bound`), the origin and the RP ID, with user verification; stores the
     * credential as a confirmed factor and settles (mfa_enabled, audit, first backup codes). The
     * challenge is spent; a failure changes nothing.
     */
    async register(account: Account, value: unknown, name: string | undefined, bound?: ChallengeRow) {
      assertUsable(account.tenant);
      const response = parseWebAuthnResponse<RegistrationResponseJSON>(value);
      const challenge = signedChallenge(response);
      const now = new Date();
      const open =
        challenge === null
          ? undefined
          : bound
            ? bound.webauthn_challenge === challenge && bound.expires_at > now
              ? bound
              : undefined
            : await createMfaRepository(bindTenant(db, account.tenant.id)).challengeByWebauthn(
                ENROLL_WEBAUTHN,
                challenge,
                { userId: account.user.id },
                now,
              );
      if (!open || !challenge) {
        throw failed('This passkey response is not for an open registration of this account. Start again.');
      }
      let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verification = await (await simpleWebAuthn()).verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: true,
        });
      } catch (error) {
        throw failed(`The passkey could not be verified: ${(error as Error).message}`);
      }
      if (!verification.verified) throw failed('The passkey could not be verified.');
      const info = verification.registrationInfo;
      const credential: StoredCredential = {
        public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: info.credential.transports ?? [],
        aaguid: info.aaguid,
        device_type: info.credentialDeviceType,
        backed_up: info.credentialBackedUp,
      };
      return inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        const spent = bound
          ? await repo.spendWebauthnChallenge(open.id, challenge)
          : await repo.deleteChallenge(open.id);
        if (!spent) throw failed('This passkey response was already used. Start again.');
        if (await repo.credentialIdTaken(info.credential.id)) {
          throw new AppError('MFA_ALREADY_ENROLLED', 'This passkey is already registered');
        }
        const id = newId('mfaFactor');
        await repo.insertFactor({
          id,
          user_id: account.user.id,
          factor_type: 'WEBAUTHN',
          label: name?.trim() || 'Passkey',
          confirmed_at: now,
          credential_id: info.credential.id,
          credential: credential as unknown as Record<string, unknown>,
        });
        const settled = await settle(w, account, {
          action: 'user.mfa_factor_added',
          after: { factor_id: id, type: 'webauthn', device_type: credential.device_type },
        });
        const factor = (await repo.factors(account.user.id)).find((row) => row.id === id) as FactorRow;
        return { factor, backup_codes: settled.backupCodes };
      });
    },

    /** The user's confirmed passkeys (to offer as a second factor). */
    credentialsOf,

    /**
     * Request options for proving presence with one of the account's passkeys before a change to
     * its factors (removal, docs/api-decisions.md "Passkeys"): the user's credentials, user
     * verification preferred (as for a second factor). The challenge is kept 5 minutes in a row
     * of its own (`PRESENCE_WEBAUTHN`); a new call replaces it. 409 MFA_NOT_ENROLLED without a passkey.
     */
    async presenceOptions(account: Account): Promise<PublicKeyCredentialRequestOptionsJSON> {
      assertUsable(account.tenant);
      const factors = await credentialsOf(bindTenant(db, account.tenant.id), account.user.id);
      if (factors.length === 0) throw new AppError('MFA_NOT_ENROLLED', 'No passkey is registered');
      const options = await this.authenticationOptions(factors);
      await inTenant(account, async (w) => {
        const repo = createMfaRepository(w.db);
        await repo.deleteChallenges(account.user.id, PRESENCE_WEBAUTHN);
        await repo.insertChallenge({
          id: newId('mfaChallenge'),
          token_hash: sha256Hex(generateSecret()),
          user_id: account.user.id,
          purpose: PRESENCE_WEBAUTHN,
          webauthn_challenge: options.challenge,
          expires_at: new Date(Date.now() + WEBAUTHN_TTL_MS),
        });
      });
      return options;
    },

    /**
     * Checks an assertion of one of the account's passkeys (any of them, the one being removed
     * too) for its open presence challenge, in the transaction `w` of the change it allows: the
     * challenge is spent and the passkey's use recorded there. Throws WEBAUTHN_VERIFICATION_FAILED.
     */
    async provePresence(w: Work<TenantTx>, account: Account, value: unknown): Promise<FactorRow> {
      assertUsable(account.tenant);
      const response = parseWebAuthnResponse<AuthenticationResponseJSON>(value);
      const challenge = signedChallenge(response);
      const now = new Date();
      const repo = createMfaRepository(w.db);
      const open =
        challenge === null
          ? undefined
          : await repo.challengeByWebauthn(PRESENCE_WEBAUTHN, challenge, { userId: account.user.id }, now);
      if (!open || !challenge) {
        throw failed('This passkey response is not for an open request of this account. Start again.');
      }
      const factor = (await credentialsOf(w.db, account.user.id)).find(
        (row) => row.credential_id === response.id,
      );
      if (!factor) throw failed('This passkey is not registered for your account.');
      const verified = await this.verifyAssertion(factor, response, challenge, false);
      if (!(await repo.deleteChallenge(open.id))) {
        throw failed('This passkey response was already used. Start again.');
      }
      await verified.record(w.db, now);
      return factor;
    },

    /**
     * Request options: for a second factor, the user's credentials (`factors`) with user
     * verification preferred (the password was given); for a passkey alone (`factors` null), a
     * discoverable credential of any user with user verification required.
     */
    async authenticationOptions(factors: FactorRow[] | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return (await simpleWebAuthn()).generateAuthenticationOptions({
        rpID: rp.id,
        allowCredentials: factors ? factors.map(descriptor) : [],
        userVerification: factors ? 'preferred' : 'required',
        timeout: WEBAUTHN_TTL_MS,
      });
    },

    /**
     * Verifies an assertion of `factor` for `challenge` (origin, RP ID, signature, counter, user
     * verification when required), then records the use in `tx`: the new counter (which must move
     * forward unless the authenticator keeps none) and the backup state. Throws
     * WEBAUTHN_VERIFICATION_FAILED.
     */
    async verifyAssertion(
      factor: FactorRow,
      response: AuthenticationResponseJSON,
      challenge: string,
      requireUserVerification: boolean,
    ) {
      const stored = storedCredential(factor);
      let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
      try {
        verification = await (await simpleWebAuthn()).verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification,
          credential: {
            id: factor.credential_id as string,
            publicKey: new Uint8Array(Buffer.from(stored.public_key, 'base64url')),
            counter: Number(stored.counter ?? 0),
            transports: stored.transports as AuthenticatorTransport[],
          },
        });
      } catch (error) {
        throw failed(`The passkey could not be verified: ${(error as Error).message}`);
      }
      if (!verification.verified) throw failed('The passkey could not be verified.');
      const info = verification.authenticationInfo;
      return {
        userVerified: info.userVerified,
        record: async (tx: TenantQueryable, now: Date) => {
          const moved = await createMfaRepository(tx).recordCredentialUse(
            factor.id,
            { ...stored, counter: info.newCounter, backed_up: info.credentialBackedUp },
            info.newCounter,
            now,
          );
          if (!moved) throw failed('The passkey’s signature counter did not move forward.');
        },
      };
    },
  };
}

export type WebAuthn = ReturnType<typeof createWebAuthn>;
