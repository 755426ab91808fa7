import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callContext, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  PartnerCreate,
  PartnerListQuery,
  PartnerParams,
  PartnerResponse,
  PartnerUpdate,
} from './partners.schemas.js';
import type { PartnersService } from './partners.service.js';

const tags = ['Partners'];

/** `/api/v1/admin/partners/`: 5 routes, super_admin only. */
export const partnersRoutes: FastifyPluginAsyncTypebox<{ partners: PartnersService }> = async (
  app,
  { partners },
) => {
  app.get(
    '/api/v1/admin/partners/',
    {
      config: { access: access.superAdminRead },
      schema: {
        tags,
        summary: 'List Partners',
        querystring: PartnerListQuery,
        response: { 200: PaginatedEnvelope(PartnerResponse), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, search, status } = request.query;
      const result = await partners.list({ search, status }, { page, perPage: per_page });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    '/api/v1/admin/partners/',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Create Partner',
        body: PartnerCreate,
        response: { 201: Envelope(PartnerResponse), 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(ok(request, await partners.create(callContext(request), request.body))),
  );

  app.get(
    '/api/v1/admin/partners/:partner_id',
    {
      config: { access: access.superAdminRead },
      schema: {
        tags,
        summary: 'Get Partner',
        params: PartnerParams,
        response: { 200: Envelope(PartnerResponse), ...managementErrors },
      },
    },
    async (request) => ok(request, await partners.get(request.params.partner_id)),
  );

  app.patch(
    '/api/v1/admin/partners/:partner_id',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Update Partner',
        params: PartnerParams,
        body: PartnerUpdate,
        response: { 200: Envelope(PartnerResponse), 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await partners.update(callContext(request), request.params.partner_id, request.body)),
  );

  app.delete(
    '/api/v1/admin/partners/:partner_id',
    {
      config: { access: access.superAdminWrite },
      schema: {
        tags,
        summary: 'Delete Partner',
        description: 'Soft delete a partner. A partner that still has tenants cannot be deleted (409).',
        params: PartnerParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          400: ErrorSchema,
          409: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request, reply) => {
      await partners.remove(callContext(request), request.params.partner_id);
      return reply.code(204).send(null);
    },
  );
};
