import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { availableSlug } from '../../lib/slug.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import type { CallContext } from '../../platform/http.js';
import { iso } from '../../platform/http.js';
import {
  createPartnersRepository,
  type PartnerFilter,
  type PartnerWithCount,
} from './partners.repository.js';
import type { PartnerCreate, PartnerResponse, PartnerUpdate } from './partners.schemas.js';

export function toPartnerResponse(row: PartnerWithCount): PartnerResponse {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    contact_email: row.contact_email,
    max_tenants: row.max_tenants,
    max_users_per_tenant: row.max_users_per_tenant,
    max_applications_per_tenant: row.max_applications_per_tenant,
    tenant_count: row.tenant_count,
    created_at: row.created_at.toISOString(),
    updated_at: iso(row.updated_at),
  };
}

/**
 * Partners: super_admin only (docs/api-contract.md, "Authentication and roles"); the routes declare it
 * (`access.superAdminRead` / `superAdminWrite`), so the service is only reached by a super admin.
 */
export function createPartnersService(db: Db, work: UnitOfWork) {
  async function mustFind(id: string): Promise<PartnerWithCount> {
    const partner = isId('partner', id) ? await createPartnersRepository(db).findLive(id) : undefined;
    if (!partner) throw notFound('Partner');
    return partner;
  }

  return {
    async list(filter: PartnerFilter, page: PageRequest) {
      const repository = createPartnersRepository(db);
      const [rows, total] = await Promise.all([
        repository.list(filter, page.perPage, pageOffset(page)),
        repository.count(filter),
      ]);
      return { items: rows.map(toPartnerResponse), pagination: paginationMeta(page, total) };
    },

    async get(id: string): Promise<PartnerResponse> {
      return toPartnerResponse(await mustFind(id));
    },

    async create(ctx: CallContext, input: PartnerCreate): Promise<PartnerResponse> {
      const id = newId('partner');
      await work.run(ctx.origin, async (w) => {
        const repository = createPartnersRepository(w.db);
        const slug =
          input.slug ?? (await availableSlug(input.name, 'partner', (s) => repository.slugTaken(s)));
        const row = {
          id,
          name: input.name,
          slug,
          status: input.status ?? 'ACTIVE',
          contact_email: input.contact_email ?? null,
          max_tenants: input.max_tenants ?? null,
          max_users_per_tenant: input.max_users_per_tenant ?? null,
          max_applications_per_tenant: input.max_applications_per_tenant ?? null,
        } as const;
        await repository.insert(row);
        w.audit({
          action: 'partner.created',
          resourceType: 'partner',
          resourceId: id,
          partnerId: id,
          after: row,
        });
      });
      return toPartnerResponse(await mustFind(id));
    },

    async update(ctx: CallContext, id: string, input: PartnerUpdate): Promise<PartnerResponse> {
      if (!isId('partner', id)) throw notFound('Partner');
      await work.run(ctx.origin, async (w) => {
        const repository = createPartnersRepository(w.db);
        const before = await repository.lockLive(id);
        if (!before) throw notFound('Partner');
        if (before.is_platform && input.status === 'SUSPENDED') {
          throw new AppError('PROTECTED_RESOURCE', 'The platform partner cannot be suspended');
        }
        const changes = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
        if (Object.keys(changes).length === 0) return;
        await repository.update(id, changes);
        w.audit({
          action: 'partner.updated',
          resourceType: 'partner',
          resourceId: id,
          partnerId: id,
          before: Object.fromEntries(
            Object.keys(changes).map((key) => [key, before[key as keyof typeof before]]),
          ),
          after: changes,
        });
        if (input.status !== undefined) w.invalidate(`partner:${id}`);
      });
      return toPartnerResponse(await mustFind(id));
    },

    async remove(ctx: CallContext, id: string): Promise<void> {
      if (!isId('partner', id)) throw notFound('Partner');
      await work.run(ctx.origin, async (w) => {
        const repository = createPartnersRepository(w.db);
        const partner = await repository.lockLive(id);
        if (!partner) throw notFound('Partner');
        if (partner.is_platform)
          throw new AppError('PROTECTED_RESOURCE', 'The platform partner cannot be deleted');
        const tenants = await repository.liveTenantCount(id);
        if (tenants > 0) {
          throw new AppError(
            'PARTNER_NOT_EMPTY',
            `The partner still has ${tenants} tenant(s); delete or move them first`,
          );
        }
        await repository.softDelete(id);
        w.audit({
          action: 'partner.deleted',
          resourceType: 'partner',
          resourceId: id,
          partnerId: id,
          before: { name: partner.name, slug: partner.slug, status: partner.status },
        });
        w.invalidate(`partner:${id}`);
      });
    },
  };
}

export type PartnersService = ReturnType<typeof createPartnersService>;
