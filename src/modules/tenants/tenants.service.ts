import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { availableSlug } from '../../lib/slug.js';
import { canSeeTenant } from '../../platform/auth/access.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Db, Tx } from '../../platform/db/database.js';
import type { PartnerRow } from '../../platform/db/schema.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { type CallContext, iso } from '../../platform/http.js';
import { findPlatformPartner, lockLivePartner } from '../partners/index.js';
import { effectiveSettings, mergeSettings, type TenantSettingsInput } from './tenant-settings.js';
import { createTenantsRepository, type TenantWithCounts } from './tenants.repository.js';
import type { TenantCreate, TenantResponse, TenantUpdate } from './tenants.schemas.js';

export function toTenantResponse(row: TenantWithCounts): TenantResponse {
  return {
    id: row.id,
    partner_id: row.partner_id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    contact_email: row.contact_email,
    settings: effectiveSettings(row.settings as TenantSettingsInput),
    branding: row.branding,
    user_count: row.user_count,
    group_count: row.group_count,
    ou_count: row.ou_count,
    created_at: row.created_at.toISOString(),
    updated_at: iso(row.updated_at),
  };
}

export interface TenantListFilter {
  search?: string | null;
  status?: string | null;
  partnerId?: string | null;
}

/** Locks the target partner and refuses when it already holds `max_tenants` live tenants. */
async function assertPartnerHasRoom(trx: Tx, partnerId: string): Promise<PartnerRow> {
  const partner = await lockLivePartner(trx, partnerId);
  if (!partner) throw notFound('Partner');
  if (partner.max_tenants !== null) {
    const count = await createTenantsRepository(trx).countLiveInPartner(partnerId);
    if (count >= partner.max_tenants) {
      throw new AppError(
        'LIMIT_EXCEEDED',
        `Partner ${partnerId} has reached its limit of ${partner.max_tenants} tenant(s) (max_tenants)`,
      );
    }
  }
  return partner;
}

/**
 * What other modules do when a tenant changes, inside the same transaction (wired by app.ts, so
 * that tenants, which every module builds on, imports none of them).
 */
export interface TenantChangeHooks {
  /** The tenant moved to another partner: its own (TENANT scope) applications follow it. */
  moved(trx: Tx, tenantId: string, partnerId: string): Promise<void>;
}

/**
 * Tenants (the tenants API (docs/openapi.json)): super_admin writes (the routes declare `access.superAdminWrite`); partner
 * and tenant admins read what is in their scope (`rights`, checked here).
 */
export function createTenantsService(db: Db, work: UnitOfWork, hooks: TenantChangeHooks) {
  async function findVisible(rights: AdminRights, id: string): Promise<TenantWithCounts> {
    const tenant = isId('tenant', id) ? await createTenantsRepository(db).findLive(id) : undefined;
    if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
    return tenant;
  }

  return {
    async list(rights: AdminRights, filter: TenantListFilter, page: PageRequest) {
      const repository = createTenantsRepository(db);
      const scoped = {
        ...filter,
        onlyPartnerId: rights.level === 'partner_admin' ? (rights.partnerId ?? '') : null,
        onlyTenantId: rights.level === 'tenant_admin' ? (rights.tenantId ?? '') : null,
      };
      const [rows, total] = await Promise.all([
        repository.list(scoped, page.perPage, pageOffset(page)),
        repository.count(scoped),
      ]);
      return { items: rows.map(toTenantResponse), pagination: paginationMeta(page, total) };
    },

    async get(rights: AdminRights, id: string): Promise<TenantResponse> {
      return toTenantResponse(await findVisible(rights, id));
    },

    async create(ctx: CallContext, input: TenantCreate): Promise<TenantResponse> {
      const id = newId('tenant');
      await work.run(ctx.origin, async (w) => {
        const trx = w.db;
        const tenants = createTenantsRepository(trx);
        let partnerId = input.partner_id ?? null;
        if (partnerId === null) {
          partnerId = (await findPlatformPartner(trx))?.id ?? null;
          if (!partnerId) throw new AppError('INTERNAL_ERROR', 'The platform partner is missing');
        } else if (!isId('partner', partnerId)) {
          throw notFound('Partner');
        }
        await assertPartnerHasRoom(trx, partnerId);
        const slug = input.slug ?? (await availableSlug(input.name, 'tenant', (s) => tenants.slugTaken(s)));
        const row = {
          id,
          partner_id: partnerId,
          name: input.name,
          slug,
          status: input.status ?? 'ACTIVE',
          contact_email: input.contact_email ?? null,
          settings: input.settings ?? {},
          branding: input.branding ?? {},
        } as const;
        await tenants.insert(row);
        w.audit({
          action: 'tenant.created',
          resourceType: 'tenant',
          resourceId: id,
          tenantId: id,
          partnerId,
          after: row,
        });
      });
      return toTenantResponse((await createTenantsRepository(db).findLive(id)) as TenantWithCounts);
    },

    async update(ctx: CallContext, id: string, input: TenantUpdate): Promise<TenantResponse> {
      if (!isId('tenant', id)) throw notFound('Tenant');
      await work.run(ctx.origin, async (w) => {
        const trx = w.db;
        const tenants = createTenantsRepository(trx);
        const before = await tenants.lockLive(id);
        if (!before) throw notFound('Tenant');
        if (
          before.is_platform &&
          (input.status === 'SUSPENDED' || (input.partner_id && input.partner_id !== before.partner_id))
        ) {
          throw new AppError('PROTECTED_RESOURCE', 'The platform tenant cannot be suspended or moved');
        }
        const changes: Record<string, unknown> = {};
        for (const key of ['name', 'slug', 'contact_email', 'status'] as const) {
          if (input[key] !== undefined && input[key] !== before[key]) changes[key] = input[key];
        }
        if (input.partner_id !== undefined && input.partner_id !== before.partner_id) {
          if (!isId('partner', input.partner_id)) throw notFound('Partner');
          await assertPartnerHasRoom(trx, input.partner_id);
          changes.partner_id = input.partner_id;
          // The tenant's own applications belong to its new partner too.
          await hooks.moved(trx, id, input.partner_id);
        }
        if (input.settings !== undefined) {
          changes.settings = mergeSettings(before.settings as TenantSettingsInput, input.settings);
        }
        if (input.branding !== undefined) changes.branding = { ...before.branding, ...input.branding };
        if (Object.keys(changes).length === 0) return;

        const { settings, branding, ...plain } = changes;
        await tenants.update(id, {
          ...plain,
          ...(settings !== undefined ? { settings: JSON.stringify(settings) } : {}),
          ...(branding !== undefined ? { branding: JSON.stringify(branding) } : {}),
        });
        w.audit({
          action: 'tenant.updated',
          resourceType: 'tenant',
          resourceId: id,
          tenantId: id,
          partnerId: (changes.partner_id as string | undefined) ?? before.partner_id,
          before: Object.fromEntries(
            Object.keys(changes).map((key) => [key, before[key as keyof typeof before]]),
          ),
          after: changes,
        });
        // Every change reaches every instance at once: sign-in reads settings and branding
        // from cached tenant rows, tokens and clients depend on status and partner.
        w.invalidate(`tenant:${id}`);
      });
      return toTenantResponse((await createTenantsRepository(db).findLive(id)) as TenantWithCounts);
    },

    async remove(ctx: CallContext, id: string): Promise<void> {
      if (!isId('tenant', id)) throw notFound('Tenant');
      await work.run(ctx.origin, async (w) => {
        const tenants = createTenantsRepository(w.db);
        const tenant = await tenants.lockLive(id);
        if (!tenant) throw notFound('Tenant');
        if (tenant.is_platform)
          throw new AppError('PROTECTED_RESOURCE', 'The platform tenant cannot be deleted');
        await tenants.softDelete(id);
        w.audit({
          action: 'tenant.deleted',
          resourceType: 'tenant',
          resourceId: id,
          tenantId: id,
          partnerId: tenant.partner_id,
          before: { name: tenant.name, slug: tenant.slug, status: tenant.status },
        });
        w.invalidate(`tenant:${id}`);
      });
    },
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;
