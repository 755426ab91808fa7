import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import { ok, selfServiceOrigin } from '../../platform/http.js';
import { Envelope, ErrorSchema, ValidationErrorSchema } from '../../platform/schemas.js';
import { findLiveTenant } from '../tenants/index.js';
import type { OwnAccount, ProfileService } from './profile.js';
import {
  ChangePasswordRequest,
  EmailVerificationSent,
  PasswordChanged,
  UpdateProfileRequest,
} from './self-service.schemas.js';
import { UserResponse } from './users.schemas.js';

const tags = ['Profile'];
const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

/**
 * The self-service profile routes (`PATCH /api/v1/me`, `POST /api/v1/me/password`,
 * `POST /api/v1/me/verify-email`), registered in the self-service context, which has already
 * authenticated the caller as a user with their own token (src/contexts/self-service.ts).
 */
export const selfServiceProfileRoutes: FastifyPluginAsyncTypebox<{
  profile: ProfileService;
  db: Db;
}> = async (app, { profile, db }) => {
  /** The caller's account: the token's subject in the token's tenant. */
  async function ownAccount(request: FastifyRequest): Promise<OwnAccount> {
    const { tenantId, subject, grantId } = request.principal;
    const tenant = tenantId ? await findLiveTenant(db, tenantId) : undefined;
    if (!tenant) throw new AppError('NOT_FOUND', 'User not found');
    return {
      tenant,
      userId: subject,
      grantId,
      origin: selfServiceOrigin(request),
    };
  }

  app.patch(
    '/api/v1/me',
    {
      schema: {
        tags,
        summary: 'Update My Profile',
        description:
          'Changes the signed-in user’s own names, phone, locale and time zone, and answers the profile as ' +
          '`GET /api/v1/me`. Email, username, status, organizational unit, groups, roles and custom attributes are ' +
          'an administrator’s: a body naming one is refused with 422 naming the field. Audited `user.updated`.',
        body: UpdateProfileRequest,
        response: {
          200: Envelope(UserResponse, 'ApiResponse_UserResponse_'),
          ...errors,
          422: ValidationErrorSchema,
        },
      },
    },
    async (request) => ok(request, await profile.updateProfile(await ownAccount(request), request.body)),
  );

  app.post(
    '/api/v1/me/password',
    {
      schema: {
        tags,
        summary: 'Change My Password',
        description:
          'Sets a new password, given the current one; the tenant’s password policy and history apply. A wrong ' +
          '`current_password` (400 `INVALID_CURRENT_PASSWORD`) counts as a failed sign-in toward the tenant’s ' +
          'lockout, and the attempt reaching the threshold locks the account (which ends this token too). On ' +
          'success every other sign-in of the user ends: sessions, grants and refresh tokens, all but the sign-in ' +
          'of the calling token. Audited `user.password_changed`.',
        body: ChangePasswordRequest,
        response: {
          200: Envelope(PasswordChanged, 'ApiResponse_PasswordChanged_'),
          400: ErrorSchema,
          ...errors,
          409: ErrorSchema,
          422: ValidationErrorSchema,
        },
      },
    },
    async (request) => ok(request, await profile.changePassword(await ownAccount(request), request.body)),
  );

  app.post(
    '/api/v1/me/verify-email',
    {
      schema: {
        tags,
        summary: 'Send Verification Email',
        description:
          'Mails the signed-in user a link confirming their email address (valid 24 hours, single use; a newer ' +
          'link voids older ones). Opening it shows a confirmation page under ' +
          '`/api/v1/auth/tenants/{tenant_slug}/verify-email`, which sets `email_verified`. An address already ' +
          'verified answers 409 `EMAIL_ALREADY_VERIFIED`; mails per user are rate-limited (429, Retry-After).',
        response: {
          202: Envelope(EmailVerificationSent, 'ApiResponse_EmailVerificationSent_'),
          ...errors,
          409: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(ok(request, await profile.requestEmailVerification(await ownAccount(request)))),
  );
};
