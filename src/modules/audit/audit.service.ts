import { Readable } from 'node:stream';
import { isId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import { notFound, RequestValidationError } from '../../platform/errors.js';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES } from './audit.catalogue.js';
import {
  type AuditPosition,
  type AuditRecord,
  countAuditEntries,
  findAuditEntry,
  listAuditEntries,
} from './audit.cross-tenant.js';
import type {
  AuditActionItem,
  AuditEntry,
  AuditFilter,
  AuditListQuery,
  AuditResourceTypeItem,
} from './audit.schemas.js';
import { csvRecord } from './audit-csv.js';
import { decodeCursor, encodeCursor } from './audit-cursor.js';

/** Rows an export reads per query: one short query each, never one long transaction. */
export const EXPORT_BATCH = 1000;

const CSV_COLUMNS = [
  'id',
  'created_at',
  'tenant_id',
  'partner_id',
  'actor_type',
  'actor_id',
  'actor_email',
  'action',
  'resource_type',
  'resource_id',
  'result',
  'ip_address',
  'request_id',
  'before',
  'after',
] as const satisfies readonly (keyof AuditEntry)[];

const entryNotFound = () => notFound('Audit entry');

function toEntry(record: AuditRecord): AuditEntry {
  return {
    id: record.id,
    tenant_id: record.tenant_id,
    partner_id: record.partner_id,
    actor_type: record.actor_type,
    actor_id: record.actor_id,
    actor_email: record.actor_email,
    action: record.action,
    resource_type: record.resource_type,
    resource_id: record.resource_id,
    before: record.before,
    after: record.after,
    result: record.result as AuditEntry['result'],
    ip_address: record.ip_address,
    request_id: record.request_id,
    created_at: record.created_at.toISOString(),
  };
}

const positionOf = (record: AuditRecord): AuditPosition => ({ at: record.position, id: record.id });

/** The filter of a query (without paging); a window that ends before it starts is a 422. */
function filterOf(query: AuditFilter & Record<string, unknown>): AuditFilter {
  const {
    tenant_id,
    partner_id,
    actor_id,
    actor_email,
    action,
    resource_type,
    resource_id,
    result,
    start_time,
    end_time,
    ip_address,
  } = query;
  if (start_time !== undefined && end_time !== undefined && Date.parse(end_time) < Date.parse(start_time)) {
    throw new RequestValidationError([
      { loc: ['query', 'end_time'], msg: 'end_time must not be before start_time', type: 'value_error' },
    ]);
  }
  const filter: AuditFilter = {};
  const set = <K extends keyof AuditFilter>(key: K, value: AuditFilter[K]) => {
    if (value !== undefined) filter[key] = value;
  };
  set('tenant_id', tenant_id);
  set('partner_id', partner_id);
  set('actor_id', actor_id);
  set('actor_email', actor_email);
  set('action', action);
  set('resource_type', resource_type);
  set('resource_id', resource_id);
  set('result', result);
  set('start_time', start_time);
  set('end_time', end_time);
  set('ip_address', ip_address);
  return filter;
}

export function createAuditService(db: Db) {
  return {
    /**
     * A page of entries, newest first. Without a cursor the page is `page` (offset); with one, the
     * page after the cursor's entry (keyset: as fast at page 100,000 as at page 2). Either way the
     * answer carries the cursor of the page after it while there is one.
     */
    async list(rights: AdminRights, query: AuditListQuery) {
      const filter = filterOf(query);
      const perPage = query.per_page ?? 20;
      let page: PageRequest = { page: query.page ?? 1, perPage };
      let after: AuditPosition | null = null;
      if (query.cursor !== undefined) {
        const cursor = decodeCursor(query.cursor);
        if (!cursor) {
          throw new RequestValidationError([
            {
              loc: ['query', 'cursor'],
              msg: 'Not a cursor of this list (use next_cursor)',
              type: 'value_error',
            },
          ]);
        }
        page = { page: cursor.page, perPage };
        after = { at: cursor.at, id: cursor.id };
      }
      const [rows, total] = await Promise.all([
        listAuditEntries(db, rights, filter, {
          limit: perPage + 1,
          ...(after ? { after } : { offset: pageOffset(page) }),
        }),
        countAuditEntries(db, rights, filter),
      ]);
      const more = rows.length > perPage;
      const shown = more ? rows.slice(0, perPage) : rows;
      const last = shown.at(-1);
      return {
        items: shown.map(toEntry),
        pagination: paginationMeta(page, total),
        nextCursor: more && last ? encodeCursor({ ...positionOf(last), page: page.page + 1 }) : null,
      };
    },

    /** One entry; 404 when it does not exist or is outside the caller's reach. */
    async get(rights: AdminRights, entryId: string): Promise<AuditEntry> {
      if (!isId('event', entryId)) throw entryNotFound();
      const record = await findAuditEntry(db, rights, entryId);
      if (!record) throw entryNotFound();
      return toEntry(record);
    },

    actions(): AuditActionItem[] {
      return Object.entries(AUDIT_ACTIONS).map(([action, info]) => ({
        action,
        resource_type: info.resourceType,
        kind: info.kind,
        description: info.description,
        domain_event: info.domainEvent,
      }));
    },

    resourceTypes(): AuditResourceTypeItem[] {
      return Object.entries(AUDIT_RESOURCE_TYPES).map(([resourceType, description]) => ({
        resource_type: resourceType,
        description,
      }));
    },

    /**
     * Every matching entry, newest first, as NDJSON or CSV text produced while it is read: one
     * keyset query of EXPORT_BATCH rows at a time, the next one only when the client has taken
     * the previous batch (the stream's backpressure), so memory stays constant for any number
     * of rows and no transaction stays open between batches. Entries written after the export
     * began are not in it (they come before its first position).
     */
    export(
      rights: AdminRights,
      query: AuditFilter & Record<string, unknown>,
      format: 'ndjson' | 'csv',
    ): Readable {
      const filter = filterOf(query);
      async function* text(): AsyncGenerator<string> {
        if (format === 'csv') yield csvRecord(CSV_COLUMNS);
        let after: AuditPosition | null = null;
        for (;;) {
          const rows = await listAuditEntries(db, rights, filter, { limit: EXPORT_BATCH, after });
          if (rows.length === 0) return;
          let chunk = '';
          for (const row of rows) {
            const entry = toEntry(row);
            chunk +=
              format === 'csv'
                ? csvRecord(CSV_COLUMNS.map((column) => entry[column]))
                : `${JSON.stringify(entry)}\n`;
          }
          yield chunk;
          if (rows.length < EXPORT_BATCH) return;
          after = positionOf(rows.at(-1) as AuditRecord);
        }
      }
      return Readable.from(text(), { objectMode: false });
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
