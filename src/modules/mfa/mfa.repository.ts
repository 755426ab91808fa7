import { type Selectable, sql } from 'kysely';
import type { MfaChallengesTable, MfaFactorsTable } from '../../platform/db/schema.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

export type FactorRow = Selectable<MfaFactorsTable>;
export type ChallengeRow = Selectable<MfaChallengesTable>;
export type FactorType = FactorRow['factor_type'];

/** The statements of second factors, backup codes and challenges, on a tenant-bound handle. */
export function createMfaRepository(db: TenantQueryable) {
  return {
    /** The user's factors, oldest first (unconfirmed ones too; backup codes are not factors here). */
    factors(userId: string): Promise<FactorRow[]> {
      return db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('user_id', '=', userId)
        .where('factor_type', '!=', 'BACKUP_CODES')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    async hasConfirmedFactor(userId: string): Promise<boolean> {
      const row = await db
        .selectFrom('mfa_factors')
        .select('id')
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .where('factor_type', '!=', 'BACKUP_CODES')
        .limit(1)
        .executeTakeFirst();
      return !!row;
    },

    insertFactor(row: {
      id: string;
      user_id: string;
      factor_type: FactorType;
      label: string | null;
      secret?: string | null;
      confirmed_at?: Date | null;
      credential_id?: string | null;
      credential?: Record<string, unknown> | null;
    }): Promise<unknown> {
      return db
        .insertInto('mfa_factors')
        .values({
          ...row,
          tenant_id: boundTenantId(db),
          credential: row.credential ? JSON.stringify(row.credential) : undefined,
        } as never)
        .execute();
    },

    /** Confirms a factor still unconfirmed; false when it was confirmed or removed meanwhile. */
    async confirm(factorId: string, now: Date, totpStep?: number): Promise<boolean> {
      const result = await db
        .updateTable('mfa_factors')
        .set({
          confirmed_at: now,
          last_used_at: now,
          ...(totpStep === undefined ? {} : { totp_last_step: totpStep }),
        })
        .where('id', '=', factorId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * Accepts a TOTP time step once: the factor's last step must be older, in one statement, so
     * that two parallel uses of one code cannot both pass (RFC 6238 §5.2).
     */
    async acceptTotpStep(factorId: string, step: number, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('mfa_factors')
        .set({ totp_last_step: step, last_used_at: now })
        .where('id', '=', factorId)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async touch(factorId: string, now: Date): Promise<void> {
      await db.updateTable('mfa_factors').set({ last_used_at: now }).where('id', '=', factorId).execute();
    },

    async deleteFactor(userId: string, factorId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('mfa_factors')
        .where('user_id', '=', userId)
        .where('id', '=', factorId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async deleteUnconfirmed(userId: string, type: FactorType): Promise<void> {
      await db
        .deleteFrom('mfa_factors')
        .where('user_id', '=', userId)
        .where('factor_type', '=', type)
        .where('confirmed_at', 'is', null)
        .execute();
    },

    /** Everything of the user's second factors: factors, backup codes, challenges. Returns the factors removed. */
    async removeAll(userId: string): Promise<number> {
      await db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
      await db.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
      const result = await db
        .deleteFrom('mfa_factors')
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .executeTakeFirst();
      await db.deleteFrom('mfa_factors').where('user_id', '=', userId).execute();
      return Number(result.numDeletedRows);
    },

    // ——— backup codes ———

    async replaceBackupCodes(userId: string, hashes: string[]): Promise<void> {
      await db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
      await db
        .insertInto('mfa_backup_codes')
        .values(
          hashes.map((code_hash) => ({ tenant_id: boundTenantId(db), user_id: userId, code_hash })) as never,
        )
        .execute();
    },

    /** Spends a backup code: true once per code, in one statement. */
    async spendBackupCode(userId: string, hash: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('mfa_backup_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async backupCodesLeft(userId: string): Promise<number> {
      const row = await db
        .selectFrom('mfa_backup_codes')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async deleteBackupCodes(userId: string): Promise<void> {
      await db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    },

    // ——— challenges ———

    async insertChallenge(row: {
      id: string;
      token_hash: string;
      user_id: string | null;
      purpose: string;
      pending_factor_id?: string | null;
      interaction_uid?: string | null;
      client_id?: string | null;
      amr?: string;
      webauthn_challenge?: string | null;
      expires_at: Date;
    }): Promise<void> {
      // The user's expired challenges go first: the table holds only what may still be answered.
      await db
        .deleteFrom('mfa_challenges')
        .where('user_id', '=', row.user_id)
        .where('expires_at', '<=', new Date())
        .execute();
      await db
        .insertInto('mfa_challenges')
        .values({ ...row, tenant_id: boundTenantId(db), amr: row.amr ?? '' } as never)
        .execute();
    },

    challengeByToken(tokenHash: string): Promise<ChallengeRow | undefined> {
      return db
        .selectFrom('mfa_challenges')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    /** The user's newest challenge of `purpose` still open. */
    latestChallenge(userId: string, purpose: string, now: Date): Promise<ChallengeRow | undefined> {
      return db
        .selectFrom('mfa_challenges')
        .selectAll()
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    async updateChallenge(
      id: string,
      changes: Partial<
        Pick<
          ChallengeRow,
          | 'code_hash'
          | 'code_expires_at'
          | 'code_channel'
          | 'webauthn_challenge'
          | 'pending_factor_id'
          | 'amr'
        >
      >,
    ): Promise<void> {
      await db.updateTable('mfa_challenges').set(changes).where('id', '=', id).execute();
    },

    /** Spends the challenge's emailed code: true once, while it is valid, in one statement. */
    async spendChallengeCode(id: string, hash: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('mfa_challenges')
        .set({ code_hash: null, code_expires_at: null })
        .where('id', '=', id)
        .where('code_hash', '=', hash)
        .where('code_expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * An open challenge holding this WebAuthn challenge, of the user or of the interaction (the
     * challenge a browser signed names the row; a response for another challenge finds none).
     */
    challengeByWebauthn(
      purpose: string,
      webauthnChallenge: string,
      owner: { userId: string } | { interactionUid: string },
      now: Date,
    ): Promise<ChallengeRow | undefined> {
      return db
        .selectFrom('mfa_challenges')
        .selectAll()
        .where('purpose', '=', purpose)
        .where('webauthn_challenge', '=', webauthnChallenge)
        .where('expires_at', '>', now)
        .$if('userId' in owner, (q) => q.where('user_id', '=', (owner as { userId: string }).userId))
        .$if('interactionUid' in owner, (q) =>
          q.where('interaction_uid', '=', (owner as { interactionUid: string }).interactionUid),
        )
        .executeTakeFirst();
    },

    /** Spends the WebAuthn challenge of a row: true once, in one statement. */
    async spendWebauthnChallenge(id: string, webauthnChallenge: string): Promise<boolean> {
      const result = await db
        .updateTable('mfa_challenges')
        .set({ webauthn_challenge: null })
        .where('id', '=', id)
        .where('webauthn_challenge', '=', webauthnChallenge)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** The confirmed WebAuthn factor of the tenant with this credential id (any user of the tenant). */
    factorByCredentialId(credentialId: string): Promise<FactorRow | undefined> {
      return db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('factor_type', '=', 'WEBAUTHN')
        .where('credential_id', '=', credentialId)
        .where('confirmed_at', 'is not', null)
        .executeTakeFirst();
    },

    /** Whether the tenant already has a factor with this credential id (confirmed or not). */
    async credentialIdTaken(credentialId: string): Promise<boolean> {
      const row = await db
        .selectFrom('mfa_factors')
        .select('id')
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return !!row;
    },

    /**
     * A WebAuthn credential was used: its new signature counter and backup state, and the use.
     * The counter only moves forward (a parallel use with a lower counter does not update).
     */
    async recordCredentialUse(
      factorId: string,
      credential: Record<string, unknown>,
      counter: number,
      now: Date,
    ): Promise<boolean> {
      const result = await db
        .updateTable('mfa_factors')
        .set({ credential: JSON.stringify(credential) as never, last_used_at: now })
        .where('id', '=', factorId)
        .where(
          counter === 0
            ? sql<boolean>`true`
            : sql<boolean>`coalesce((credential->>'counter')::bigint, 0) < ${counter}`,
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async markChallenge(id: string, purpose: string): Promise<void> {
      await db.updateTable('mfa_challenges').set({ purpose }).where('id', '=', id).execute();
    },

    async deleteChallenge(id: string): Promise<boolean> {
      const result = await db.deleteFrom('mfa_challenges').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async deleteInteractionChallenges(interactionUid: string, purpose: string): Promise<void> {
      await db
        .deleteFrom('mfa_challenges')
        .where('interaction_uid', '=', interactionUid)
        .where('purpose', '=', purpose)
        .execute();
    },

    async deleteChallenges(userId: string, purpose: string): Promise<void> {
      await db
        .deleteFrom('mfa_challenges')
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .execute();
    },
  };
}

export type MfaRepository = ReturnType<typeof createMfaRepository>;
