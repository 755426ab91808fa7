import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import { Envelope, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  AppAssignment,
  ApplicationAssigneesResponse,
  EffectiveUser,
  GroupAssignmentCreate,
  PageOnlyQuery,
  TenantApplicationParams,
  TenantApplicationUserParams,
  TenantGroupApplicationParams,
  TenantGroupParams,
  TenantUserParams,
  UserApplication,
  UserAssignmentCheck,
  UserAssignmentCreate,
} from './assignments.schemas.js';
import type { AssignmentsService } from './assignments.service.js';

const tags = ['App Assignments'];
const applicationBase = '/api/v1/tenants/:tenant_id/applications/:application_id';
const AssignmentEnvelope = Envelope(AppAssignment, 'ApiResponse_AppAssignment_');
const assigned = {
  200: Type.Unsafe({ ...AssignmentEnvelope, description: 'Already assigned (nothing changed)' }),
  201: Type.Unsafe({ ...AssignmentEnvelope, description: 'Assigned' }),
};

/**
 * The 9 tenant routes of App Assignments: who may use an application in a tenant. The application
 * must be usable there (a TENANT application of the tenant, a PARTNER one of its partner, or GLOBAL).
 */
export const assignmentsRoutes: FastifyPluginAsyncTypebox<{ assignments: AssignmentsService }> = async (
  app,
  { assignments },
) => {
  app.get(
    `${applicationBase}/assignees`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get Application Assignees',
        description: 'Users and groups assigned to the application in this tenant (direct assignments).',
        params: TenantApplicationParams,
        response: {
          200: Envelope(ApplicationAssigneesResponse, 'ApiResponse_ApplicationAssigneesResponse_'),
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(request, await assignments.assignees(request.tenantScope, request.params.application_id)),
  );

  app.get(
    `${applicationBase}/effective-users`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Application Effective Users',
        description:
          'Direct assignees and every effective member of an assigned group (nested groups included), each ' +
          'live user once, by email. Needs admin rights (admin:read): users:read / groups:read tokens get 403.',
        params: TenantApplicationParams,
        querystring: PageOnlyQuery,
        response: {
          200: PaginatedEnvelope(EffectiveUser, 'PaginatedResponse_EffectiveUser_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      // Admin rights only (the route declares admin read): resolve the tenant with them.
      const scope = await request.scopeForTenant(request.params.tenant_id);
      const result = await assignments.effectiveUsers(scope, request.params.application_id, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${applicationBase}/users`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Assign User To Application',
        description: '201 when assigned, 200 when the user was already assigned directly.',
        params: TenantApplicationParams,
        body: UserAssignmentCreate,
        response: { ...assigned, ...managementErrors },
      },
    },
    async (request, reply) => {
      const { created, assignment } = await assignments.assignUser(
        request.tenantScope,
        request.params.application_id,
        request.body.user_id,
      );
      return reply.code(created ? 201 : 200).send(ok(request, assignment));
    },
  );

  app.get(
    `${applicationBase}/users/:user_id`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Check User Assignment',
        description:
          'Whether the user may use the application: assigned directly or through a group (nested included).',
        params: TenantApplicationUserParams,
        response: {
          200: Envelope(UserAssignmentCheck, 'ApiResponse_UserAssignmentCheck_'),
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(
        request,
        await assignments.checkUser(
          request.tenantScope,
          request.params.application_id,
          request.params.user_id,
        ),
      ),
  );

  app.delete(
    `${applicationBase}/users/:user_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Unassign User From Application',
        description: "Removes the user's direct assignment (404 when there is none); group assignments stay.",
        params: TenantApplicationUserParams,
        response: { 204: Type.Null({ description: 'Unassigned' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await assignments.unassignUser(
        request.tenantScope,
        request.params.application_id,
        request.params.user_id,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/tenants/:tenant_id/groups/:group_id/applications',
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get Group Applications',
        description: 'Applications assigned to the group itself, by name.',
        params: TenantGroupParams,
        response: {
          200: Envelope(Type.Array(AppAssignment), 'ApiResponse_list_AppAssignment__'),
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(request, await assignments.groupApplications(request.tenantScope, request.params.group_id)),
  );

  app.post(
    '/api/v1/tenants/:tenant_id/groups/:group_id/applications',
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Assign Application To Group',
        description:
          'Every effective member of the group (nested groups included) may use the application. 201 when ' +
          'assigned, 200 when it already was.',
        params: TenantGroupParams,
        body: GroupAssignmentCreate,
        response: { ...assigned, ...managementErrors },
      },
    },
    async (request, reply) => {
      const { created, assignment } = await assignments.assignGroup(
        request.tenantScope,
        request.params.group_id,
        request.body.application_id,
      );
      return reply.code(created ? 201 : 200).send(ok(request, assignment));
    },
  );

  app.delete(
    '/api/v1/tenants/:tenant_id/groups/:group_id/applications/:application_id',
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Unassign Application From Group',
        params: TenantGroupApplicationParams,
        response: { 204: Type.Null({ description: 'Unassigned' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await assignments.unassignGroup(
        request.tenantScope,
        request.params.group_id,
        request.params.application_id,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/tenants/:tenant_id/users/:user_id/applications',
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get User Applications',
        description:
          'Applications the user is assigned to, directly or through any group it is an effective member of.',
        params: TenantUserParams,
        response: {
          200: Envelope(Type.Array(UserApplication), 'ApiResponse_list_UserApplication__'),
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(request, await assignments.userApplications(request.tenantScope, request.params.user_id)),
  );
};
