import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { callContext, ok, paged } from '../../platform/http.js';
import {
  Envelope,
  ErrorSchema,
  managementErrors,
  Nullable,
  PaginatedEnvelope,
} from '../../platform/schemas.js';
import { access, type TenantScope } from '../../platform/tenancy.js';
import {
  AdminUserCreate,
  AdminUserListQuery,
  IdentitySourceMismatchReport,
  PasswordResetResult,
  UserGroupMembership,
  UserPasswordReset,
  UserResponse,
  UserUpdate,
} from './users.schemas.js';
import type { UsersService } from './users.service.js';

const tags = ['Users (admin)'];
const base = '/api/v1/admin/users';
const UserParams = Type.Object({ user_id: Type.String() });
const UserEnvelope = Envelope(UserResponse, 'ApiResponse_UserResponse_');

/** The 10 admin routes of the users API (docs/openapi.json), across the tenants the caller may see. */
export const adminUsersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (
  app,
  { users },
) => {
  /** The scope of the addressed user's tenant: 404 User when the caller may not see it (as when absent). */
  const userScope = async (request: FastifyRequest & { params: { user_id: string } }): Promise<TenantScope> =>
    request.scopeForTenant(await users.tenantOfUser(request.params.user_id), 'User');

  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Users',
        description: 'List users with filtering (partner_id: all tenants of the partner).',
        querystring: AdminUserListQuery,
        response: { 200: PaginatedEnvelope(UserResponse), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await users.adminList(request.rights, request.query, { page, perPage: per_page });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Create User',
        body: AdminUserCreate,
        response: { 201: UserEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const { tenant_id, ...input } = request.body;
      const scope = await request.scopeForTenant(tenant_id);
      return reply.code(201).send(ok(request, await users.create(scope, input)));
    },
  );

  app.get(
    `${base}/identity-source/mismatches`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Identity Source Mismatches',
        description:
          'Users linked to an identity provider whose type differs from their identity_source. fix=true sets ' +
          'identity_source to the provider type (users linked to providers of several types are reported, not fixed).',
        querystring: Type.Object({
          tenant_id: Type.Optional(Nullable(Type.String())),
          fix: Type.Optional(Type.Boolean({ default: false })),
        }),
        response: { 200: Envelope(IdentitySourceMismatchReport), ...managementErrors },
      },
    },
    async (request) =>
      ok(
        request,
        await users.identitySourceMismatches(
          callContext(request),
          request.rights,
          request.query.tenant_id ?? null,
          request.query.fix ?? false,
        ),
      ),
  );

  app.get(
    `${base}/:user_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get User',
        params: UserParams,
        response: { 200: UserEnvelope, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await users.get(await userScope(request), request.params.user_id, new Set())),
  );

  app.patch(
    `${base}/:user_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Update User',
        params: UserParams,
        body: UserUpdate,
        response: { 200: UserEnvelope, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await users.update(await userScope(request), request.params.user_id, request.body)),
  );

  app.delete(
    `${base}/:user_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Delete User',
        description: 'Soft delete a user.',
        params: UserParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await users.remove(await userScope(request), request.params.user_id, null);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:user_id/groups`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get User Groups',
        description: 'All groups the user belongs to: DIRECT memberships and INHERITED ones through nesting.',
        params: UserParams,
        response: { 200: Envelope(Type.Array(UserGroupMembership)), ...managementErrors },
      },
    },
    async (request) => ok(request, await users.groups(await userScope(request), request.params.user_id)),
  );

  app.post(
    `${base}/:user_id/mfa/disable`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Disable User Mfa',
        description: 'Removes all MFA factors of the user and sets mfa_enabled to false.',
        params: UserParams,
        response: { 200: UserEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await users.disableMfa(await userScope(request), request.params.user_id)),
  );

  app.post(
    `${base}/:user_id/reset-password`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Reset User Password',
        description: 'method DIRECT sets `new_password`; EMAIL (default) mails a single-use link.',
        params: UserParams,
        body: UserPasswordReset,
        response: {
          200: Envelope(PasswordResetResult),
          400: ErrorSchema,
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(request, await users.resetPassword(await userScope(request), request.params.user_id, request.body)),
  );

  app.post(
    `${base}/:user_id/unlock`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Unlock User',
        description: 'Unlock a locked user account and reset failed login attempts.',
        params: UserParams,
        response: { 200: UserEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await users.unlock(await userScope(request), request.params.user_id)),
  );
};
