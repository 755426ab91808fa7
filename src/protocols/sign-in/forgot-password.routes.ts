import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { findActiveTenantBySlug, pageBranding } from '../../modules/tenants/index.js';
import {
  findAccountByEmail,
  issueActionToken,
  localPasswordAllowed,
  passwordLink,
  passwordResetMail,
} from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import { type AuditOrigin, recordAudit } from '../../platform/events/audit-log.js';
import { ok } from '../../platform/http.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import { describeWait, hashedSubject, type RateLimits } from '../../platform/rate-limit/limits.js';
import { Envelope, ErrorSchema, ValidationErrorSchema } from '../../platform/schemas.js';
import { CsrfField, wantsPage } from '../hosted-pages/hosted-pages.js';

const UID = /^[A-Za-z0-9_-]{1,64}$/;
const ANSWER =
  'If this address has an account here, we sent it a link to choose a new password. The link works for one hour.';

const ForgotPasswordBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320, description: 'The address of the account' }),
    interaction: Type.Optional(
      Type.String({
        pattern: UID.source,
        description: 'The sign-in the page was opened from (its "Back to sign-in" link)',
      }),
    ),
    csrf: Type.Optional(CsrfField),
  },
  { additionalProperties: false, title: 'ForgotPasswordRequest' },
);
type ForgotPasswordBody = Static<typeof ForgotPasswordBody>;

const SlugParams = Type.Object({ tenant_slug: Type.String() });

/**
 * "Forgot password?" of the hosted sign-in: a page asking for the email address, and its POST
 * (form from the page, or JSON). Every address gets the same answer, at once; the lookup and the
 * mail happen after it, so that neither the answer nor its time says whether an account exists
 * (docs/security.md). An ACTIVE or LOCKED account gets a PASSWORD_RESET link (one hour, a newer
 * one voids older ones), the same link as an administrator's EMAIL reset, opening the
 * set-password page (password-links.routes.ts). Requesting a link ends no session: anyone may
 * ask for any address; the link's use does. Limited per IP and per address (mail flooding).
 */
export async function forgotPasswordRoutes(
  app: FastifyInstance,
  options: { db: Db; mailer: Mailer; publicUrl: string; rateLimits: RateLimits },
): Promise<void> {
  const { db, mailer, publicUrl } = options;
  const perIp = options.rateLimits.perIp('forgotPasswordPerIp');
  const perAddress = options.rateLimits.failures('forgotPasswordPerAddress');

  const path = '/api/v1/auth/tenants/:tenant_slug/forgot-password';
  const activeTenant = (slug: string) => findActiveTenantBySlug(db, slug);

  const TITLE = 'Reset your password';
  const config = { pageTitle: TITLE };

  /** The sign-in page the form was opened from, when it names one. */
  function backUrl(tenant: TenantRow, interaction: string | undefined): string | undefined {
    if (!interaction || !UID.test(interaction)) return undefined;
    const base = new URL(publicUrl).pathname.replace(/\/+$/, '');
    return `${base}/api/v1/auth/tenants/${encodeURIComponent(tenant.slug)}/interaction/${interaction}`;
  }

  function form(reply: FastifyReply, tenant: TenantRow, interaction: string | undefined) {
    return reply.page(200, 'forgot-password', pageBranding(tenant), TITLE, {
      csrf: reply.generateCsrf(),
      interaction: interaction && UID.test(interaction) ? interaction : undefined,
      email: '',
      backUrl: backUrl(tenant, interaction),
    });
  }

  function refuse(reply: FastifyReply, seconds: number): never {
    const message = `Too many requests. Wait ${describeWait(seconds)}, then try again.`;
    reply.header('retry-after', String(seconds));
    throw new AppError('RATE_LIMITED', message, { 'retry-after': String(seconds) });
  }

  app.get(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Forgot password page',
        description:
          'The HTML page behind "Forgot password?" on the sign-in page: asks for the email address of the account.',
        params: SlugParams,
        querystring: Type.Object({
          interaction: Type.Optional(Type.String({ maxLength: 64 })),
        }),
      },
      config,
    },
    async (
      request: FastifyRequest<{ Params: { tenant_slug: string }; Querystring: { interaction?: string } }>,
      reply,
    ) => {
      const tenant = await activeTenant(request.params.tenant_slug);
      if (!tenant) throw new AppError('NOT_FOUND', 'This organization does not exist.');
      return form(reply, tenant, request.query.interaction);
    },
  );

  app.post<{ Params: { tenant_slug: string }; Body: ForgotPasswordBody }>(
    path,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Request a password reset link',
        description:
          'Mails a link to choose a new password to the address when it has an account in the tenant (ACTIVE or ' +
          'LOCKED). The answer is the same for every address. A form post answers with the HTML page.',
        params: SlugParams,
        body: ForgotPasswordBody,
        response: {
          202: Envelope(Type.Object({ message: Type.String() }), 'ForgotPasswordResponse'),
          404: ErrorSchema,
          422: ValidationErrorSchema,
          429: ErrorSchema,
        },
      },
      config,
      onRequest: async (request, reply) => {
        const wait = await perIp(request);
        if (wait === 0) return;
        const tenant = await activeTenant((request.params as { tenant_slug: string }).tenant_slug);
        if (!tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
        return refuse(reply, wait);
      },
    },
    async (request: FastifyRequest<{ Params: { tenant_slug: string }; Body: ForgotPasswordBody }>, reply) => {
      const html = wantsPage(request);
      const tenant = await activeTenant(request.params.tenant_slug);
      if (!tenant) {
        throw new AppError('NOT_FOUND', html ? 'This organization does not exist.' : 'Tenant not found');
      }
      const email = request.body.email.trim();
      const wait = await perAddress.count(hashedSubject(tenant.id, email.toLowerCase()));
      if (wait > 0) return refuse(reply, wait);

      const origin: AuditOrigin = {
        actorType: 'user',
        actorId: null,
        ipAddress: request.ip,
        requestId: request.id,
      };
      // After the answer: its time must not depend on whether the address has an account.
      setImmediate(() => {
        mailResetLink(tenant, email, origin).catch((error) =>
          request.log.error({ err: error }, 'mailing a password reset link failed'),
        );
      });
      if (!html) return reply.code(202).send(ok(request, { message: ANSWER }));
      const back = backUrl(tenant, request.body.interaction);
      return reply.page(200, 'notice', pageBranding(tenant), TITLE, {
        message: ANSWER,
        link: back ? { href: back, text: 'Back to sign-in' } : undefined,
      });
    },
  );

  /** Issues a reset link to the account of `email` in `tenant`, if it has one that may use it. */
  async function mailResetLink(tenant: TenantRow, email: string, origin: AuditOrigin): Promise<void> {
    const mailed = await db.transaction().execute(async (trx) => {
      const user = await findAccountByEmail(trx, tenant.id, email);
      if (user?.status !== 'ACTIVE' && user?.status !== 'LOCKED') return false;
      // A user of an identity provider resets its password there, unless the tenant allows local ones.
      if (!localPasswordAllowed(tenant.settings, user)) return false;
      const issued = await issueActionToken(trx, tenant.id, user.id, 'PASSWORD_RESET');
      await mailer.enqueue(
        trx,
        passwordResetMail(tenant, user, passwordLink(publicUrl, tenant, issued.token), issued.expiresAt),
      );
      await recordAudit(
        trx,
        { ...origin, actorType: 'user', actorId: user.id },
        {
          action: 'user.password_reset_requested',
          resourceType: 'user',
          resourceId: user.id,
          tenantId: tenant.id,
          partnerId: tenant.partner_id,
          after: { method: 'SELF_SERVICE', expires_at: issued.expiresAt.toISOString() },
        },
      );
      return true;
    });
    if (mailed) void mailer.flush();
  }
}
