import type { FastifyInstance } from 'fastify';
import { escapeHtml } from '../../lib/html.js';
import { htmlPage } from '../../lib/html-page.js';
import { htmlPageHeaders } from '../../platform/http.js';
import { platformIssuer } from '../../platform/issuers.js';

/**
 * `GET /`: a small page for whoever opens the server's address in a browser (a new operator
 * after `npm start`): where the admin console, the API reference, the OpenAPI document and the
 * discovery documents are.
 */
export async function homeRoutes(app: FastifyInstance, { publicUrl }: { publicUrl: string }): Promise<void> {
  const issuer = platformIssuer(publicUrl);
  const links: [string, string, string][] = [
    [`${publicUrl}/console/`, 'Admin console', 'manage partners, tenants, users and applications'],
    [`${publicUrl}/docs`, 'API reference', 'every management and OAuth endpoint, with a token button'],
    [`${publicUrl}/openapi.json`, 'OpenAPI document', 'for generated clients'],
    [`${issuer}/.well-known/openid-configuration`, 'Platform OpenID configuration', 'issuer and endpoints'],
    [
      `${publicUrl}/api/v1/platform/.well-known/jwks.json`,
      'JSON Web Key Set',
      'the keys tokens are signed with',
    ],
    [`${publicUrl}/readyz`, 'Readiness', 'answers once the database does'],
  ];
  const list = links
    .map(
      ([href, label, note]) =>
        `<li><a href="${escapeHtml(href)}">${escapeHtml(label)}</a> — ${escapeHtml(note)}</li>`,
    )
    .join('\n');
  const page = htmlPage(
    { name: 'ScaiKey' },
    'ScaiKey is running',
    `<p>An identity provider and directory service. Tenants sign in at
<code>${escapeHtml(publicUrl)}/api/v1/auth/tenants/&lt;slug&gt;/.well-known/openid-configuration</code>.</p>
<ul>
${list}
</ul>`,
  );
  app.get(
    '/',
    {
      schema: {
        summary: 'A page linking the admin console, the API reference and the discovery documents',
        tags: ['Health'],
        produces: ['text/html'],
        response: {
          200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    async (_request, reply) => htmlPageHeaders(reply).send(page),
  );
}
