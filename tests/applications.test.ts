import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/lib/secrets.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
  type Tenant,
} from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const BASE = '/api/v1/admin/applications';
const TOKEN_URL = '/api/v1/platform/oauth/token';
const unique = () => randomBytes(4).toString('hex');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function create(body: Record<string, unknown>, token = t.token) {
  return t.request({ method: 'POST', url: `${BASE}/`, token, body: { name: `App ${unique()}`, ...body } });
}

async function created(body: Record<string, unknown>, token = t.token) {
  const response = await create(body, token);
  if (response.status !== 201) throw new Error(`create: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as { id: string; client_secret: string | null; [key: string]: unknown };
}

const get = (id: string, token = t.token) => t.request({ method: 'GET', url: `${BASE}/${id}`, token });
const patch = (id: string, body: unknown, token = t.token) =>
  t.request({ method: 'PATCH', url: `${BASE}/${id}`, token, body });
const remove = (id: string, token = t.token) => t.request({ method: 'DELETE', url: `${BASE}/${id}`, token });
const rotate = (id: string, token = t.token) =>
  t.request({ method: 'POST', url: `${BASE}/${id}/rotate-secret`, token });
const list = (query: string, token = t.token) =>
  t.request({ method: 'GET', url: `${BASE}/?${query}`, token });

function grant(clientId: string, secret: string, scope?: string) {
  return t.request({
    method: 'POST',
    url: TOKEN_URL,
    headers: {
      authorization: basic(clientId, secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      ...(scope ? { scope } : {}),
    }).toString(),
  });
}

/** A partner with two tenants and another partner with one (the shapes visibility is about). */
async function landscape() {
  const partnerA = await createPartner(t);
  const partnerB = await createPartner(t);
  const a1 = await createTenant(t, { partner_id: partnerA.id });
  const a2 = await createTenant(t, { partner_id: partnerA.id });
  const b1 = await createTenant(t, { partner_id: partnerB.id });
  return { partnerA, partnerB, a1, a2, b1 };
}

const tenantAdmin = async (tenant: Tenant) =>
  (await adminUserToken(t, { role: 'tenant_admin', tenant })).token;
const partnerAdmin = async (tenant: Tenant) =>
  (await adminUserToken(t, { role: 'partner_admin', tenant })).token;

describe('POST /api/v1/admin/applications/', () => {
  it('creates a GLOBAL SERVICE application and shows its secret once, stored as a SHA-256 digest', async () => {
    const response = await create({
      application_type: 'SERVICE',
      scope: 'GLOBAL',
      description: 'Nightly sync',
      allowed_scopes: ['admin:read', 'users:read'],
    });
    expect(response.status).toBe(201);
    const app = response.body.data;
    expect(app.id).toMatch(/^app_[0-9a-z]{20}$/);
    expect(app).toMatchObject({
      client_id: app.id,
      description: 'Nightly sync',
      application_type: 'SERVICE',
      scope: 'GLOBAL',
      partner_id: null,
      tenant_id: null,
      is_confidential: true,
      redirect_uris: [],
      post_logout_redirect_uris: [],
      allowed_origins: [],
      allowed_scopes: ['admin:read', 'users:read'],
      token_lifetime: 3600,
      assignment_required: false,
      status: 'ACTIVE',
      secret_rotated_at: null,
      updated_at: null,
    });
    expect(app.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await t.database.db
      .selectFrom('applications')
      .selectAll()
      .where('id', '=', app.id)
      .executeTakeFirstOrThrow();
    expect(row.client_secret_digest).toBe(sha256Hex(app.client_secret));

    const again = await get(app.id);
    expect(again.status).toBe(200);
    expect(again.body.data).not.toHaveProperty('client_secret');
    expect(JSON.stringify(again.body)).not.toContain(app.client_secret);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', app.id)
      .executeTakeFirstOrThrow();
    expect(audit.action).toBe('application.created');
    expect(JSON.stringify(audit.after)).not.toContain(app.client_secret);
    expect(JSON.stringify(audit.after)).not.toContain(row.client_secret_digest);
  });

  it('issues a working secret: the GLOBAL client gets tokens at the platform token endpoint', async () => {
    for (const type of ['WEB', 'SERVICE']) {
      const app = await created({ application_type: type, scope: 'GLOBAL', allowed_scopes: ['admin:read'] });
      const token = await grant(app.id, app.client_secret as string);
      expect(token.status).toBe(200);
      expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'admin:read' });
      // The token of a GLOBAL application with admin:read reads the admin API.
      const read = await get(app.id, token.body.access_token);
      expect(read.status).toBe(200);
      const wrong = await grant(app.id, 'not-the-secret');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
  });

  it('gives public applications (SPA, NATIVE) no secret', async () => {
    for (const type of ['SPA', 'NATIVE']) {
      const app = await created({ application_type: type, scope: 'GLOBAL' });
      expect(app.client_secret).toBeNull();
      expect(app.is_confidential).toBe(false);
      const row = await t.database.db
        .selectFrom('applications')
        .select('client_secret_digest')
        .where('id', '=', app.id)
        .executeTakeFirstOrThrow();
      expect(row.client_secret_digest).toBeNull();
    }
  });

  it('gives a TENANT application the partner of its tenant and keeps the given settings', async () => {
    const { partnerA, a1 } = await landscape();
    const app = await created({
      application_type: 'WEB',
      scope: 'TENANT',
      tenant_id: a1.id,
      redirect_uris: ['https://app.example.com/callback', 'http://localhost:3000/cb', 'http://127.0.0.1/cb'],
      post_logout_redirect_uris: ['https://app.example.com/'],
      allowed_origins: ['https://app.example.com', 'http://localhost:3000'],
      allowed_scopes: ['openid', 'profile', 'openid', 'files:read'],
      token_lifetime: 900,
      assignment_required: true,
    });
    expect(app).toMatchObject({
      scope: 'TENANT',
      tenant_id: a1.id,
      partner_id: partnerA.id,
      allowed_scopes: ['openid', 'profile', 'files:read'],
      token_lifetime: 900,
      assignment_required: true,
      allowed_origins: ['https://app.example.com', 'http://localhost:3000'],
    });
  });

  it('keeps require_pushed_authorization_requests, false unless asked (issue 11, item 2)', async () => {
    const { a1 } = await landscape();
    const plain = await created({ application_type: 'SPA', scope: 'TENANT', tenant_id: a1.id });
    expect(plain.require_pushed_authorization_requests).toBe(false);
    const pushed = await created({
      application_type: 'WEB',
      scope: 'TENANT',
      tenant_id: a1.id,
      require_pushed_authorization_requests: true,
    });
    expect(pushed.require_pushed_authorization_requests).toBe(true);
    const changed = await patch(pushed.id, { require_pushed_authorization_requests: false });
    expect(changed.status).toBe(200);
    expect((await get(pushed.id)).body.data.require_pushed_authorization_requests).toBe(false);
    expect((await patch(pushed.id, { require_pushed_authorization_requests: 'yes' })).status).toBe(422);
  });

  it('creates a PARTNER application for a live partner and 404s an unknown one', async () => {
    const { partnerA } = await landscape();
    const app = await created({ application_type: 'SERVICE', scope: 'PARTNER', partner_id: partnerA.id });
    expect(app).toMatchObject({ scope: 'PARTNER', partner_id: partnerA.id, tenant_id: null });
    const unknown = await create({
      application_type: 'SERVICE',
      scope: 'PARTNER',
      partner_id: 'prt_00000000000000000000',
    });
    expect(unknown.status).toBe(404);
    const malformed = await create({ application_type: 'SERVICE', scope: 'PARTNER', partner_id: 'nope' });
    expect(malformed.status).toBe(404);
  });

  it('applies the creation rules of each admin tier', async () => {
    const { partnerA, partnerB, a1, a2, b1 } = await landscape();
    const partner = await partnerAdmin(a1);
    expect((await create({ application_type: 'SERVICE', scope: 'GLOBAL' }, partner)).status).toBe(403);
    const ownPartner = await create({ application_type: 'SERVICE', scope: 'PARTNER' }, partner);
    expect(ownPartner.status).toBe(201);
    expect(ownPartner.body.data.partner_id).toBe(partnerA.id);
    expect(
      (await create({ application_type: 'SERVICE', scope: 'PARTNER', partner_id: partnerB.id }, partner))
        .status,
    ).toBe(403);
    expect(
      (await create({ application_type: 'WEB', scope: 'TENANT', tenant_id: a2.id }, partner)).status,
    ).toBe(201);
    const foreign = await create({ application_type: 'WEB', scope: 'TENANT', tenant_id: b1.id }, partner);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('NOT_FOUND');

    const tenant = await tenantAdmin(a1);
    expect((await create({ application_type: 'SERVICE', scope: 'GLOBAL' }, tenant)).status).toBe(403);
    expect(
      (await create({ application_type: 'SERVICE', scope: 'PARTNER', partner_id: partnerA.id }, tenant))
        .status,
    ).toBe(403);
    const own = await create({ application_type: 'SPA', scope: 'TENANT' }, tenant);
    expect(own.status).toBe(201);
    expect(own.body.data).toMatchObject({ tenant_id: a1.id, partner_id: partnerA.id });
    expect(
      (await create({ application_type: 'SPA', scope: 'TENANT', tenant_id: a2.id }, tenant)).status,
    ).toBe(404);

    const user = await adminUserToken(t, { role: null as never, tenant: a1 });
    expect(
      (await create({ application_type: 'SPA', scope: 'TENANT', tenant_id: a1.id }, user.token)).status,
    ).toBe(403);
    const readOnly = await t.platformToken('admin:read');
    const refused = await create({ application_type: 'SERVICE', scope: 'GLOBAL' }, readOnly);
    expect(refused.status).toBe(403);
  });

  it('lets a TENANT application token with admin:write register applications of its tenant only', async () => {
    const { a1, a2 } = await landscape();
    const machine = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: a1.partner_id,
      tenantId: a1.id,
    });
    const token = applicationToken(t, machine);
    const own = await create({ application_type: 'SERVICE', scope: 'TENANT' }, token);
    expect(own.status).toBe(201);
    expect(own.body.data.tenant_id).toBe(a1.id);
    expect(
      (await create({ application_type: 'SERVICE', scope: 'TENANT', tenant_id: a2.id }, token)).status,
    ).toBe(404);
  });

  it('refuses malformed client metadata with a 422 naming the item', async () => {
    const cases: [Record<string, unknown>, (string | number)[]][] = [
      [{ redirect_uris: ['http://app.example.com/cb'] }, ['body', 'redirect_uris', 0]],
      [
        { redirect_uris: ['https://ok.example.com/cb', 'https://app.example.com/cb#x'] },
        ['body', 'redirect_uris', 1],
      ],
      [{ redirect_uris: ['https://*.example.com/cb'] }, ['body', 'redirect_uris', 0]],
      [{ redirect_uris: ['/callback'] }, ['body', 'redirect_uris', 0]],
      [{ redirect_uris: ['com.example.app:/cb'] }, ['body', 'redirect_uris', 0]],
      [{ redirect_uris: ['javascript:alert(1)'] }, ['body', 'redirect_uris', 0]],
      [{ redirect_uris: ['https://user:pw@app.example.com/cb'] }, ['body', 'redirect_uris', 0]],
      [{ post_logout_redirect_uris: ['http://example.com/'] }, ['body', 'post_logout_redirect_uris', 0]],
      [{ allowed_origins: ['https://app.example.com/'] }, ['body', 'allowed_origins', 0]],
      [{ allowed_origins: ['https://app.example.com/path'] }, ['body', 'allowed_origins', 0]],
      [{ allowed_origins: ['http://app.example.com'] }, ['body', 'allowed_origins', 0]],
      [{ allowed_scopes: ['two words'] }, ['body', 'allowed_scopes', 0]],
      [{ allowed_scopes: ['quo"te'] }, ['body', 'allowed_scopes', 0]],
      [{ token_lifetime: 59 }, ['body', 'token_lifetime']],
      [{ token_lifetime: 86401 }, ['body', 'token_lifetime']],
      [{ application_type: 'DESKTOP' }, ['body', 'application_type']],
      [{ scope: 'WORLD' }, ['body', 'scope']],
      [{ client_secret: 'mine' }, ['body', 'client_secret']],
      [{ tenant_id: null, scope: 'TENANT' }, ['body', 'tenant_id']],
      [{ partner_id: 'prt_00000000000000000000' }, ['body', 'partner_id']],
    ];
    for (const [fields, loc] of cases) {
      const response = await create({ application_type: 'WEB', scope: 'GLOBAL', ...fields });
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(
        response.body.detail.map((item: { loc: unknown }) => item.loc),
        JSON.stringify(fields),
      ).toContainEqual(loc);
    }
    const noName = await t.post(`${BASE}/`, { application_type: 'WEB', scope: 'GLOBAL' });
    expect(noName.status).toBe(422);
    expect(noName.body.detail[0]).toMatchObject({ loc: ['body', 'name'], type: 'missing' });
  });

  it('accepts loopback http, exact https and private-use schemes for NATIVE applications', async () => {
    const app = await created({
      application_type: 'NATIVE',
      scope: 'GLOBAL',
      redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1:51004/cb', 'http://[::1]/cb'],
      allowed_origins: ['https://app.example.com:8443'],
    });
    expect(app.redirect_uris).toEqual([
      'com.example.app:/oauth2redirect',
      'http://127.0.0.1:51004/cb',
      'http://[::1]/cb',
    ]);
  });

  it("enforces the partner's max_applications_per_tenant on TENANT applications (409 LIMIT_EXCEEDED)", async () => {
    const partner = await createPartner(t, { max_applications_per_tenant: 1 });
    const tenant = await createTenant(t, { partner_id: partner.id });
    const first = await created({ application_type: 'WEB', scope: 'TENANT', tenant_id: tenant.id });
    const second = await create({ application_type: 'WEB', scope: 'TENANT', tenant_id: tenant.id });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('LIMIT_EXCEEDED');
    // PARTNER applications are not per-tenant.
    expect((await create({ application_type: 'WEB', scope: 'PARTNER', partner_id: partner.id })).status).toBe(
      201,
    );
    // A deleted application frees its place.
    expect((await remove(first.id)).status).toBe(204);
    expect((await create({ application_type: 'WEB', scope: 'TENANT', tenant_id: tenant.id })).status).toBe(
      201,
    );
  });
});

describe('GET /api/v1/admin/applications/ (visibility)', () => {
  async function visibilitySetup() {
    const land = await landscape();
    const tag = `vis-${unique()}`;
    const make = async (name: string, fields: Record<string, unknown>) =>
      (await created({ name: `${tag} ${name}`, application_type: 'SERVICE', ...fields })).id;
    const apps = {
      global: await make('global', { scope: 'GLOBAL' }),
      partnerA: await make('partnerA', { scope: 'PARTNER', partner_id: land.partnerA.id }),
      partnerB: await make('partnerB', { scope: 'PARTNER', partner_id: land.partnerB.id }),
      a1: await make('a1', { scope: 'TENANT', tenant_id: land.a1.id }),
      a2: await make('a2', { scope: 'TENANT', tenant_id: land.a2.id }),
      b1: await make('b1', { scope: 'TENANT', tenant_id: land.b1.id }),
    };
    return { ...land, tag, apps };
  }

  const ids = async (query: string, token: string) => {
    const response = await list(query, token);
    expect(response.status).toBe(200);
    return (response.body.data as { id: string }[]).map((app) => app.id).sort();
  };

  it('shows a super admin everything', async () => {
    const { tag, apps } = await visibilitySetup();
    expect(await ids(`search=${tag}`, t.token)).toEqual(Object.values(apps).sort());
  });

  it('shows a partner admin GLOBAL apps, its PARTNER apps and the TENANT apps of its tenants', async () => {
    const { tag, apps, a1 } = await visibilitySetup();
    const token = await partnerAdmin(a1);
    expect(await ids(`search=${tag}`, token)).toEqual([apps.global, apps.partnerA, apps.a1, apps.a2].sort());
    expect((await get(apps.b1, token)).status).toBe(404);
    expect((await get(apps.partnerB, token)).status).toBe(404);
    expect((await get(apps.a2, token)).status).toBe(200);
  });

  it('shows a tenant admin GLOBAL apps, its parent partner apps and its own TENANT apps', async () => {
    const { tag, apps, a1 } = await visibilitySetup();
    const token = await tenantAdmin(a1);
    expect(await ids(`search=${tag}`, token)).toEqual([apps.global, apps.partnerA, apps.a1].sort());
    for (const hidden of [apps.a2, apps.b1, apps.partnerB]) {
      const response = await get(hidden, token);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
    expect((await get(apps.global, token)).status).toBe(200);
  });

  it('filters by tenant_id, partner_id, scope, application_type and search, and paginates', async () => {
    const { tag, apps, partnerA, a1 } = await visibilitySetup();
    expect(await ids(`search=${tag}&tenant_id=${a1.id}`, t.token)).toEqual([apps.a1]);
    expect(await ids(`search=${tag}&partner_id=${partnerA.id}`, t.token)).toEqual(
      [apps.partnerA, apps.a1, apps.a2].sort(),
    );
    expect(await ids(`search=${tag}&scope=PARTNER`, t.token)).toEqual([apps.partnerA, apps.partnerB].sort());
    expect(await ids(`search=${tag}&application_type=WEB`, t.token)).toEqual([]);
    expect(await ids(`search=${apps.b1}`, t.token)).toEqual([apps.b1]);
    expect(await ids(`search=${tag.toUpperCase()}%20B1`, t.token)).toEqual([apps.b1]);

    const page2 = await list(`search=${tag}&per_page=4&page=2`);
    expect(page2.body.pagination).toEqual({ page: 2, per_page: 4, total_items: 6, total_pages: 2 });
    expect(page2.body.data).toHaveLength(2);
    const page1 = await list(`search=${tag}&per_page=4`);
    // Oldest first: the order of creation.
    expect(page1.body.data.map((app: { id: string }) => app.id)).toEqual([
      apps.global,
      apps.partnerA,
      apps.partnerB,
      apps.a1,
    ]);
    for (const query of ['per_page=0', 'per_page=101', 'page=0', 'scope=WORLD', 'application_type=X']) {
      expect((await list(query)).status, query).toBe(422);
    }
  });

  it('hides the applications of a deleted tenant', async () => {
    const { apps, a2 } = await visibilitySetup();
    expect((await t.delete(`/api/v1/admin/tenants/${a2.id}`)).status).toBe(204);
    expect((await get(apps.a2)).status).toBe(404);
  });

  it('needs a bearer token and an admin role', async () => {
    expect((await t.request({ method: 'GET', url: `${BASE}/` })).status).toBe(401);
    const { a1 } = await landscape();
    const user = await adminUserToken(t, { role: null as never, tenant: a1 });
    expect((await list('', user.token)).status).toBe(403);
    const narrow = await insertApplication(t, { scope: 'GLOBAL', allowedScopes: ['users:read'] });
    const response = await list('', applicationToken(t, narrow, ['users:read']));
    expect(response.status).toBe(403);
    expect(response.body.detail).toBe('Platform token requires admin:read or admin:write scope');
  });
});

describe('PATCH /api/v1/admin/applications/{app_id}', () => {
  it('replaces lists instead of merging them and records the change', async () => {
    const app = await created({
      application_type: 'WEB',
      scope: 'GLOBAL',
      allowed_scopes: ['openid', 'profile'],
      redirect_uris: ['https://a.example.com/cb'],
    });
    const response = await patch(app.id, {
      name: 'Renamed',
      description: null,
      allowed_scopes: ['admin:read'],
      redirect_uris: ['https://b.example.com/cb'],
      token_lifetime: 60,
      assignment_required: true,
    });
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      name: 'Renamed',
      description: null,
      allowed_scopes: ['admin:read'],
      redirect_uris: ['https://b.example.com/cb'],
      token_lifetime: 60,
      assignment_required: true,
    });
    expect(response.body.data.updated_at).not.toBeNull();
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', app.id)
      .where('action', '=', 'application.updated')
      .executeTakeFirstOrThrow();
    expect(audit.before).toMatchObject({ allowed_scopes: ['openid', 'profile'] });
    expect(audit.after).toMatchObject({ allowed_scopes: ['admin:read'], name: 'Renamed' });
  });

  it('refuses to change scope, application_type, tenant or partner (422 extra_forbidden)', async () => {
    const { a1, a2 } = await landscape();
    const app = await created({ application_type: 'WEB', scope: 'TENANT', tenant_id: a1.id });
    for (const body of [
      { scope: 'GLOBAL' },
      { application_type: 'SPA' },
      { tenant_id: a2.id },
      { partner_id: a2.partner_id },
      { client_secret: 'x' },
    ]) {
      const response = await patch(app.id, body);
      expect(response.status).toBe(422);
      expect(response.body.detail[0].type).toBe('extra_forbidden');
    }
    for (const body of [
      { token_lifetime: 10 },
      { status: 'DELETED' },
      { redirect_uris: ['http://x.example/cb'] },
    ]) {
      expect((await patch(app.id, body)).status, JSON.stringify(body)).toBe(422);
    }
    expect((await get(app.id)).body.data).toMatchObject({ scope: 'TENANT', tenant_id: a1.id });
  });

  it('lets only the right tiers change an application (403 when visible, 404 when not)', async () => {
    const { partnerA, a1, a2 } = await landscape();
    const globalApp = await created({ application_type: 'SERVICE', scope: 'GLOBAL' });
    const partnerApp = await created({
      application_type: 'SERVICE',
      scope: 'PARTNER',
      partner_id: partnerA.id,
    });
    const tenantApp = await created({ application_type: 'SERVICE', scope: 'TENANT', tenant_id: a1.id });
    const otherTenantApp = await created({ application_type: 'SERVICE', scope: 'TENANT', tenant_id: a2.id });

    const tenant = await tenantAdmin(a1);
    expect((await patch(globalApp.id, { name: 'x' }, tenant)).status).toBe(403);
    expect((await patch(partnerApp.id, { name: 'x' }, tenant)).status).toBe(403);
    expect((await patch(tenantApp.id, { name: 'by tenant admin' }, tenant)).status).toBe(200);
    expect((await patch(otherTenantApp.id, { name: 'x' }, tenant)).status).toBe(404);
    expect((await remove(partnerApp.id, tenant)).status).toBe(403);
    expect((await rotate(globalApp.id, tenant)).status).toBe(403);

    const partner = await partnerAdmin(a2);
    expect((await patch(globalApp.id, { name: 'x' }, partner)).status).toBe(403);
    expect((await patch(partnerApp.id, { name: 'by partner admin' }, partner)).status).toBe(200);
    expect((await patch(tenantApp.id, { status: 'DISABLED' }, partner)).status).toBe(200);
    expect((await patch(globalApp.id, { name: 'by super admin' })).status).toBe(200);
  });

  it('answers 404 for unknown and malformed ids on every item route', async () => {
    for (const id of ['app_00000000000000000000', 'not-an-id', 'usr_00000000000000000000']) {
      expect((await get(id)).status).toBe(404);
      expect((await patch(id, { name: 'x' })).status).toBe(404);
      expect((await remove(id)).status).toBe(404);
      expect((await rotate(id)).status).toBe(404);
    }
  });
});

describe('tokens of changed applications', () => {
  async function serviceWithToken() {
    const app = await created({
      application_type: 'SERVICE',
      scope: 'GLOBAL',
      allowed_scopes: ['admin:read', 'admin:write'],
    });
    const issued = await grant(app.id, app.client_secret as string);
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    // Verified once, so the verifier has it cached: the change must clear that cache.
    expect((await list('per_page=1', token)).status).toBe(200);
    return { app, token };
  }

  it('rejects the issued token of a deleted application at once (401) and 404s the application', async () => {
    const { app, token } = await serviceWithToken();
    const topics: string[] = [];
    t.app.scaikey.invalidation.on((topic) => topics.push(topic));
    expect((await remove(app.id)).status).toBe(204);
    expect(topics).toContain(`application:${app.id}`);
    const response = await list('per_page=1', token);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain('Bearer');
    expect((await get(app.id)).status).toBe(404);
    expect((await remove(app.id)).status).toBe(404);
    expect((await grant(app.id, app.client_secret as string)).status).toBe(401);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', app.id)
      .where('action', '=', 'application.deleted')
      .executeTakeFirst();
    expect(audit).toBeDefined();
  });

  it('rejects the issued token of a disabled application and accepts it again once re-enabled', async () => {
    const { app, token } = await serviceWithToken();
    expect((await patch(app.id, { status: 'DISABLED' })).body.data.status).toBe('DISABLED');
    expect((await list('per_page=1', token)).status).toBe(401);
    expect((await grant(app.id, app.client_secret as string)).status).toBe(401);
    expect((await patch(app.id, { status: 'ACTIVE' })).status).toBe(200);
    expect((await list('per_page=1', token)).status).toBe(200);
  });

  it('rejects an application token (applicationToken factory) once its TENANT application is deleted', async () => {
    const { a1 } = await landscape();
    const machine = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: a1.partner_id,
      tenantId: a1.id,
    });
    const token = applicationToken(t, machine);
    expect((await list('per_page=1', token)).status).toBe(200);
    expect((await remove(machine.id, await partnerAdmin(a1))).status).toBe(204);
    expect((await list('per_page=1', token)).status).toBe(401);
  });
});

describe('POST /api/v1/admin/applications/{app_id}/rotate-secret', () => {
  it('issues a new secret once; the old one stops working immediately', async () => {
    const app = await created({ application_type: 'WEB', scope: 'GLOBAL', allowed_scopes: ['admin:read'] });
    const oldSecret = app.client_secret as string;
    expect((await grant(app.id, oldSecret)).status).toBe(200);
    const response = await rotate(app.id);
    expect(response.status).toBe(200);
    const newSecret = response.body.data.client_secret as string;
    expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSecret).not.toBe(oldSecret);
    expect(response.body.data.secret_rotated_at).not.toBeNull();
    const old = await grant(app.id, oldSecret);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    expect((await grant(app.id, newSecret)).status).toBe(200);
    expect((await get(app.id)).body.data).not.toHaveProperty('client_secret');
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', app.id)
      .where('action', '=', 'application.secret_rotated')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(audit)).not.toContain(newSecret);
  });

  it('refuses public applications with 400 PUBLIC_CLIENT', async () => {
    const app = await created({ application_type: 'SPA', scope: 'GLOBAL' });
    const response = await rotate(app.id);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('PUBLIC_CLIENT');
  });

  it('lets a tenant admin rotate the secret of its own TENANT application', async () => {
    const { a1 } = await landscape();
    const token = await tenantAdmin(a1);
    const app = await created({ application_type: 'SERVICE', scope: 'TENANT' }, token);
    const response = await rotate(app.id, token);
    expect(response.status).toBe(200);
    const row = await t.database.db
      .selectFrom('applications')
      .select('client_secret_digest')
      .where('id', '=', app.id)
      .executeTakeFirstOrThrow();
    expect(row.client_secret_digest).toBe(sha256Hex(response.body.data.client_secret));
  });
});
