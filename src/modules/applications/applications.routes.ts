import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { callContext, noStore, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  ApplicationCreate,
  ApplicationListQuery,
  ApplicationParams,
  ApplicationResponse,
  ApplicationUpdate,
  ApplicationWithSecret,
} from './applications.schemas.js';
import type { ApplicationsService, Caller } from './applications.service.js';

const tags = ['Applications'];
const base = '/api/v1/admin/applications';
const ApplicationEnvelope = Envelope(ApplicationResponse, 'ApiResponse_ApplicationResponse_');
const SecretEnvelope = Envelope(ApplicationWithSecret, 'ApiResponse_ApplicationWithSecret_');
const caller = (request: FastifyRequest): Caller => ({ rights: request.rights, call: callContext(request) });

/**
 * `/api/v1/admin/applications/`: OAuth clients. Everyone with an admin role reads what platform-notes
 * §2 lets it see; writes follow the tier rules (GLOBAL: super_admin only).
 */
export const applicationsRoutes: FastifyPluginAsyncTypebox<{ applications: ApplicationsService }> = async (
  app,
  { applications },
) => {
  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Applications',
        description:
          'Applications the caller may see: super_admin all; partner_admin GLOBAL ones, its PARTNER ones and ' +
          "TENANT ones of its tenants; tenant_admin GLOBAL ones, its partner's PARTNER ones and its TENANT ones.",
        querystring: ApplicationListQuery,
        response: {
          200: PaginatedEnvelope(ApplicationResponse, 'PaginatedResponse_ApplicationResponse_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const result = await applications.list(
        request.rights,
        {
          tenantId: q.tenant_id,
          partnerId: q.partner_id,
          scope: q.scope,
          applicationType: q.application_type,
          status: q.status,
          search: q.search,
        },
        { page: q.page ?? 1, perPage: q.per_page ?? 20 },
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
        summary: 'Create Application',
        description:
          'Register an OAuth client. super_admin: any scope; partner_admin: PARTNER (its own) or TENANT (in its ' +
          'partner); tenant_admin: TENANT for its tenant. WEB and SERVICE applications get a `client_secret`, ' +
          'shown in this response only.',
        body: ApplicationCreate,
        response: { 201: SecretEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const created = await applications.create(caller(request), request.body);
      return noStore(reply).code(201).send(ok(request, created));
    },
  );

  app.get(
    `${base}/:app_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Application',
        params: ApplicationParams,
        response: { 200: ApplicationEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await applications.get(request.rights, request.params.app_id)),
  );

  app.patch(
    `${base}/:app_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Update Application',
        description:
          'Lists (redirect_uris, allowed_scopes, ...) are replaced, not merged. Disabling the application ends ' +
          'its tokens at once.',
        params: ApplicationParams,
        body: ApplicationUpdate,
        response: { 200: ApplicationEnvelope, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await applications.update(caller(request), request.params.app_id, request.body)),
  );

  app.delete(
    `${base}/:app_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Delete Application',
        description: 'Soft delete: the client can no longer authenticate and its issued tokens stop working.',
        params: ApplicationParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await applications.remove(caller(request), request.params.app_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:app_id/rotate-secret`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Rotate Application Secret',
        description:
          'Issue a new client secret, shown in this response only; the old one stops working at once. ' +
          'Public applications (SPA, NATIVE) have no secret: 400 PUBLIC_CLIENT.',
        params: ApplicationParams,
        response: { 200: SecretEnvelope, 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const rotated = await applications.rotateSecret(caller(request), request.params.app_id);
      return noStore(reply).send(ok(request, rotated));
    },
  );
};
