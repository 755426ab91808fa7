import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';

/**
 * ScaiKey's mark: a key in a rounded square, as a small SVG kept in the code (no asset file to
 * copy into builds, nothing loaded from elsewhere: the docs page's CSP stays `'self'` + `data:`).
 */
export const SCAIKEY_LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40" role="img" aria-label="ScaiKey">
<rect x="2" y="2" width="36" height="36" rx="8" fill="#1f5fbf"/>
<circle cx="15" cy="20" r="6.5" fill="none" stroke="#fff" stroke-width="3"/>
<path d="M21.5 20H32M28 20v5M32 20v4" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round"/>
<text x="46" y="27" font-family="system-ui, sans-serif" font-size="20" font-weight="700" fill="#ffffff">ScaiKey</text>
</svg>
`;

/** The favicon: the mark alone. */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="2 2 36 36">
<rect x="2" y="2" width="36" height="36" rx="8" fill="#1f5fbf"/>
<circle cx="15" cy="20" r="6.5" fill="none" stroke="#fff" stroke-width="3"/>
<path d="M21.5 20H32M28 20v5M32 20v4" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round"/>
</svg>
`;

/**
 * The API docs page (/docs, @fastify/swagger-ui) branded ScaiKey: title, logo and favicon served by
 * the page itself, the framework's strict CSP kept. Its Authorize dialog fetches a token with the
 * document's client credentials scheme (docs/api-decisions.md, "OpenAPI document").
 */
export const docsPageOptions: FastifySwaggerUiOptions = {
  routePrefix: '/docs',
  staticCSP: true,
  theme: {
    title: 'ScaiKey API',
    favicon: [
      {
        filename: 'favicon.svg',
        rel: 'icon',
        sizes: 'any',
        type: 'image/svg+xml',
        content: Buffer.from(FAVICON_SVG),
      },
    ],
  },
  logo: { type: 'image/svg+xml', content: Buffer.from(SCAIKEY_LOGO_SVG), href: '/docs/', target: '_self' },
  uiConfig: { deepLinking: true, persistAuthorization: false, tryItOutEnabled: false },
  initOAuth: { appName: 'ScaiKey API docs', scopes: ['admin:read'] },
};
