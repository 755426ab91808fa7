import { isId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { TenantTx } from '../../platform/db/tenant-scope.js';
import { notFound } from '../../platform/errors.js';
import type { Work } from '../../platform/events/unit-of-work.js';
import type { TenantScope } from '../../platform/tenancy.js';
import {
  type AssignmentRow,
  type AssignmentsRepository,
  createAssignmentsRepository,
  type EffectiveUserRow,
} from './assignments.repository.js';
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
 * Every method acts in one tenant's scope (the route's `:tenant_id`, resolved by the management
 * context with the caller's rights) and reaches its rows only through the scope's bound handle.
 */
export function createAssignmentsService() {
  const repositoryOf = (scope: TenantScope) => createAssignmentsRepository(scope.db, scope.tenant.partner_id);

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

  function audit(
    w: Work<TenantTx>,
    scope: TenantScope,
    action: string,
    applicationId: string,
    principal: Principal,
  ): void {
    w.audit({
      action,
      resourceType: 'application',
      resourceId: applicationId,
      tenantId: scope.tenant.id,
      partnerId: scope.tenant.partner_id,
      after: principal.type === 'USER' ? { user_id: principal.id } : { group_id: principal.id },
    });
  }

  /** Adds an assignment (a no-op when it exists); answers it and whether it was created. */
  async function assign(
    scope: TenantScope,
    applicationId: string,
    principal: Principal,
  ): Promise<{ created: boolean; assignment: AppAssignment }> {
    const created = await scope.work(async (w) => {
      const repository = createAssignmentsRepository(w.db, scope.tenant.partner_id);
      await lockPrincipal(repository, principal);
      await usableApplication(repository, applicationId, true);
      const { created } = await repository.assign(applicationId, principal.type, principal.id);
      if (created) {
        const action = principal.type === 'USER' ? 'application.user_assigned' : 'application.group_assigned';
        audit(w, scope, action, applicationId, principal);
      }
      return created;
    });
    const row = await repositoryOf(scope).findAssignment(applicationId, principal.type, principal.id);
    return { created, assignment: toAppAssignment(scope.tenant.id, row as AssignmentRow) };
  }

  async function unassign(scope: TenantScope, applicationId: string, principal: Principal) {
    await scope.work(async (w) => {
      const repository = createAssignmentsRepository(w.db, scope.tenant.partner_id);
      await lockPrincipal(repository, principal);
      await usableApplication(repository, applicationId);
      if (!(await repository.unassign(applicationId, principal.type, principal.id)))
        throw assignmentNotFound();
      const action =
        principal.type === 'USER' ? 'application.user_unassigned' : 'application.group_unassigned';
      audit(w, scope, action, applicationId, principal);
    });
  }

  return {
    async assignees(scope: TenantScope, applicationId: string): Promise<ApplicationAssigneesResponse> {
      const repository = repositoryOf(scope);
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

    async effectiveUsers(scope: TenantScope, applicationId: string, page: PageRequest) {
      const repository = repositoryOf(scope);
      await usableApplication(repository, applicationId);
      const [rows, total] = await Promise.all([
        repository.effectiveUsers(applicationId, page.perPage, pageOffset(page)),
        repository.effectiveUserCount(applicationId),
      ]);
      return { items: rows.map(toEffectiveUser), pagination: paginationMeta(page, total) };
    },

    async checkUser(scope: TenantScope, applicationId: string, userId: string): Promise<UserAssignmentCheck> {
      const repository = repositoryOf(scope);
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

    async groupApplications(scope: TenantScope, groupId: string): Promise<AppAssignment[]> {
      const repository = repositoryOf(scope);
      await mustBeLiveGroup(repository, groupId);
      return (await repository.groupAssignments(groupId)).map((row) => toAppAssignment(scope.tenant.id, row));
    },

    async userApplications(scope: TenantScope, userId: string): Promise<UserApplication[]> {
      const repository = repositoryOf(scope);
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

    assignGroup: (scope: TenantScope, groupId: string, applicationId: string) =>
      assign(scope, applicationId, { type: 'GROUP', id: groupId }),
    unassignGroup: (scope: TenantScope, groupId: string, applicationId: string) =>
      unassign(scope, applicationId, { type: 'GROUP', id: groupId }),
    assignUser: (scope: TenantScope, applicationId: string, userId: string) =>
      assign(scope, applicationId, { type: 'USER', id: userId }),
    unassignUser: (scope: TenantScope, applicationId: string, userId: string) =>
      unassign(scope, applicationId, { type: 'USER', id: userId }),
  };
}

export type AssignmentsService = ReturnType<typeof createAssignmentsService>;
