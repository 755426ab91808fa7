import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { findUsableClient } from '../modules/applications/index.js';
import { type MfaService, meMfaRoutes, meWebAuthnRoutes } from '../modules/mfa/index.js';
import { createSessionsService, mySessionsRoutes } from '../modules/sessions/index.js';
import { findLiveTenant } from '../modules/tenants/index.js';
import {
  createProfileService,
  ownProfile,
  selfServiceProfileRoutes,
  UserResponse,
} from '../modules/users/index.js';
import type { TokenVerifier } from '../platform/auth/authenticate.js';
import type { Db } from '../platform/db/database.js';
import { bindTenant } from '../platform/db/tenant-scope.js';
import { AppError, notFound } from '../platform/errors.js';
import type { UnitOfWork } from '../platform/events/unit-of-work.js';
import { ok } from '../platform/http.js';
import type { RateLimits } from '../platform/rate-limit/limits.js';
import { Envelope, ErrorSchema } from '../platform/schemas.js';
import { builtInClientName } from '../protocols/account/account-client.js';

export interface SelfServiceContextOptions {
  db: Db;
  verifier: TokenVerifier;
  work: UnitOfWork;
  publicUrl: string;
  rateLimits: RateLimits;
  mfa: MfaService;
}

/**
 * The self-service context (`/api/v1/me…`): a signed-in user acting on their own account with
 * their own access token. No admin role or admin scope is involved, and nothing here reaches
 * another user: the account is the token's subject in the token's tenant, on a handle bound to
 * that tenant (ADR 0010). An application's token, or a token addressed to another application
 * (token exchange with `audience`), is refused with 403.
 */
export const selfServiceContext: FastifyPluginAsyncTypebox<SelfServiceContextOptions> = async (
  context,
  { db, verifier, work, publicUrl, rateLimits, mfa },
) => {
  context.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
  });
  context.addHook('onRequest', async (request) => {
    request.principal = await verifier.authenticate(request);
    const principal = request.principal;
    if (principal.kind !== 'user' || !principal.tenantId) {
      throw new AppError('FORBIDDEN', 'This endpoint takes a signed-in user’s own access token');
    }
    if (!principal.audience.includes(principal.clientId)) {
      throw new AppError('FORBIDDEN', 'Token is addressed to another application');
    }
  });

  const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

  context.get(
    '/api/v1/me',
    {
      schema: {
        tags: ['Profile'],
        summary: 'Get My Profile',
        description:
          'The signed-in user’s own profile, as the users API shows a user. Needs the user’s own access token (any scope); an application token is refused (403).',
        response: { 200: Envelope(UserResponse, 'ApiResponse_UserResponse_'), ...errors },
      },
    },
    async (request) => {
      const { tenantId, subject } = request.principal;
      const profile = await ownProfile(bindTenant(db, tenantId as string), subject);
      if (!profile) throw notFound('User');
      return ok(request, profile);
    },
  );

  await context.register(selfServiceProfileRoutes, {
    db,
    profile: createProfileService({
      db,
      work,
      publicUrl,
      verificationMails: rateLimits.failures('verifyEmailPerUser'),
    }),
  });
  await context.register(meMfaRoutes, { db, mfa });
  await context.register(meWebAuthnRoutes, { db, mfa });
  await context.register(mySessionsRoutes, {
    sessions: createSessionsService({
      db,
      applicationName: async (clientId) =>
        (await findUsableClient(db, clientId))?.name ?? builtInClientName(clientId),
    }),
    work,
    tenantDb: (tenantId) => bindTenant(db, tenantId),
    partnerOf: async (tenantId) => (await findLiveTenant(db, tenantId))?.partner_id ?? null,
  });
};
