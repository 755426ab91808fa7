import { type Kysely, sql } from 'kysely';

/** Sign-in (issue 7): secrets every instance shares, and revoked JWT access tokens until they expire. */
const statements = [
  `create table instance_secrets (
    name text primary key,
    value text not null,
    created_at timestamptz not null default now()
  )`,
  `create table revoked_tokens (
    jti text primary key,
    expires_at timestamptz not null,
    revoked_at timestamptz not null default now()
  )`,
  `create index revoked_tokens_expiry_idx on revoked_tokens (expires_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
