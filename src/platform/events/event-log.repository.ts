import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';

/**
 * Reading the event outbox in commit order (issue 14, migration 0013). An event's position is
 * (txid, seq): the writing transaction's id, then the insert order within the database. A reader
 * only reads events of transactions older than the oldest transaction still running
 * (`pg_snapshot_xmin(pg_current_snapshot())`), so no event can later appear before a position
 * already returned: a consumer that keeps its position never misses nor reorders an event.
 * Transactions that run at the same time come out in the order of their ids; a transaction that
 * began after another one committed always comes after it.
 */
export interface EventPosition {
  txid: string;
  seq: number;
}

export interface StoredEvent {
  seq: number;
  txid: string;
  id: string;
  type: string;
  tenant_id: string | null;
  partner_id: string | null;
  resource_type: string;
  resource_id: string | null;
  actor_type: string | null;
  actor_id: string | null;
  data: Record<string, unknown> | null;
  request_id: string | null;
  created_at: Date;
}

export interface EventQuery {
  /** Only events after this position (none: from the oldest kept event). */
  after?: EventPosition | undefined;
  /** One tenant's events (null: events without a tenant); undefined: every tenant's. */
  tenantId?: string | null | undefined;
  /** Only these types (none or empty: every type). */
  types?: readonly string[] | undefined;
  limit: number;
}

const DIGITS = /^\d{1,20}$/;

/** A cursor as clients see it: opaque, URL-safe. */
export function encodePosition(position: EventPosition): string {
  return Buffer.from(`${position.txid}.${position.seq}`).toString('base64url');
}

/** The position in a cursor, or undefined when it is not one of ours. */
export function decodePosition(cursor: string): EventPosition | undefined {
  const [txid, seq, ...rest] = Buffer.from(cursor, 'base64url').toString('latin1').split('.');
  if (rest.length > 0 || !txid || !seq || !DIGITS.test(txid) || !DIGITS.test(seq)) return undefined;
  const position = { txid, seq: Number(seq) };
  return Number.isSafeInteger(position.seq) && encodePosition(position) === cursor ? position : undefined;
}

/** The conditions of a query's position, tenant and types. */
function selection(query: Omit<EventQuery, 'limit'>) {
  const conditions = [];
  if (query.after)
    conditions.push(sql`(txid, seq) > (${query.after.txid}::xid8, ${query.after.seq}::bigint)`);
  if (query.tenantId !== undefined) {
    conditions.push(query.tenantId === null ? sql`tenant_id is null` : sql`tenant_id = ${query.tenantId}`);
  }
  if (query.types && query.types.length > 0) {
    conditions.push(sql`type in (${sql.join(query.types.map((type) => sql`${type}`))})`);
  }
  return conditions;
}

/** Committed events after a position, in commit order, at most `limit`. */
export async function readCommittedEvents(db: Queryable, query: EventQuery): Promise<StoredEvent[]> {
  const conditions = [sql`txid < pg_snapshot_xmin(pg_current_snapshot())`, ...selection(query)];
  const { rows } = await sql<StoredEvent>`
    select seq::int8 as seq, txid::text as txid, id, type, tenant_id, partner_id, resource_type, resource_id,
      actor_type, actor_id, data, request_id, created_at
    from event_outbox
    where ${sql.join(conditions, sql` and `)}
    order by txid, seq
    limit ${query.limit}`.execute(db);
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/**
 * Whether events after `after` exist that a reader cannot see yet because an older transaction
 * is still running (a long-poll then looks again soon instead of waiting for the next notice).
 */
export async function eventsHeldBack(db: Queryable, query: Omit<EventQuery, 'limit'>): Promise<boolean> {
  const conditions = [sql`txid >= pg_snapshot_xmin(pg_current_snapshot())`, ...selection(query)];
  const { rows } = await sql<{ held: boolean }>`
    select exists (select 1 from event_outbox where ${sql.join(conditions, sql` and `)}) as held`.execute(db);
  return rows[0]?.held === true;
}

/** The position of the newest committed event (a consumer that wants only what comes next). */
export async function latestCommittedPosition(
  db: Queryable,
  tenantId?: string | null,
): Promise<EventPosition | undefined> {
  const conditions = [sql`txid < pg_snapshot_xmin(pg_current_snapshot())`, ...selection({ tenantId })];
  const [last] = await sql<{ txid: string; seq: string }>`
    select txid::text as txid, seq::text as seq from event_outbox
    where ${sql.join(conditions, sql` and `)}
    order by txid desc, seq desc limit 1`
    .execute(db)
    .then((result) => result.rows);
  return last ? { txid: last.txid, seq: Number(last.seq) } : undefined;
}

/** Deletes at most `size` events older than `before`; returns how many went (a housekeeping batch). */
export async function deleteEventsBefore(db: Queryable, before: Date, size: number): Promise<number> {
  const result = await db
    .deleteFrom('event_outbox')
    .where(
      sql<boolean>`seq in (select seq from event_outbox where created_at < ${before} order by created_at limit ${size})`,
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
