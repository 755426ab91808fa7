import type { Queryable } from '../db/database.js';
import type { AuditOrigin } from '../http.js';
import { insertAuditEvents } from './events.repository.js';

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
  await insertAuditEvents(db, [{ origin, event }]);
}
