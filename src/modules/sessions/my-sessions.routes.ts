import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { notFound } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { ok, selfServiceOrigin } from '../../platform/http.js';
import { Envelope, ErrorSchema, ValidationErrorSchema } from '../../platform/schemas.js';
import { AuthorizedApp, AuthorizedAppRevoked, MySessionResponse } from './sessions.schemas.js';
import type { SessionPlace, SessionsService, TenantWorkRunner } from './sessions.service.js';

export interface MySessionsRoutesOptions {
  sessions: SessionsService;
  work: UnitOfWork;
  /** The tenant-bound handle of a tenant (the self-service context's). */
  tenantDb(tenantId: string): TenantQueryable;
  /** The partner of a live tenant (audit entries name it), or null when the tenant is gone. */
  partnerOf(tenantId: string): Promise<string | null>;
}

const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 422: ValidationErrorSchema };

/**
 * A signed-in user's own sessions and the applications they authorized (self-service context:
 * the user is the token's subject in the token's tenant; nothing here reaches another user).
 */
export const mySessionsRoutes: FastifyPluginAsyncTypebox<MySessionsRoutesOptions> = async (
  app,
  { sessions, work, tenantDb, partnerOf },
) => {
  /** The user, where changes happen, and the unit of work in the user's tenant. */
  const own = async (request: FastifyRequest) => {
    const { tenantId, subject } = request.principal;
    const tenant = tenantId as string;
    const partnerId = await partnerOf(tenant);
    if (partnerId === null) throw notFound('User');
    const place: SessionPlace = { tenantId: tenant, partnerId };
    const origin = selfServiceOrigin(request);
    const run: TenantWorkRunner = (body) => work.inTenant(tenant, origin, body);
    return { userId: subject, place, run };
  };

  app.get(
    '/api/v1/me/sessions',
    {
      schema: {
        tags: ['Sessions'],
        summary: 'List My Sessions',
        description:
          'The signed-in user’s live sessions (browsers signed in), most recently active first; `current` marks the session this access token came from.',
        response: { 200: Envelope(Type.Array(MySessionResponse)), ...errors },
      },
    },
    async (request) => {
      const { tenantId, subject, grantId } = request.principal;
      return ok(request, await sessions.mine(tenantDb(tenantId as string), subject, grantId));
    },
  );

  app.delete(
    '/api/v1/me/sessions/:session_id',
    {
      schema: {
        tags: ['Sessions'],
        summary: 'Revoke My Session',
        description:
          'Ends one of the user’s own sessions at once (the browser, the applications signed in through it, their refresh and access tokens). Another user’s session is a 404.',
        params: Type.Object({ session_id: Type.String() }),
        response: { 204: Type.Null({ description: 'Revoked' }), ...errors },
      },
    },
    async (request, reply) => {
      const { userId, place, run } = await own(request);
      await sessions.revokeMine(run, place, userId, request.params.session_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/me/authorized-apps',
    {
      schema: {
        tags: ['Authorized Apps'],
        summary: 'List My Authorized Apps',
        description:
          'The applications the signed-in user has a live grant with, most recently authorized first.',
        response: { 200: Envelope(Type.Array(AuthorizedApp)), ...errors },
      },
    },
    async (request) => ok(request, await sessions.authorizedApps(request.principal.subject)),
  );

  app.delete(
    '/api/v1/me/authorized-apps/:client_id',
    {
      schema: {
        tags: ['Authorized Apps'],
        summary: 'Revoke My Authorized App',
        description:
          'Withdraws the application’s authorization: every grant of the user with it ends, with its refresh and access tokens. 404 when there is none.',
        params: Type.Object({ client_id: Type.String() }),
        response: { 200: Envelope(AuthorizedAppRevoked), ...errors },
      },
    },
    async (request) => {
      const { userId, place, run } = await own(request);
      return ok(request, await sessions.revokeAuthorizedApp(run, place, userId, request.params.client_id));
    },
  );
};
