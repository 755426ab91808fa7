import { newId } from '../../lib/ids.js';
import type { Queryable } from '../db/database.js';
import type { AuditOrigin } from '../http.js';

export interface AuditEvent {
  action: string;
  resourceType: string;
  resourceId: string | null;
  tenantId?: string | null;
  partnerId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  result?: 'SUCCESS' | 'FAILURE';
}

/** Who did it and from where: taken from the request once, passed to every audited write. */
/** Who made a change and from where (defined by the platform's request context). */
export type { AuditOrigin };

/** Writes one audit event; call it inside the transaction of the change it describes. */
export async function recordAudit(db: Queryable, origin: AuditOrigin, event: AuditEvent): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
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
    })
    .execute();
}
