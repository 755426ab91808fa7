import { sql } from 'kysely';
import type { Queryable } from './database.js';

/**
 * NOTIFY `channel` with `payload` (PostgreSQL and PGlite): inside a transaction it is delivered
 * to every listening instance when, and only if, the transaction commits.
 */
export async function notify(db: Queryable, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}

/** NOTIFY `channel` once per payload, in one statement (`select pg_notify(…), pg_notify(…)`). */
export async function notifyMany(db: Queryable, channel: string, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return;
  await sql`select ${sql.join(payloads.map((payload) => sql`pg_notify(${channel}, ${payload})`))}`.execute(
    db,
  );
}
