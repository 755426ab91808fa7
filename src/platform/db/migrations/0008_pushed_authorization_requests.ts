import { type Kysely, sql } from 'kysely';

/**
 * Per application: whether its authorization requests must come through the pushed authorization
 * request endpoint (RFC 9126 §6, `require_pushed_authorization_requests` client metadata).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table applications add column require_pushed_authorization_requests boolean not null default false`.execute(
    db,
  );
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
