import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { escapeHtml } from '../../lib/html.js';
import { errorParagraph, htmlPage } from '../../lib/html-page.js';
import { findUsableClient, isUserAssigned } from '../../modules/applications/index.js';
import { pageBranding } from '../../modules/tenants/index.js';
import { findAccount, passwordChange, updateAccount } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import { htmlPageHeaders } from '../../platform/http.js';
import type { Invalidation } from '../../platform/invalidation.js';
import { HtmlPage, pageFormErrors } from '../../platform/schemas.js';
import type { MountedProvider, OidcProviders } from '../oauth/providers.js';
import type { SignInRateLimits } from '../oauth/rate-limits.js';
import { checkPassword } from './login.js';

const SlugUid = Type.Object({ tenant_slug: Type.String(), uid: Type.String({ maxLength: 64 }) });
type Params = { tenant_slug: string; uid: string };
const CHANGE_WINDOW_MS = 10 * 60_000;

// What the document shows of the pages (their forms are read by the handlers, which answer a
// wrong field on the page itself: the bodies are documented, not validated by the schema).
const Redirect = { description: 'Back into the authorization flow (Location)', type: 'null' } as const;
const NotValidHere = HtmlPage('The sign-in attempt expired or belongs to another browser (a page)');
const NoTenant = HtmlPage('No live tenant has this slug (a page)');
const LoginForm = Type.Object(
  { email: Type.String(), password: Type.String(), csrf: Type.String({ description: 'From the page' }) },
  { title: 'SignInForm' },
);
const PasswordChangeForm = Type.Object(
  {
    user: Type.String({ description: 'From the page' }),
    expires: Type.String({ description: 'From the page' }),
    proof: Type.String({ description: 'From the page' }),
    new_password: Type.String(),
    confirm_password: Type.String(),
  },
  { title: 'RequiredPasswordChangeForm' },
);
const FORM = 'application/x-www-form-urlencoded';

/**
 * The hosted sign-in pages of a tenant (oidc-provider interactions): email and password, then a
 * change-password step when the account requires one. Every form carries a CSRF token bound to
 * the interaction (HMAC with the instance's cookie key); the interaction cookie is SameSite=Lax.
 */
export async function interactionRoutes(
  app: FastifyInstance,
  options: {
    db: Db;
    providers: OidcProviders;
    invalidation: Invalidation;
    secret: string;
    rateLimits: SignInRateLimits;
  },
): Promise<void> {
  const { db, providers } = options;
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_r, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  const sign = (...parts: string[]) =>
    createHmac('sha256', options.secret).update(parts.join('\u0000')).digest('base64url');
  const sameSignature = (given: unknown, expected: string) =>
    typeof given === 'string' &&
    given.length === expected.length &&
    timingSafeEqual(Buffer.from(given), Buffer.from(expected));

  const page = (tenant: TenantRow, title: string, body: string) =>
    htmlPage(pageBranding(tenant), title, body);

  /** The tenant's "Forgot password?" page (users/forgot-password.routes.ts), with a way back here. */
  const forgotPasswordUrl = (action: string, uid: string) =>
    `${action.slice(0, action.lastIndexOf('/interaction/'))}/forgot-password?interaction=${encodeURIComponent(uid)}`;

  function loginForm(action: string, uid: string, email: string, error?: string) {
    return `${error ? errorParagraph(error) : ''}
<form method="post" action="${escapeHtml(action)}/login">
<input type="hidden" name="csrf" value="${sign(uid, 'login')}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}" ${email ? '' : 'autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required ${email ? 'autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<p class="note"><a href="${escapeHtml(forgotPasswordUrl(action, uid))}">Forgot password?</a></p>`;
  }

  function changeForm(action: string, uid: string, userId: string, error?: string) {
    const expires = String(Date.now() + CHANGE_WINDOW_MS);
    return `${error ? errorParagraph(error) : '<p>You must choose a new password before you continue.</p>'}
<form method="post" action="${escapeHtml(action)}/password">
<input type="hidden" name="user" value="${escapeHtml(userId)}">
<input type="hidden" name="expires" value="${expires}">
<input type="hidden" name="proof" value="${sign(uid, userId, expires, 'change')}">
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required autofocus>
<label for="confirm_password">Repeat the new password</label>
<input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>
<button type="submit">Change password and continue</button>
</form>`;
  }

  async function interaction(request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const mounted = await providers.forSlug(request.params.tenant_slug);
    if (!mounted?.tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
    try {
      const details = await mounted.provider.interactionDetails(request.raw, reply.raw);
      if (details.uid !== request.params.uid) throw new Error('interaction mismatch');
      return { mounted, tenant: mounted.tenant, details };
    } catch {
      throw new AppError(
        'BAD_REQUEST',
        'This sign-in attempt has expired or is not valid in this browser. Start again from the application.',
      );
    }
  }

  /** Finishes the interaction and sends the browser back into the authorization flow. */
  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    mounted: MountedProvider,
    result: Record<string, unknown>,
  ) {
    const returnTo = await mounted.provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: false,
    });
    return reply.redirect(returnTo, 303);
  }

  function sendPage(reply: FastifyReply, status: number, html: string) {
    return htmlPageHeaders(reply).code(status).send(html);
  }

  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof AppError) {
      const mounted = await providers.forSlug((request.params as Params).tenant_slug).catch(() => null);
      return sendPage(
        reply,
        error.status,
        htmlPage(pageBranding(mounted?.tenant ?? null), 'Sign-in problem', errorParagraph(error.detail)),
      );
    }
    throw error;
  });

  const base = '/api/v1/auth/tenants/:tenant_slug/interaction/:uid';
  /** Absolute form targets: the pages live at several depths under the interaction. */
  const formAction = (mounted: MountedProvider, uid: string) =>
    `${mounted.mountPath}/interaction/${encodeURIComponent(uid)}`;

  app.get<{ Params: Params }>(
    base,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Sign-in page',
        params: SlugUid,
        response: { 200: HtmlPage('The sign-in form'), 303: Redirect, 400: NotValidHere, 404: NoTenant },
      },
    },
    async (request, reply) => {
      const { mounted, tenant, details } = await interaction(request, reply);
      const uid = request.params.uid;
      if (details.prompt.name === 'consent') {
        // Consent is implied for first-party applications: grant what is missing and continue.
        const { Grant } = mounted.provider;
        const grant =
          (details.grantId ? await Grant.find(details.grantId) : undefined) ??
          new Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
        const missing = details.prompt.details as {
          missingOIDCScope?: string[];
          missingOIDCClaims?: string[];
          missingResourceScopes?: Record<string, string[]>;
        };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          grant.addResourceScope(resource, scopes.join(' '));
        }
        return finish(request, reply, mounted, { consent: { grantId: await grant.save() } });
      }
      if (details.prompt.name !== 'login') return finish(request, reply, mounted, {});
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      return sendPage(reply, 200, page(tenant, 'Sign in', loginForm(formAction(mounted, uid), uid, hint)));
    },
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/login`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Sign in with email and password',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: LoginForm,
        response: {
          200: HtmlPage('The password must be changed first: the change form'),
          303: Redirect,
          400: NotValidHere,
          401: HtmlPage('Wrong email or password: the form again, with the message'),
          403: HtmlPage('The form expired (CSRF token): the form again'),
          404: NoTenant,
          ...pageFormErrors,
          429: HtmlPage('Too many sign-in attempts; retry after the seconds in Retry-After (a page)'),
        },
      },
      onRequest: options.rateLimits.onRequest,
      preHandler: options.rateLimits.preHandler,
      onResponse: options.rateLimits.onResponse,
    },
    async (request, reply) => {
      const { mounted, tenant, details } = await interaction(request, reply);
      const body = request.body ?? {};
      const uid = request.params.uid;
      if (!sameSignature(body.csrf, sign(uid, 'login'))) {
        return sendPage(
          reply,
          403,
          page(
            tenant,
            'Sign in',
            loginForm(
              formAction(mounted, uid),
              uid,
              body.email ?? '',
              'The form expired. Please sign in again.',
            ),
          ),
        );
      }
      const email = String(body.email ?? '');
      const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : null;
      const result = await checkPassword(
        db,
        tenant,
        email,
        String(body.password ?? ''),
        { actorType: 'user', actorId: null, ipAddress: request.ip, requestId: request.id },
        clientId,
        options.invalidation,
      );
      if (!result.ok)
        return sendPage(
          reply,
          401,
          page(tenant, 'Sign in', loginForm(formAction(mounted, uid), uid, email, result.message)),
        );

      const application = clientId ? await findUsableClient(db, clientId) : undefined;
      if (
        application?.assignment_required &&
        !(await isUserAssigned(db, tenant.id, application.id, result.user.id))
      ) {
        await recordAudit(
          db,
          { actorType: 'user', actorId: result.user.id, ipAddress: request.ip, requestId: request.id },
          {
            action: 'user.login_failed',
            resourceType: 'user',
            resourceId: result.user.id,
            tenantId: tenant.id,
            partnerId: tenant.partner_id,
            after: { reason: 'not assigned to the application', client_id: clientId },
            result: 'FAILURE',
          },
        );
        return finish(request, reply, mounted, {
          error: 'access_denied',
          error_description: 'The user is not assigned to this application',
        });
      }
      if (result.mustChangePassword) {
        return sendPage(
          reply,
          200,
          page(tenant, 'Choose a new password', changeForm(formAction(mounted, uid), uid, result.user.id)),
        );
      }
      return finish(request, reply, mounted, { login: { accountId: result.user.id, amr: ['pwd'] } });
    },
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/password`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Change a required password during sign-in',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: PasswordChangeForm,
        response: {
          303: Redirect,
          400: HtmlPage(
            'The form expired, the passwords differ or break the policy: the form again (a page)',
          ),
          404: NoTenant,
          ...pageFormErrors,
        },
      },
    },
    async (request, reply) => {
      const { mounted, tenant } = await interaction(request, reply);
      const body = request.body ?? {};
      const uid = request.params.uid;
      const userId = String(body.user ?? '');
      const expires = String(body.expires ?? '');
      if (!sameSignature(body.proof, sign(uid, userId, expires, 'change')) || Number(expires) < Date.now()) {
        throw new AppError('BAD_REQUEST', 'The form expired. Start again from the application.');
      }
      const user = await findAccount(db, tenant.id, userId);
      if (user?.status !== 'ACTIVE') throw new AppError('BAD_REQUEST', 'This account cannot sign in.');
      if (body.new_password !== body.confirm_password) {
        return sendPage(
          reply,
          400,
          page(
            tenant,
            'Choose a new password',
            changeForm(formAction(mounted, uid), uid, userId, 'The two passwords differ.'),
          ),
        );
      }
      let change: Awaited<ReturnType<typeof passwordChange>>;
      try {
        change = await passwordChange(tenant.settings, String(body.new_password ?? ''), user);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return sendPage(
          reply,
          400,
          page(
            tenant,
            'Choose a new password',
            changeForm(formAction(mounted, uid), uid, userId, error.detail),
          ),
        );
      }
      await db.transaction().execute(async (trx) => {
        await updateAccount(trx, tenant.id, userId, {
          ...change,
          require_password_change: false,
        });
        await recordAudit(
          trx,
          { actorType: 'user', actorId: userId, ipAddress: request.ip, requestId: request.id },
          {
            action: 'user.password_changed',
            resourceType: 'user',
            resourceId: userId,
            tenantId: tenant.id,
            partnerId: tenant.partner_id,
            after: { method: 'SIGN_IN_REQUIRED_CHANGE' },
          },
        );
      });
      return finish(request, reply, mounted, { login: { accountId: userId, amr: ['pwd'] } });
    },
  );
}
