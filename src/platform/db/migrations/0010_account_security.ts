import { type Kysely, sql } from 'kysely';

/**
 * Account security (issue 13): second factors, backup codes and the challenges of a sign-in or an
 * enrollment in progress.
 *
 * - `mfa_factors` gains what a factor shows and needs: a confirmation (a TOTP or email factor
 *   counts once its first code was given), the last use, the last TOTP time step accepted (replay
 *   refusal), and for WebAuthn the credential (id, public key, counter, transports).
 * - `mfa_backup_codes`: one row per code, its SHA-256 only; a code is spent by one conditional
 *   update, so two parallel uses of one code cannot both succeed.
 * - `mfa_challenges`: a sign-in waiting for its second factor (or its forced enrollment), an
 *   emailed code, a WebAuthn challenge. Looked up by the SHA-256 of its token; never the token.
 */
const statements = [
  `alter table mfa_factors add column confirmed_at timestamptz`,
  `alter table mfa_factors add column last_used_at timestamptz`,
  `alter table mfa_factors add column totp_last_step bigint`,
  `alter table mfa_factors add column credential_id text`,
  `alter table mfa_factors add column credential jsonb`,
  // Factors made before this migration (none could be enrolled) count as confirmed.
  `update mfa_factors set confirmed_at = created_at`,
  `create unique index mfa_factors_credential_key on mfa_factors (tenant_id, credential_id) where credential_id is not null`,

  `create table mfa_backup_codes (
    tenant_id text not null,
    user_id text not null,
    code_hash text not null,
    created_at timestamptz not null default now(),
    used_at timestamptz,
    primary key (tenant_id, user_id, code_hash),
    constraint mfa_backup_codes_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id)
  )`,

  `create table mfa_challenges (
    tenant_id text not null,
    id text not null,
    token_hash text not null,
    user_id text,
    purpose text not null,
    interaction_uid text,
    client_id text,
    amr text not null default '',
    code_hash text,
    code_expires_at timestamptz,
    code_channel text,
    webauthn_challenge text,
    pending_factor_id text,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    primary key (tenant_id, id)
  )`,
  `create unique index mfa_challenges_token_key on mfa_challenges (token_hash)`,
  `create index mfa_challenges_user_idx on mfa_challenges (tenant_id, user_id, purpose)`,
  `create index mfa_challenges_expiry_idx on mfa_challenges (expires_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
