import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { preparedQuery } from '../db/prepared.js';
import type { CounterBackend, CounterWindow } from './backends.js';

const addHits = preparedQuery(3, (db, key: string, amount: number, windowMs: number) =>
  db
    .insertInto('rate_limits')
    .values({
      key,
      hits: amount,
      expires_at: sql<Date>`now() + (${windowMs}::int8 * interval '1 millisecond')`,
    })
    .onConflict((conflict) =>
      conflict.column('key').doUpdateSet({
        hits: sql<number>`case when rate_limits.expires_at <= now() then excluded.hits
          else rate_limits.hits + excluded.hits end`,
        expires_at: sql<Date>`case when rate_limits.expires_at <= now() then excluded.expires_at
          else rate_limits.expires_at end`,
      }),
    )
    .returning(['hits', sql<number>`(extract(epoch from (expires_at - now())) * 1000)::int8`.as('ttl_ms')]),
);

/** Counters in the database's `rate_limits` table (migration 0007): one upsert per add. */
export class PostgresCounters implements CounterBackend {
  constructor(private readonly db: Db) {}

  async add(key: string, amount: number, windowMs: number): Promise<CounterWindow> {
    const [row] = await addHits(this.db, key, amount, windowMs);
    return { hits: Number(row?.hits ?? amount), ttlMs: Math.max(0, Number(row?.ttl_ms ?? windowMs)) };
  }

  async subtract(key: string, amount: number): Promise<void> {
    await this.db
      .updateTable('rate_limits')
      .set({ hits: sql<number>`greatest(hits - ${amount}::int8, 0)` })
      .where('key', '=', key)
      .where('expires_at', '>', sql<Date>`now()`)
      .execute();
  }

  async sweep(): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('expires_at', '<=', sql<Date>`now()`).execute();
  }

  async close(): Promise<void> {}
}
