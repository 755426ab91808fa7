import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { escapeHtml } from '../../lib/html.js';
import { HTML_PAGE_HEADERS, htmlPage } from '../../lib/html-page.js';
import { CONSOLE_CLIENT_ID } from '../../modules/bootstrap/index.js';
import { AppError } from '../../platform/errors.js';
import { platformIssuer } from '../../platform/issuers.js';

/**
 * The admin console (docs/console.md): the single-page app that `console/` builds into
 * `console/dist/`, served by this server at `/console/`:
 * - `GET /console` → 301 `/console/`;
 * - `GET /console/assets/<file>`: Vite's hashed files, cached for a year (a new build has new names);
 * - `GET /console/<file>` for another file of the folder's root (favicon …): cached for an hour;
 * - any other `GET /console/…` (deep links, the sign-in callback): `index.html`, never cached, with
 *   a CSP whose style nonce is new for every response and two meta tags the app reads (its
 *   configuration and the nonce).
 */

/** The console's CSP; `{nonce}` is replaced per response (Mantine gives it to the <style> tags it injects). */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data: https:; " +
  "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";

/** Meta tag names the app reads (console/src: its configuration and the style nonce). */
export const CONSOLE_CONFIG_META = 'scaikey-console';
export const CSP_NONCE_META = 'csp-nonce';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT_CACHE = 'public, max-age=3600';

/** One path segment of a file name: no separators, no leading dot (so neither `..` nor dotfiles). */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * The installation's `console/dist`: the first folder above this file holding a package.json is
 * the repository (or installed package) root, whether this runs from src/ (tsx) or dist/src/.
 */
export function defaultConsoleDir(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder)
      throw new Error('the installation root (a folder with package.json) was not found');
    folder = parent;
  }
  return join(folder, 'console', 'dist');
}

/** What the app learns from its page: `<meta name="scaikey-console" content="{…}">`. */
export interface ConsolePageConfig {
  client_id: string;
  public_url: string;
  platform_issuer: string;
}

/** Puts the two meta tags first in `<head>`; the configuration is JSON in an attribute (escaped). */
export function withMetaTags(html: string, nonce: string, config: ConsolePageConfig): string {
  const tags =
    `<meta name="${CSP_NONCE_META}" content="${escapeHtml(nonce)}">` +
    `<meta name="${CONSOLE_CONFIG_META}" content="${escapeHtml(JSON.stringify(config))}">`;
  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (!head) return `${tags}${html}`;
  const at = head.index + head[0].length;
  return `${html.slice(0, at)}${tags}${html.slice(at)}`;
}

const NOT_BUILT = htmlPage(
  { name: 'ScaiKey' },
  'The console is not built',
  `<p>This server has no admin console to serve: its files (<code>index.html</code> and
<code>assets/</code>) are missing. Run <code>npm run build</code> in the ScaiKey folder, then start
the server again.</p>
<p>The management API works without it: see the <a href="../docs">API reference</a>.</p>`,
);

export async function consoleRoutes(
  app: FastifyInstance,
  options: { publicUrl: string; consoleDir?: string | null },
): Promise<void> {
  const root = resolve(options.consoleDir ?? defaultConsoleDir());
  const assets = join(root, 'assets');
  const pageConfig: ConsolePageConfig = {
    client_id: CONSOLE_CLIENT_ID,
    public_url: options.publicUrl,
    platform_issuer: platformIssuer(options.publicUrl),
  };
  // index.html is read once per process (a new build comes with a restart); a missing one is
  // looked for again at the next request, so building while the server runs needs no restart.
  let index: string | null = null;
  const readIndex = async (): Promise<string | null> => {
    if (index !== null) return index;
    try {
      index = await readFile(join(root, 'index.html'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return index;
  };

  /** The regular file `name` of `folder`, or null (no such file, a folder, a name that is no file name). */
  const fileOf = async (folder: string, name: string) => {
    if (!FILE_NAME.test(name)) return null;
    const path = join(folder, name);
    const info = await stat(path).catch(() => null);
    return info?.isFile() ? { path, size: info.size } : null;
  };

  const sendFile = (reply: FastifyReply, file: { path: string; size: number }, cacheControl: string) =>
    reply
      .header('content-type', TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream')
      .header('content-length', file.size)
      .header('cache-control', cacheControl)
      .header('x-content-type-options', 'nosniff')
      .send(createReadStream(file.path));

  const sendPage = async (reply: FastifyReply) => {
    const html = await readIndex();
    if (html === null) return reply.code(503).headers(HTML_PAGE_HEADERS).send(NOT_BUILT);
    const nonce = randomBytes(16).toString('base64');
    return reply
      .headers({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': CONSOLE_CSP.replace('{nonce}', nonce),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      })
      .send(withMetaTags(html, nonce, pageConfig));
  };

  // Files, not an API: outside the OpenAPI document, like the API reference page (/docs).
  const schema = { hide: true };

  app.get('/console', { schema }, async (request, reply) => {
    // The router ignores trailing slashes: `/console/` may land here too.
    const path = request.url.split('?')[0] as string;
    if (path.endsWith('/')) return sendPage(reply);
    const query = request.url.slice(path.length);
    return reply.redirect(`/console/${query}`, 301);
  });

  app.get('/console/assets/*', { schema }, async (request: FastifyRequest, reply) => {
    const name = (request.params as { '*': string })['*'];
    const file = await fileOf(assets, name);
    if (!file) throw new AppError('NOT_FOUND', 'No such file of the console');
    return sendFile(reply, file, IMMUTABLE);
  });

  app.get('/console/*', { schema }, async (request: FastifyRequest, reply) => {
    const name = (request.params as { '*': string })['*'];
    // assets/ holds files only (the router may bring `/console/assets/` here without its slash).
    if (name === 'assets' || name.startsWith('assets/')) {
      throw new AppError('NOT_FOUND', 'No such file of the console');
    }
    if (name !== 'index.html') {
      const file = await fileOf(root, name);
      if (file) return sendFile(reply, file, SHORT_CACHE);
    }
    return sendPage(reply);
  });
}
