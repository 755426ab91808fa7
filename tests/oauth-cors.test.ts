import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, TestBrowser } from './helpers/browser.js';
import { createTenant, type insertApplication, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Issue 11, item 4: an application's allowed_origins drive CORS on the token, PAR, revocation,
 * introspection and userinfo endpoints, whoever answers them (oidc-provider or ScaiKey's own
 * handlers); other origins get no CORS headers and the request is refused.
 */

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let issuer: string;
let spa: Awaited<ReturnType<typeof insertApplication>>;
let service: Awaited<ReturnType<typeof insertApplication>>;
let spaConfig: client.Configuration;
let pages: { allowed: Server; other: Server };
let ALLOWED: string;
let OTHER: string;
const CALLBACK = 'http://127.0.0.1:9/callback';
const EVIL = 'https://evil.example';
const PASSWORD = 'Correct-Horse-Battery-9';
const email = 'cors.user@example.com';

/** A page server on a loopback port: the SPA's own origin, or a foreign one. */
async function pageServer(): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as { port: number }).port}`;

beforeAll(async () => {
  pages = { allowed: await pageServer(), other: await pageServer() };
  ALLOWED = originOf(pages.allowed);
  OTHER = originOf(pages.other);
  tenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  const token = await t.platformToken();
  const create = async (body: Record<string, unknown>) => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/applications/',
      token,
      body: { scope: 'TENANT', tenant_id: tenant.id, name: `App ${body.application_type}`, ...body },
    });
    if (response.status !== 201) throw new Error(JSON.stringify(response.body));
    const data = response.body.data as { id: string; client_secret: string | null };
    return {
      id: data.id,
      secret: data.client_secret as string,
      scope: 'TENANT' as const,
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
    };
  };
  spa = await create({
    application_type: 'SPA',
    redirect_uris: [CALLBACK],
    allowed_origins: [ALLOWED],
    allowed_scopes: ['openid', 'email'],
  });
  // Another application of the tenant registers the other origin: that origin may pass a
  // preflight here, but never reads the SPA's answers.
  await create({
    application_type: 'WEB',
    redirect_uris: [CALLBACK],
    allowed_origins: [OTHER],
    allowed_scopes: ['openid'],
  });
  service = await create({
    application_type: 'SERVICE',
    allowed_origins: [ALLOWED],
    allowed_scopes: ['files:read'],
  });
  const created = await t.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/users`,
    token,
    body: { email, password: PASSWORD, send_welcome_email: false },
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  spaConfig = await client.discovery(new URL(issuer), spa.id, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
});
afterAll(async () => {
  pages?.allowed.close();
  pages?.other.close();
});

/** A fresh authorization code of the SPA, with its PKCE verifier (the sign-in over HTTP). */
async function spaCode() {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(spaConfig, {
    redirect_uri: CALLBACK,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const browser = new TestBrowser(t.origin);
  const page = await browser.follow(url.href);
  const done = await browser.submitForm(page, { email, password: PASSWORD });
  const code = new URL(done.location as string).searchParams.get('code') as string;
  return { code, verifier };
}

function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

function preflight(url: string, origin: string, method = 'POST', headers = 'content-type') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers,
    },
  });
}

const allowOrigin = (response: Response) => response.headers.get('access-control-allow-origin');

describe('CORS over HTTP', () => {
  it("lets the SPA's registered origin exchange its code; another origin is refused without CORS headers", async () => {
    const first = await spaCode();
    const exchange = (origin: string) =>
      post(
        `${issuer}/oauth/token`,
        {
          grant_type: 'authorization_code',
          code: first.code,
          redirect_uri: CALLBACK,
          code_verifier: first.verifier,
          client_id: spa.id,
        },
        { origin },
      );
    for (const origin of [EVIL, OTHER]) {
      const refused = await exchange(origin);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
      expect(allowOrigin(refused)).toBeNull();
    }
    const answered = await exchange(ALLOWED);
    expect(answered.status).toBe(200);
    expect(allowOrigin(answered)).toBe(ALLOWED);
    expect(answered.headers.get('vary')).toMatch(/origin/i);
    const tokens = (await answered.json()) as { access_token: string };

    // userinfo: only the token's application's origins read it.
    const userinfo = (origin: string) =>
      fetch(`${issuer}/oauth/userinfo`, {
        headers: { origin, authorization: `Bearer ${tokens.access_token}` },
      });
    const info = await userinfo(ALLOWED);
    expect(info.status).toBe(200);
    expect(allowOrigin(info)).toBe(ALLOWED);
    expect(info.headers.get('vary')).toMatch(/origin/i);
    expect(await info.json()).toMatchObject({ email });
    const foreign = await userinfo(OTHER);
    expect(foreign.status).toBe(400);
    expect(allowOrigin(foreign)).toBeNull();
    // Without a usable token the application is unknown: a registered origin of the tenant may read why.
    const expired = await fetch(`${issuer}/oauth/userinfo`, {
      headers: { origin: ALLOWED, authorization: 'Bearer not-a-token' },
    });
    expect(expired.status).toBe(401);
    expect(allowOrigin(expired)).toBe(ALLOWED);
    const stranger = await fetch(`${issuer}/oauth/userinfo`, {
      headers: { origin: EVIL, authorization: 'Bearer not-a-token' },
    });
    expect(stranger.status).toBe(401);
    expect(allowOrigin(stranger)).toBeNull();
  });

  it('answers preflights for origins registered by an application of the tenant, on every browser endpoint', async () => {
    for (const [path, method] of [
      ['token', 'POST'],
      ['par', 'POST'],
      ['introspect', 'POST'],
      ['revoke', 'POST'],
      ['userinfo', 'GET'],
      ['userinfo', 'POST'],
    ] as const) {
      const url = `${issuer}/oauth/${path}`;
      const allowed = await preflight(url, ALLOWED, method, 'authorization, dpop');
      expect(allowed.status, path).toBe(204);
      expect(allowOrigin(allowed), path).toBe(ALLOWED);
      expect(allowed.headers.get('access-control-allow-methods'), path).toContain(method);
      expect(allowed.headers.get('access-control-allow-headers'), path).toBe('authorization, dpop');
      expect(allowed.headers.get('vary'), path).toMatch(/origin/i);
      const refused = await preflight(url, EVIL, method);
      expect(refused.status, path).toBe(204);
      expect(allowOrigin(refused), path).toBeNull();
      expect(refused.headers.get('access-control-allow-methods'), path).toBeNull();
    }
    // Another tenant's applications do not open this tenant's endpoints.
    const other = await createTenant(t);
    const elsewhere = await preflight(`${t.origin}/api/v1/auth/tenants/${other.slug}/oauth/token`, ALLOWED);
    expect(allowOrigin(elsewhere)).toBeNull();
  });

  it('applies the same rule on the native client_credentials path, introspection, revocation and PAR', async () => {
    const basic = `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`;
    const machine = await post(
      `${issuer}/oauth/token`,
      { grant_type: 'client_credentials' },
      { origin: ALLOWED, authorization: basic },
    );
    expect(machine.status).toBe(200);
    expect(allowOrigin(machine)).toBe(ALLOWED);
    const { access_token } = (await machine.json()) as { access_token: string };
    const elsewhere = await post(
      `${issuer}/oauth/token`,
      { grant_type: 'client_credentials' },
      { origin: OTHER, authorization: basic },
    );
    expect(elsewhere.status).toBe(400);
    expect(allowOrigin(elsewhere)).toBeNull();

    for (const path of ['introspect', 'revoke']) {
      const refused = await post(
        `${issuer}/oauth/${path}`,
        { token: access_token },
        { origin: OTHER, authorization: basic },
      );
      expect(refused.status, path).toBe(400);
      expect(allowOrigin(refused), path).toBeNull();
      const answered = await post(
        `${issuer}/oauth/${path}`,
        { token: access_token },
        { origin: ALLOWED, authorization: basic },
      );
      expect(answered.status, path).toBe(200);
      expect(allowOrigin(answered), path).toBe(ALLOWED);
    }

    // PAR and the refresh-token paths are oidc-provider's: the same rule through clientBasedCORS.
    const par = (origin: string) =>
      post(
        `${issuer}/oauth/par`,
        {
          client_id: spa.id,
          response_type: 'code',
          redirect_uri: CALLBACK,
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        },
        { origin },
      );
    const pushed = await par(ALLOWED);
    expect(pushed.status).toBe(201);
    expect(allowOrigin(pushed)).toBe(ALLOWED);
    const foreign = await par(OTHER);
    expect(foreign.status).toBe(400);
    expect(allowOrigin(foreign)).toBeNull();
    // An unknown client: oidc-provider's answer keeps no CORS header either.
    const unknown = await post(
      `${issuer}/oauth/token`,
      {
        grant_type: 'authorization_code',
        code: 'x',
        client_id: 'app_doesnotexist000000000',
        redirect_uri: CALLBACK,
      },
      { origin: ALLOWED },
    );
    expect(unknown.status).toBe(401);
    expect(allowOrigin(unknown)).toBeNull();
  });

  it("treats ScaiKey's own origin as same-origin (its API reference page fetches tokens)", async () => {
    const basic = `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`;
    const own = new URL(t.origin).origin;
    const native = await post(
      `${issuer}/oauth/token`,
      { grant_type: 'client_credentials' },
      { origin: own, authorization: basic },
    );
    expect(native.status).toBe(200);
    const pushed = await post(
      `${issuer}/oauth/par`,
      {
        client_id: spa.id,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      },
      { origin: own },
    );
    expect(pushed.status).toBe(201);
  });
});

describe.runIf(hasChromium)('CORS in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** In a page of `origin`: the code exchange with fetch, then userinfo with the access token. */
  async function exchangeInPage(origin: string) {
    const { code, verifier } = await spaCode();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const result = await page.evaluate(
      async ({ issuer, code, verifier, clientId, callback }) => {
        try {
          const response = await fetch(`${issuer}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code,
              code_verifier: verifier,
              redirect_uri: callback,
              client_id: clientId,
            }),
          });
          const tokens = (await response.json()) as { access_token: string; token_type: string };
          const info = await fetch(`${issuer}/oauth/userinfo`, {
            headers: { authorization: `Bearer ${tokens.access_token}` },
          });
          return { ok: true, token_type: tokens.token_type, userinfo: await info.json() };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      },
      { issuer, code, verifier, clientId: spa.id, callback: CALLBACK },
    );
    await context.close();
    return result;
  }

  it('lets a page of the registered origin exchange its code and call userinfo with fetch', async () => {
    const result = await exchangeInPage(ALLOWED);
    expect(result).toMatchObject({ ok: true, token_type: 'Bearer', userinfo: { email } });
  });

  it("blocks a page of an origin the SPA did not register (even one of the tenant's other applications)", async () => {
    const result = await exchangeInPage(OTHER);
    expect(result.ok).toBe(false);
    expect(result.error).toContain('Failed to fetch');
  });
});
