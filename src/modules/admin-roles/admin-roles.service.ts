import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { type CallContext, iso } from '../../platform/http.js';
import { findLivePartner } from '../partners/index.js';
import { findLiveTenant } from '../tenants/index.js';
import { findLiveUserAnywhere, lockLiveUser } from './admin-roles.cross-tenant.js';
import {
  createAdminRolesRepository,
  type RoleAssignmentFilter,
  type RoleAssignmentRow,
} from './admin-roles.repository.js';
import type { AdminRoleAssign, AdminRoleAssignment, AdminRoleUpdate } from './admin-roles.schemas.js';

const assignmentNotFound = () => notFound('Role assignment');
const userNotFound = () => notFound('User');

export function toAdminRoleAssignment(row: RoleAssignmentRow): AdminRoleAssignment {
  return {
    id: row.id,
    user_id: row.user_id,
    user_tenant_id: row.user_tenant_id,
    user_email: row.user_email,
    role: row.role,
    partner_id: row.partner_id,
    tenant_id: row.tenant_id,
    expires_at: iso(row.expires_at),
    is_active: row.is_active,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

const invalid = (field: string, msg: string, type = 'value_error') =>
  new RequestValidationError([{ loc: ['body', field], msg, type }]);

/**
 * An expiry as stored and audited: the instant in UTC with milliseconds (the schema's `date-time`
 * format guarantees it parses), so the database never reads an offset or precision of its own.
 */
const canonicalInstant = (value: string | null | undefined) =>
  value === undefined ? undefined : value === null ? null : new Date(value).toISOString();

/** An expiry must lie ahead: an assignment that expired on arrival would grant nothing. */
function checkExpiry(expiresAt: string | null | undefined): void {
  if (expiresAt && new Date(expiresAt).getTime() <= Date.now()) {
    throw invalid('expires_at', 'expires_at must be in the future');
  }
}

/**
 * Admin role assignments (`/api/v1/admin/admin-roles/`, platform-notes §2): super_admin only (the
 * routes declare `access.superAdminRead` / `superAdminWrite`). Every change invalidates
 * `user:<id>` so that tokens verified with the old role are re-checked.
 */
export function createAdminRolesService(db: Db, work: UnitOfWork) {
  /** A live user (in a live tenant), addressed by id alone (ids are globally unique). */
  async function liveUser(userId: string) {
    if (!isId('user', userId)) throw userNotFound();
    const user = await findLiveUserAnywhere(db, userId);
    if (!user) throw userNotFound();
    return user;
  }

  async function reload(id: string): Promise<AdminRoleAssignment> {
    return toAdminRoleAssignment((await createAdminRolesRepository(db).find(id)) as RoleAssignmentRow);
  }

  /** Where a role applies, checked against its role (422 for the shape, 404 for unknown targets). */
  async function target(input: AdminRoleAssign, user: { tenant_id: string; partner_id: string }) {
    switch (input.role) {
      case 'SUPER_ADMIN':
        if (input.partner_id) throw invalid('partner_id', 'SUPER_ADMIN applies to the whole platform');
        if (input.tenant_id) throw invalid('tenant_id', 'SUPER_ADMIN applies to the whole platform');
        return { partnerId: null, tenantId: null, auditPartnerId: user.partner_id };
      case 'PARTNER_ADMIN': {
        if (!input.partner_id) throw invalid('partner_id', 'Field required for PARTNER_ADMIN', 'missing');
        if (input.tenant_id) throw invalid('tenant_id', 'PARTNER_ADMIN applies to a whole partner');
        const partner = isId('partner', input.partner_id)
          ? await findLivePartner(db, input.partner_id)
          : undefined;
        if (!partner) throw notFound('Partner');
        return { partnerId: partner.id, tenantId: null, auditPartnerId: partner.id };
      }
      default: {
        if (!input.tenant_id) throw invalid('tenant_id', 'Field required for TENANT_ADMIN', 'missing');
        const tenant = isId('tenant', input.tenant_id)
          ? await findLiveTenant(db, input.tenant_id)
          : undefined;
        if (!tenant) throw notFound('Tenant');
        // A user token carries one tenant_id, both the user's home and the tenant it administers.
        if (tenant.id !== user.tenant_id) {
          throw new AppError('BAD_REQUEST', 'A TENANT_ADMIN role must be for the tenant the user belongs to');
        }
        if (input.partner_id && input.partner_id !== tenant.partner_id) {
          throw new AppError('BAD_REQUEST', 'partner_id of a TENANT_ADMIN role is the partner of its tenant');
        }
        // The partner is derived from the tenant when read, so a tenant that moves takes its admins along.
        return { partnerId: null, tenantId: tenant.id, auditPartnerId: tenant.partner_id };
      }
    }
  }

  return {
    async list(filter: RoleAssignmentFilter, page: PageRequest) {
      const repository = createAdminRolesRepository(db);
      const [rows, total] = await Promise.all([
        repository.list(filter, page.perPage, pageOffset(page)),
        repository.count(filter),
      ]);
      return { items: rows.map(toAdminRoleAssignment), pagination: paginationMeta(page, total) };
    },

    async get(id: string): Promise<AdminRoleAssignment> {
      const row = isId('roleAssignment', id) ? await createAdminRolesRepository(db).find(id) : undefined;
      if (!row) throw assignmentNotFound();
      return toAdminRoleAssignment(row);
    },

    async forUser(userId: string, isActive?: boolean | null): Promise<AdminRoleAssignment[]> {
      const user = await liveUser(userId);
      return (await createAdminRolesRepository(db).forUser(user.tenant_id, user.id, isActive)).map(
        toAdminRoleAssignment,
      );
    },

    async assign(ctx: CallContext, input: AdminRoleAssign): Promise<AdminRoleAssignment> {
      checkExpiry(input.expires_at);
      const user = await liveUser(input.user_id);
      const where = await target(input, user);
      const id = newId('roleAssignment');
      await work.run(ctx.origin, async (w) => {
        // The user row lock serializes assignments of one user: two identical ones cannot both pass.
        if (!(await lockLiveUser(w.db, user.tenant_id, user.id))) throw userNotFound();
        const repository = createAdminRolesRepository(w.db);
        const key = {
          userTenantId: user.tenant_id,
          userId: user.id,
          role: input.role,
          partnerId: where.partnerId,
          tenantId: where.tenantId,
        };
        if (await repository.hasActiveDuplicate(key)) {
          throw new AppError('ROLE_ALREADY_ASSIGNED', `The user already holds this ${input.role} role`);
        }
        const row = {
          user_tenant_id: user.tenant_id,
          id,
          user_id: user.id,
          role: input.role,
          partner_id: where.partnerId,
          tenant_id: where.tenantId,
          expires_at: canonicalInstant(input.expires_at) ?? null,
          created_by: ctx.principal.subject,
        };
        await repository.insert(row);
        w.audit({
          action: 'admin_role.assigned',
          resourceType: 'admin_role_assignment',
          resourceId: id,
          tenantId: user.tenant_id,
          partnerId: where.auditPartnerId,
          after: row,
        });
        w.invalidate(`user:${user.id}`);
      });
      return reload(id);
    },

    async update(ctx: CallContext, id: string, input: AdminRoleUpdate): Promise<AdminRoleAssignment> {
      checkExpiry(input.expires_at);
      if (!isId('roleAssignment', id)) throw assignmentNotFound();
      await work.run(ctx.origin, async (w) => {
        const repository = createAdminRolesRepository(w.db);
        if (!(await repository.lock(id))) throw assignmentNotFound();
        const before = (await repository.find(id)) as RoleAssignmentRow;
        const changes: { expires_at?: string | null; is_active?: boolean } = {};
        if (
          input.expires_at !== undefined &&
          iso(input.expires_at === null ? null : new Date(input.expires_at)) !== iso(before.expires_at)
        ) {
          changes.expires_at = canonicalInstant(input.expires_at);
        }
        if (input.is_active !== undefined && input.is_active !== before.stored_active) {
          changes.is_active = input.is_active;
        }
        if (Object.keys(changes).length === 0) return;
        const grantsAfter =
          (changes.is_active ?? before.stored_active) &&
          (changes.expires_at !== undefined ? true : !before.expires_at || before.expires_at > new Date());
        if (
          grantsAfter &&
          (await repository.hasActiveDuplicate(
            {
              userTenantId: before.user_tenant_id,
              userId: before.user_id,
              role: before.role,
              // Stored columns: TENANT_ADMIN keeps partner_id null (it is derived when read).
              partnerId: before.role === 'PARTNER_ADMIN' ? before.partner_id : null,
              tenantId: before.tenant_id,
            },
            id,
          ))
        ) {
          throw new AppError('ROLE_ALREADY_ASSIGNED', `The user already holds this ${before.role} role`);
        }
        await repository.update(id, changes);
        w.audit({
          action: changes.is_active === false ? 'admin_role.revoked' : 'admin_role.updated',
          resourceType: 'admin_role_assignment',
          resourceId: id,
          tenantId: before.user_tenant_id,
          partnerId: before.partner_id,
          before: Object.fromEntries(
            Object.keys(changes).map((key) => [
              key,
              key === 'is_active' ? before.stored_active : iso(before.expires_at),
            ]),
          ),
          after: changes,
        });
        w.invalidate(`user:${before.user_id}`);
      });
      return reload(id);
    },

    /** Revoke = `is_active` false (the row stays for audit); revoking a revoked assignment is a no-op. */
    async revoke(ctx: CallContext, id: string): Promise<void> {
      if (!isId('roleAssignment', id)) throw assignmentNotFound();
      await work.run(ctx.origin, async (w) => {
        const repository = createAdminRolesRepository(w.db);
        if (!(await repository.lock(id))) throw assignmentNotFound();
        const before = (await repository.find(id)) as RoleAssignmentRow;
        if (!before.stored_active) return;
        await repository.update(id, { is_active: false });
        w.audit({
          action: 'admin_role.revoked',
          resourceType: 'admin_role_assignment',
          resourceId: id,
          tenantId: before.user_tenant_id,
          partnerId: before.partner_id,
          before: { is_active: true },
          after: { is_active: false },
        });
        w.invalidate(`user:${before.user_id}`);
      });
    },
  };
}

export type AdminRolesService = ReturnType<typeof createAdminRolesService>;
