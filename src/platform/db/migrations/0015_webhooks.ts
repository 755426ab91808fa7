import { type Kysely, sql } from 'kysely';

/**
 * Webhooks (issue 14): endpoints, their deliveries, and the fan-out cursor.
 *
 * - `webhook_endpoints`: where events go, for a tenant (`tenant_id`), a partner (`partner_id`
 *   only: the partner and all its tenants) or the platform (neither: every event). The signing
 *   secret is sealed (SecretBox, bound to the endpoint id); after a rotation the previous one keeps
 *   signing beside it until `previous_secret_expires_at`. `status` is the endpoint's health
 *   (active, failing after consecutive failures, disabled when a delivery exhausted its retries).
 * - `webhook_deliveries`: one row per (endpoint, event); its numeric `id` is the
 *   `X-ScaiKey-Webhook-ID` header. The body is kept as it was first signed (the same bytes on every
 *   retry). `resource_key` orders deliveries: none is sent while an earlier one of the same endpoint
 *   and resource is pending or in flight. Workers claim due rows with `FOR UPDATE SKIP LOCKED` and
 *   a lease; a lease that runs out (a killed instance) makes the row claimable again.
 * - `webhook_delivery_attempts`: each attempt's outcome and the retry it scheduled.
 * - `webhook_fanout`: one row, the position (txid, seq) of the last event fanned out into
 *   deliveries; starts after the newest event that exists now.
 */
const statements = [
  `create table webhook_endpoints (
    id text primary key,
    url text not null,
    description text,
    events jsonb not null,
    tenant_id text,
    partner_id text,
    enabled boolean not null default true,
    status text not null default 'active' check (status in ('active', 'failing', 'disabled')),
    secret text not null,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    secret_rotated_at timestamptz,
    consecutive_failures integer not null default 0,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz
  )`,
  `create index webhook_endpoints_tenant_idx on webhook_endpoints (tenant_id) where deleted_at is null`,
  `create index webhook_endpoints_partner_idx on webhook_endpoints (partner_id) where deleted_at is null`,
  `create table webhook_deliveries (
    id bigint generated always as identity primary key,
    endpoint_id text not null references webhook_endpoints (id),
    event_id text not null,
    event_type text not null,
    event_txid xid8,
    event_seq bigint,
    resource_key text not null,
    body text not null,
    status text not null default 'pending' check (status in ('pending', 'in_flight', 'succeeded', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    lease_until timestamptz,
    last_attempt_at timestamptz,
    last_response_code integer,
    last_response_ms integer,
    last_error text,
    redelivery_of bigint,
    created_at timestamptz not null default now(),
    completed_at timestamptz
  )`,
  `create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at, id)
    where status in ('pending', 'in_flight')`,
  `create index webhook_deliveries_order_idx on webhook_deliveries (endpoint_id, resource_key, id)
    where status in ('pending', 'in_flight')`,
  `create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id desc)`,
  `create index webhook_deliveries_completed_idx on webhook_deliveries (completed_at)
    where completed_at is not null`,
  `create table webhook_delivery_attempts (
    delivery_id bigint not null references webhook_deliveries (id) on delete cascade,
    attempt integer not null,
    started_at timestamptz not null,
    response_code integer,
    response_ms integer,
    error text,
    next_attempt_at timestamptz,
    primary key (delivery_id, attempt)
  )`,
  `create table webhook_fanout (
    id integer primary key check (id = 1),
    txid xid8,
    seq bigint,
    updated_at timestamptz not null default now()
  )`,
  `insert into webhook_fanout (id, txid, seq)
    select 1, (select txid from event_outbox order by txid desc, seq desc limit 1),
      (select seq from event_outbox order by txid desc, seq desc limit 1)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
