import { sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import type { Queryable } from '../db/database.js';
import type { AuditOrigin } from '../http.js';
import { INVALIDATION_CHANNEL } from '../invalidation.js';
import type { AuditEvent } from './audit-log.js';

/** Writes audit entries (`at`: when it happened, default now) in one statement. */
export async function insertAuditEvents(
  db: Queryable,
  entries: readonly { origin: AuditOrigin; event: AuditEvent; at?: Date }[],
): Promise<void> {
  await db
    .insertInto('audit_events')
    .values(
      entries.map(({ origin, event, at }) => ({
        id: newId('event'),
        tenant_id: event.tenantId ?? null,
        partner_id: event.partnerId ?? null,
        actor_type: origin.actorType,
        actor_id: origin.actorId,
        action: event.action,
        resource_type: event.resourceType,
        resource_id: event.resourceId,
        before: event.before ? JSON.stringify(event.before) : undefined,
        after: event.after ? JSON.stringify(event.after) : undefined,
        result: event.result ?? 'SUCCESS',
        ip_address: origin.ipAddress,
        request_id: origin.requestId,
        ...(at ? { created_at: at } : {}),
      })),
    )
    .execute();
}

/** The SQL values of one audit event. */
function auditValues(origin: AuditOrigin, event: AuditEvent, id: string) {
  return sql`(${id}, ${event.tenantId ?? null}, ${event.partnerId ?? null}, ${origin.actorType}, ${
    origin.actorId
  }, ${event.action}, ${event.resourceType}, ${event.resourceId}, ${
    event.before ? JSON.stringify(event.before) : null
  }::jsonb, ${event.after ? JSON.stringify(event.after) : null}::jsonb, ${event.result ?? 'SUCCESS'}, ${
    origin.ipAddress
  }, ${origin.requestId})`;
}

/** The SQL values of the domain event of a change (the outbox row webhooks and the feed read). */
function outboxValues(origin: AuditOrigin, event: AuditEvent) {
  return sql`(${newId('event')}, ${event.action}, ${event.tenantId ?? null}, ${event.partnerId ?? null}, ${
    event.resourceType
  }, ${event.resourceId}, ${event.after ? JSON.stringify(event.after) : null}::jsonb, ${origin.requestId})`;
}

/**
 * Writes what a unit of work collected in one statement (one round trip, inside its transaction):
 * the audit rows, the outbox rows of the changes (a FAILURE event changes nothing and is not a
 * domain event) and the cross-instance invalidation notices, which PostgreSQL delivers on commit.
 */
export async function writeCollected(
  db: Queryable,
  origin: AuditOrigin,
  events: readonly AuditEvent[],
  topics: readonly string[],
): Promise<void> {
  const parts = [];
  if (events.length > 0) {
    parts.push(
      sql`audit_rows as (insert into audit_events (id, tenant_id, partner_id, actor_type, actor_id, action, resource_type, resource_id, before, after, result, ip_address, request_id) values ${sql.join(
        events.map((event) => auditValues(origin, event, newId('event'))),
      )})`,
    );
    const changes = events.filter((event) => (event.result ?? 'SUCCESS') === 'SUCCESS');
    if (changes.length > 0) {
      parts.push(
        sql`outbox_rows as (insert into event_outbox (id, type, tenant_id, partner_id, resource_type, resource_id, data, request_id) values ${sql.join(
          changes.map((event) => outboxValues(origin, event)),
        )})`,
      );
    }
  }
  const notices =
    topics.length > 0
      ? sql`select ${sql.join(topics.map((topic) => sql`pg_notify(${INVALIDATION_CHANNEL}, ${topic})`))}`
      : sql`select 1`;
  if (parts.length === 0 && topics.length === 0) return;
  await (parts.length > 0 ? sql`with ${sql.join(parts)} ${notices}` : notices).execute(db);
}
