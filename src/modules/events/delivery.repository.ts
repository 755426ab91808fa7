import { sql } from 'kysely';
import type { Queryable, Tx } from '../../platform/db/database.js';
import { matchesEventPattern } from '../../platform/events/catalogue.js';
import { readCommittedEvents, type StoredEvent } from '../../platform/events/event-log.repository.js';
import { webhookPayload } from './webhook-payload.js';
import { canonicalJson } from './webhook-signing.js';

/**
 * The delivery queue of webhooks (migration 0015): fan-out of committed events into deliveries,
 * claiming due deliveries with `FOR UPDATE SKIP LOCKED` and a lease, and recording outcomes.
 * Every instance runs it; the fan-out cursor row and the row locks make them share the work.
 */

/** A claimed delivery: what a worker needs to send it. */
export interface ClaimedDelivery {
  id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  /** The attempt this claim is (1 = first); also the lease's fencing token. */
  attempts: number;
  created_at: Date;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

interface LiveEndpoint {
  id: string;
  events: string[];
  tenant_id: string | null;
  partner_id: string | null;
}

/** Whether an event is in an endpoint's scope: its tenant's, its partner's (and its tenants'), or all. */
function inScope(endpoint: LiveEndpoint, event: StoredEvent, partnerOf: Map<string, string>): boolean {
  if (endpoint.tenant_id) return event.tenant_id === endpoint.tenant_id;
  if (endpoint.partner_id) {
    const partner = event.tenant_id ? (partnerOf.get(event.tenant_id) ?? event.partner_id) : event.partner_id;
    return partner === endpoint.partner_id;
  }
  return true;
}

export const resourceKey = (event: Pick<StoredEvent, 'resource_type' | 'resource_id' | 'id'>) =>
  `${event.resource_type}:${event.resource_id ?? event.id}`;

/**
 * One fan-out step, in the caller's transaction: locks the cursor (another instance holding it:
 * returns null), reads up to `limit` committed events after it, inserts a delivery for every live
 * endpoint each matches, and moves the cursor past them. Returns how many events it read.
 */
export async function fanOutStep(
  trx: Tx,
  limit: number,
): Promise<{ read: number; delivered: number; endpoints?: number } | null> {
  const { rows: cursors } = await sql<{ txid: string | null; seq: string | null }>`
    select txid::text as txid, seq::text as seq from webhook_fanout where id = 1 for update skip locked`.execute(
    trx,
  );
  const cursor = cursors[0];
  if (!cursor) return null;
  const after = cursor.txid && cursor.seq ? { txid: cursor.txid, seq: Number(cursor.seq) } : undefined;
  const events = await readCommittedEvents(trx, { after, limit });
  const last = events.at(-1);
  if (!last) return { read: 0, delivered: 0 };
  const endpoints = (await trx
    .selectFrom('webhook_endpoints')
    .select(['id', 'events', 'tenant_id', 'partner_id'])
    .where('deleted_at', 'is', null)
    .where('enabled', '=', true)
    .execute()) as LiveEndpoint[];
  if (endpoints.length === 0) {
    await moveFanOutCursor(trx, last);
    return { read: events.length, delivered: 0, endpoints: 0 };
  }
  const partnerOf = new Map<string, string>();
  const tenantIds = [...new Set(events.map((event) => event.tenant_id).filter((id) => id !== null))];
  if (endpoints.some((endpoint) => endpoint.partner_id) && tenantIds.length > 0) {
    const tenants = await trx
      .selectFrom('tenants')
      .select(['id', 'partner_id'])
      .where('id', 'in', tenantIds)
      .execute();
    for (const tenant of tenants) partnerOf.set(tenant.id, tenant.partner_id);
  }
  const rows = [];
  for (const event of events) {
    let body: string | undefined;
    for (const endpoint of endpoints) {
      if (!inScope(endpoint, event, partnerOf)) continue;
      if (!endpoint.events.some((pattern) => matchesEventPattern(pattern, event.type))) continue;
      body ??= canonicalJson(webhookPayload(event));
      rows.push(
        sql`(${endpoint.id}, ${event.id}, ${event.type}, ${event.txid}::xid8, ${event.seq}, ${resourceKey(event)}, ${body})`,
      );
    }
  }
  for (let start = 0; start < rows.length; start += 500) {
    // Once per (endpoint, event) even if another instance's fan-out read the same events
    // (migration 0017's index).
    await sql`insert into webhook_deliveries (endpoint_id, event_id, event_type, event_txid, event_seq, resource_key, body)
      values ${sql.join(rows.slice(start, start + 500))}
      on conflict (endpoint_id, event_id) where redelivery_of is null and event_txid is not null do nothing`.execute(
      trx,
    );
  }
  await moveFanOutCursor(trx, last);
  return { read: events.length, delivered: rows.length, endpoints: endpoints.length };
}

async function moveFanOutCursor(trx: Tx, last: { txid: string; seq: number }): Promise<void> {
  await sql`update webhook_fanout set txid = ${last.txid}::xid8, seq = ${last.seq}, updated_at = now()
    where id = 1`.execute(trx);
}

/**
 * The fan-out step when no endpoint is live, in one statement: moves the cursor past every
 * committed event, but only if no live endpoint exists (of any tenant, decided by the database in
 * this statement, so an endpoint another instance created is seen as a fanOutStep would see it)
 * and no other instance holds the cursor. False: nothing was done (endpoints exist, the cursor is
 * held, or no event was ever written), and a fanOutStep decides.
 */
export async function skipFanOutWithoutEndpoints(db: Queryable): Promise<boolean> {
  const { rows } = await sql<{ id: number }>`
    with cursor as (
      select id, txid, seq from webhook_fanout where id = 1 for update skip locked
    ), newest as (
      select txid, seq from event_outbox
      where txid < pg_snapshot_xmin(pg_current_snapshot())
      order by txid desc, seq desc limit 1
    )
    update webhook_fanout f set txid = newest.txid, seq = newest.seq, updated_at = now()
    from cursor, newest
    where f.id = cursor.id
      and (cursor.txid is null or (newest.txid, newest.seq) >= (cursor.txid, cursor.seq))
      and not exists (select 1 from webhook_endpoints e where e.enabled and e.deleted_at is null)
    returning f.id`.execute(db);
  return rows.length === 1;
}

/**
 * Claims up to `limit` due deliveries (pending and due, or in flight with a lease that ran out) of
 * live endpoints, skipping rows another worker holds and any delivery behind an earlier unfinished
 * one of the same endpoint and resource (order per resource). Each claim counts an attempt and
 * takes a lease of `leaseMs`; no transaction stays open while the deliveries are sent.
 */
export async function claimDeliveries(
  db: Queryable,
  limit: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    with due as (
      select d.id from webhook_deliveries d
      join webhook_endpoints e on e.id = d.endpoint_id
      where ((d.status = 'pending' and d.next_attempt_at <= now())
          or (d.status = 'in_flight' and d.lease_until < now()))
        and e.enabled and e.deleted_at is null
        and not exists (
          select 1 from webhook_deliveries p
          where p.endpoint_id = d.endpoint_id and p.resource_key = d.resource_key and p.id < d.id
            and p.status in ('pending', 'in_flight'))
      order by d.next_attempt_at, d.id
      limit ${limit}
      for update of d skip locked
    ), claimed as (
      update webhook_deliveries d
      set status = 'in_flight', attempts = d.attempts + 1, last_attempt_at = now(),
        lease_until = now() + make_interval(secs => ${leaseMs / 1000})
      from due where d.id = due.id
      returning d.id, d.endpoint_id, d.event_id, d.event_type, d.body, d.attempts, d.created_at
    )
    select c.id::int8 as id, c.endpoint_id, c.event_id, c.event_type, c.body, c.attempts, c.created_at,
      e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
    from claimed c join webhook_endpoints e on e.id = c.endpoint_id
    order by c.id`.execute(db);
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** When the next delivery falls due (a retry, or a lease that runs out), if any is waiting. */
export async function nextDueAt(db: Queryable): Promise<Date | null> {
  const { rows } = await sql<{ at: Date | null }>`
    select least(
      (select min(d.next_attempt_at) from webhook_deliveries d
        join webhook_endpoints e on e.id = d.endpoint_id
        where d.status = 'pending' and d.next_attempt_at > now() and e.enabled and e.deleted_at is null),
      (select min(lease_until) from webhook_deliveries where status = 'in_flight' and lease_until > now())) as at`.execute(
    db,
  );
  return rows[0]?.at ?? null;
}

export interface AttemptOutcome {
  deliveryId: number;
  /** The claim's attempt number (the lease's fencing token). */
  attempt: number;
  startedAt: Date;
  responseCode: number | null;
  responseMs: number;
  error: string | null;
  /** Succeeded, retry at `retryAt`, or failed for good. */
  result: 'succeeded' | 'retry' | 'failed';
  retryAt: Date | null;
}

/**
 * Records an attempt's outcome, if the claim is still this worker's (its lease was not taken over).
 * Returns false when it was not.
 */
export async function recordOutcome(db: Queryable, outcome: AttemptOutcome): Promise<boolean> {
  const status = outcome.result === 'retry' ? 'pending' : outcome.result;
  const result = await sql`
    update webhook_deliveries set status = ${status}, lease_until = null,
      next_attempt_at = coalesce(${outcome.retryAt}::timestamptz, next_attempt_at),
      last_response_code = ${outcome.responseCode}, last_response_ms = ${outcome.responseMs},
      last_error = ${outcome.error},
      completed_at = ${outcome.result === 'retry' ? null : sql`now()`}
    where id = ${outcome.deliveryId} and attempts = ${outcome.attempt} and status = 'in_flight'
    returning id`.execute(db);
  if (result.rows.length === 0) return false;
  await sql`
    insert into webhook_delivery_attempts (delivery_id, attempt, started_at, response_code, response_ms, error, next_attempt_at)
    values (${outcome.deliveryId}, ${outcome.attempt}, ${outcome.startedAt}, ${outcome.responseCode},
      ${outcome.responseMs}, ${outcome.error}, ${outcome.retryAt})
    on conflict do nothing`.execute(db);
  return true;
}

/**
 * An endpoint's health after a success: no failures counted, failing → active. A healthy endpoint's
 * row is written at most once a second (`last_success_at` to the second): every parallel send
 * updating the one row would queue them all behind its lock.
 */
export async function endpointSucceeded(db: Queryable, endpointId: string): Promise<void> {
  await sql`update webhook_endpoints set consecutive_failures = 0, last_success_at = now(),
      status = case when status = 'failing' then 'active' else status end
    where id = ${endpointId} and (consecutive_failures > 0 or status = 'failing' or last_success_at is null
      or last_success_at < now() - interval '1 second')`.execute(db);
}

/**
 * An endpoint's health after a failed attempt: one more failure; `failing` from `failingAfter`
 * on; with `disable`, disabled. Returns the endpoint's tenant and partner when this disabled it.
 */
export async function endpointFailed(
  db: Queryable,
  endpointId: string,
  failingAfter: number,
  disable: boolean,
): Promise<{ tenant_id: string | null; partner_id: string | null; consecutive_failures: number } | null> {
  const { rows } = await sql<{
    tenant_id: string | null;
    partner_id: string | null;
    consecutive_failures: number;
    was_enabled: boolean;
  }>`
    update webhook_endpoints w set consecutive_failures = w.consecutive_failures + 1, last_failure_at = now(),
      status = case
        when ${disable} then 'disabled'
        when w.status = 'active' and w.consecutive_failures + 1 >= ${failingAfter} then 'failing'
        else w.status end,
      enabled = case when ${disable} then false else w.enabled end
    from webhook_endpoints old
    where w.id = ${endpointId} and old.id = w.id
    returning w.tenant_id, w.partner_id, w.consecutive_failures, old.enabled as was_enabled`.execute(db);
  const row = rows[0];
  return disable && row?.was_enabled ? row : null;
}

/** A new pending delivery of an earlier one's message (same event id and body). */
export async function insertRedelivery(
  db: Queryable,
  endpointId: string,
  deliveryId: number,
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    insert into webhook_deliveries (endpoint_id, event_id, event_type, event_txid, event_seq, resource_key, body, redelivery_of)
    select endpoint_id, event_id, event_type, event_txid, event_seq, resource_key, body, id
    from webhook_deliveries where endpoint_id = ${endpointId} and id = ${deliveryId}
    returning id::int8 as id`.execute(db);
  return Number(rows[0]?.id);
}

/** A delivery sent at once by the caller (the test ping): in flight from the start, one attempt. */
export async function insertImmediateDelivery(
  db: Queryable,
  delivery: {
    endpointId: string;
    eventId: string;
    eventType: string;
    resourceKey: string;
    body: string;
    leaseMs: number;
  },
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    insert into webhook_deliveries (endpoint_id, event_id, event_type, resource_key, body, status, attempts, last_attempt_at, lease_until)
    values (${delivery.endpointId}, ${delivery.eventId}, ${delivery.eventType}, ${delivery.resourceKey}, ${delivery.body},
      'in_flight', 1, now(), now() + make_interval(secs => ${delivery.leaseMs / 1000}))
    returning id::int8 as id`.execute(db);
  return Number(rows[0]?.id);
}

/** Deletes finished deliveries (and their attempts) completed before `before`; returns how many. */
export async function deleteDeliveriesBefore(db: Queryable, before: Date, batch = 5000): Promise<number> {
  let removed = 0;
  for (;;) {
    const result = await sql`
      delete from webhook_deliveries where id in (
        select id from webhook_deliveries where completed_at < ${before} limit ${batch})
      returning id`.execute(db);
    const count = result.rows.length;
    removed += count;
    if (count < batch) return removed;
  }
}
