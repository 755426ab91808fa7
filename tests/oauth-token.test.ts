import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { newTokenId } from '../src/protocols/oauth/access-token.js';
import { applicationToken, createPartner, createTenant, insertApplication } from './helpers/factories.js';
import {
  createTestDatabase,
  PUBLIC_URL,
  startTestApp,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type TestApp,
  useTestApp,
} from './helpers/test-app.js';

const TOKEN_URL = '/api/v1/platform/oauth/token';
const ISSUER = `${PUBLIC_URL}/api/v1/platform/oauth`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const t = useTestApp();

function tokenRequest(app: TestApp, form: Record<string, string>, authorization?: string) {
  return app.request({
    method: 'POST',
    url: TOKEN_URL,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
}

describe('client_credentials at the platform token endpoint', () => {
  it('audits repeated grants of one client as counted rows, and each distinct scope apart', async () => {
    const app = await insertApplication(t, {
      scope: 'GLOBAL',
      type: 'SERVICE',
      allowedScopes: ['admin:read', 'users:read'],
    });
    const grant = (scope: string) =>
      tokenRequest(t, { grant_type: 'client_credentials', scope }, basic(app.id, app.secret));
    const responses = await Promise.all([
      ...Array.from({ length: 5 }, () => grant('admin:read')),
      grant('users:read'),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    await t.app.scaikey.audit.flush();
    const rows = await t.database.db
      .selectFrom('audit_events')
      .select(['actor_id', 'after', 'request_id', 'result'])
      .where('action', '=', 'token.issued')
      .where('resource_id', '=', app.id)
      .execute();
    const of = (scope: string) => rows.filter((row) => (row.after as { scope: string }).scope === scope);
    const count = (list: typeof rows) =>
      list.reduce((sum, row) => sum + (row.after as { count: number }).count, 0);
    // Five identical grants within a flush interval (the 1 s timer may split them once at most).
    expect(count(of('admin:read'))).toBe(5);
    expect(of('admin:read').length).toBeLessThanOrEqual(2);
    expect(count(of('users:read'))).toBe(1);
    for (const row of rows) {
      const after = row.after as { grant_type: string; first_at: string; last_at: string };
      expect(row).toMatchObject({ actor_id: app.id, result: 'SUCCESS' });
      expect(after.grant_type).toBe('client_credentials');
      expect(Date.parse(after.first_at)).toBeLessThanOrEqual(Date.parse(after.last_at));
      expect(row.request_id).toMatch(/^req_/);
    }
  });

  it('issues an RS256 JWT with the claims of platform-notes.md for a good secret', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials', scope: 'admin:read admin:write' },
      basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'admin:read admin:write',
    });
    const header = decodeProtectedHeader(response.body.access_token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const claims = decodeJwt(response.body.access_token);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: TEST_CLIENT_ID,
      aud: TEST_CLIENT_ID,
      client_id: TEST_CLIENT_ID,
      scope: 'admin:read admin:write',
      app_scope: 'GLOBAL',
      platform_token: true,
      token_type: 'client_credentials',
    });
    expect(claims.exp).toBe((claims.iat as number) + 3600);
    expect(typeof claims.jti).toBe('string');
    expect(claims.tenant_id).toBeUndefined();
  });

  it('verifies against the published JWKS', async () => {
    const token = await t.platformToken();
    const jwks = await t.request({ method: 'GET', url: '/api/v1/platform/.well-known/jwks.json' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks.body), {
      issuer: ISSUER,
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe(TEST_CLIENT_ID);
  });

  it('grants all allowed scopes when no scope is requested', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials' },
      basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('admin:read admin:write users:read groups:read');
    expect(decodeJwt(response.body.access_token).scope).toBe('admin:read admin:write users:read groups:read');
  });

  it('accepts client_id and client_secret as form fields', async () => {
    const response = await tokenRequest(t, {
      grant_type: 'client_credentials',
      client_id: TEST_CLIENT_ID,
      client_secret: TEST_CLIENT_SECRET,
      scope: 'users:read',
    });
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('users:read');
  });

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials' },
      basic(TEST_CLIENT_ID, 'wrong-secret'),
    );
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
    expect(response.body.access_token).toBeUndefined();
  });

  it('refuses an unknown client with 401 invalid_client', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials' },
      basic('app_00000000000000000000', TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });

  it('refuses a scope beyond the allowed scopes with 400 invalid_scope', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials', scope: 'admin:read files:write' },
      basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_scope');
  });

  it('refuses two client authentication mechanisms at once', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'client_credentials', client_secret: TEST_CLIENT_SECRET },
      basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    const response = await tokenRequest(
      t,
      { grant_type: 'password' },
      basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('unsupported_grant_type');
  });

  it('answers a missing grant_type with invalid_request', async () => {
    const response = await tokenRequest(t, {}, basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('refuses a public (SPA) application: it has no secret to authenticate with', async () => {
    const spa = await insertApplication(t, { scope: 'GLOBAL', type: 'SPA' });
    const response = await tokenRequest(t, { grant_type: 'client_credentials' }, basic(spa.id, spa.secret));
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });

  it('sends tenant-level applications to their tenant (unauthorized_client here)', async () => {
    const tenant = await createTenant(t);
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
    });
    const response = await tokenRequest(t, { grant_type: 'client_credentials' }, basic(app.id, app.secret));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('unauthorized_client');
  });

  it('uses the application token_lifetime', async () => {
    const app = await insertApplication(t, { scope: 'GLOBAL', tokenLifetime: 600 });
    const response = await tokenRequest(t, { grant_type: 'client_credentials' }, basic(app.id, app.secret));
    expect(response.body.expires_in).toBe(600);
    const claims = decodeJwt(response.body.access_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
  });
});

describe('discovery and JWKS', () => {
  it('serves the platform discovery document with the issuer, token endpoint and JWKS URL', async () => {
    const response = await t.request({
      method: 'GET',
      url: '/api/v1/platform/oauth/.well-known/openid-configuration',
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${PUBLIC_URL}/api/v1/platform/.well-known/jwks.json`,
    });
    expect(response.body.grant_types_supported).toContain('client_credentials');
  });

  it('pins discovery URLs to SCAIKEY_PUBLIC_URL whatever Host the client sends', async () => {
    const response = await t.request({
      method: 'GET',
      url: '/api/v1/platform/oauth/.well-known/openid-configuration',
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    });
    expect(response.body.token_endpoint).toBe(`${ISSUER}/token`);
  });

  it('serves the same keys at a live tenant slug and 404 for an unknown slug', async () => {
    const tenant = await createTenant(t);
    const platform = await t.request({ method: 'GET', url: '/api/v1/platform/.well-known/jwks.json' });
    const tenantKeys = await t.request({
      method: 'GET',
      url: `/api/v1/auth/tenants/${tenant.slug}/.well-known/jwks.json`,
    });
    expect(tenantKeys.status).toBe(200);
    expect(tenantKeys.body).toEqual(platform.body);
    expect(platform.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(platform.body.keys[0].d).toBeUndefined();
    const missing = await t.request({
      method: 'GET',
      url: '/api/v1/auth/tenants/no-such-tenant/.well-known/jwks.json',
    });
    expect(missing.status).toBe(404);
  });
});

describe('native and oidc-provider paths', () => {
  it('issue identical tokens for the same client and scope', async () => {
    const database = await createTestDatabase();
    const viaProvider = await startTestApp({ nativeClientCredentials: false }, database);
    try {
      const form = { grant_type: 'client_credentials', scope: 'admin:read users:read' };
      const auth = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
      const provider = await tokenRequest(viaProvider, form, auth);
      const native = await tokenRequest(t, form, auth);
      expect(provider.status).toBe(200);
      const strip = (token: string) => {
        const { jti, iat, exp, ...rest } = decodeJwt(token);
        return { ...rest, lifetime: (exp as number) - (iat as number), jti: typeof jti };
      };
      expect(strip(provider.body.access_token)).toEqual(strip(native.body.access_token));
      expect(decodeProtectedHeader(provider.body.access_token).typ).toBe('at+jwt');
      const { access_token: _a, ...providerRest } = provider.body;
      const { access_token: _b, ...nativeRest } = native.body;
      expect(providerRest).toEqual(nativeRest);

      // Without a scope both grant every allowed scope.
      const providerAll = await tokenRequest(viaProvider, { grant_type: 'client_credentials' }, auth);
      expect(providerAll.body.scope).toBe('admin:read admin:write users:read groups:read');
      // And both refuse what is not allowed.
      const providerRefused = await tokenRequest(
        viaProvider,
        { grant_type: 'client_credentials', scope: 'nope' },
        auth,
      );
      expect(providerRefused.body.error).toBe('invalid_scope');
      const providerBadSecret = await tokenRequest(
        viaProvider,
        { grant_type: 'client_credentials' },
        basic(TEST_CLIENT_ID, 'x'),
      );
      expect(providerBadSecret.status).toBe(401);
      expect(providerBadSecret.body.error).toBe('invalid_client');

      // A provider-issued token works against the management API.
      const tenants = await viaProvider.request({
        method: 'GET',
        url: '/api/v1/admin/tenants/',
        token: provider.body.access_token,
      });
      expect(tenants.status).toBe(200);
    } finally {
      await viaProvider.close();
      await database.drop();
    }
  });
});

describe('tokens of deleted or suspended owners', () => {
  it('refuses new tokens and rejects existing ones once the application is deleted', async () => {
    const app = await insertApplication(t, { scope: 'GLOBAL' });
    const granted = await tokenRequest(t, { grant_type: 'client_credentials' }, basic(app.id, app.secret));
    expect(granted.status).toBe(200);
    const ok = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      token: granted.body.access_token,
    });
    expect(ok.status).toBe(200);
    await t.database.db
      .updateTable('applications')
      .set({ deleted_at: new Date() })
      .where('id', '=', app.id)
      .execute();
    t.app.scaikey.invalidation.local(`application:${app.id}`);
    const refused = await tokenRequest(t, { grant_type: 'client_credentials' }, basic(app.id, app.secret));
    expect(refused.status).toBe(401);
    const rejected = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      token: granted.body.access_token,
    });
    expect(rejected.status).toBe(401);
  });

  it('partner suspension ends its partner applications', async () => {
    const partner = await createPartner(t);
    const app = await insertApplication(t, { scope: 'PARTNER', partnerId: partner.id });
    const before = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      token: applicationToken(t, app),
    });
    expect(before.status).toBe(200);
    const suspend = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/partners/${partner.id}`,
      token: await t.platformToken(),
      body: { status: 'SUSPENDED' },
    });
    expect(suspend.status).toBe(200);
    const token = applicationToken(t, app);
    const response = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token });
    expect(response.status).toBe(401);
  });
});

describe('token ids (jti)', () => {
  it('are 21 URL-safe characters and unique across several refills of the random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newTokenId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
