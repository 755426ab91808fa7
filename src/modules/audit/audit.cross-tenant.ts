import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import type { Database } from '../../platform/db/schema.js';
import type { AuditFilter } from './audit.schemas.js';

/**
 * Reads of the audit log: they cross tenants on purpose (an administrator reads the entries of
 * every tenant within reach; conventions: `*.cross-tenant.ts`), and the retention purge, which
 * deletes old entries of every tenant. Audit rows are written by the unit of work
 * (src/platform/events/), never here.
 */

type Scope = ExpressionBuilder<Database & { a: Database['audit_events'] }, 'a'>;

/** A place in the newest-first order: `created_at` to the microsecond (UTC) and the id. */
export interface AuditPosition {
  at: string;
  id: string;
}

export interface AuditRecord {
  id: string;
  tenant_id: string | null;
  partner_id: string | null;
  actor_type: string;
  actor_id: string | null;
  actor_email: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  result: string;
  ip_address: string | null;
  request_id: string | null;
  created_at: Date;
  /** `created_at` with its microseconds, as text (a JavaScript Date keeps milliseconds only). */
  position: string;
}

/** Entries of a partner: its own (no tenant) and those of its tenants, deleted ones included. */
function ofPartner(eb: Scope, partnerId: string): Expression<SqlBool> {
  return eb.or([
    eb(
      'a.tenant_id',
      'in',
      eb.selectFrom('tenants').select('tenants.id').where('tenants.partner_id', '=', partnerId),
    ),
    eb.and([eb('a.tenant_id', 'is', null), eb('a.partner_id', '=', partnerId)]),
  ]);
}

/** The caller's reach and the filters, as one condition. */
function conditions(eb: Scope, rights: AdminRights, filter: AuditFilter, after: AuditPosition | null) {
  const all: Expression<SqlBool>[] = [];
  if (rights.level === 'tenant_admin') all.push(eb('a.tenant_id', '=', rights.tenantId ?? ''));
  if (rights.level === 'partner_admin') all.push(ofPartner(eb, rights.partnerId ?? ''));
  if (filter.tenant_id !== undefined) all.push(eb('a.tenant_id', '=', filter.tenant_id));
  if (filter.partner_id !== undefined) all.push(ofPartner(eb, filter.partner_id));
  if (filter.actor_id !== undefined) all.push(eb('a.actor_id', '=', filter.actor_id));
  if (filter.actor_email !== undefined) {
    all.push(
      eb(
        'a.actor_id',
        'in',
        eb
          .selectFrom('users')
          .select('users.id')
          .where(sql<string>`lower(users.email)`, '=', sql<string>`lower(${filter.actor_email})`),
      ),
    );
  }
  if (filter.action !== undefined) all.push(eb('a.action', '=', filter.action));
  if (filter.resource_type !== undefined) all.push(eb('a.resource_type', '=', filter.resource_type));
  if (filter.resource_id !== undefined) all.push(eb('a.resource_id', '=', filter.resource_id));
  if (filter.result !== undefined) all.push(eb('a.result', '=', filter.result));
  if (filter.ip_address !== undefined) all.push(eb('a.ip_address', '=', filter.ip_address));
  if (filter.start_time !== undefined)
    all.push(eb('a.created_at', '>=', sql<Date>`${filter.start_time}::timestamptz`));
  if (filter.end_time !== undefined)
    all.push(eb('a.created_at', '<', sql<Date>`${filter.end_time}::timestamptz`));
  if (after) all.push(sql<SqlBool>`(a.created_at, a.id) < (${after.at}::timestamptz, ${after.id})`);
  return eb.and(all);
}

function entries(db: Queryable, rights: AdminRights, filter: AuditFilter, after: AuditPosition | null) {
  return db.selectFrom('audit_events as a').where((eb) => conditions(eb, rights, filter, after));
}

function withColumns(query: ReturnType<typeof entries>) {
  return query
    .leftJoin('users as u', 'u.id', 'a.actor_id')
    .select([
      'a.id',
      'a.tenant_id',
      'a.partner_id',
      'a.actor_type',
      'a.actor_id',
      'u.email as actor_email',
      'a.action',
      'a.resource_type',
      'a.resource_id',
      'a.before',
      'a.after',
      'a.result',
      'a.ip_address',
      'a.request_id',
      'a.created_at',
      sql<string>`to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('position'),
    ]);
}

/**
 * Entries within the caller's reach that match the filter, newest first: `limit` of them after
 * `after` (a keyset position) or after skipping `offset`.
 */
export async function listAuditEntries(
  db: Queryable,
  rights: AdminRights,
  filter: AuditFilter,
  page: { limit: number; offset?: number; after?: AuditPosition | null },
): Promise<AuditRecord[]> {
  let query = withColumns(entries(db, rights, filter, page.after ?? null))
    .orderBy('a.created_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(page.limit);
  if (page.offset) query = query.offset(page.offset);
  return (await query.execute()) as AuditRecord[];
}

/** How many entries within the caller's reach match the filter. */
export async function countAuditEntries(
  db: Queryable,
  rights: AdminRights,
  filter: AuditFilter,
): Promise<number> {
  const row = await entries(db, rights, filter, null)
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

/** One entry by id, if it is within the caller's reach. */
export async function findAuditEntry(
  db: Queryable,
  rights: AdminRights,
  id: string,
): Promise<AuditRecord | undefined> {
  return (await withColumns(entries(db, rights, {}, null).where('a.id', '=', id)).executeTakeFirst()) as
    | AuditRecord
    | undefined;
}

/** Every tenant (deleted ones too: their entries age like the others) with its stored settings. */
export async function tenantsWithSettings(db: Queryable): Promise<{ id: string; settings: unknown }[]> {
  return db.selectFrom('tenants').select(['id', 'settings']).orderBy('id').execute();
}

/**
 * Deletes at most `limit` entries of one tenant (null: entries without a tenant) older than
 * `days` days; returns how many it deleted. One short statement: a purge of millions of rows is
 * many of them, and other work runs between them (on PGlite's single connection too).
 */
export async function deleteExpiredAuditEntries(
  db: Queryable,
  tenantId: string | null,
  days: number,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom('audit_events')
    .where(
      'id',
      'in',
      db
        .selectFrom('audit_events')
        .select('id')
        .where('tenant_id', tenantId === null ? 'is' : '=', tenantId)
        .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
