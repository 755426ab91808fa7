import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callContext, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  TenantCreate,
  TenantListQuery,
  TenantParams,
  TenantResponse,
  TenantUpdate,
} from './tenants.schemas.js';
import type { TenantsService } from './tenants.service.js';

const tags = ['Tenants'];

/** `/api/v1/admin/tenants/`: the 5 routes of the tenants API (docs/openapi.json). Writes are super_admin only; partner and tenant admins read within scope. */
export const tenantsRoutes: FastifyPluginAsyncTypebox<{ tenants: TenantsService }> = async (
  app,
  { tenants },
) => {
  app.get(
    '/api/v1/admin/tenants/',
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Tenants',
        description: 'List all tenants the caller may see.',
        querystring: TenantListQuery,
        response: { 200: PaginatedEnvelope(TenantResponse), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, search, status, partner_id } = request.query;
      const filter = { search, status, partnerId: partner_id };
      const result = await tenants.list(request.rights, filter, { page, perPage: per_page });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    '/api/v1/admin/tenants/',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Create Tenant',
        body: TenantCreate,
        response: { 201: Envelope(TenantResponse), 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await tenants.create(callContext(request), request.body))),
  );

  app.get(
    '/api/v1/admin/tenants/:tenant_id',
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Tenant',
        params: TenantParams,
        response: { 200: Envelope(TenantResponse), ...managementErrors },
      },
    },
    async (request) => ok(request, await tenants.get(request.rights, request.params.tenant_id)),
  );

  app.patch(
    '/api/v1/admin/tenants/:tenant_id',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Update Tenant',
        params: TenantParams,
        body: TenantUpdate,
        response: { 200: Envelope(TenantResponse), 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await tenants.update(callContext(request), request.params.tenant_id, request.body)),
  );

  app.delete(
    '/api/v1/admin/tenants/:tenant_id',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Delete Tenant',
        description:
          "Soft delete a tenant: its routes answer 404 afterwards and its applications' tokens stop working.",
        params: TenantParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          400: ErrorSchema,
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request, reply) => {
      await tenants.remove(callContext(request), request.params.tenant_id);
      return reply.code(204).send(null);
    },
  );
};
