/**
 * The admin console's server side (docs/console.md): the files at /console/ (served from a fixture
 * folder through the consoleDir setting), the console application the bootstrap keeps, and the
 * console's sign-in end to end (PKCE, public client, refresh rotation) at a tenant's issuer and
 * through the platform's sign-in page.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, CONSOLE_CLIENT_ID } from '../src/modules/bootstrap/index.js';
import { UnitOfWork } from '../src/platform/events/unit-of-work.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, grantAdminRole, type Tenant } from './helpers/factories.js';
import { createSignInUser, PASSWORD } from './helpers/sign-in.js';
import { type TestAppHandle, useTestApp } from './helpers/test-app.js';

const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>ScaiKey Console</title>
    <script type="module" crossorigin src="/console/assets/app-abc123.js"></script>
    <link rel="stylesheet" crossorigin href="/console/assets/app-def456.css">
  </head>
  <body><div id="root"></div></body>
</html>
`;
const SCRIPT = 'console.log("the console");\n';
const STYLE = 'body { margin: 0; }\n';
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"></svg>\n';

/** A built console: index.html, a script and a style under assets/, a favicon in the root. */
function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scaikey-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'app-def456.css'), STYLE);
  writeFileSync(join(dir, 'favicon.svg'), FAVICON);
  return dir;
}

const built = fixture();
const empty = mkdtempSync(join(tmpdir(), 'scaikey-console-empty-'));
afterAll(() => {
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

const SCOPE = 'openid profile email offline_access admin:read admin:write';

const t = useTestApp({ consoleDir: built }, { live: true });

function decode(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The console page's nonce (CSP and meta tag) and configuration (meta tag). */
function pageOf(response: { body: string; headers: Record<string, unknown> }) {
  const csp = String(response.headers['content-security-policy']);
  const cspNonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  const head = /<head>([\s\S]*)<\/head>/.exec(response.body)?.[1] ?? '';
  const metaNonce = /<meta name="csp-nonce" content="([^"]*)">/.exec(head)?.[1];
  const config = /<meta name="scaikey-console" content="([^"]*)">/.exec(head)?.[1];
  return {
    csp,
    cspNonce,
    metaNonce: metaNonce === undefined ? undefined : decode(metaNonce),
    config: config === undefined ? undefined : JSON.parse(decode(config)),
    head,
  };
}

/** A GET with the path sent exactly as written (fetch and inject resolve `..` segments first). */
function rawGet(path: string): Promise<{ status: number; contentType: string; body: string }> {
  const { hostname, port } = new URL(t.origin);
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode as number,
          contentType: String(response.headers['content-type']),
          body,
        }),
      );
    }).on('error', reject);
  });
}

describe('the console files', () => {
  it('redirects /console to /console/ (301), keeping the query', async () => {
    const bare = await t.get('/console', { token: null });
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/console/');
    const withQuery = await t.get('/console?next=users', { token: null });
    expect(withQuery.status).toBe(301);
    expect(withQuery.headers.location).toBe('/console/?next=users');
  });

  it('serves index.html with a fresh style nonce, the security headers and the meta configuration', async () => {
    const first = await t.get('/console/', { token: null });
    const second = await t.get('/console/', { token: null });
    for (const response of [first, second]) {
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-frame-options']).toBe('DENY');
      const page = pageOf(response);
      expect(page.cspNonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(page.csp).toBe(
        "default-src 'none'; script-src 'self'; " +
          `style-src 'self' 'nonce-${page.cspNonce}'; img-src 'self' data: https:; font-src 'self'; ` +
          "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
      expect(page.metaNonce).toBe(page.cspNonce);
      expect(page.config).toEqual({
        client_id: 'app_scaikeyconsole000000',
        public_url: t.origin,
        platform_issuer: `${t.origin}/api/v1/platform/oauth`,
      });
      // The two tags come first in <head>, before anything of the built page.
      expect(page.head.trimStart()).toMatch(/^<meta name="csp-nonce" [^>]*><meta name="scaikey-console" /);
      expect(response.body).toContain(
        '<script type="module" crossorigin src="/console/assets/app-abc123.js">',
      );
    }
    expect(pageOf(first).cspNonce).not.toBe(pageOf(second).cspNonce);
    expect(CONSOLE_CLIENT_ID).toBe('app_scaikeyconsole000000');
  });

  it('answers deep links and the sign-in callback with the same page', async () => {
    for (const path of [
      '/console/tenants/tnt_x/users',
      '/console/callback?code=abc&state=xyz',
      '/console/index.html',
      '/console/no-such-file.js',
    ]) {
      const response = await t.get(path, { token: null });
      expect(response.status, path).toBe(200);
      expect(response.headers['cache-control'], path).toBe('no-store');
      expect(pageOf(response).config?.client_id, path).toBe(CONSOLE_CLIENT_ID);
      expect(response.body, path).toContain('<div id="root"></div>');
    }
  });

  it('serves the hashed assets for a year and other root files for an hour', async () => {
    const script = await t.get('/console/assets/app-abc123.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.body).toBe(SCRIPT);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    const style = await t.get('/console/assets/app-def456.css', { token: null });
    expect(style.status).toBe(200);
    expect(style.body).toBe(STYLE);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await t.get('/console/favicon.svg', { token: null });
    expect(icon.status).toBe(200);
    expect(icon.body).toBe(FAVICON);
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('answers 404 in the error envelope for a missing asset and for paths that leave the folder', async () => {
    for (const path of [
      '/console/assets/app-000000.js',
      '/console/assets/',
      '/console/assets/sub/app-abc123.js',
      '/console/assets/../../package.json',
      '/console/assets/../index.html',
      '/console/assets/..%2f..%2fpackage.json',
      '/console/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/console/assets/..%5c..%5cpackage.json',
      '/console/assets/.hidden',
    ]) {
      const response = await rawGet(path);
      expect(response.status, path).toBe(404);
      expect(response.contentType, path).toContain('application/json');
      expect(JSON.parse(response.body), path).toMatchObject({ code: 'NOT_FOUND' });
    }
    // Outside assets/, a name that is no file of the folder's root is a deep link: the page, never a file above it.
    for (const path of [
      '/console/../package.json',
      '/console/..%2f..%2fpackage.json',
      '/console/%2e%2e/package.json',
      '/console/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const response = await rawGet(path);
      expect(response.body, path).not.toContain('"devDependencies"');
      if (response.status === 200) expect(response.body, path).toContain('name="scaikey-console"');
      else expect(response.status, path).toBe(404);
    }
  });

  it('links the console from the home page', async () => {
    const home = await t.get('/', { token: null });
    expect(home.body).toContain(`<a href="${t.origin}/console/">Admin console</a>`);
  });
});

describe('a server without a built console', () => {
  const bare: TestAppHandle = useTestApp({ consoleDir: empty });

  it('answers 503 with a page saying how to build it, for the page but not for a missing asset', async () => {
    for (const path of ['/console/', '/console/tenants']) {
      const response = await bare.get(path, { token: null });
      expect(response.status, path).toBe(503);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toContain('The console is not built');
      expect(response.body).toContain('npm run build');
    }
    const asset = await bare.get('/console/assets/app-abc123.js', { token: null });
    expect(asset.status).toBe(404);
  });
});

describe('the console application', () => {
  const work = () => new UnitOfWork(t.database.db, t.app.scaikey.invalidation, t.app.scaikey.mailer);
  const auditCount = async () =>
    Number(
      (
        await t.database.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('resource_id', '=', CONSOLE_CLIENT_ID)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const lastAudit = () =>
    t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', CONSOLE_CLIENT_ID)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();

  it('exists after the start: GLOBAL, SPA (public), the console scopes and redirect URIs', async () => {
    const response = await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`);
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      id: CONSOLE_CLIENT_ID,
      name: 'ScaiKey Console',
      scope: 'GLOBAL',
      application_type: 'SPA',
      partner_id: null,
      tenant_id: null,
      redirect_uris: [`${t.origin}/console/callback`],
      post_logout_redirect_uris: [`${t.origin}/console/`],
      allowed_scopes: SCOPE.split(' '),
      assignment_required: false,
      status: 'ACTIVE',
    });
    const created = await lastAudit();
    expect(created).toMatchObject({ action: 'application.created', actor_type: 'system' });
  });

  it('is left alone by another start (no change, no audit entry)', async () => {
    const before = await t.database.db
      .selectFrom('applications')
      .selectAll()
      .where('id', '=', CONSOLE_CLIENT_ID)
      .executeTakeFirstOrThrow();
    const entries = await auditCount();
    await bootstrap(work(), t.config.bootstrap, t.config.publicUrl);
    const after = await t.database.db
      .selectFrom('applications')
      .selectAll()
      .where('id', '=', CONSOLE_CLIENT_ID)
      .executeTakeFirstOrThrow();
    expect(after).toEqual(before);
    expect(await auditCount()).toBe(entries);
  });

  it('follows a changed public URL (audited), keeping URIs an administrator added', async () => {
    const extra = 'https://tools.example/signed-out';
    const patched = await t.patch(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`, {
      post_logout_redirect_uris: [`${t.origin}/console/`, extra],
    });
    expect(patched.status).toBe(200);
    const entries = await auditCount();
    await bootstrap(work(), t.config.bootstrap, 'https://id.example.com');
    const moved = await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`);
    expect(moved.body.data.redirect_uris).toEqual(['https://id.example.com/console/callback']);
    expect(moved.body.data.post_logout_redirect_uris).toEqual(['https://id.example.com/console/', extra]);
    expect(await auditCount()).toBe(entries + 1);
    expect(await lastAudit()).toMatchObject({
      action: 'application.updated',
      actor_type: 'system',
      before: {
        redirect_uris: [`${t.origin}/console/callback`],
        post_logout_redirect_uris: [`${t.origin}/console/`, extra],
      },
      after: {
        redirect_uris: ['https://id.example.com/console/callback'],
        post_logout_redirect_uris: ['https://id.example.com/console/', extra],
      },
    });
    // And back (the rest of the file signs in at this server's address).
    await bootstrap(work(), t.config.bootstrap, t.config.publicUrl);
    const back = await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`);
    expect(back.body.data.redirect_uris).toEqual([`${t.origin}/console/callback`]);
    expect(back.body.data.post_logout_redirect_uris).toEqual([`${t.origin}/console/`, extra]);
    expect(await auditCount()).toBe(entries + 2);
  });

  it('stays disabled when an administrator disabled it', async () => {
    expect(
      (await t.patch(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`, { status: 'DISABLED' })).status,
    ).toBe(200);
    const entries = await auditCount();
    await bootstrap(work(), t.config.bootstrap, t.config.publicUrl);
    const response = await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`);
    expect(response.body.data.status).toBe('DISABLED');
    expect(await auditCount()).toBe(entries);
    expect(
      (await t.patch(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`, { status: 'ACTIVE' })).status,
    ).toBe(200);
  });
});

/** A browser that stops at the console's callback (on ScaiKey's own origin, so follow() would fetch it). */
class ConsoleBrowser extends TestBrowser {
  override async follow(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    let current = await this.request(url, init);
    for (let hops = 0; hops < 10 && current.location; hops++) {
      const next = new URL(current.location, current.url).toString();
      if (!next.startsWith(this.origin) || next.startsWith(`${this.origin}/console/callback`))
        return { ...current, location: next };
      current = await this.request(next);
    }
    return current;
  }
}

/** The console's sign-in as the SPA does it: PKCE S256, a state, the console's redirect URI. */
async function consoleAuthorization(issuer: string) {
  const config = await client.discovery(new URL(issuer), CONSOLE_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parameters = {
    redirect_uri: `${t.origin}/console/callback`,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    // offline_access (the refresh token) is honoured with prompt=consent only (OpenID Connect
    // Core §11); consent is implied for first-party applications, so no page asks it.
    prompt: 'consent',
  };
  return {
    config,
    parameters,
    url: client.buildAuthorizationUrl(config, parameters).href,
    exchange: (callback: string | null) => {
      if (!callback?.startsWith(`${t.origin}/console/callback?`)) throw new Error(`no callback: ${callback}`);
      return client.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    },
  };
}

describe('signing in to the console', () => {
  let platform: Tenant;
  let other: Tenant;
  let superAdmin: { id: string; email: string };
  let tenantAdmin: { id: string; email: string };

  beforeAll(async () => {
    const tenants = await t.get('/api/v1/admin/tenants/?limit=100');
    platform = (tenants.body.data as Tenant[]).find((tenant) => tenant.slug === 'platform') as Tenant;
    expect(platform).toBeDefined();
    superAdmin = await createSignInUser(t, platform);
    await grantAdminRole(t, superAdmin.id, 'super_admin', platform);
    const domain = `console-${Date.now()}.example`;
    other = await createTenant(t, { settings: { email_domains: [domain] } });
    tenantAdmin = await createSignInUser(t, other, { email: `admin@${domain}` });
    await grantAdminRole(t, tenantAdmin.id, 'tenant_admin', other);
  });

  const api = (path: string, token: string) =>
    fetch(`${t.origin}${path}`, { headers: { authorization: `Bearer ${token}` } }).then(async (response) => ({
      status: response.status,
      body: await response.json(),
    }));

  it("signs a super admin in at the platform tenant's issuer; the tokens work and refresh rotates", async () => {
    const request = await consoleAuthorization(`${t.origin}/api/v1/auth/tenants/platform`);
    const browser = new ConsoleBrowser(t.origin);
    const login = await browser.follow(request.url);
    expect(login.status).toBe(200);
    const done = await browser.submitForm(login, { email: superAdmin.email, password: PASSWORD });
    // The callback is the console's own page.
    const callbackPage = await t.app.inject({
      method: 'GET',
      url: new URL(done.location as string).pathname,
    });
    expect(callbackPage.statusCode).toBe(200);
    expect(callbackPage.body).toContain('name="scaikey-console"');

    const tokens = await request.exchange(done.location);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: superAdmin.id,
      client_id: CONSOLE_CLIENT_ID,
      role: 'super_admin',
      scope: SCOPE,
    });
    const listed = await api('/api/v1/admin/tenants/', tokens.access_token);
    expect(listed.status).toBe(200);
    expect((listed.body.data as Tenant[]).map((tenant) => tenant.id)).toEqual(
      expect.arrayContaining([platform.id, other.id]),
    );

    const refreshed = await client.refreshTokenGrant(request.config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await api('/api/v1/admin/tenants/', refreshed.access_token)).status).toBe(200);
    // Rotation: the used refresh token is spent (and presenting it again ends the sign-in).
    await expect(
      client.refreshTokenGrant(request.config, tokens.refresh_token as string),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await api('/api/v1/admin/tenants/', refreshed.access_token)).status).toBe(401);
  });

  it("gives a tenant admin signing in at its tenant's issuer a token that sees only its tenant", async () => {
    const request = await consoleAuthorization(`${t.origin}/api/v1/auth/tenants/${other.slug}`);
    const browser = new ConsoleBrowser(t.origin);
    const login = await browser.follow(request.url);
    const done = await browser.submitForm(login, { email: tenantAdmin.email, password: PASSWORD });
    const tokens = await request.exchange(done.location);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: tenantAdmin.id,
      role: 'tenant_admin',
      tenant_id: other.id,
    });
    const listed = await api('/api/v1/admin/tenants/', tokens.access_token);
    expect(listed.status).toBe(200);
    expect((listed.body.data as Tenant[]).map((tenant) => tenant.id)).toEqual([other.id]);
    expect((await api(`/api/v1/admin/tenants/${platform.id}`, tokens.access_token)).status).toBe(404);
    expect((await api(`/api/v1/tenants/${other.id}/users`, tokens.access_token)).status).toBe(200);
  });

  it("signs in through the platform's sign-in page (email first, then the user's tenant)", async () => {
    const platformAuthorize = `${t.origin}/api/v1/platform/oauth/authorize`;
    const start = await consoleAuthorization(`${t.origin}/api/v1/auth/tenants/${other.slug}`);
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: CONSOLE_CLIENT_ID,
      ...start.parameters,
    });
    const browser = new ConsoleBrowser(t.origin);
    const emailPage = await browser.follow(`${platformAuthorize}?${query}`);
    expect(emailPage.status).toBe(200);
    expect(emailPage.body).toContain('name="email"');
    const login = await browser.submitForm(emailPage, { email: tenantAdmin.email });
    expect(login.url).toContain(`/api/v1/auth/tenants/${other.slug}/interaction/`);
    const done = await browser.submitForm(login, { email: tenantAdmin.email, password: PASSWORD });
    // RFC 9207: the response names the tenant's issuer, where the code is redeemed.
    expect(new URL(done.location as string).searchParams.get('iss')).toBe(
      `${t.origin}/api/v1/auth/tenants/${other.slug}`,
    );
    const tokens = await start.exchange(done.location);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: tenantAdmin.id,
      client_id: CONSOLE_CLIENT_ID,
    });
    expect((await api('/api/v1/admin/tenants/', tokens.access_token)).status).toBe(200);
  });

  it('is created again at the next start after a deletion; tokens from before stay refused', async () => {
    const request = await consoleAuthorization(`${t.origin}/api/v1/auth/tenants/platform`);
    const browser = new ConsoleBrowser(t.origin);
    const login = await browser.follow(request.url);
    const done = await browser.submitForm(login, { email: superAdmin.email, password: PASSWORD });
    const tokens = await request.exchange(done.location);
    expect((await api('/api/v1/admin/tenants/', tokens.access_token)).status).toBe(200);

    expect((await t.delete(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`)).status).toBe(204);
    expect((await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`)).status).toBe(404);
    expect((await api('/api/v1/admin/tenants/', tokens.access_token)).status).toBe(401);

    await bootstrap(
      new UnitOfWork(t.database.db, t.app.scaikey.invalidation, t.app.scaikey.mailer),
      t.config.bootstrap,
      t.config.publicUrl,
    );
    const restored = await t.get(`/api/v1/admin/applications/${CONSOLE_CLIENT_ID}`);
    expect(restored.status).toBe(200);
    expect(restored.body.data).toMatchObject({ status: 'ACTIVE', application_type: 'SPA' });
    expect((await api('/api/v1/admin/tenants/', tokens.access_token)).status).toBe(401);
    await expect(
      client.refreshTokenGrant(request.config, tokens.refresh_token as string),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    // A new sign-in works.
    const again = await consoleAuthorization(`${t.origin}/api/v1/auth/tenants/platform`);
    const second = new ConsoleBrowser(t.origin);
    const page = await second.follow(again.url);
    const back = await second.submitForm(page, { email: superAdmin.email, password: PASSWORD });
    const fresh = await again.exchange(back.location);
    expect((await api('/api/v1/admin/tenants/', fresh.access_token)).status).toBe(200);
  });
});
