import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  GroupCreate,
  GroupDeleteQuery,
  GroupGetQuery,
  GroupListItem,
  GroupListQuery,
  GroupMembershipUpdate,
  GroupResponse,
  GroupUpdate,
  TenantGroupParams,
  TenantParams,
} from './groups.schemas.js';
import { type GroupsService, parseIncludes } from './groups.service.js';

const tags = ['Groups'];
const base = '/api/v1/tenants/:tenant_id/groups';
const GroupEnvelope = Envelope(GroupResponse, 'ApiResponse_GroupResponse_');

/** The 6 tenant routes of the groups API (docs/openapi.json). */
export const groupsRoutes: FastifyPluginAsyncTypebox<{ groups: GroupsService }> = async (app, { groups }) => {
  app.get(
    base,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'List Groups',
        description:
          'List groups in the tenant directory, by name. `parent_group_id`: direct children ' +
          'in the hierarchy; `user_id`: groups the user is an effective member of (direct or inherited).',
        params: TenantParams,
        querystring: GroupListQuery,
        response: {
          200: PaginatedEnvelope(GroupListItem, 'PaginatedResponse_GroupListItem_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, search, type, parent_group_id, user_id } = request.query;
      const result = await groups.list(
        request.tenantScope,
        { search, groupType: type, parentGroupId: parent_group_id, userId: user_id },
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
        summary: 'Create Group',
        description: 'Create a new group; `initial_members` become DIRECT members.',
        params: TenantParams,
        body: GroupCreate,
        response: { 201: GroupEnvelope, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await groups.create(request.tenantScope, request.body))),
  );

  app.get(
    `${base}/:group_id`,
    {
      config: { access: access.tenantRead },
      schema: {
        tags,
        summary: 'Get Group',
        description:
          '`include=members` fills `members` with the DIRECT members (at most 1,000, by user id); ' +
          '`include=nested_groups` fills `nested_groups` with the direct child groups.',
        params: TenantGroupParams,
        querystring: GroupGetQuery,
        response: { 200: GroupEnvelope, ...managementErrors },
      },
    },
    async (request) =>
      ok(
        request,
        await groups.get(request.tenantScope, request.params.group_id, parseIncludes(request.query.include)),
      ),
  );

  app.patch(
    `${base}/:group_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Update Group',
        description:
          'Rename, describe, or move in the hierarchy (`parent_group_id`; null = top-level). ' +
          'A move under itself or a descendant is a 400 GROUP_CYCLE.',
        params: TenantGroupParams,
        body: GroupUpdate,
        response: { 200: GroupEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await groups.update(request.tenantScope, request.params.group_id, request.body)),
  );

  app.delete(
    `${base}/:group_id`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Delete Group',
        description:
          'strategy: BLOCK (default): fail with 409 if it has members or child groups; ' +
          "ORPHAN: child groups move to the deleted group's parent; CASCADE: the hierarchy " +
          'subtree is deleted too (groups only nested in it are unlinked). Members are unlinked.',
        params: TenantGroupParams,
        querystring: GroupDeleteQuery,
        response: { 204: Type.Null({ description: 'Deleted' }), 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      await groups.remove(request.tenantScope, request.params.group_id, request.query.strategy ?? 'BLOCK');
      return reply.code(204).send(null);
    },
  );

  app.put(
    `${base}/:group_id/members`,
    {
      config: { access: access.tenantWrite },
      schema: {
        tags,
        summary: 'Update Group Members',
        description:
          'Add or remove DIRECT members in one transaction. An unknown, deleted or foreign user ' +
          'id is a 404 and nothing changes; adding a member or removing a non-member is a no-op.',
        params: TenantGroupParams,
        body: GroupMembershipUpdate,
        response: { 200: GroupEnvelope, 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await groups.updateMembers(request.tenantScope, request.params.group_id, request.body)),
  );
};
