import { isId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { adminRights, canSeeTenant } from '../../platform/auth/access.js';
import type { Db, Tx } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { notFound } from '../../platform/errors.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import type { CallContext } from '../../platform/http.js';
import { accessibleTenant } from '../tenants/tenant-access.js';
import { createTenantsRepository } from '../tenants/tenants.repository.js';
import {
  type AssignmentRow,
  type AssignmentsRepository,
  createAssignmentsRepository,
  type EffectiveUserRow,
} from './assignments.js';
import type {
  AppAssignment,
  ApplicationAssigneesResponse,
  EffectiveUser,
  UserApplication,
  UserAssignmentCheck,
} from './assignments.schemas.js';

const applicationNotFound = () => notFound('Application');
const userNotFound = () => notFound('User');
const groupNotFound = () => notFound('Group');
const assignmentNotFound = () => notFound('Assignment');

function toAppAssignment(tenantId: string, row: AssignmentRow): AppAssignment {
  return {
    application_id: row.application_id,
    application_name: row.application_name,
    application_type: row.application_type,
    scope: row.scope,
    status: row.status,
    tenant_id: tenantId,
    principal_type: row.principal_type,
    principal_id: row.principal_id,
    created_at: row.created_at.toISOString(),
  };
}

function toEffectiveUser(row: EffectiveUserRow): EffectiveUser {
  return {
    user_id: row.user_id,
    email: row.email,
    display_name: row.display_name,
    status: row.status,
    assignment_type: row.direct ? 'DIRECT' : 'GROUP',
    group_ids: row.group_ids,
  };
}

type Principal = { type: 'USER'; id: string } | { type: 'GROUP'; id: string };

/**
 * App assignments (platform-notes §4 "App Assignments"): which users and groups of a tenant may use
 * an application that is usable there (its TENANT ones, its partner's PARTNER ones, GLOBAL ones).
 */
export function createAssignmentsService(db: Db) {
  /** The tenant of an admin-only read: narrow directory scopes (users:read, groups:read) get 403. */
  async function adminReadTenant(ctx: CallContext, tenantId: string): Promise<TenantRow> {
    const rights = adminRights(ctx.principal, false);
    const tenant = isId('tenant', tenantId)
      ? await createTenantsRepository(db).findLiveRow(tenantId)
      : undefined;
    if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
    return tenant;
  }

  async function usableApplication(repository: AssignmentsRepository, applicationId: string, lock = false) {
    const app = isId('application', applicationId)
      ? await repository.findUsable(applicationId, lock)
      : undefined;
    if (!app) throw applicationNotFound();
    return app;
  }

  async function mustBeLiveUser(repository: AssignmentsRepository, userId: string, lock = false) {
    if (!isId('user', userId) || !(await repository.liveUser(userId, lock))) throw userNotFound();
  }

  async function mustBeLiveGroup(repository: AssignmentsRepository, groupId: string) {
    if (!isId('group', groupId) || !(await repository.liveGroup(groupId))) throw groupNotFound();
  }

  async function lockPrincipal(repository: AssignmentsRepository, principal: Principal) {
    // The user row lock makes a concurrent user delete (which drops its assignments) wait for us.
    if (principal.type === 'USER') await mustBeLiveUser(repository, principal.id, true);
    else await mustBeLiveGroup(repository, principal.id);
  }

  async function audit(
    trx: Tx,
    ctx: CallContext,
    tenant: TenantRow,
    action: string,
    applicationId: string,
    principal: Principal,
  ) {
    await recordAudit(trx, ctx.origin, {
      action,
      resourceType: 'application',
      resourceId: applicationId,
      tenantId: tenant.id,
      partnerId: tenant.partner_id,
      after: principal.type === 'USER' ? { user_id: principal.id } : { group_id: principal.id },
    });
  }

  /** Adds an assignment (a no-op when it exists); answers it and whether it was created. */
  async function assign(
    ctx: CallContext,
    tenantId: string,
    applicationId: string,
    principal: Principal,
  ): Promise<{ created: boolean; assignment: AppAssignment }> {
    const tenant = await accessibleTenant(db, ctx.principal, tenantId, true);
    const created = await db.transaction().execute(async (trx) => {
      const repository = createAssignmentsRepository(trx, tenant);
      await lockPrincipal(repository, principal);
      await usableApplication(repository, applicationId, true);
      const { created } = await repository.assign(applicationId, principal.type, principal.id);
      if (created) {
        const action = principal.type === 'USER' ? 'application.user_assigned' : 'application.group_assigned';
        await audit(trx, ctx, tenant, action, applicationId, principal);
      }
      return created;
    });
    const row = await createAssignmentsRepository(db, tenant).findAssignment(
      applicationId,
      principal.type,
      principal.id,
    );
    return { created, assignment: toAppAssignment(tenant.id, row as AssignmentRow) };
  }

  async function unassign(ctx: CallContext, tenantId: string, applicationId: string, principal: Principal) {
    const tenant = await accessibleTenant(db, ctx.principal, tenantId, true);
    await db.transaction().execute(async (trx) => {
      const repository = createAssignmentsRepository(trx, tenant);
      await lockPrincipal(repository, principal);
      await usableApplication(repository, applicationId);
      if (!(await repository.unassign(applicationId, principal.type, principal.id)))
        throw assignmentNotFound();
      const action =
        principal.type === 'USER' ? 'application.user_unassigned' : 'application.group_unassigned';
      await audit(trx, ctx, tenant, action, applicationId, principal);
    });
  }

  return {
    async assignees(
      ctx: CallContext,
      tenantId: string,
      applicationId: string,
    ): Promise<ApplicationAssigneesResponse> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      const repository = createAssignmentsRepository(db, tenant);
      await usableApplication(repository, applicationId);
      const [users, groups] = await Promise.all([
        repository.assignedUsers(applicationId),
        repository.assignedGroups(applicationId),
      ]);
      return {
        application_id: applicationId,
        users: users.map((row) => ({ ...row, assigned_at: row.assigned_at.toISOString() })),
        groups: groups.map((row) => ({ ...row, assigned_at: row.assigned_at.toISOString() })),
      };
    },

    async effectiveUsers(ctx: CallContext, tenantId: string, applicationId: string, page: PageRequest) {
      const tenant = await adminReadTenant(ctx, tenantId);
      const repository = createAssignmentsRepository(db, tenant);
      await usableApplication(repository, applicationId);
      const [rows, total] = await Promise.all([
        repository.effectiveUsers(applicationId, page.perPage, pageOffset(page)),
        repository.effectiveUserCount(applicationId),
      ]);
      return { items: rows.map(toEffectiveUser), pagination: paginationMeta(page, total) };
    },

    async checkUser(
      ctx: CallContext,
      tenantId: string,
      applicationId: string,
      userId: string,
    ): Promise<UserAssignmentCheck> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      const repository = createAssignmentsRepository(db, tenant);
      await usableApplication(repository, applicationId);
      await mustBeLiveUser(repository, userId);
      const [row] = await repository.effectiveUsers(applicationId, 1, 0, userId);
      return {
        application_id: applicationId,
        user_id: userId,
        assigned: !!row,
        assignment_type: row ? (row.direct ? 'DIRECT' : 'GROUP') : null,
        group_ids: row?.group_ids ?? [],
      };
    },

    async groupApplications(ctx: CallContext, tenantId: string, groupId: string): Promise<AppAssignment[]> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      const repository = createAssignmentsRepository(db, tenant);
      await mustBeLiveGroup(repository, groupId);
      return (await repository.groupAssignments(groupId)).map((row) => toAppAssignment(tenant.id, row));
    },

    async userApplications(ctx: CallContext, tenantId: string, userId: string): Promise<UserApplication[]> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      const repository = createAssignmentsRepository(db, tenant);
      await mustBeLiveUser(repository, userId);
      return (await repository.userApplications(userId)).map((row) => ({
        application_id: row.id,
        name: row.name,
        application_type: row.application_type,
        scope: row.scope,
        status: row.status,
        assignment_required: row.assignment_required,
        assignment_type: row.direct ? 'DIRECT' : 'GROUP',
        group_ids: row.group_ids,
      }));
    },

    assignGroup: (ctx: CallContext, tenantId: string, groupId: string, applicationId: string) =>
      assign(ctx, tenantId, applicationId, { type: 'GROUP', id: groupId }),
    unassignGroup: (ctx: CallContext, tenantId: string, groupId: string, applicationId: string) =>
      unassign(ctx, tenantId, applicationId, { type: 'GROUP', id: groupId }),
    assignUser: (ctx: CallContext, tenantId: string, applicationId: string, userId: string) =>
      assign(ctx, tenantId, applicationId, { type: 'USER', id: userId }),
    unassignUser: (ctx: CallContext, tenantId: string, applicationId: string, userId: string) =>
      unassign(ctx, tenantId, applicationId, { type: 'USER', id: userId }),
  };
}

export type AssignmentsService = ReturnType<typeof createAssignmentsService>;
