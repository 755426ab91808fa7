import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { findLiveTenantBySlug, pageBranding } from '../../modules/tenants/index.js';
import { confirmEmailVerification, peekEmailVerification } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { ok } from '../../platform/http.js';
import {
  Envelope,
  ErrorSchema,
  HtmlPage,
  JsonOrHtml,
  ValidationErrorSchema,
} from '../../platform/schemas.js';
import { CsrfField, wantsPage } from '../hosted-pages/hosted-pages.js';

const INVALID_LINK = 'This link is invalid, was already used or has expired. Ask for a new one.';
const TITLE = 'Confirm your email address';

const ConfirmBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 512 }),
    csrf: Type.Optional(CsrfField),
  },
  { additionalProperties: false, title: 'VerifyEmailRequest' },
);

const SlugParams = Type.Object({ tenant_slug: Type.String() });

/**
 * The page behind a mailed email verification link (`POST /api/v1/me/verify-email`). GET shows the
 * address and a button; only the POST uses the link up, so that a mail scanner opening the link
 * confirms nothing. The POST answers a page to a form post, JSON to a JSON client.
 */
export async function verifyEmailRoutes(app: FastifyInstance, { db, work }: { db: Db; work: UnitOfWork }) {
  const path = '/api/v1/auth/tenants/:tenant_slug/verify-email';

  app.get(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Verify email page',
        description:
          'The HTML page a mailed email verification link opens: the address and a button to confirm it.',
        params: SlugParams,
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 512 })) }),
        response: {
          200: HtmlPage('The confirmation form'),
          400: HtmlPage('The link is invalid, used or expired (a page)'),
          404: HtmlPage('No live tenant has this slug (a page)'),
        },
      },
      config: { pageTitle: TITLE },
    },
    async (
      request: FastifyRequest<{ Params: { tenant_slug: string }; Querystring: { token?: string } }>,
      reply,
    ) => {
      const tenant = await findLiveTenantBySlug(db, request.params.tenant_slug);
      if (!tenant) throw new AppError('NOT_FOUND', 'This organization does not exist.');
      const token = request.query.token ?? '';
      const live = token ? await peekEmailVerification(db, tenant, token) : undefined;
      if (!live) throw new AppError('INVALID_TOKEN', INVALID_LINK);
      return reply.page(200, 'verify-email', pageBranding(tenant), TITLE, {
        csrf: reply.generateCsrf(),
        token,
        email: live.email,
      });
    },
  );

  app.post(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Confirm email address with a link token',
        description:
          'Uses a mailed email verification link up and sets `email_verified` of its user (form post from the ' +
          'page, or JSON). Audited `user.email_verified`.',
        params: SlugParams,
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: ConfirmBody,
        response: {
          200: JsonOrHtml(
            'Address confirmed (JSON for a JSON request, else the page)',
            Envelope(
              Type.Object({ user_id: Type.String(), email: Type.String(), email_verified: Type.Boolean() }),
              'ApiResponse_EmailVerified_',
            ),
          ),
          400: JsonOrHtml('The link is invalid, used or expired', ErrorSchema),
          404: JsonOrHtml('No live tenant has this slug', ErrorSchema),
          422: JsonOrHtml('Request validation failed', ValidationErrorSchema),
        },
      },
      config: { pageTitle: TITLE },
    },
    async (
      request: FastifyRequest<{ Params: { tenant_slug: string }; Body: Static<typeof ConfirmBody> }>,
      reply,
    ) => {
      const tenant = await findLiveTenantBySlug(db, request.params.tenant_slug);
      if (!tenant) {
        throw new AppError(
          'NOT_FOUND',
          wantsPage(request) ? 'This organization does not exist.' : 'Tenant not found',
        );
      }
      const confirmed = await confirmEmailVerification(db, work, tenant, request.body.token, {
        ipAddress: request.ip,
        requestId: request.id,
      });
      if (!confirmed) throw new AppError('INVALID_TOKEN', INVALID_LINK);
      if (!wantsPage(request)) return ok(request, confirmed);
      return reply.page(200, 'notice', pageBranding(tenant), 'Email address confirmed', {
        message: 'Your email address is confirmed: ',
        strong: confirmed.email,
        after: '.',
      });
    },
  );
}
