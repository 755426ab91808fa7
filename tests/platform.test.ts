import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import { startTestApp, useTestApp } from './helpers/test-app.js';

const t = useTestApp();

describe('route schemas', () => {
  it('compile on first use, and every one of them compiles', async () => {
    // A fresh app: nothing has been requested yet, so every route's schemas are still pending.
    const fresh = await startTestApp();
    try {
      await fresh.app.ready(); // routes hand their schemas to the compilers when the app is ready
      const compiled = fresh.app.scaikey.compileSchemas();
      // Validators (params, query, body) and response serializers of 100+ routes.
      expect(compiled).toBeGreaterThan(200);
      expect(fresh.app.scaikey.compileSchemas()).toBe(0);
      // Compiled ahead of the first request, the routes answer as before.
      const token = await fresh.platformToken();
      const invalid = await fresh.request({
        method: 'POST',
        url: '/api/v1/admin/partners/',
        token,
        body: { name: 'x', unknown_field: 1 },
      });
      expect(invalid.status).toBe(422);
    } finally {
      await fresh.close();
    }
  });

  it('are compiled by a request only for its own route', async () => {
    const untouched = await startTestApp();
    const used = await startTestApp();
    try {
      const token = await used.platformToken();
      const tenant = await createTenant(used);
      const read = await used.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token });
      expect(read.status).toBe(200);
      await untouched.app.ready();
      const all = untouched.app.scaikey.compileSchemas();
      const left = used.app.scaikey.compileSchemas();
      // The token, create-tenant (body, response) and get-tenant (params, response) routes at least.
      expect(all - left).toBeGreaterThanOrEqual(4);
      expect(all - left).toBeLessThan(20);
    } finally {
      await untouched.close();
      await used.close();
    }
  });
});

describe('health', () => {
  it('answers /healthz and /readyz without a token', async () => {
    expect((await t.request({ method: 'GET', url: '/healthz' })).body).toEqual({ status: 'ok' });
    expect((await t.request({ method: 'GET', url: '/readyz' })).body).toEqual({ status: 'ready' });
  });
});

describe('request ids', () => {
  it('echoes a valid incoming X-Request-ID in the header and meta.request_id', async () => {
    const tenant = await createTenant(t);
    const response = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: await t.platformToken(),
      headers: { 'x-request-id': 'trace-abc-123' },
    });
    expect(response.headers['x-request-id']).toBe('trace-abc-123');
    expect(response.body.meta.request_id).toBe('trace-abc-123');
    expect(response.body.meta.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('makes an id when none (or an unusable one) is sent', async () => {
    const response = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      token: await t.platformToken(),
      headers: { 'x-request-id': 'x'.repeat(129) },
    });
    expect(response.headers['x-request-id']).toMatch(/^req_[0-9a-f]{24}$/);
    expect(response.body.meta.request_id).toBe(response.headers['x-request-id']);
  });
});

describe('wire format of errors', () => {
  it('answers a wrong-shape id with 404 {detail, code}', async () => {
    const response = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/not-an-id',
      token: await t.platformToken(),
    });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Tenant not found', code: 'NOT_FOUND' });
  });

  it('answers malformed JSON with a FastAPI-shaped 422', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token: await t.platformToken(),
      body: '{"name": ',
    });
    expect(response.status).toBe(422);
    expect(response.body.detail[0]).toMatchObject({ loc: ['body', 0], type: 'json_invalid' });
  });

  it('answers a missing body with 422 missing', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token: await t.platformToken(),
    });
    expect(response.status).toBe(422);
    expect(response.body.detail).toEqual([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
  });

  it('answers a body over 1 MiB with 413', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token: await t.platformToken(),
      body: { name: 'x'.repeat(1024 * 1024) },
    });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers an unknown route with 404 {detail, code}', async () => {
    const response = await t.request({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('NOT_FOUND');
  });
});

describe('OpenAPI', () => {
  it('serves the document and the interactive docs page', async () => {
    const document = await t.request({ method: 'GET', url: '/openapi.json' });
    expect(document.status).toBe(200);
    expect(document.body.paths['/api/v1/admin/tenants/']).toBeDefined();
    const docs = await t.request({ method: 'GET', url: '/docs/' });
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('<html');
  });

  it('matches the committed docs/openapi.json (run `npm run openapi` after changing routes)', async () => {
    const document = await t.request({ method: 'GET', url: '/openapi.json' });
    const committed = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
    expect(document.body).toEqual(committed);
  });
});

describe('trailing slashes', () => {
  it('serves the other slash form of a route as the documented one', async () => {
    const token = await t.platformToken();
    const withSlash = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/', token });
    const withoutSlash = await t.request({ method: 'GET', url: '/api/v1/admin/tenants', token });
    expect(withoutSlash.status).toBe(200);
    expect(withoutSlash.body.pagination).toEqual(withSlash.body.pagination);
  });
});
