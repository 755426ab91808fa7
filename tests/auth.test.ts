import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signRs256 } from '../src/lib/jwt.js';
import { platformIssuer } from '../src/platform/issuers.js';
import { rotateSigningKey } from '../src/platform/keys.js';
import { clientCredentialsClaims, signAccessToken } from '../src/protocols/oauth/access-token.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
} from './helpers/factories.js';
import { PUBLIC_URL, TEST_CLIENT_ID, useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const SOME_TENANT = 'tnt_00000000000000000000';
const SOME_PARTNER = 'prt_00000000000000000000';
/** Every management route of this issue, with a body that would pass validation. */
const ROUTES = [
  { method: 'GET', url: '/api/v1/admin/partners/' },
  { method: 'POST', url: '/api/v1/admin/partners/', body: { name: 'P' } },
  { method: 'GET', url: `/api/v1/admin/partners/${SOME_PARTNER}` },
  { method: 'PATCH', url: `/api/v1/admin/partners/${SOME_PARTNER}`, body: { name: 'P' } },
  { method: 'DELETE', url: `/api/v1/admin/partners/${SOME_PARTNER}` },
  { method: 'GET', url: '/api/v1/admin/tenants/' },
  { method: 'POST', url: '/api/v1/admin/tenants/', body: { name: 'T' } },
  { method: 'GET', url: `/api/v1/admin/tenants/${SOME_TENANT}` },
  { method: 'PATCH', url: `/api/v1/admin/tenants/${SOME_TENANT}`, body: { name: 'T' } },
  { method: 'DELETE', url: `/api/v1/admin/tenants/${SOME_TENANT}` },
] as const;

function bootstrapApplication() {
  return { id: TEST_CLIENT_ID, scope: 'GLOBAL' as const, partnerId: null, tenantId: null };
}

describe('authentication of every management route', () => {
  const cases: [string, () => string | null][] = [
    ['no token', () => null],
    ['a malformed token', () => 'not.a.jwt'],
    [
      'an expired token',
      () => applicationToken(t, bootstrapApplication(), undefined, { lifetime: 60, now: 1_000_000 }),
    ],
    [
      'a tampered token',
      () => {
        const [header, payload, signature] = applicationToken(t, bootstrapApplication(), [
          'admin:read',
        ]).split('.');
        const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
        claims.scope = 'admin:read admin:write';
        return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      },
    ],
    [
      'a token signed by a foreign key',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const now = Math.floor(Date.now() / 1000);
        return signRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: t.app.scaikey.keys.active.kid },
          {
            iss: platformIssuer(PUBLIC_URL),
            iat: now,
            exp: now + 600,
            ...clientCredentialsClaims(
              { clientId: TEST_CLIENT_ID, appScope: 'GLOBAL', partnerId: null, tenantId: null },
              ['admin:write'],
            ),
          },
          privateKey,
        );
      },
    ],
    [
      'an unsigned (alg none) token',
      () => {
        const now = Math.floor(Date.now() / 1000);
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode({
          iss: platformIssuer(PUBLIC_URL),
          sub: TEST_CLIENT_ID,
          client_id: TEST_CLIENT_ID,
          exp: now + 600,
          scope: 'admin:write',
          app_scope: 'GLOBAL',
          platform_token: true,
        })}.`;
      },
    ],
    [
      'a token of another issuer',
      () =>
        signAccessToken(
          t.app.scaikey.keys,
          'https://other.example/api/v1/platform/oauth',
          clientCredentialsClaims(
            { clientId: TEST_CLIENT_ID, appScope: 'GLOBAL', partnerId: null, tenantId: null },
            ['admin:write'],
          ),
          600,
        ),
    ],
  ];

  for (const [label, makeToken] of cases) {
    it(`answers 401 with WWW-Authenticate to ${label} on all ${ROUTES.length} routes`, async () => {
      const token = makeToken();
      for (const route of ROUTES) {
        const response = await t.request({
          method: route.method,
          url: route.url,
          body: 'body' in route ? route.body : undefined,
          headers: token === null ? {} : { authorization: `Bearer ${token}` },
        });
        expect(response.status, `${route.method} ${route.url}`).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(response.body.code).toBe('UNAUTHORIZED');
      }
    });
  }

  it('answers 401 to a non-Bearer Authorization header', async () => {
    const response = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(response.status).toBe(401);
  });
});

describe('platform tokens and scopes', () => {
  it('refuses a platform token without admin scopes with the exact 403 detail', async () => {
    const token = await t.platformToken('users:read groups:read');
    for (const route of ROUTES) {
      const response = await t.request({
        method: route.method,
        url: route.url,
        token,
        body: 'body' in route ? route.body : undefined,
      });
      expect(response.status, `${route.method} ${route.url}`).toBe(403);
      expect(response.body).toEqual({
        detail: 'Platform token requires admin:read or admin:write scope',
        code: 'FORBIDDEN',
      });
    }
  });

  it('lets admin:read read but not write', async () => {
    const token = await t.platformToken('admin:read');
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token })).status).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/partners/', token })).status).toBe(200);
    const create = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token,
      body: { name: 'Nope' },
    });
    expect(create.status).toBe(403);
    expect(create.body.code).toBe('FORBIDDEN');
  });

  it('lets admin:write read and write', async () => {
    const token = await t.platformToken('admin:write');
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token })).status).toBe(200);
    const create = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token,
      body: { name: 'Yes' },
    });
    expect(create.status).toBe(201);
  });
});

describe('admin roles', () => {
  it('tenant_admin reads its own tenant, gets 404 for another and 403 for writes', async () => {
    const tenantA = await createTenant(t);
    const tenantB = await createTenant(t);
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantA });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenantA.id}`, token })).status,
    ).toBe(200);
    const foreign = await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenantB.id}`, token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ detail: 'Tenant not found', code: 'NOT_FOUND' });
    const list = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token });
    expect(list.body.data.map((tenant: { id: string }) => tenant.id)).toEqual([tenantA.id]);
    expect(list.body.pagination.total_items).toBe(1);
    for (const [method, url, body] of [
      ['PATCH', `/api/v1/admin/tenants/${tenantA.id}`, { name: 'Renamed' }],
      ['DELETE', `/api/v1/admin/tenants/${tenantA.id}`, undefined],
      ['POST', '/api/v1/admin/tenants/', { name: 'New' }],
      ['GET', '/api/v1/admin/partners/', undefined],
    ] as const) {
      expect((await t.request({ method, url, token, body })).status, `${method} ${url}`).toBe(403);
    }
  });

  it("partner_admin reads its partner's tenants only", async () => {
    const partner = await createPartner(t);
    const mine = await createTenant(t, { partner_id: partner.id });
    const other = await createTenant(t);
    const { token } = await adminUserToken(t, { role: 'partner_admin', tenant: mine, partnerId: partner.id });
    expect((await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${mine.id}`, token })).status).toBe(
      200,
    );
    expect((await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${other.id}`, token })).status).toBe(
      404,
    );
    const list = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token });
    expect(list.body.data.map((tenant: { id: string }) => tenant.id)).toEqual([mine.id]);
    const filtered = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/?partner_id=${other.partner_id}`,
      token,
    });
    expect(filtered.body.data).toEqual([]);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/partners/${partner.id}`, token })).status,
    ).toBe(403);
    expect(
      (
        await t.request({
          method: 'PATCH',
          url: `/api/v1/admin/tenants/${mine.id}`,
          token,
          body: { name: 'x' },
        })
      ).status,
    ).toBe(403);
  });

  it('super_admin users have every right', async () => {
    const platformTenant = (
      await t.request({
        method: 'GET',
        url: '/api/v1/admin/tenants/?search=platform',
        token: await t.platformToken(),
      })
    ).body.data[0];
    const { token } = await adminUserToken(t, { role: 'super_admin', tenant: platformTenant });
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/partners/', token })).status).toBe(200);
    expect(
      (await t.request({ method: 'POST', url: '/api/v1/admin/tenants/', token, body: { name: 'By super' } }))
        .status,
    ).toBe(201);
  });

  it('a user token without an admin role gets 403', async () => {
    const tenant = await createTenant(t);
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const [header, payload] = token.split('.');
    void header;
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    delete claims.role;
    const { iss, iat, exp, jti, ...rest } = claims;
    void iat;
    void jti;
    const roleless = signAccessToken(t.app.scaikey.keys, iss, rest, exp - Math.floor(Date.now() / 1000));
    const response = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: roleless,
    });
    expect(response.status).toBe(403);
  });

  it("a PARTNER application's admin token is confined to its partner, a TENANT one to its tenant", async () => {
    const partner = await createPartner(t);
    const inside = await createTenant(t, { partner_id: partner.id });
    const outside = await createTenant(t);
    const partnerApp = await insertApplication(t, { scope: 'PARTNER', partnerId: partner.id });
    const partnerToken = applicationToken(t, partnerApp, ['admin:read']);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${inside.id}`, token: partnerToken }))
        .status,
    ).toBe(200);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${outside.id}`, token: partnerToken }))
        .status,
    ).toBe(404);

    const tenantApp = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: partner.id,
      tenantId: inside.id,
    });
    const tenantToken = applicationToken(t, tenantApp, ['admin:read']);
    const list = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token: tenantToken });
    expect(list.body.data.map((tenant: { id: string }) => tenant.id)).toEqual([inside.id]);
  });
});

describe('soft-deleted tenants', () => {
  it("end their admins' and applications' tokens and answer 404", async () => {
    const tenant = await createTenant(t);
    const { token: adminToken } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const application = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
    });
    const appToken = applicationToken(t, application, ['admin:read']);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token: adminToken }))
        .status,
    ).toBe(200);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token: appToken })).status,
    ).toBe(200);

    const deleted = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: await t.platformToken(),
    });
    expect(deleted.status).toBe(204);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token: adminToken }))
        .status,
    ).toBe(401);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token: appToken })).status,
    ).toBe(401);
    expect(
      (
        await t.request({
          method: 'GET',
          url: `/api/v1/admin/tenants/${tenant.id}`,
          token: await t.platformToken(),
        })
      ).status,
    ).toBe(404);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/auth/tenants/${tenant.slug}/.well-known/jwks.json` }))
        .status,
    ).toBe(404);
  });
});

describe('signing key rotation', () => {
  it('keeps tokens of the old key valid and publishes both keys', async () => {
    const before = await t.platformToken('admin:read');
    const oldKid = t.app.scaikey.keys.active.kid;
    const { newKid, retiredKids } = await rotateSigningKey(t.database.db);
    expect(retiredKids).toEqual([oldKid]);
    await t.app.scaikey.keys.reload();
    expect(t.app.scaikey.keys.active.kid).toBe(newKid);

    const jwks = await t.request({ method: 'GET', url: '/api/v1/platform/.well-known/jwks.json' });
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid).sort()).toEqual([newKid, oldKid].sort());
    t.app.scaikey.verifier.invalidate();
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token: before })).status).toBe(
      200,
    );

    const fresh = await t.request({
      method: 'POST',
      url: '/api/v1/platform/oauth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${t.config.bootstrap.clientSecret}`).toString('base64')}`,
      },
      payload: 'grant_type=client_credentials&scope=admin:read',
    });
    const kid = JSON.parse(Buffer.from(fresh.body.access_token.split('.')[0], 'base64url').toString()).kid;
    expect(kid).toBe(newKid);
  });

  it('drops a retired key once its overlap has passed', async () => {
    const oldKid = t.app.scaikey.keys.active.kid;
    const token = applicationToken(t, bootstrapApplication(), ['admin:read']);
    await rotateSigningKey(t.database.db, 0);
    await t.app.scaikey.keys.reload();
    const jwks = await t.request({ method: 'GET', url: '/api/v1/platform/.well-known/jwks.json' });
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).not.toContain(oldKid);
    t.app.scaikey.verifier.invalidate();
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token })).status).toBe(401);
  });
});

describe('tokens that outlive their rights', () => {
  it('stops a user token once its admin role is revoked', async () => {
    const tenant = await createTenant(t);
    const { token, user } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token })).status,
    ).toBe(200);
    const roles = await t.request({
      method: 'GET',
      url: `/api/v1/admin/admin-roles/user/${user.id}`,
      token: await t.platformToken(),
    });
    const assignment = roles.body.data[0].id;
    const revoked = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/admin-roles/${assignment}`,
      token: await t.platformToken(),
    });
    expect(revoked.status).toBe(204);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token })).status,
    ).toBe(401);
  });

  it('stops an application token whose scope was taken from allowed_scopes', async () => {
    const app = await insertApplication(t, { scope: 'GLOBAL', allowedScopes: ['admin:read', 'admin:write'] });
    const token = applicationToken(t, app, ['admin:read', 'admin:write']);
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token })).status).toBe(200);
    const patched = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/applications/${app.id}`,
      token: await t.platformToken(),
      body: { allowed_scopes: ['admin:read'] },
    });
    expect(patched.status).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token })).status).toBe(401);
  });
});
