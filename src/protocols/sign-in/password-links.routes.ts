import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { type Static, Type } from 'typebox';
import { revokeUserSessions } from '../../modules/sessions/index.js';
import { findLiveTenantBySlug, pageBranding } from '../../modules/tenants/index.js';
import {
  consumeActionToken,
  findAccount,
  passwordChange,
  peekActionToken,
  updateAccount,
} from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { AppError, RequestValidationError } from '../../platform/errors.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import { ok } from '../../platform/http.js';
import type { Invalidation } from '../../platform/invalidation.js';
import {
  Envelope,
  ErrorSchema,
  HtmlPage,
  JsonOrHtml,
  ValidationErrorSchema,
} from '../../platform/schemas.js';
import { CsrfField } from '../hosted-pages/hosted-pages.js';

const INVALID_LINK = 'This link is invalid, was already used or has expired. Ask for a new one.';

const SetPasswordBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 512 }),
    new_password: Type.String({ minLength: 1, maxLength: 1024 }),
    confirm_password: Type.Optional(Type.String({ maxLength: 1024 })),
    csrf: Type.Optional(CsrfField),
  },
  { additionalProperties: false, title: 'SetPasswordRequest' },
);

/**
 * The pages behind mailed links (invitation and password reset): GET shows a form, POST sets the
 * password (form post from the page, or JSON from a client of its own). The token is single-use.
 */
export async function passwordLinkRoutes(
  app: FastifyInstance,
  { db, invalidation, rateLimit }: { db: Db; invalidation: Invalidation; rateLimit: onRequestHookHandler },
) {
  /** The set-password form, again with a message when `error` is given. */
  const form = (
    reply: FastifyReply,
    status: number,
    tenant: TenantRow,
    title: string,
    token: string,
    error?: string,
  ) =>
    reply.page(status, 'set-password', pageBranding(tenant), title, {
      csrf: reply.generateCsrf(),
      token,
      error,
    });

  const path = '/api/v1/auth/tenants/:tenant_slug/reset-password';
  const findTenant = (slug: string) => findLiveTenantBySlug(db, slug);

  app.get(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Set password page',
        description: 'The HTML page a mailed invitation or password-reset link opens.',
        params: Type.Object({ tenant_slug: Type.String() }),
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 512 })) }),
        response: {
          200: HtmlPage('The set-password form'),
          400: HtmlPage('The link is invalid, used or expired (a page)'),
          404: HtmlPage('No live tenant has this slug (a page)'),
        },
      },
      config: { pageTitle: 'Link not valid' },
    },
    async (
      request: FastifyRequest<{ Params: { tenant_slug: string }; Querystring: { token?: string } }>,
      reply,
    ) => {
      const tenant = (await findTenant(request.params.tenant_slug)) ?? null;
      const token = request.query.token ?? '';
      const live = tenant && token ? await peekActionToken(db, tenant.id, token) : undefined;
      if (!tenant || !live) throw new AppError(tenant ? 'INVALID_TOKEN' : 'NOT_FOUND', INVALID_LINK);
      const title = live.purpose === 'INVITATION' ? 'Choose your password' : 'Choose a new password';
      return form(reply, 200, tenant, title, token);
    },
  );

  app.post(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Set password with a link token',
        description:
          'Sets the password of the user a mailed link belongs to (form post from the page, or JSON). An invitation ' +
          'activates the account.',
        params: Type.Object({ tenant_slug: Type.String() }),
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: SetPasswordBody,
        response: {
          200: JsonOrHtml(
            'Password set (JSON for a JSON request, else the page)',
            Envelope(Type.Object({ user_id: Type.String(), status: Type.String() })),
          ),
          400: JsonOrHtml(
            'The link is invalid, used or expired, or the password breaks the policy',
            ErrorSchema,
          ),
          404: JsonOrHtml('No live tenant has this slug', ErrorSchema),
          422: JsonOrHtml(
            'Request validation failed (the passwords differ, a field is missing)',
            ValidationErrorSchema,
          ),
          429: JsonOrHtml('Too many requests; retry after the seconds in Retry-After', ErrorSchema),
        },
      },
      config: { pageTitle: 'Choose a new password' },
      onRequest: rateLimit,
    },
    async (
      request: FastifyRequest<{ Params: { tenant_slug: string }; Body: Static<typeof SetPasswordBody> }>,
      reply,
    ) => {
      const html = !String(request.headers['content-type'] ?? '').includes('json');
      const tenant = (await findTenant(request.params.tenant_slug)) ?? null;
      const { token, new_password, confirm_password } = request.body;
      try {
        if (!tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
        if (confirm_password !== undefined && confirm_password !== new_password) {
          throw new RequestValidationError([
            { loc: ['body', 'confirm_password'], msg: 'The two passwords differ', type: 'value_error' },
          ]);
        }
        const live = await peekActionToken(db, tenant.id, token);
        const user = live ? await findAccount(db, tenant.id, live.user_id) : undefined;
        if (!live || !user) throw new AppError('INVALID_TOKEN', INVALID_LINK);
        // Hash outside the transaction; the token is used up only when the password is acceptable.
        const change = await passwordChange(tenant.settings, new_password, user);
        const result = await db.transaction().execute(async (trx) => {
          const used = await consumeActionToken(trx, tenant.id, token);
          if (!used) throw new AppError('INVALID_TOKEN', INVALID_LINK);
          const activates = used.purpose === 'INVITATION' && user.status === 'PENDING_EMAIL_VERIFICATION';
          await updateAccount(trx, tenant.id, user.id, {
            ...change,
            email_verified: true,
            require_password_change: false,
            failed_login_attempts: 0,
            ...(activates ? { status: 'ACTIVE' } : {}),
          });
          // A new password ends every session and refresh token made with the old one.
          const sessionsRevoked = await revokeUserSessions(trx, user.id);
          await recordAudit(
            trx,
            { actorType: 'user', actorId: user.id, ipAddress: request.ip, requestId: request.id },
            {
              action: 'user.password_changed',
              resourceType: 'user',
              resourceId: user.id,
              tenantId: tenant.id,
              partnerId: tenant.partner_id,
              after: {
                method: used.purpose === 'INVITATION' ? 'INVITATION_LINK' : 'RESET_LINK',
                activated: activates,
                sessions_revoked: sessionsRevoked,
              },
            },
          );
          await invalidation.publish(trx, `user:${user.id}`);
          return {
            user_id: user.id,
            status: activates ? 'ACTIVE' : user.status,
            redirect: used.redirect_uri,
          };
        });
        invalidation.local(`user:${user.id}`);
        if (!html) return ok(request, { user_id: result.user_id, status: result.status });
        return reply.page(200, 'notice', pageBranding(tenant), 'Password set', {
          message: 'Your password was set.',
          link: result.redirect ? { href: result.redirect, text: 'Continue' } : undefined,
        });
      } catch (error) {
        if (!html) throw error;
        const message =
          error instanceof AppError
            ? error.detail
            : error instanceof RequestValidationError
              ? (error.issues[0]?.msg ?? 'Invalid input')
              : null;
        if (message === null) throw error;
        const status = error instanceof AppError ? error.status : 422;
        // An invalid link or an unknown tenant: the error page; a refused password: the form again.
        if (!tenant || (error instanceof AppError && error.code === 'INVALID_TOKEN')) throw error;
        return form(reply, status, tenant, 'Choose a new password', token, message);
      }
    },
  );
}
