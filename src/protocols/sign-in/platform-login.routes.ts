import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { Type } from 'typebox';
import { escapeHtml } from '../../lib/html.js';
import { findUsableClient, redirectUriAllowed } from '../../modules/applications/index.js';
import { tenantDisplayName, tenantSlugsForEmailDomain } from '../../modules/tenants/index.js';
import { organizationsOfEmail } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import { tenantIssuer } from '../../platform/issuers.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import { HtmlPage } from '../../platform/schemas.js';
import { CsrfField } from '../hosted-pages/hosted-pages.js';
import { AuthorizationParamsSchema, FORM } from '../oauth/oauth.schemas.js';

const PLATFORM = { name: 'ScaiKey' };

/**
 * The platform flavour of authorize (docs/api-decisions.md, "Tokens and authorization"): a GLOBAL application sends the user
 * here and the user gives an email address. An address of a domain that one tenant lists in
 * `settings.email_domains` continues at once with that tenant's authorization endpoint (same
 * parameters, plus login_hint); any other address gets the same answer whether or not it exists,
 * and its owner gets a link for each tenant that has it by mail (docs/security.md).
 */
export async function platformLoginRoutes(
  app: FastifyInstance,
  options: { db: Db; publicUrl: string; mailer: Mailer; rateLimit: onRequestHookHandler },
): Promise<void> {
  const { db } = options;
  const path = '/api/v1/platform/oauth/authorize';
  const config = { pageTitle: 'Sign in', pagesOnly: true };

  /** The request must come from a GLOBAL application to one of its registered redirect URIs. */
  async function checkClient(query: URLSearchParams): Promise<string | null> {
    const clientId = query.get('client_id') ?? '';
    const redirectUri = query.get('redirect_uri') ?? '';
    const application = await findUsableClient(db, clientId);
    if (application?.scope !== 'GLOBAL') return 'client_id is not a platform (GLOBAL) application.';
    if (!redirectUriAllowed(application.application_type, application.redirect_uris, redirectUri))
      return 'redirect_uri is not registered for this application.';
    if (query.get('response_type') !== 'code') return 'response_type must be code.';
    return null;
  }

  /** A request that is not one of a platform application is refused before anything else (400 page). */
  async function refuseUnknownClient(query: URLSearchParams): Promise<void> {
    const problem = await checkClient(query);
    if (problem) throw new AppError('BAD_REQUEST', problem);
  }

  app.get(
    path,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Authorize (platform)',
        description:
          'Asks for the email address and continues at /api/v1/auth/tenants/{slug}/oauth/authorize: at once for a ' +
          "domain in a tenant's settings.email_domains, otherwise through a link mailed to the address. " +
          'Required: response_type=code, client_id (a GLOBAL application), redirect_uri, scope; optional state, nonce, PKCE.',
        documentedQuery: AuthorizationParamsSchema,
        response: {
          200: HtmlPage('The email form'),
          400: HtmlPage('Not a request of a platform application (client_id, redirect_uri, response_type)'),
        },
      },
      config,
    },
    async (request, reply) => {
      const query = new URLSearchParams(request.url.split('?')[1] ?? '');
      await refuseUnknownClient(query);
      return reply.page(200, 'platform-email', PLATFORM, 'Sign in', {
        csrf: reply.generateCsrf(),
        query: query.toString(),
        email: query.get('login_hint') ?? '',
      });
    },
  );

  app.post(
    path,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Authorize (platform): email step',
        description:
          'The email form posted (application/x-www-form-urlencoded; JSON is read the same way). `query` is the ' +
          'query string of the authorization request; `email` any text (an address of no account gets the same answer).',
        consumes: [FORM, 'application/json'],
        body: Type.Object(
          {
            query: Type.String({ maxLength: 8192 }),
            email: Type.String({ maxLength: 320 }),
            csrf: Type.Optional(CsrfField),
          },
          { title: 'PlatformEmailStep' },
        ),
        response: {
          200: HtmlPage('The answer: a link was mailed if the address has an account'),
          303: {
            description: "Continue at the tenant's authorization endpoint (a domain one tenant lists)",
            type: 'null',
          },
          400: HtmlPage('Not a request of a platform application (client_id, redirect_uri, response_type)'),
          429: HtmlPage('Too many requests; retry after the seconds in Retry-After'),
        },
      },
      config,
      onRequest: options.rateLimit,
      // Before the CSRF check (added last by the hosted pages): a request of no platform
      // application is refused as such, with or without a form token.
      preHandler: async (request) =>
        refuseUnknownClient(new URLSearchParams((request.body as { query: string }).query)),
    },
    async (request, reply) => {
      const { query: raw, email: typed } = request.body as { query: string; email: string };
      const query = new URLSearchParams(raw);
      const email = typed.trim();
      const continueAt = (slug: string) => {
        const next = new URLSearchParams(query);
        next.set('login_hint', email);
        return `${tenantIssuer(options.publicUrl, slug)}/oauth/authorize?${next.toString()}`;
      };
      // Home-realm discovery: a domain that exactly one active tenant lists goes straight there.
      const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
      const realms = domain ? await tenantSlugsForEmailDomain(db, domain, 2) : [];
      if (realms.length === 1) return reply.redirect(continueAt(realms[0] as string), 303);

      // Otherwise the same answer for every address (no one learns which tenants hold it); the
      // address's owner gets the organizations it belongs to by mail. The lookup runs after the
      // answer, so that its time says nothing either.
      setImmediate(() => {
        mailOrganizations(email, continueAt).catch((error) =>
          request.log.error({ err: error }, 'mailing the sign-in organizations failed'),
        );
      });
      return reply.page(200, 'notice', PLATFORM, 'Sign in', {
        message: 'If ',
        strong: email,
        after:
          ' has an account, we sent a message to it with a link to continue signing in. Open the link in this browser.',
      });
    },
  );

  /** Mails the owner of `email` a sign-in link for each active tenant where it has an account. */
  async function mailOrganizations(email: string, continueAt: (slug: string) => string): Promise<void> {
    const tenants = await organizationsOfEmail(db, email);
    const first = tenants[0];
    if (!first) return;
    const links = tenants.map((tenant) => ({
      name: tenantDisplayName(tenant),
      url: continueAt(tenant.slug),
    }));
    await options.mailer.enqueue(db, {
      to: first.email,
      subject: 'Continue signing in',
      kind: 'sign_in_organizations',
      tenantId: tenants.length === 1 ? first.id : null,
      text: [
        'Hello,',
        '',
        'Someone (we hope you) started signing in with this address. Continue with your organization:',
        '',
        ...links.map((link) => `${link.name}: ${link.url}`),
        '',
        'If it was not you, ignore this message.',
      ].join('\n'),
      html: [
        '<p>Hello,</p>',
        '<p>Someone (we hope you) started signing in with this address. Continue with your organization:</p>',
        `<ul>${links.map((link) => `<li><a href="${escapeHtml(link.url)}">${escapeHtml(link.name)}</a></li>`).join('')}</ul>`,
        '<p>If it was not you, ignore this message.</p>',
      ].join('\n'),
    });
    void options.mailer.flush();
  }
}
