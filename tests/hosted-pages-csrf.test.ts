import { describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 12, item 4: every POST of a hosted page needs the CSRF token of its page (and the cookie
// it came with); without it, or with a wrong one, the answer is a page (403), never a 500.

const t = useTestApp();
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function forgotPasswordPage(slug: string) {
  const page = await t.app.inject({ method: 'GET', url: `/api/v1/auth/tenants/${slug}/forgot-password` });
  expect(page.statusCode).toBe(200);
  return {
    csrf: /name="csrf" value="([^"]*)"/.exec(page.body)?.[1] as string,
    cookie: page.cookies.map(({ name, value }) => `${name}=${value}`).join('; '),
  };
}

function expectRefusedWithPage(response: {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}) {
  expect(response.statusCode).toBe(403);
  expect(response.headers['content-type']).toMatch(/^text\/html/);
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(response.headers['cache-control']).toContain('no-store');
  expect(response.body).toContain('This form has expired');
}

describe('CSRF on the hosted pages', () => {
  it('refuses a form post without a token, or without its cookie, with a page', async () => {
    const tenant = await createTenant(t);
    const url = `/api/v1/auth/tenants/${tenant.slug}/forgot-password`;
    const { csrf } = await forgotPasswordPage(tenant.slug);
    const withoutToken = await t.app.inject({
      method: 'POST',
      url,
      headers: form,
      payload: new URLSearchParams({ email: 'someone@acme.example' }).toString(),
    });
    expectRefusedWithPage(withoutToken);
    const withoutCookie = await t.app.inject({
      method: 'POST',
      url,
      headers: form,
      payload: new URLSearchParams({ email: 'someone@acme.example', csrf }).toString(),
    });
    expectRefusedWithPage(withoutCookie);
  });

  it("refuses a wrong token with a page, and takes the page's own", async () => {
    const tenant = await createTenant(t, { branding: { display_name: 'Csrf Corp' } });
    const url = `/api/v1/auth/tenants/${tenant.slug}/forgot-password`;
    const { csrf, cookie } = await forgotPasswordPage(tenant.slug);
    const wrong = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...form, cookie },
      payload: new URLSearchParams({ email: 'someone@acme.example', csrf: `${csrf}x` }).toString(),
    });
    expectRefusedWithPage(wrong);
    // The error page carries the tenant's branding.
    expect(wrong.body).toContain('Csrf Corp');
    const right = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...form, cookie },
      payload: new URLSearchParams({ email: 'someone@acme.example', csrf }).toString(),
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain('If this address has an account here');
  });

  it('refuses a set-password form post without its token with a page', async () => {
    const tenant = await createTenant(t);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/reset-password`,
      headers: form,
      payload: new URLSearchParams({
        token: 'not-a-token',
        new_password: 'Correct-Horse-Battery-9',
      }).toString(),
    });
    expectRefusedWithPage(response);
  });

  it('leaves JSON clients to the JSON API (no form, no token)', async () => {
    const tenant = await createTenant(t);
    const response = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/forgot-password`,
      body: { email: 'someone@acme.example' },
    });
    expect(response.status).toBe(202);
  });
});
