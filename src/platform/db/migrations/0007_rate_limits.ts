import { type Kysely, sql } from 'kysely';

/**
 * Rate-limit counters shared by every instance (src/platform/rate-limit/): one row per key and
 * fixed window, counted with one atomic upsert; a window whose `expires_at` has passed starts
 * again at the next hit and its row is swept later. Unlogged: counters need no crash safety or
 * replication, and PostgreSQL then writes no WAL for them. Not tenant-owned (keys are IPs, client
 * ids and hashes), so no `tenant_id`.
 */
const statements = [
  `create unlogged table rate_limits (
    key text primary key,
    hits bigint not null,
    expires_at timestamptz not null
  )`,
  `create index rate_limits_expiry_idx on rate_limits (expires_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
