import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import { UserListItem } from '../users/index.js';
import {
  OUCreate,
  OUDeleteQuery,
  OUListItem,
  OUListQuery,
  OUParams,
  OUResponse,
  OUUpdate,
  OUUsersQuery,
  TenantParams,
} from './ous.schemas.js';
import type { OusService } from './ous.service.js';

const tags = ['Organizational Units'];
const base = '/api/v1/tenants/:tenant_id/ous';

/** The 7 routes of the organizational-units API (docs/openapi.json). */
export const ousRoutes: FastifyPluginAsyncTypebox<{ ous: OusService }> = async (app, { ous }) => {
  app.get(
    base,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'List Ous',
        description:
          'List organizational units in the tenant (ordered by path). `parent_id` lists direct children.',
        params: TenantParams,
        querystring: OUListQuery,
        response: {
          200: PaginatedEnvelope(OUListItem, 'PaginatedResponse_OUListItem_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, search, parent_id } = request.query;
      const result = await ous.list(
        request.tenantScope,
        { search, parentId: parent_id },
        { page, perPage: per_page },
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
        summary: 'Create Ou',
        params: TenantParams,
        body: OUCreate,
        response: {
          201: Envelope(OUResponse, 'ApiResponse_OUResponse_'),
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await ous.create(request.tenantScope, request.body))),
  );

  app.get(
    `${base}/tree`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get Ou Tree',
        description: 'The whole forest of organizational units, children sorted by name.',
        params: TenantParams,
        response: {
          200: Envelope(Type.Array(Type.Unsafe({ $ref: 'OUTreeNode#' })), 'ApiResponse_list_OUTreeNode__'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, await ous.tree(request.tenantScope)),
  );

  app.get(
    `${base}/:ou_id`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get Ou',
        params: OUParams,
        response: { 200: Envelope(OUResponse, 'ApiResponse_OUResponse_'), ...managementErrors },
      },
    },
    async (request) => ok(request, await ous.get(request.tenantScope, request.params.ou_id)),
  );

  app.patch(
    `${base}/:ou_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Update Ou',
        description:
          'Rename, describe, or move (`parent_id`; null = to the root). Paths of the whole subtree and of its users follow.',
        params: OUParams,
        body: OUUpdate,
        response: {
          200: Envelope(OUResponse, 'ApiResponse_OUResponse_'),
          400: ErrorSchema,
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, await ous.update(request.tenantScope, request.params.ou_id, request.body)),
  );

  app.delete(
    `${base}/:ou_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Delete Ou',
        description:
          'strategy: BLOCK (default): fail with 409 if it has users or child OUs; MOVE_UP: users and child OUs move to ' +
          'the parent; CASCADE: the whole subtree is deleted and its users move to the parent.',
        params: OUParams,
        querystring: OUDeleteQuery,
        response: { 204: Type.Null({ description: 'Deleted' }), 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      await ous.remove(request.tenantScope, request.params.ou_id, request.query.strategy ?? 'BLOCK');
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:ou_id/users`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'List Ou Users',
        description: 'Users placed in the OU; with include_nested=true, in its whole subtree.',
        params: OUParams,
        querystring: OUUsersQuery,
        response: { 200: PaginatedEnvelope(UserListItem, 'PaginatedResponse'), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, include_nested = false } = request.query;
      const result = await ous.users(request.tenantScope, request.params.ou_id, include_nested, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );
};
