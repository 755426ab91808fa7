import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { notFound, RequestValidationError } from '../../platform/errors.js';
import { ok, paged } from '../../platform/http.js';
import { Envelope, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access, type TenantScope } from '../../platform/tenancy.js';
import {
  AdminSessionListQuery,
  SessionResponse,
  SessionRevokeAll,
  SessionRevokeAllResult,
} from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';

const tags = ['Sessions'];
const base = '/api/v1/admin/sessions';
const SessionParams = Type.Object({ session_id: Type.String() });

export interface SessionsRoutesOptions {
  sessions: SessionsService;
  /** The tenant of a live user by id alone (404 User when there is none; the users module's). */
  tenantOfUser(userId: string): Promise<string>;
}

/** The Sessions API of the admin API (docs/openapi.json, tag Sessions), across the tenants the caller may see. */
export const sessionsRoutes: FastifyPluginAsyncTypebox<SessionsRoutesOptions> = async (
  app,
  { sessions, tenantOfUser },
) => {
  /** The scope of the addressed session's tenant: 404 Session when the caller may not see it (as when absent). */
  const sessionScope = async (
    request: FastifyRequest & { params: { session_id: string } },
  ): Promise<TenantScope> =>
    request.scopeForTenant(await sessions.tenantOfSession(request.params.session_id), 'Session');

  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Sessions',
        description:
          'Live sign-in sessions, most recently active first, in the tenants the caller may see (partner_id: all tenants of the partner).',
        querystring: AdminSessionListQuery,
        response: { 200: PaginatedEnvelope(SessionResponse), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await sessions.adminList(request.rights, request.query, { page, perPage: per_page });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/revoke-all`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Revoke All Sessions',
        description:
          'Ends every live session of a user (`user_id`; also the grants and refresh tokens the user still holds from ended sessions) or of every user of a tenant (`tenant_id`; the sessions of users holding an admin role as high as the caller’s are left alone). With both, the user must belong to the tenant.',
        body: SessionRevokeAll,
        response: { 200: Envelope(SessionRevokeAllResult), ...managementErrors },
      },
    },
    async (request) => {
      const { user_id: userId, tenant_id: tenantId } = request.body;
      if (userId === undefined && tenantId === undefined) {
        throw new RequestValidationError([
          { loc: ['body', 'user_id'], msg: 'Give user_id or tenant_id', type: 'missing' },
        ]);
      }
      let scope: TenantScope;
      if (userId !== undefined) {
        const tenantOfTheUser = await tenantOfUser(userId);
        if (tenantId !== undefined && tenantId !== tenantOfTheUser) throw notFound('User');
        scope = await request.scopeForTenant(tenantOfTheUser, 'User');
      } else {
        scope = await request.scopeForTenant(tenantId as string);
      }
      const revoked = await sessions.revokeAll(scope, userId ?? null);
      return ok(request, { sessions_revoked: revoked });
    },
  );

  app.get(
    `${base}/:session_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Session',
        params: SessionParams,
        response: { 200: Envelope(SessionResponse, 'ApiResponse_SessionResponse_'), ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await sessions.get(await sessionScope(request), request.params.session_id)),
  );

  app.delete(
    `${base}/:session_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Revoke Session',
        description:
          'Ends the session at once: the browser’s session, the grants of the applications signed in through it, their refresh tokens and access tokens.',
        params: SessionParams,
        response: { 204: Type.Null({ description: 'Revoked' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await sessions.revoke(await sessionScope(request), request.params.session_id);
      return reply.code(204).send(null);
    },
  );
};
