import { type RawBuilder, sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import type { Queryable } from '../db/database.js';
import type { AuditOrigin } from '../http.js';
import { INVALIDATION_CHANNEL } from '../invalidation.js';
import type { AuditEvent } from './audit-log.js';
import { isDomainEvent } from './catalogue.js';

/** The channel that says a tenant (payload: its id, or "platform") has new events. */
export const EVENTS_CHANNEL = 'scaikey_events';

/** One audit entry to write: who, what, and when (default now). */
export interface AuditEntry {
  origin: AuditOrigin;
  event: AuditEvent;
  at?: Date | undefined;
}

/**
 * Writes audit entries in one statement; the entries that are domain events (the catalogue) go
 * to the event outbox in the same statement, so that a change inside a transaction never commits
 * without its event, whichever path records it.
 */
export async function insertAuditEvents(db: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  await writeStatement(entries, [], { eventNotices: true, changedRows: false })?.execute(db);
}

/**
 * One statement writing audit rows, the outbox rows of the domain events among them, and the
 * notices: cache invalidation topics, and (with `eventNotices`) one EVENTS_CHANNEL notice per
 * tenant with new events, which PostgreSQL delivers when the transaction commits. A unit of work
 * sends its event notices after the commit instead (event-notices.ts, issue 17).
 */
function writeStatement(
  entries: readonly AuditEntry[],
  topics: readonly string[],
  { eventNotices, changedRows }: { eventNotices: boolean; changedRows: boolean },
) {
  const events = entries.filter(({ event }) => isDomainEvent(event.action, event.result ?? 'SUCCESS'));
  const notices = [
    ...topics.map((topic) => sql`pg_notify(${INVALIDATION_CHANNEL}, ${topic})`),
    ...(eventNotices ? eventNoticeKeys(events.map(({ event }) => event)) : []).map(
      (tenant) => sql`pg_notify(${EVENTS_CHANNEL}, ${tenant})`,
    ),
  ];
  // The rows the transaction changed, as the row triggers recorded them (migration 0018).
  const columns = changedRows
    ? [...notices, sql`current_setting('scaikey.changed_rows', true) as changed_rows`]
    : notices;
  const select = sql<{
    changed_rows?: string | null;
  }>`select ${columns.length > 0 ? sql.join(columns) : sql`1`}`;
  if (entries.length === 0) return columns.length > 0 ? select : null;
  const parts = [
    sql`audit_rows as (insert into audit_events ${AUDIT_COLUMNS} values ${sql.join(
      entries.map(auditValues),
    )})`,
  ];
  if (events.length > 0) {
    parts.push(
      sql`outbox_rows as (insert into event_outbox ${OUTBOX_COLUMNS} values ${sql.join(
        events.map(outboxValues),
      )})`,
    );
  }
  return sql<{ changed_rows?: string | null }>`with ${sql.join(parts)} ${select}`;
}

const json = (value: Record<string, unknown> | null | undefined) => (value ? JSON.stringify(value) : null);

const AUDIT_COLUMNS = sql`(id, tenant_id, partner_id, actor_type, actor_id, action, resource_type, resource_id, before, after, result, ip_address, request_id, created_at)`;
const OUTBOX_COLUMNS = sql`(id, type, tenant_id, partner_id, resource_type, resource_id, data, request_id, actor_type, actor_id, created_at)`;

/** The SQL values of one audit row. */
function auditValues(entry: AuditEntry) {
  return sql`(${auditFields(entry)})`;
}

function auditFields({ origin, event, at }: AuditEntry) {
  return sql`${newId('event')}, ${event.tenantId ?? null}, ${event.partnerId ?? null}, ${origin.actorType}, ${
    origin.actorId
  }, ${event.action}, ${event.resourceType}, ${event.resourceId}, ${json(event.before)}::jsonb, ${json(
    event.after,
  )}::jsonb, ${event.result ?? 'SUCCESS'}, ${origin.ipAddress}, ${origin.requestId}, ${at ?? sql`now()`}`;
}

/**
 * The SQL values of the domain event of a change (the outbox row webhooks and the feed read):
 * `data` is what the change made (the audit entry's `after`), with `previous` holding what it
 * replaced (`before`) when there was something.
 */
function outboxValues(entry: AuditEntry) {
  return sql`(${outboxFields(entry)})`;
}

function outboxFields({ origin, event, at }: AuditEntry) {
  const data = { ...(event.after ?? {}), ...(event.before ? { previous: event.before } : {}) };
  return sql`${newId('event')}, ${event.action}, ${event.tenantId ?? null}, ${event.partnerId ?? null}, ${
    event.resourceType
  }, ${event.resourceId}, ${JSON.stringify(data)}::jsonb, ${origin.requestId}, ${origin.actorType}, ${
    origin.actorId
  }, ${at ?? sql`now()`}`;
}

/**
 * The EVENTS_CHANNEL keys of `events`: the tenant (or "platform") of each domain event among them,
 * once each.
 */
export function eventNoticeKeys(events: readonly AuditEvent[]): string[] {
  const keys = new Set<string>();
  for (const event of events) {
    if (isDomainEvent(event.action, event.result ?? 'SUCCESS')) keys.add(event.tenantId ?? 'platform');
  }
  return [...keys];
}

/**
 * Writes what a unit of work collected in one statement (one round trip, inside its transaction):
 * the audit rows, the outbox rows of the changes (a FAILURE event changes nothing and is not a
 * domain event) and the cross-instance invalidation notices, which PostgreSQL delivers on commit.
 * The event notices are the unit of work's to send after the commit (eventNoticeKeys). Returns
 * what the transaction's row triggers recorded as changed (row-cache.ts changedRowKeys).
 */
export async function writeCollected(
  db: Queryable,
  origin: AuditOrigin,
  events: readonly AuditEvent[],
  topics: readonly string[],
): Promise<string | null> {
  const result = await writeStatement(
    events.map((event) => ({ origin, event })),
    topics,
    { eventNotices: false, changedRows: true },
  )?.execute(db);
  return result?.rows[0]?.changed_rows ?? null;
}

/**
 * Issue 17: the statement of a change made by one statement (UnitOfWork.statementInTenant): the
 * change's CTEs, then its audit and outbox rows as data-modifying CTEs, then its final select. Each
 * audit and outbox row is written once per row of the CTE `source` (the change's own, which returns
 * a row only when the change happened), so a refused change writes neither. The event notices
 * leave after it (EventNotices).
 */
export function statementWrites<Row>(
  origin: AuditOrigin,
  events: readonly AuditEvent[],
  change: { ctes: readonly RawBuilder<unknown>[]; source: string; select: RawBuilder<Row> },
): RawBuilder<Row> {
  const from = sql.table(change.source);
  const entries = events.map((event) => ({ origin, event }));
  const writes = [
    ...entries.map(
      (entry, index) =>
        sql`${sql.table(`audit_row_${index}`)} as (insert into audit_events ${AUDIT_COLUMNS} select ${auditFields(entry)} from ${from})`,
    ),
    ...entries
      .filter(({ event }) => isDomainEvent(event.action, event.result ?? 'SUCCESS'))
      .map(
        (entry, index) =>
          sql`${sql.table(`outbox_row_${index}`)} as (insert into event_outbox ${OUTBOX_COLUMNS} select ${outboxFields(entry)} from ${from})`,
      ),
  ];
  return sql<Row>`with ${sql.join([...change.ctes, ...writes])} ${change.select}`;
}
