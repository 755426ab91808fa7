import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import {
  Envelope,
  ErrorSchema,
  MetaSchema,
  managementErrors,
  PaginationSchema,
} from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  PasswordResetResult,
  UserCreate,
  UserDeleteQuery,
  UserGetQuery,
  UserListItem,
  UserListQuery,
  UserPasswordReset,
  UserResponse,
  UserStatusUpdate,
  UserUpdate,
} from './users.schemas.js';
import type { UsersService } from './users.service.js';

const tags = ['Users'];
const base = '/api/v1/tenants/:tenant_id/users';
const TenantParams = Type.Object({ tenant_id: Type.String() });
const UserParams = Type.Object({ tenant_id: Type.String(), user_id: Type.String() });

const UserPage = Type.Object(
  {
    data: Type.Array(UserListItem),
    pagination: Type.Object({
      ...PaginationSchema.properties,
      next_cursor: Type.Unsafe<string | null>({
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page (keyset); null on the last page',
      }),
    }),
    meta: MetaSchema,
  },
  { title: 'PaginatedResponse_UserListItem_' },
);

/** Parses `include=groups,ou`. */
export function includeSet(include: string | null | undefined): Set<string> {
  return new Set(
    (include ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  );
}

/** The 7 tenant routes of the users API (docs/openapi.json). */
export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (app, { users }) => {
  app.get(
    base,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'List Users',
        description:
          'List users in the tenant directory. Page numbers or, for walking a large tenant, the keyset `cursor`.',
        params: TenantParams,
        querystring: UserListQuery,
        response: { 200: UserPage, ...managementErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const result = await users.list(
        request.tenantScope,
        { search: q.search, status: q.status, ouId: q.ou_id, groupId: q.group_id, mfaEnabled: q.mfa_enabled },
        { by: q.sort_by ?? 'created_at', order: q.sort_order ?? 'desc' },
        { page: q.page ?? 1, perPage: q.per_page ?? 20 },
        q.cursor,
      );
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    base,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Create User',
        params: TenantParams,
        body: UserCreate,
        response: {
          201: Envelope(UserResponse, 'ApiResponse_UserResponse_'),
          400: ErrorSchema,
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await users.create(request.tenantScope, request.body))),
  );

  app.get(
    `${base}/:user_id`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get User',
        params: UserParams,
        querystring: UserGetQuery,
        response: { 200: Envelope(UserResponse, 'ApiResponse_UserResponse_'), ...managementErrors },
      },
    },
    async (request) =>
      ok(
        request,
        await users.get(request.tenantScope, request.params.user_id, includeSet(request.query.include)),
      ),
  );

  app.patch(
    `${base}/:user_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Update User',
        params: UserParams,
        body: UserUpdate,
        response: {
          200: Envelope(UserResponse, 'ApiResponse_UserResponse_'),
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request) =>
      ok(request, await users.update(request.tenantScope, request.params.user_id, request.body)),
  );

  app.delete(
    `${base}/:user_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Delete User',
        description: 'Soft delete; `confirm_email` must equal the email of the user (case-insensitively).',
        params: UserParams,
        querystring: UserDeleteQuery,
        response: { 204: Type.Null({ description: 'Deleted' }), 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      await users.remove(request.tenantScope, request.params.user_id, request.query.confirm_email);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:user_id/password/reset`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Reset User Password',
        description: 'method EMAIL (default) mails a single-use link; DIRECT sets `new_password`.',
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
      ok(request, await users.resetPassword(request.tenantScope, request.params.user_id, request.body)),
  );

  app.put(
    `${base}/:user_id/status`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Update User Status',
        description:
          'Enable, disable, lock, unlock. Allowed: any → DISABLED; ACTIVE → LOCKED; DISABLED, LOCKED (clears failed ' +
          'attempts), PENDING_APPROVAL → ACTIVE; the same status is a no-op. terminate_sessions revokes every session.',
        params: UserParams,
        body: UserStatusUpdate,
        response: { 200: Envelope(UserResponse), 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await users.setStatus(request.tenantScope, request.params.user_id, request.body)),
  );
};
