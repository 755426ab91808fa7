import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callContext, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  AdminRoleAssign,
  AdminRoleAssignment,
  AdminRoleListQuery,
  AdminRoleUpdate,
  AssignmentParams,
  UserParams,
  UserRolesQuery,
} from './admin-roles.schemas.js';
import type { AdminRolesService } from './admin-roles.service.js';

const tags = ['Admin Roles'];
const base = '/api/v1/admin/admin-roles';
const AssignmentEnvelope = Envelope(AdminRoleAssignment, 'ApiResponse_AdminRoleAssignment_');

/** `/api/v1/admin/admin-roles/`: the 6 routes of admin role assignments, super_admin only. */
export const adminRolesRoutes: FastifyPluginAsyncTypebox<{ adminRoles: AdminRolesService }> = async (
  app,
  { adminRoles },
) => {
  app.get(
    `${base}/`,
    {
      config: { access: access.superAdminRead },
      schema: {
        tags,
        summary: 'List Role Assignments',
        description: '`is_active` filters on what an assignment grants now (not revoked and not expired).',
        querystring: AdminRoleListQuery,
        response: {
          200: PaginatedEnvelope(AdminRoleAssignment, 'PaginatedResponse_AdminRoleAssignment_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, role, user_id, is_active } = request.query;
      const result = await adminRoles.list(
        { role, userId: user_id, isActive: is_active },
        { page, perPage: per_page },
      );
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Assign Role',
        description:
          'partner_id is required for PARTNER_ADMIN, tenant_id (the tenant of the user) for TENANT_ADMIN. ' +
          'An identical assignment that is active already: 409 ROLE_ALREADY_ASSIGNED.',
        body: AdminRoleAssign,
        response: { 201: AssignmentEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await adminRoles.assign(callContext(request), request.body))),
  );

  app.get(
    `${base}/user/:user_id`,
    {
      config: { access: access.superAdminRead },
      schema: {
        tags,
        summary: 'Get User Roles',
        description:
          'Every role assignment of a user, revoked and expired ones included unless is_active is set.',
        params: UserParams,
        querystring: UserRolesQuery,
        response: {
          200: Envelope(Type.Array(AdminRoleAssignment), 'ApiResponse_list_AdminRoleAssignment__'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, await adminRoles.forUser(request.params.user_id, request.query.is_active)),
  );

  app.get(
    `${base}/:assignment_id`,
    {
      config: { access: access.superAdminRead },
      schema: {
        tags,
        summary: 'Get Role Assignment',
        params: AssignmentParams,
        response: { 200: AssignmentEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await adminRoles.get(request.params.assignment_id)),
  );

  app.patch(
    `${base}/:assignment_id`,
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Update Role Assignment',
        description: 'Change expires_at (future or null) or is_active (false revokes, true reinstates).',
        params: AssignmentParams,
        body: AdminRoleUpdate,
        response: { 200: AssignmentEnvelope, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await adminRoles.update(callContext(request), request.params.assignment_id, request.body)),
  );

  app.delete(
    `${base}/:assignment_id`,
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Revoke Role Assignment',
        description: 'Sets is_active false; the assignment stays for audit. Revoking twice is a no-op.',
        params: AssignmentParams,
        response: { 204: Type.Null({ description: 'Revoked' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await adminRoles.revoke(callContext(request), request.params.assignment_id);
      return reply.code(204).send(null);
    },
  );
};
