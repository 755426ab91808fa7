// Regression tests of issue 10 (security hardening): items 5, 13, 16, 17 and 19.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await startTestApp();
  token = await t.platformToken();
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, body: unknown) => t.request({ method: 'POST', url, token, body });

describe('issue 10 item 16: responses with a client secret are not cached', () => {
  it('marks create application and rotate secret Cache-Control: no-store', async () => {
    const created = await post('/api/v1/admin/applications/', {
      name: 'No-store app',
      application_type: 'SERVICE',
      scope: 'GLOBAL',
    });
    expect(created.status).toBe(201);
    expect(created.body.data.client_secret).toEqual(expect.any(String));
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.headers.pragma).toBe('no-cache');
    const rotated = await post(`/api/v1/admin/applications/${created.body.data.id}/rotate-secret`, undefined);
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.client_secret).toEqual(expect.any(String));
    expect(rotated.headers['cache-control']).toBe('no-store');
  });
});

describe('issue 10 item 19: over-long ids in a path', () => {
  it('answer 404 in the {detail, code} envelope', async () => {
    const tenant = await createTenant(t);
    const long = 'x'.repeat(400);
    const urls = [
      `/api/v1/admin/tenants/${long}`,
      `/api/v1/tenants/${tenant.id}/users/${long}`,
      `/api/v1/tenants/${long}/users`,
      `/api/v1/tenants/${tenant.id}/groups/${long}/members`,
      `/api/v1/admin/applications/${long}`,
      `/api/v1/tenants/${tenant.id}/users/%E0%A4%A`,
    ];
    for (const url of urls) {
      const response = await t.request({ method: 'GET', url, token });
      expect(response.status, url).toBe(404);
      expect(response.body, url).toEqual({ detail: expect.any(String), code: 'NOT_FOUND' });
      expect(response.headers['x-request-id'], url).toEqual(expect.any(String));
    }
  });
});
