import { sql } from 'kysely';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import type { WebhookDeliveryStatus, WebhookStatus } from '../../platform/db/schema.js';

/**
 * Webhook endpoints (migration 0015). An endpoint belongs to a tenant, a partner or the platform,
 * so the table is a platform table like `applications`; a tenant endpoint's partner is its
 * tenant's current one (read through the join, so a tenant moved to another partner moves its
 * endpoints along).
 */
export interface EndpointRecord {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  tenant_id: string | null;
  /** The partner of a partner endpoint, or the current partner of a tenant endpoint's tenant. */
  partner_id: string | null;
  /** Whether it is a partner endpoint (partner_id set on the row itself, no tenant). */
  own_partner: boolean;
  enabled: boolean;
  status: WebhookStatus;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  secret_rotated_at: Date | null;
  consecutive_failures: number;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  created_at: Date;
  updated_at: Date | null;
}

export interface EndpointFilter {
  tenantId?: string | undefined;
  partnerId?: string | undefined;
}

function endpoints(db: Queryable) {
  return db
    .selectFrom('webhook_endpoints as w')
    .leftJoin('tenants as t', 't.id', 'w.tenant_id')
    .where('w.deleted_at', 'is', null)
    .select([
      'w.id',
      'w.url',
      'w.description',
      'w.events',
      'w.tenant_id',
      sql<string | null>`coalesce(t.partner_id, w.partner_id)`.as('partner_id'),
      sql<boolean>`w.partner_id is not null and w.tenant_id is null`.as('own_partner'),
      'w.enabled',
      'w.status',
      'w.secret',
      'w.previous_secret',
      'w.previous_secret_expires_at',
      'w.secret_rotated_at',
      'w.consecutive_failures',
      'w.last_success_at',
      'w.last_failure_at',
      'w.created_at',
      'w.updated_at',
    ]);
}

/** The endpoints a caller may see (platform ones: super_admin only), with the list filters. */
function visible(db: Queryable, rights: AdminRights, filter: EndpointFilter) {
  let query = endpoints(db);
  if (rights.level === 'partner_admin') {
    query = query.where(sql<boolean>`coalesce(t.partner_id, w.partner_id) = ${rights.partnerId ?? ''}`);
  }
  if (rights.level === 'tenant_admin') query = query.where('w.tenant_id', '=', rights.tenantId ?? '');
  if (filter.tenantId) query = query.where('w.tenant_id', '=', filter.tenantId);
  if (filter.partnerId) {
    query = query.where(sql<boolean>`coalesce(t.partner_id, w.partner_id) = ${filter.partnerId}`);
  }
  return query;
}

export async function findEndpoint(db: Queryable, id: string): Promise<EndpointRecord | undefined> {
  return (await endpoints(db).where('w.id', '=', id).executeTakeFirst()) as EndpointRecord | undefined;
}

/** Locks the live endpoint row (for a change) and returns it. */
export async function lockEndpoint(db: Queryable, id: string): Promise<EndpointRecord | undefined> {
  await db
    .selectFrom('webhook_endpoints')
    .select('id')
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  return findEndpoint(db, id);
}

export async function pageOfEndpoints(
  db: Queryable,
  rights: AdminRights,
  filter: EndpointFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: EndpointRecord[]; total: number }> {
  const rows = await visible(db, rights, filter)
    .orderBy('w.created_at', 'desc')
    .orderBy('w.id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const counted = await visible(db, rights, filter)
    .clearSelect()
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return { rows: rows as EndpointRecord[], total: Number(counted.n) };
}

export interface NewEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  tenantId: string | null;
  partnerId: string | null;
  sealedSecret: string;
}

export async function insertEndpoint(db: Queryable, endpoint: NewEndpoint): Promise<void> {
  await db
    .insertInto('webhook_endpoints')
    .values({
      id: endpoint.id,
      url: endpoint.url,
      description: endpoint.description,
      events: JSON.stringify(endpoint.events),
      tenant_id: endpoint.tenantId,
      partner_id: endpoint.tenantId ? null : endpoint.partnerId,
      secret: endpoint.sealedSecret,
      previous_secret: null,
      previous_secret_expires_at: null,
      secret_rotated_at: null,
      last_success_at: null,
      last_failure_at: null,
      updated_at: null,
      deleted_at: null,
    })
    .execute();
}

export interface EndpointChange {
  url?: string;
  description?: string | null;
  events?: string[];
  enabled?: boolean;
  /** Re-enabling also makes it active with no failures counted. */
  reset?: boolean;
}

export async function updateEndpoint(db: Queryable, id: string, change: EndpointChange): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({
      ...(change.url !== undefined ? { url: change.url } : {}),
      ...(change.description !== undefined ? { description: change.description } : {}),
      ...(change.events !== undefined ? { events: JSON.stringify(change.events) } : {}),
      ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
      ...(change.reset ? { status: 'active' as const, consecutive_failures: 0 } : {}),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export async function rotateEndpointSecret(
  db: Queryable,
  id: string,
  sealedSecret: string,
  previousExpiresAt: Date,
): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({
      previous_secret: sql`secret`,
      previous_secret_expires_at: previousExpiresAt,
      secret: sealedSecret,
      secret_rotated_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteEndpoint(db: Queryable, id: string): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ deleted_at: sql`now()`, enabled: false, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export interface DeliveryRecord {
  id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  resource_key: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_response_code: number | null;
  last_response_ms: number | null;
  last_error: string | null;
  redelivery_of: number | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface AttemptRecord {
  delivery_id: number;
  attempt: number;
  started_at: Date;
  response_code: number | null;
  response_ms: number | null;
  error: string | null;
  next_attempt_at: Date | null;
}

const DELIVERY_COLUMNS = sql`id::int8 as id, endpoint_id, event_id, event_type, resource_key, status, attempts,
  next_attempt_at, last_attempt_at, last_response_code, last_response_ms, last_error,
  redelivery_of::int8 as redelivery_of, created_at, completed_at`;

function deliveryRow(row: DeliveryRecord): DeliveryRecord {
  return {
    ...row,
    id: Number(row.id),
    redelivery_of: row.redelivery_of === null ? null : Number(row.redelivery_of),
  };
}

/**
 * An endpoint's deliveries, newest first, with their attempts and the total: one statement, so the
 * page, its attempts and the count are one snapshot (a delivery whose attempt was just recorded is
 * never shown still in flight beside that attempt).
 */
export async function pageOfDeliveries(
  db: Queryable,
  endpointId: string,
  status: WebhookDeliveryStatus | undefined,
  page: { limit: number; offset: number },
): Promise<{ rows: DeliveryRecord[]; attempts: AttemptRecord[]; total: number }> {
  const condition = status
    ? sql`endpoint_id = ${endpointId} and status = ${status}`
    : sql`endpoint_id = ${endpointId}`;
  const { rows } = await sql<DeliveryRecord & { total: number; attempt_log: AttemptJson[] }>`
    select ${DELIVERY_COLUMNS},
      (select count(*)::int from webhook_deliveries where ${condition}) as total,
      (select coalesce(json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at,
          'response_code', a.response_code, 'response_ms', a.response_ms, 'error', a.error,
          'next_attempt_at', a.next_attempt_at) order by a.attempt), '[]'::json)
        from webhook_delivery_attempts a where a.delivery_id = d.id) as attempt_log
    from webhook_deliveries d where ${condition}
    order by id desc limit ${page.limit} offset ${page.offset}`.execute(db);
  if (rows.length === 0) {
    // Past the last page (or none at all): no rows to agree with, the count alone.
    const counted = await sql<{ n: number }>`
      select count(*)::int as n from webhook_deliveries where ${condition}`.execute(db);
    return { rows: [], attempts: [], total: Number(counted.rows[0]?.n ?? 0) };
  }
  const attempts = rows.flatMap(({ id, attempt_log }) =>
    attempt_log.map((attempt) => ({
      ...attempt,
      delivery_id: Number(id),
      started_at: new Date(attempt.started_at),
      next_attempt_at: attempt.next_attempt_at === null ? null : new Date(attempt.next_attempt_at),
    })),
  );
  return {
    rows: rows.map(({ total: _total, attempt_log: _log, ...row }) => deliveryRow(row)),
    attempts,
    total: Number(rows[0]?.total ?? 0),
  };
}

/** An attempt as `json_build_object` gives it (timestamps as text). */
interface AttemptJson extends Omit<AttemptRecord, 'delivery_id' | 'started_at' | 'next_attempt_at'> {
  started_at: string;
  next_attempt_at: string | null;
}

export async function findDelivery(
  db: Queryable,
  endpointId: string,
  deliveryId: number,
): Promise<(DeliveryRecord & { body: string }) | undefined> {
  const { rows } = await sql<DeliveryRecord & { body: string }>`
    select ${DELIVERY_COLUMNS}, body from webhook_deliveries
    where endpoint_id = ${endpointId} and id = ${deliveryId}`.execute(db);
  return rows[0] ? { ...deliveryRow(rows[0]), body: rows[0].body } : undefined;
}
