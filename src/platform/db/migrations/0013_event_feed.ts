import { type Kysely, sql } from 'kysely';

/**
 * Events in commit order (issue 14). `seq` is taken at insert time, so two transactions can commit
 * out of `seq` order and a reader that pages by `seq` could pass an event that commits later with
 * a smaller `seq`. Each event now records the id of the transaction that wrote it (`txid`, xid8:
 * 64 bits, never wraps); readers page by (txid, seq) and only read events whose transaction is
 * older than the oldest one still running (`pg_snapshot_xmin`): nothing can appear behind them.
 * The actor of the change is kept for the webhook payload.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table event_outbox
    add column txid xid8 not null default pg_current_xact_id(),
    add column actor_type text,
    add column actor_id text`.execute(db);
  await sql`drop index event_outbox_tenant_idx`.execute(db);
  await sql`create index event_outbox_commit_idx on event_outbox (txid, seq)`.execute(db);
  await sql`create index event_outbox_tenant_commit_idx on event_outbox (tenant_id, txid, seq)`.execute(db);
  await sql`create index event_outbox_created_idx on event_outbox (created_at)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
