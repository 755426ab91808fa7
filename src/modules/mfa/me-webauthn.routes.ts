import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../platform/db/database.js';
import { noStore, ok } from '../../platform/http.js';
import { Envelope, ErrorSchema, ValidationErrorSchema } from '../../platform/schemas.js';
import { selfServiceAccount } from './me-mfa.routes.js';
import { FactorConfirmed } from './mfa.schemas.js';
import { type MfaService, toFactorView } from './mfa.service.js';
import {
  WebAuthnCreationOptions,
  WebAuthnRegisterRequest,
  WebAuthnRequestOptions,
} from './webauthn.schemas.js';

const tags = ['MFA'];
const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 422: ValidationErrorSchema };

/**
 * Passkey registration of the signed-in user (`/api/v1/me/mfa/webauthn/…`, docs/api-decisions.md
 * "Passkeys"). Removal is `DELETE /api/v1/me/mfa/factors/{factor_id}` (me-mfa.routes.ts).
 */
export const meWebAuthnRoutes: FastifyPluginAsyncTypebox<{ db: Db; mfa: MfaService }> = async (
  app,
  { db, mfa },
) => {
  const account = (request: FastifyRequest) => selfServiceAccount(db, request);

  app.post(
    '/api/v1/me/mfa/webauthn/register/options',
    {
      schema: {
        tags,
        summary: 'Start Passkey Registration',
        description:
          'Creation options for navigator.credentials.create: RP ID = the host of SCAIKEY_PUBLIC_URL, a discoverable credential (resident key required) with user verification, the user’s registered authenticators excluded. The challenge is valid 5 minutes; a new call replaces it. 409 MFA_METHOD_NOT_ALLOWED when the tenant’s `mfa_methods` lacks `webauthn`.',
        response: { 200: Envelope(WebAuthnCreationOptions), 409: ErrorSchema, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, { ...(await mfa.webauthn.registrationOptions(await account(request))) });
    },
  );

  app.post(
    '/api/v1/me/mfa/webauthn/register/verify',
    {
      schema: {
        tags,
        summary: 'Finish Passkey Registration',
        description:
          'Verifies the credential against the open challenge, the origin and the RP ID (user verification required) and stores it as a factor (several passkeys may be registered, one factor per authenticator). With the first factor come ten backup codes, shown once. 400 WEBAUTHN_VERIFICATION_FAILED for a response to another or an expired challenge, another origin, or a bad signature; nothing is stored then.',
        body: WebAuthnRegisterRequest,
        response: { 200: Envelope(FactorConfirmed), 400: ErrorSchema, 409: ErrorSchema, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const done = await mfa.webauthn.register(
        await account(request),
        request.body.response,
        request.body.name,
      );
      return ok(request, { factor: toFactorView(done.factor), backup_codes: done.backup_codes });
    },
  );
  app.post(
    '/api/v1/me/mfa/webauthn/reauthenticate/options',
    {
      schema: {
        tags,
        summary: 'Start Passkey Re-authentication',
        description:
          'Request options for navigator.credentials.get with the user’s passkeys (user verification preferred), to prove presence before a factor change: the assertion goes in the `webauthn` field of `DELETE /api/v1/me/mfa/factors/{factor_id}` instead of a code. The challenge is valid 5 minutes and single use; a new call replaces it. 409 MFA_NOT_ENROLLED without a passkey, MFA_METHOD_NOT_ALLOWED / WEBAUTHN_UNAVAILABLE where passkeys cannot be used.',
        response: { 200: Envelope(WebAuthnRequestOptions), 409: ErrorSchema, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, { ...(await mfa.webauthn.presenceOptions(await account(request))) });
    },
  );
};
