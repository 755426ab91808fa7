import { type Kysely, sql } from 'kysely';

/**
 * One delivery row per (endpoint, event) from the fan-out (docs/events.md), enforced by the
 * database: the fan-out inserts with `on conflict do nothing` on this index, so an event read twice
 * (two instances' fan-outs, PostgreSQL only) is delivered once. Redeliveries (`redelivery_of`) and
 * test pings (no `event_txid`) are rows of their own and stay outside it. Rows that already break
 * the rule (a fan-out raced before this migration) keep the oldest and lose the later copies'
 * pending attempts only: delivered copies stay as history.
 */
const statements = [
  `delete from webhook_deliveries d
    where d.redelivery_of is null and d.event_txid is not null and d.status in ('pending', 'failed')
      and exists (
        select 1 from webhook_deliveries o
        where o.endpoint_id = d.endpoint_id and o.event_id = d.event_id
          and o.redelivery_of is null and o.event_txid is not null and o.id < d.id
      )`,
  `create unique index webhook_deliveries_event_once on webhook_deliveries (endpoint_id, event_id)
    where redelivery_of is null and event_txid is not null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
