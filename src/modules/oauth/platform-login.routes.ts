import type { FastifyInstance, FastifyReply, onRequestHookHandler } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { escapeHtml } from '../../lib/html.js';
import { errorParagraph, htmlPage } from '../../lib/html-page.js';
import { isId } from '../../lib/ids.js';
import type { Db } from '../../platform/db/database.js';
import { htmlPageHeaders } from '../../platform/http.js';
import { tenantIssuer } from '../../platform/issuers.js';
import { createApplicationsRepository } from '../applications/applications.repository.js';

const PLATFORM = { name: 'ScaiKey' };

/**
 * The platform flavour of authorize (platform-notes.md §3): a GLOBAL application sends the user
 * here; the user gives an email address, ScaiKey finds the tenant(s) that have it and continues
 * with that tenant's authorization endpoint (same parameters, plus login_hint).
 */
export async function platformLoginRoutes(
  app: FastifyInstance,
  options: { db: Db; publicUrl: string; rateLimit: onRequestHookHandler },
): Promise<void> {
  const { db } = options;
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_r, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  const path = '/api/v1/platform/oauth/authorize';
  const send = (reply: FastifyReply, status: number, body: string) =>
    htmlPageHeaders(reply)
      .code(status)
      .send(htmlPage(PLATFORM, 'Sign in', body));

  /** The request must come from a GLOBAL application to one of its registered redirect URIs. */
  async function checkClient(query: URLSearchParams): Promise<string | null> {
    const clientId = query.get('client_id') ?? '';
    const redirectUri = query.get('redirect_uri') ?? '';
    const application = isId('application', clientId)
      ? await createApplicationsRepository(db).findUsableClient(clientId)
      : undefined;
    if (application?.scope !== 'GLOBAL') return 'client_id is not a platform (GLOBAL) application.';
    if (!application.redirect_uris.includes(redirectUri))
      return 'redirect_uri is not registered for this application.';
    if (query.get('response_type') !== 'code') return 'response_type must be code.';
    return null;
  }

  function emailForm(query: string, email = '', error?: string) {
    return `${error ? errorParagraph(error) : ''}
<form method="post">
<input type="hidden" name="query" value="${escapeHtml(query)}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(email)}">
<button type="submit">Continue</button>
</form>`;
  }

  app.get(
    path,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Authorize (platform)',
        description:
          'Asks for the email address, finds its tenant and continues at /api/v1/auth/tenants/{slug}/oauth/authorize. ' +
          'Required: response_type=code, client_id (a GLOBAL application), redirect_uri, scope; optional state, nonce, PKCE.',
      },
    },
    async (request, reply) => {
      const query = new URLSearchParams(request.url.split('?')[1] ?? '');
      const problem = await checkClient(query);
      if (problem) return send(reply, 400, errorParagraph(problem));
      return send(reply, 200, emailForm(query.toString(), query.get('login_hint') ?? ''));
    },
  );

  app.post(
    path,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Authorize (platform): email step',
        body: Type.Object({
          query: Type.String({ maxLength: 8192 }),
          email: Type.String({ maxLength: 320 }),
        }),
      },
      onRequest: options.rateLimit,
    },
    async (request, reply) => {
      const { query: raw, email } = request.body as { query: string; email: string };
      const query = new URLSearchParams(raw);
      const problem = await checkClient(query);
      if (problem) return send(reply, 400, errorParagraph(problem));
      const tenants = await db
        .selectFrom('users as u')
        .innerJoin('tenants as t', 't.id', 'u.tenant_id')
        .select(['t.slug', 't.name', 't.branding'])
        .where(sql`lower(u.email)`, '=', email.trim().toLowerCase())
        .where('u.deleted_at', 'is', null)
        .where('t.deleted_at', 'is', null)
        .where('t.status', '=', 'ACTIVE')
        .orderBy('t.name')
        .limit(50)
        .execute();
      const continueAt = (slug: string) => {
        const next = new URLSearchParams(query);
        next.set('login_hint', email.trim());
        return `${tenantIssuer(options.publicUrl, slug)}/oauth/authorize?${next.toString()}`;
      };
      if (tenants.length === 1) return reply.redirect(continueAt((tenants[0] as { slug: string }).slug), 303);
      if (tenants.length === 0) {
        return send(
          reply,
          200,
          emailForm(raw, email, 'No organization was found for this address. Check it and try again.'),
        );
      }
      const links = tenants
        .map((tenant) => {
          const name =
            typeof tenant.branding.display_name === 'string' ? tenant.branding.display_name : tenant.name;
          return `<li><a href="${escapeHtml(continueAt(tenant.slug))}">${escapeHtml(name)}</a></li>`;
        })
        .join('\n');
      return send(
        reply,
        200,
        `<p>This address belongs to several organizations. Choose one:</p><ul>${links}</ul>`,
      );
    },
  );
}
