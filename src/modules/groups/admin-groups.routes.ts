import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access, type TenantScope } from '../../platform/tenancy.js';
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

/**
 * `/api/v1/admin/groups/`: the 13 admin routes of the groups API (docs/openapi.json), over every tenant the caller may see.
 * A route addressing a group finds its tenant, takes the scope of that tenant (a 404 'Group' when
 * the caller may not see it) and calls the service method the tenant routes call.
 */
export const adminGroupsRoutes: FastifyPluginAsyncTypebox<{ groups: GroupsService }> = async (
  app,
  { groups },
) => {
  const scopeOfGroup = async (request: FastifyRequest, groupId: string): Promise<TenantScope> =>
    request.scopeForTenant(await groups.tenantOf(groupId), 'Group');

  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
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
      const result = await groups.listAcrossTenants(
        request.rights,
        { search, tenantId: tenant_id, partnerId: partner_id, groupType: group_type },
        { page, perPage: per_page },
      );
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Create Group',
        description: 'Create a new group in the tenant `tenant_id`.',
        body: AdminGroupCreate,
        response: { 201: GroupEnvelope, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const { tenant_id: tenantId, ...fields } = request.body;
      const scope = await request.scopeForTenant(tenantId);
      return reply.code(201).send(ok(request, await groups.create(scope, fields)));
    },
  );

  app.get(
    `${base}/:group_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Group',
        params: GroupParams,
        response: { 200: GroupEnvelope, ...managementErrors },
      },
    },
    async (request) => {
      const { group_id: id } = request.params;
      return ok(request, await groups.get(await scopeOfGroup(request, id), id));
    },
  );

  app.patch(
    `${base}/:group_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Update Group',
        params: GroupParams,
        body: GroupUpdate,
        response: { 200: GroupEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) => {
      const { group_id: id } = request.params;
      return ok(request, await groups.update(await scopeOfGroup(request, id), id, request.body));
    },
  );

  app.delete(
    `${base}/:group_id`,
    {
      config: { access: access.adminWrite },
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
      const { group_id: id } = request.params;
      // The tenant route's ORPHAN: child groups move up, members and nested links go.
      await groups.remove(await scopeOfGroup(request, id), id, 'ORPHAN');
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/members`,
    {
      config: { access: access.adminRead },
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
      const { group_id: id } = request.params;
      const result = await groups.members(await scopeOfGroup(request, id), id, false, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/:group_id/members`,
    {
      config: { access: access.adminWrite },
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
        await groups.updateMembers(
          await scopeOfGroup(request, request.params.group_id),
          request.params.group_id,
          {
            users_to_add: request.body.user_ids,
          },
        ),
      ),
  );

  app.delete(
    `${base}/:group_id/members/:user_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Remove Group Member',
        description: 'End a DIRECT membership (404 if the user is not a direct member).',
        params: GroupMemberParams,
        response: { ...deleted, ...managementErrors },
      },
    },
    async (request, reply) => {
      const { group_id: id, user_id: userId } = request.params;
      await groups.removeMember(await scopeOfGroup(request, id), id, userId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/effective-members`,
    {
      config: { access: access.adminRead },
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
      const { group_id: id } = request.params;
      const result = await groups.members(await scopeOfGroup(request, id), id, true, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.get(
    `${base}/:group_id/nested-groups`,
    {
      config: { access: access.adminRead },
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
      const { group_id: id } = request.params;
      const result = await groups.relatives(await scopeOfGroup(request, id), id, 'child', {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/:group_id/nested-groups`,
    {
      config: { access: access.adminWrite },
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
        await groups.addNested(
          await scopeOfGroup(request, request.params.group_id),
          request.params.group_id,
          request.body.group_ids,
        ),
      ),
  );

  app.delete(
    `${base}/:group_id/nested-groups/:child_group_id`,
    {
      config: { access: access.adminWrite },
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
      const { group_id: id, child_group_id: childId } = request.params;
      await groups.removeNested(await scopeOfGroup(request, id), id, childId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:group_id/parent-groups`,
    {
      config: { access: access.adminRead },
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
      const { group_id: id } = request.params;
      const result = await groups.relatives(await scopeOfGroup(request, id), id, 'parent', {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );
};
