import { type Kysely, sql } from 'kysely';

/**
 * The domain events of committed changes (ADR 0012, the unit of work): written in the transaction
 * of the change by the unit of work, read in `seq` order by the webhook dispatcher and the change
 * feed. `seq` orders events of one database (a keyset cursor); `id` is the event's public id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table event_outbox (
    seq bigint generated always as identity primary key,
    id text not null unique,
    type text not null,
    tenant_id text,
    partner_id text,
    resource_type text not null,
    resource_id text,
    data jsonb,
    request_id text,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index event_outbox_tenant_idx on event_outbox (tenant_id, seq)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
