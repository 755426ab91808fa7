import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callContext, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import {
  AdminGroupCreate,
  AdminGroupListQuery,
  GroupListItem,
  GroupMemberInfo,
  GroupMemberParams,
  GroupMembersAdd,
  GroupParams,
  GroupResponse,
  GroupUpdate,
  NestedGroupInfo,
  NestedGroupParams,
  NestedGroupsAdd,
  PageOnlyQuery,
} from './groups.schemas.js';
import type { GroupsService } from './groups.service.js';

const tags = ['Admin Groups'];
const base = '/api/v1/admin/groups';
const GroupEnvelope = Envelope(GroupResponse, 'ApiResponse_GroupResponse_');
const deleted = { 204: Type.Null({ description: 'Deleted' }) };

/** `/api/v1/admin/groups/`: the 13 admin routes of groups.md, over every tenant the caller may see. */
export const adminGroupsRoutes: FastifyPluginAsyncTypebox<{ groups: GroupsService }> = async (
  app,
  { groups },
) => {
  const admin = groups.admin;

  app.get(
    `${base}/`,
    {
      schema: {
        tags,
        summary: 'List Groups',
        description: 'List groups with filtering, across the tenants the caller may see, by name.',
        querystring: AdminGroupListQuery,
        response: {
          200: PaginatedEnvelope(GroupListItem, 'PaginatedResponse_GroupListItem_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, search, tenant_id, partner_id, group_type } = request.query;
      const result = await admin.list(
        callContext(request),
        { search, tenantId: tenant_id, partnerId: partner_id, groupType: group_type },
        { page, perPage: per_page },
      );
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      schema: {
        tags,
        summary: 'Create Group',
        description: 'Create a new group in the tenant `tenant_id`.',
        body: AdminGroupCreate,
        response: { 201: GroupEnvelope, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await admin.create(callContext(request), request.body))),
  );

  app.get(
    `${base}/:group_id`,
    {
      schema: {
        tags,
        summary: 'Get Group',
        params: GroupParams,
        response: { 200: GroupEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await admin.get(callContext(request), request.params.group_id)),
  );

  app.patch(
    `${base}/:group_id`,
    {
      schema: {
        tags,
        summary: 'Update Group',
        params: GroupParams,
        body: GroupUpdate,
        response: { 200: GroupEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await admin.update(callContext(request), request.params.group_id, request.body)),
  );

  app.delete(
    `${base}/:group_id`,
    {
      schema: {
        tags,
        summary: 'Delete Group',
        description:
          'Soft delete a group: its child groups move to its parent ' +
          "(the tenant route's ORPHAN), its members and nested-group links are removed.",
        params: GroupParams,
        response: { ...deleted, ...managementErrors },
      },
    },
    async (request, reply) => {
      await admin.remove(callContext(request), request.params.group_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/members`,
    {
      schema: {
        tags,
        summary: 'List Group Members',
        description: 'List the DIRECT members of a group, by user id.',
        params: GroupParams,
        querystring: PageOnlyQuery,
        response: {
          200: PaginatedEnvelope(GroupMemberInfo, 'PaginatedResponse_GroupMemberInfo_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await admin.members(callContext(request), request.params.group_id, false, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/:group_id/members`,
    {
      schema: {
        tags,
        summary: 'Add Group Members',
        description:
          'Add DIRECT members (`{"user_ids": [...]}`) in one transaction; an unknown, deleted ' +
          'or foreign user id is a 404 and nothing changes. Existing members are left alone. ' +
          'Returns the group.',
        params: GroupParams,
        body: GroupMembersAdd,
        response: { 200: GroupEnvelope, ...managementErrors },
      },
    },
    async (request) =>
      ok(
        request,
        await admin.addMembers(callContext(request), request.params.group_id, request.body.user_ids),
      ),
  );

  app.delete(
    `${base}/:group_id/members/:user_id`,
    {
      schema: {
        tags,
        summary: 'Remove Group Member',
        description: 'End a DIRECT membership (404 if the user is not a direct member).',
        params: GroupMemberParams,
        response: { ...deleted, ...managementErrors },
      },
    },
    async (request, reply) => {
      await admin.removeMember(callContext(request), request.params.group_id, request.params.user_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/effective-members`,
    {
      schema: {
        tags,
        summary: 'List Effective Members',
        description:
          'List all effective members of a group, including inherited members from nested groups ' +
          '(the transitive closure of group memberships): each user once, `membership_type` DIRECT or ' +
          'INHERITED, by user id, with the exact total.',
        params: GroupParams,
        querystring: PageOnlyQuery,
        response: {
          200: PaginatedEnvelope(GroupMemberInfo, 'PaginatedResponse_GroupMemberInfo_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await admin.members(callContext(request), request.params.group_id, true, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.get(
    `${base}/:group_id/nested-groups`,
    {
      schema: {
        tags,
        summary: 'List Nested Groups',
        description:
          'List the child groups nested within this group: its hierarchy children and nested-group children.',
        params: GroupParams,
        querystring: PageOnlyQuery,
        response: {
          200: PaginatedEnvelope(NestedGroupInfo, 'PaginatedResponse_NestedGroupInfo_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await admin.relatives(callContext(request), request.params.group_id, 'child', {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/:group_id/nested-groups`,
    {
      schema: {
        tags,
        summary: 'Add Nested Groups',
        description:
          'Nest child groups (`{"group_ids": [...]}`) in this group, in one transaction. ' +
          'A group that would become its own ancestor is a 400 GROUP_CYCLE; an unknown or ' +
          'foreign id a 404; nothing changes then.',
        params: GroupParams,
        body: NestedGroupsAdd,
        response: { 200: GroupEnvelope, 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(
        request,
        await admin.addNested(callContext(request), request.params.group_id, request.body.group_ids),
      ),
  );

  app.delete(
    `${base}/:group_id/nested-groups/:child_group_id`,
    {
      schema: {
        tags,
        summary: 'Remove Nested Group',
        description:
          "Remove a child group from this group's nested groups. " +
          'Removing the hierarchy child makes it top-level.',
        params: NestedGroupParams,
        response: { ...deleted, ...managementErrors },
      },
    },
    async (request, reply) => {
      await admin.removeNested(callContext(request), request.params.group_id, request.params.child_group_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/parent-groups`,
    {
      schema: {
        tags,
        summary: 'List Parent Groups',
        description:
          'List the groups this group is nested within: its hierarchy parent and nested-group parents.',
        params: GroupParams,
        querystring: PageOnlyQuery,
        response: {
          200: PaginatedEnvelope(NestedGroupInfo, 'PaginatedResponse_NestedGroupInfo_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await admin.relatives(callContext(request), request.params.group_id, 'parent', {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );
};
