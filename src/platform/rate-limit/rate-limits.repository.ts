import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { preparedQuery } from '../db/prepared.js';
import type { CounterBackend, CounterHit, CounterWindow } from './backends.js';

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

/**
 * addHits for several distinct keys in one statement. The rows are written in key order (any two
 * statements lock shared keys in the same order: no deadlock); `ord` gives each answer its hit.
 */
const addEachHits = preparedQuery<[string[], string[]], { ord: number; hits: number; ttl_ms: number }>(
  2,
  (db, keys, windows) => ({
    compile: () =>
      sql<{ ord: number; hits: number; ttl_ms: number }>`
    with hit as (
      select key, window_ms::int8 as window_ms, ord
      from unnest(cast(${keys} as text[]), cast(${windows} as text[])) with ordinality as h (key, window_ms, ord)
    ),
    added as (
      insert into rate_limits (key, hits, expires_at)
      select key, 1, now() + (window_ms * interval '1 millisecond') from hit order by key
      on conflict (key) do update set
        hits = case when rate_limits.expires_at <= now() then excluded.hits else rate_limits.hits + excluded.hits end,
        expires_at = case when rate_limits.expires_at <= now() then excluded.expires_at else rate_limits.expires_at end
      returning key, hits, (extract(epoch from (expires_at - now())) * 1000)::int8 as ttl_ms
    )
    select hit.ord, added.hits, added.ttl_ms from hit join added on added.key = hit.key`.compile(db),
  }),
);

const subtractEachHit = preparedQuery<[string[]], never>(1, (db, keys) => ({
  compile: () =>
    sql<never>`update rate_limits set hits = greatest(hits - 1, 0)
      where key = any(cast(${keys} as text[])) and expires_at > now()`.compile(db),
}));

/** Counters in the database's `rate_limits` table (migration 0007): one upsert per add. */
export class PostgresCounters implements CounterBackend {
  constructor(private readonly db: Db) {}

  async add(key: string, amount: number, windowMs: number): Promise<CounterWindow> {
    const [row] = await addHits(this.db, key, amount, windowMs);
    return { hits: Number(row?.hits ?? amount), ttlMs: Math.max(0, Number(row?.ttl_ms ?? windowMs)) };
  }

  async addEach(hits: readonly CounterHit[]): Promise<CounterWindow[]> {
    const rows = await addEachHits(
      this.db,
      hits.map((hit) => hit.key),
      hits.map((hit) => String(hit.windowMs)),
    );
    const byOrder = new Map(rows.map((row) => [Number(row.ord), row]));
    return hits.map((hit, index) => {
      const row = byOrder.get(index + 1);
      return { hits: Number(row?.hits ?? 1), ttlMs: Math.max(0, Number(row?.ttl_ms ?? hit.windowMs)) };
    });
  }

  async subtractEach(keys: readonly string[]): Promise<void> {
    await subtractEachHit(this.db, [...keys]);
  }

  async sweep(): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('expires_at', '<=', sql<Date>`now()`).execute();
  }

  async close(): Promise<void> {}
}
