import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import { canSeeTenant } from '../../platform/auth/access.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Db, Tx } from '../../platform/db/database.js';
import type { ApplicationScope, ApplicationType, TenantRow } from '../../platform/db/schema.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { iso } from '../../platform/http.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { findLivePartner, findPartnerRow, lockLivePartner } from '../partners/index.js';
import { findLiveTenant, lockLiveTenant } from '../tenants/index.js';
import {
  type ApplicationListFilter,
  type ApplicationView,
  type ApplicationVisibility,
  createApplicationsRepository,
} from './applications.repository.js';
import type {
  ApplicationCreate,
  ApplicationResponse,
  ApplicationUpdate,
  ApplicationWithSecret,
} from './applications.schemas.js';
import { removeApplicationAssignments } from './assignments.cross-tenant.js';
import { checkClientMetadata, distinct } from './client-metadata.js';

/** Who calls: the rights the route's declared access gave, and the request's audit facts. */
export type Caller = Pick<TenantScope, 'rights' | 'call'>;

const applicationNotFound = () => notFound('Application');

/** Confidential types authenticate with a secret (platform-notes §1); SPA and NATIVE are public clients. */
export function isConfidential(type: ApplicationType): boolean {
  return type === 'WEB' || type === 'SERVICE';
}

export function toApplicationResponse(row: ApplicationView): ApplicationResponse {
  return {
    id: row.id,
    client_id: row.id,
    name: row.name,
    description: row.description,
    application_type: row.application_type,
    scope: row.scope,
    partner_id: row.owner_partner_id,
    tenant_id: row.tenant_id,
    is_confidential: isConfidential(row.application_type),
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    allowed_origins: row.allowed_origins,
    allowed_scopes: row.allowed_scopes,
    token_lifetime: row.token_lifetime,
    assignment_required: row.assignment_required,
    require_pushed_authorization_requests: row.require_pushed_authorization_requests,
    status: row.status,
    secret_rotated_at: iso(row.secret_rotated_at),
    created_at: row.created_at.toISOString(),
    updated_at: iso(row.updated_at),
  };
}

/** Fields whose change alters what a token of the application may do or whether it is valid. */
const TOKEN_FIELDS = new Set([
  'status',
  'allowed_scopes',
  'token_lifetime',
  'assignment_required',
  'require_pushed_authorization_requests',
  'redirect_uris',
  'post_logout_redirect_uris',
  'allowed_origins',
]);
const LIST_FIELDS = [
  'redirect_uris',
  'post_logout_redirect_uris',
  'allowed_origins',
  'allowed_scopes',
] as const;

const invalid = (field: string, msg: string, type = 'value_error') =>
  new RequestValidationError([{ loc: ['body', field], msg, type }]);

function isVisible(visibility: ApplicationVisibility, app: ApplicationView): boolean {
  switch (visibility.level) {
    case 'all':
      return true;
    case 'partner':
      return app.scope === 'GLOBAL' || app.owner_partner_id === visibility.partnerId;
    default:
      return (
        app.scope === 'GLOBAL' ||
        (app.scope === 'PARTNER' && app.partner_id === visibility.partnerId) ||
        (app.scope === 'TENANT' && app.tenant_id === visibility.tenantId)
      );
  }
}

/**
 * Who may change an application (platform-notes §1): GLOBAL ones only a super admin; PARTNER ones a
 * super admin or that partner's admin; TENANT ones also the admins of the tenant and its partner.
 */
function canChange(rights: AdminRights, app: ApplicationView): boolean {
  switch (rights.level) {
    case 'super_admin':
      return true;
    case 'partner_admin':
      return app.scope !== 'GLOBAL' && app.owner_partner_id === rights.partnerId;
    default:
      return app.scope === 'TENANT' && app.tenant_id === rights.tenantId;
  }
}

/**
 * Applications admin API (`/api/v1/admin/applications/`): OAuth clients at GLOBAL, PARTNER or TENANT
 * level. The routes declare admin read / write access; the tier rules are checked here.
 */
export function createApplicationsService(db: Db, work: UnitOfWork) {
  /**
   * A tenant admin sees its partner's PARTNER applications: the partner is read from the tenant, not
   * from the token, so a tenant moved to another partner sees the new partner's at once.
   */
  async function visibilityOf(rights: AdminRights): Promise<ApplicationVisibility> {
    switch (rights.level) {
      case 'super_admin':
        return { level: 'all' };
      case 'partner_admin':
        return { level: 'partner', partnerId: rights.partnerId ?? '' };
      default: {
        const tenantId = rights.tenantId ?? '';
        const tenant = isId('tenant', tenantId) ? await findLiveTenant(db, tenantId) : undefined;
        return { level: 'tenant', tenantId, partnerId: tenant?.partner_id ?? rights.partnerId ?? '' };
      }
    }
  }

  /**
   * The live application a change is about, locked, if the caller may see it (404) and change it (403).
   * `visibility` is worked out before the transaction: on PGlite's single connection a query outside
   * the transaction would wait for it forever.
   */
  async function lockChangeable(
    trx: Tx,
    rights: AdminRights,
    visibility: ApplicationVisibility,
    id: string,
  ): Promise<ApplicationView> {
    const app = isId('application', id) ? await createApplicationsRepository(trx).lockLive(id) : undefined;
    if (!app || !isVisible(visibility, app)) throw applicationNotFound();
    if (!canChange(rights, app)) {
      throw new AppError('FORBIDDEN', `Your role may not change ${app.scope} applications of this owner`);
    }
    return app;
  }

  async function reload(id: string): Promise<ApplicationView> {
    return (await createApplicationsRepository(db).findLive(id)) as ApplicationView;
  }

  /** Where a new application belongs, by the creation rules of platform-notes §2 ("Applications create"). */
  async function owner(
    rights: AdminRights,
    input: ApplicationCreate,
  ): Promise<{ scope: ApplicationScope; partnerId: string | null; tenant: TenantRow | null }> {
    const level = rights.level;
    switch (input.scope) {
      case 'GLOBAL':
        if (level !== 'super_admin') {
          throw new AppError('FORBIDDEN', 'Only a super_admin may register GLOBAL applications');
        }
        if (input.partner_id) throw invalid('partner_id', 'GLOBAL applications have no partner');
        if (input.tenant_id) throw invalid('tenant_id', 'GLOBAL applications have no tenant');
        return { scope: 'GLOBAL', partnerId: null, tenant: null };
      case 'PARTNER': {
        if (level === 'tenant_admin') {
          throw new AppError('FORBIDDEN', 'A tenant_admin may only register TENANT applications');
        }
        if (input.tenant_id) throw invalid('tenant_id', 'PARTNER applications have no tenant');
        const partnerId = input.partner_id ?? (level === 'partner_admin' ? rights.partnerId : null);
        if (!partnerId) throw invalid('partner_id', 'Field required for PARTNER applications', 'missing');
        if (level === 'partner_admin' && partnerId !== rights.partnerId) {
          throw new AppError(
            'FORBIDDEN',
            'A partner_admin may only register applications of its own partner',
          );
        }
        const partner = isId('partner', partnerId) ? await findLivePartner(db, partnerId) : undefined;
        if (!partner) throw notFound('Partner');
        return { scope: 'PARTNER', partnerId, tenant: null };
      }
      default: {
        const tenantId = input.tenant_id ?? (level === 'tenant_admin' ? rights.tenantId : null);
        if (!tenantId) throw invalid('tenant_id', 'Field required for TENANT applications', 'missing');
        const tenant = isId('tenant', tenantId) ? await findLiveTenant(db, tenantId) : undefined;
        if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
        if (input.partner_id && input.partner_id !== tenant.partner_id) {
          throw new AppError('BAD_REQUEST', 'A TENANT application belongs to the partner of its tenant');
        }
        return { scope: 'TENANT', partnerId: tenant.partner_id, tenant };
      }
    }
  }

  /** Refuses a new TENANT application beyond the partner's `max_applications_per_tenant`. */
  async function assertTenantHasRoom(trx: Tx, tenant: TenantRow): Promise<void> {
    // The tenant row lock serializes creates in the tenant: concurrent ones cannot pass the limit together.
    const locked = await lockLiveTenant(trx, tenant.id);
    if (!locked) throw notFound('Tenant');
    const partner = await findPartnerRow(trx, locked.partner_id);
    const limit = partner?.max_applications_per_tenant ?? null;
    if (limit !== null && (await createApplicationsRepository(trx).countLiveInTenant(tenant.id)) >= limit) {
      throw new AppError(
        'LIMIT_EXCEEDED',
        `Tenant ${tenant.id} has reached its partner's limit of ${limit} application(s) (max_applications_per_tenant)`,
      );
    }
  }

  return {
    async list(rights: AdminRights, filter: ApplicationListFilter, page: PageRequest) {
      const visibility = await visibilityOf(rights);
      const repository = createApplicationsRepository(db);
      const [rows, total] = await Promise.all([
        repository.list(filter, visibility, page.perPage, pageOffset(page)),
        repository.count(filter, visibility),
      ]);
      return { items: rows.map(toApplicationResponse), pagination: paginationMeta(page, total) };
    },

    async get(rights: AdminRights, id: string): Promise<ApplicationResponse> {
      const visibility = await visibilityOf(rights);
      const app = isId('application', id) ? await createApplicationsRepository(db).findLive(id) : undefined;
      if (!app || !isVisible(visibility, app)) throw applicationNotFound();
      return toApplicationResponse(app);
    },

    async create({ rights, call }: Caller, input: ApplicationCreate): Promise<ApplicationWithSecret> {
      checkClientMetadata(input, input.application_type);
      const target = await owner(rights, input);
      const id = newId('application');
      // The secret exists in clear only in this response; the database keeps its SHA-256 digest.
      const secret = isConfidential(input.application_type) ? generateSecret() : null;
      await work.run(call.origin, async (w) => {
        const trx = w.db;
        if (target.tenant) await assertTenantHasRoom(trx, target.tenant);
        else if (target.partnerId && !(await lockLivePartner(trx, target.partnerId))) {
          throw notFound('Partner');
        }
        const row = {
          id,
          scope: target.scope,
          partner_id: target.partnerId,
          tenant_id: target.tenant?.id ?? null,
          application_type: input.application_type,
          name: input.name,
          description: input.description ?? null,
          redirect_uris: distinct(input.redirect_uris ?? []),
          post_logout_redirect_uris: distinct(input.post_logout_redirect_uris ?? []),
          allowed_origins: distinct(input.allowed_origins ?? []),
          allowed_scopes: distinct(input.allowed_scopes ?? []),
          token_lifetime: input.token_lifetime ?? 3600,
          assignment_required: input.assignment_required ?? false,
          require_pushed_authorization_requests: input.require_pushed_authorization_requests ?? false,
          status: input.status ?? 'ACTIVE',
        };
        await createApplicationsRepository(trx).insert({
          ...row,
          client_secret_digest: secret ? sha256Hex(secret) : null,
          redirect_uris: JSON.stringify(row.redirect_uris),
          post_logout_redirect_uris: JSON.stringify(row.post_logout_redirect_uris),
          allowed_origins: JSON.stringify(row.allowed_origins),
          allowed_scopes: JSON.stringify(row.allowed_scopes),
        });
        w.audit({
          action: 'application.created',
          resourceType: 'application',
          resourceId: id,
          tenantId: row.tenant_id,
          partnerId: row.partner_id,
          after: { ...row, client_secret_issued: secret !== null },
        });
      });
      return { ...toApplicationResponse(await reload(id)), client_secret: secret };
    },

    async update(
      { rights, call }: Caller,
      id: string,
      input: ApplicationUpdate,
    ): Promise<ApplicationResponse> {
      const visibility = await visibilityOf(rights);
      await work.run(call.origin, async (w) => {
        const trx = w.db;
        const before = await lockChangeable(trx, rights, visibility, id);
        checkClientMetadata(input, before.application_type);
        const changes: Record<string, unknown> = {};
        for (const key of [
          'name',
          'description',
          'token_lifetime',
          'assignment_required',
          'require_pushed_authorization_requests',
          'status',
        ] as const) {
          if (input[key] !== undefined && input[key] !== before[key]) changes[key] = input[key];
        }
        for (const key of LIST_FIELDS) {
          const value = input[key];
          if (value === undefined) continue;
          const next = distinct(value);
          if (JSON.stringify(next) !== JSON.stringify(before[key])) changes[key] = next;
        }
        if (Object.keys(changes).length === 0) return;
        await createApplicationsRepository(trx).update(id, changes);
        w.audit({
          action: 'application.updated',
          resourceType: 'application',
          resourceId: id,
          tenantId: before.tenant_id,
          partnerId: before.owner_partner_id,
          before: Object.fromEntries(
            Object.keys(changes).map((key) => [key, before[key as keyof ApplicationView]]),
          ),
          after: changes,
        });
        if (Object.keys(changes).some((key) => TOKEN_FIELDS.has(key))) w.invalidate(`application:${id}`);
      });
      return toApplicationResponse(await reload(id));
    },

    async remove({ rights, call }: Caller, id: string): Promise<void> {
      const visibility = await visibilityOf(rights);
      await work.run(call.origin, async (w) => {
        const app = await lockChangeable(w.db, rights, visibility, id);
        // Soft delete: the row stays for audit; its assignments, in every tenant, go (they could
        // never be used again).
        const assignments = await removeApplicationAssignments(w.db, id);
        await createApplicationsRepository(w.db).softDelete(id);
        w.audit({
          action: 'application.deleted',
          resourceType: 'application',
          resourceId: id,
          tenantId: app.tenant_id,
          partnerId: app.owner_partner_id,
          before: {
            name: app.name,
            scope: app.scope,
            application_type: app.application_type,
            status: app.status,
          },
          after: { assignments_removed: assignments },
        });
        w.invalidate(`application:${id}`);
      });
    },

    async rotateSecret({ rights, call }: Caller, id: string): Promise<ApplicationWithSecret> {
      const visibility = await visibilityOf(rights);
      const secret = generateSecret();
      await work.run(call.origin, async (w) => {
        const trx = w.db;
        const app = await lockChangeable(trx, rights, visibility, id);
        if (!isConfidential(app.application_type)) {
          throw new AppError(
            'PUBLIC_CLIENT',
            `${app.application_type} applications are public clients and have no secret`,
          );
        }
        await createApplicationsRepository(trx).setSecretDigest(id, sha256Hex(secret));
        w.audit({
          action: 'application.secret_rotated',
          resourceType: 'application',
          resourceId: id,
          tenantId: app.tenant_id,
          partnerId: app.owner_partner_id,
        });
        w.invalidate(`application:${id}`);
      });
      return { ...toApplicationResponse(await reload(id)), client_secret: secret };
    },
  };
}

export type ApplicationsService = ReturnType<typeof createApplicationsService>;
