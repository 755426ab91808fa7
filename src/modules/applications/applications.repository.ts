import { type ExpressionBuilder, sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import type {
  ApplicationRow,
  ApplicationScope,
  ApplicationType,
  Database,
  NewApplication,
} from '../../platform/db/schema.js';

/** An application as the management API shows it: `partner_id` of a TENANT application is its tenant's. */
export type ApplicationView = ApplicationRow & { owner_partner_id: string | null };

/**
 * Which applications a caller may see (platform-notes §2, "Applications list"): a super admin all;
 * a partner admin GLOBAL ones, its partner's and its tenants'; a tenant admin GLOBAL ones, its
 * partner's PARTNER ones and its tenant's.
 */
export type ApplicationVisibility =
  | { level: 'all' }
  | { level: 'partner'; partnerId: string }
  | { level: 'tenant'; partnerId: string; tenantId: string };

export interface ApplicationListFilter {
  tenantId?: string | null;
  partnerId?: string | null;
  scope?: ApplicationScope | null;
  applicationType?: ApplicationType | null;
  status?: 'ACTIVE' | 'DISABLED' | null;
  search?: string | null;
}

type AppQueryEb = ExpressionBuilder<
  Database & { a: Database['applications']; t: Database['tenants']; p: Database['partners'] },
  'a' | 't' | 'p'
>;

/** The application's partner and tenant, where it has them, are live and ACTIVE. */
const ownersLive = (eb: AppQueryEb) =>
  eb.and([
    eb.or([
      eb('a.partner_id', 'is', null),
      eb.and([eb('p.deleted_at', 'is', null), eb('p.status', '=', 'ACTIVE')]),
    ]),
    eb.or([
      eb('a.tenant_id', 'is', null),
      eb.and([eb('t.deleted_at', 'is', null), eb('t.status', '=', 'ACTIVE')]),
    ]),
  ]);

/** The partner an application belongs to: a TENANT application follows its tenant (tenants can move). */
const ownerPartner = sql<string | null>`coalesce(t.partner_id, a.partner_id)`;

function visible(eb: AppQueryEb, visibility: ApplicationVisibility) {
  switch (visibility.level) {
    case 'all':
      return eb.lit(true);
    case 'partner':
      return eb.or([
        eb('a.scope', '=', 'GLOBAL'),
        eb.and([eb('a.scope', '=', 'PARTNER'), eb('a.partner_id', '=', visibility.partnerId)]),
        eb.and([eb('a.scope', '=', 'TENANT'), eb('t.partner_id', '=', visibility.partnerId)]),
      ]);
    default:
      return eb.or([
        eb('a.scope', '=', 'GLOBAL'),
        eb.and([eb('a.scope', '=', 'PARTNER'), eb('a.partner_id', '=', visibility.partnerId)]),
        eb.and([eb('a.scope', '=', 'TENANT'), eb('a.tenant_id', '=', visibility.tenantId)]),
      ]);
  }
}

export function createApplicationsRepository(db: Queryable) {
  /** Live applications whose owners are live: a deleted tenant or partner takes its applications along. */
  const live = () =>
    db
      .selectFrom('applications as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .leftJoin('partners as p', 'p.id', 'a.partner_id')
      .where('a.deleted_at', 'is', null)
      .where((eb) => eb.or([eb('a.tenant_id', 'is', null), eb('t.deleted_at', 'is', null)]))
      .where((eb) => eb.or([eb('a.partner_id', 'is', null), eb('p.deleted_at', 'is', null)]));

  function filtered(filter: ApplicationListFilter, visibility: ApplicationVisibility) {
    let query = live().where((eb) => visible(eb, visibility));
    if (filter.tenantId) query = query.where('a.tenant_id', '=', filter.tenantId);
    if (filter.partnerId) {
      const partnerId = filter.partnerId;
      query = query.where((eb) => eb(ownerPartner, '=', partnerId));
    }
    if (filter.scope) query = query.where('a.scope', '=', filter.scope);
    if (filter.applicationType) query = query.where('a.application_type', '=', filter.applicationType);
    if (filter.status) query = query.where('a.status', '=', filter.status);
    if (filter.search) {
      const search = filter.search;
      query = query.where((eb) =>
        eb.or([eb('a.name', 'ilike', likeContains(search)), eb('a.id', '=', search)]),
      );
    }
    return query;
  }

  return {
    /**
     * A live, active application whose partner and tenant (where it has them) are live and active:
     * the only kind that may authenticate as a client.
     */
    async findUsableClient(id: string): Promise<ApplicationRow | undefined> {
      return db
        .selectFrom('applications as a')
        .leftJoin('partners as p', 'p.id', 'a.partner_id')
        .leftJoin('tenants as t', 't.id', 'a.tenant_id')
        .selectAll('a')
        .where('a.id', '=', id)
        .where('a.deleted_at', 'is', null)
        .where('a.status', '=', 'ACTIVE')
        .where(ownersLive)
        .executeTakeFirst();
    },

    /**
     * Whether a usable application that signs in at this place lists `origin` in its
     * allowed_origins: for a tenant (`place` given) its own, its partner's and GLOBAL ones; for the
     * platform (null) GLOBAL ones. Answers CORS preflights, which carry no client (docs/security.md).
     */
    async originRegistered(
      origin: string,
      place: { tenantId: string; partnerId: string } | null,
    ): Promise<boolean> {
      const row = await db
        .selectFrom('applications as a')
        .leftJoin('partners as p', 'p.id', 'a.partner_id')
        .leftJoin('tenants as t', 't.id', 'a.tenant_id')
        .select('a.id')
        .where(sql<boolean>`a.allowed_origins @> ${JSON.stringify([origin])}::jsonb`)
        .where('a.deleted_at', 'is', null)
        .where('a.status', '=', 'ACTIVE')
        .where((eb) =>
          place
            ? eb.or([
                eb('a.scope', '=', 'GLOBAL'),
                eb.and([eb('a.scope', '=', 'PARTNER'), eb('a.partner_id', '=', place.partnerId)]),
                eb.and([eb('a.scope', '=', 'TENANT'), eb('a.tenant_id', '=', place.tenantId)]),
              ])
            : eb('a.scope', '=', 'GLOBAL'),
        )
        .where(ownersLive)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async findById(id: string): Promise<ApplicationRow | undefined> {
      return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async insert(row: NewApplication): Promise<void> {
      await db.insertInto('applications').values(row).execute();
    },

    /** A live application (owners live too) as the management API shows it. */
    async findLive(id: string): Promise<ApplicationView | undefined> {
      return (await live()
        .selectAll('a')
        .select(ownerPartner.as('owner_partner_id'))
        .where('a.id', '=', id)
        .executeTakeFirst()) as ApplicationView | undefined;
    },

    /** The same, row-locked for a change (the lock is on the application row only). */
    async lockLive(id: string): Promise<ApplicationView | undefined> {
      return (await live()
        .selectAll('a')
        .select(ownerPartner.as('owner_partner_id'))
        .where('a.id', '=', id)
        .forUpdate('a')
        .executeTakeFirst()) as ApplicationView | undefined;
    },

    /** One page, oldest first (stable across pages). */
    async list(
      filter: ApplicationListFilter,
      visibility: ApplicationVisibility,
      limit: number,
      offset: number,
    ): Promise<ApplicationView[]> {
      return (await filtered(filter, visibility)
        .selectAll('a')
        .select(ownerPartner.as('owner_partner_id'))
        .orderBy('a.created_at', 'asc')
        .orderBy('a.id', 'asc')
        .limit(limit)
        .offset(offset)
        .execute()) as ApplicationView[];
    },

    async count(filter: ApplicationListFilter, visibility: ApplicationVisibility): Promise<number> {
      const row = await filtered(filter, visibility)
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      return row.n;
    },

    /** Live TENANT applications of a tenant (what `max_applications_per_tenant` limits). */
    async countLiveInTenant(tenantId: string): Promise<number> {
      const row = await db
        .selectFrom('applications')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', 'TENANT')
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow();
      return row.n;
    },

    async update(id: string, changes: Record<string, unknown>): Promise<void> {
      const set: Record<string, unknown> = { updated_at: sql<Date>`now()` };
      for (const [key, value] of Object.entries(changes)) {
        set[key] = Array.isArray(value) ? JSON.stringify(value) : value;
      }
      await db.updateTable('applications').set(set).where('id', '=', id).execute();
    },

    /**
     * Replaces the secret digest: the old secret stops working with this statement's commit, and
     * tokens issued up to this moment end (TokenVerifier). The time is taken when the statement
     * runs (clock_timestamp(), after the row lock was obtained), not when the transaction began.
     */
    async setSecretDigest(id: string, digest: string): Promise<void> {
      await db
        .updateTable('applications')
        .set({
          client_secret_digest: digest,
          secret_rotated_at: sql<Date>`clock_timestamp()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    /** Soft delete: the row stays for audit (its assignments go first: assignments.cross-tenant.ts). */
    async softDelete(id: string): Promise<void> {
      await db
        .updateTable('applications')
        .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Keeps the stored partner of a tenant's TENANT applications in step when the tenant moves to
     * another partner (token claims and client checks read the stored column). For the tenants
     * service to call inside the transaction of the move.
     */
    async moveTenantApplications(tenantId: string, partnerId: string): Promise<void> {
      await db
        .updateTable('applications')
        .set({ partner_id: partnerId, updated_at: sql<Date>`now()` })
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', 'TENANT')
        .execute();
    },
  };
}

export type ApplicationsRepository = ReturnType<typeof createApplicationsRepository>;
