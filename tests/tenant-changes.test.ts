import type { FastifyInstance } from 'fastify';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertWebApplication } from './helpers/factories.js';
import { freePort, onPostgres, testConfig, useTestApp } from './helpers/test-app.js';

// Issue 11, item 3: a change of a tenant's settings or branding applies to sign-in at once, on
// every instance (the cached tenant row is invalidated through LISTEN/NOTIFY like everything else).

const t = useTestApp({}, { live: true });
const CALLBACK = 'http://127.0.0.1:9/callback';
const PASSWORD = 'Correct-Horse-Battery-9';
const WRONG_MESSAGE = 'The email address or the password is not correct.';

/** A tenant with a WEB application and a user, and the discovery of its issuer at `origin`. */
async function signInTenant(origin: string, fields: Record<string, unknown> = {}) {
  const tenant = await createTenant(t, fields);
  const app = await insertWebApplication(t, tenant, ['openid', 'offline_access'], [CALLBACK]);
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `changes-${tenant.slug}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  const conf = await client.discovery(
    new URL(`${origin}/api/v1/auth/tenants/${tenant.slug}`),
    app.id,
    undefined,
    client.ClientSecretBasic(app.secret),
    { execute: [client.allowInsecureRequests] },
  );
  return { tenant, conf, email: response.body.data.email as string };
}

/** Opens the hosted login page of a new authorization request (PKCE). */
async function loginPage(conf: client.Configuration, origin: string, scope = 'openid') {
  const browser = new TestBrowser(origin);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
  });
  const page = await browser.follow(url.href);
  expect(page.status).toBe(200);
  return { browser, page, verifier };
}

async function attempt(conf: client.Configuration, origin: string, email: string, password: string) {
  const { browser, page } = await loginPage(conf, origin);
  return browser.submitForm(page, { email, password });
}

const messageOf = (body: string) => /<p class="error"[^>]*>([^<]*)<\/p>/.exec(body)?.[1] ?? null;

async function patchTenant(id: string, body: Record<string, unknown>) {
  const response = await t.patch(`/api/v1/admin/tenants/${id}`, body);
  expect(response.status).toBe(200);
  return response.body.data;
}

/** Two wrong passwords, then the right one: refused when the threshold is 2, signed in when it is 5. */
async function lockoutProbe(conf: client.Configuration, origin: string, email: string) {
  for (let i = 0; i < 2; i++) expect((await attempt(conf, origin, email, `wrong-${i}`)).status).toBe(401);
  return attempt(conf, origin, email, PASSWORD);
}

describe('tenant changes reach sign-in at once', () => {
  it('a lowered lockout threshold applies to the next sign-in', async () => {
    const { tenant, conf, email } = await signInTenant(t.origin);
    // The tenant's provider and row are in use (cached) before the change.
    expect((await attempt(conf, t.origin, email, PASSWORD)).location).toMatch(/code=/);
    await patchTenant(tenant.id, { settings: { lockout: { max_failed_attempts: 2, lockout_minutes: 5 } } });
    const refused = await lockoutProbe(conf, t.origin, email);
    expect(refused.status).toBe(401);
    expect(messageOf(refused.body)).toBe(WRONG_MESSAGE);
  });

  it('changed branding shows on the next login page', async () => {
    const { tenant, conf } = await signInTenant(t.origin, {
      branding: { display_name: 'Old Name', primary_color: '#111111' },
    });
    expect((await loginPage(conf, t.origin)).page.body).toContain('Old Name');
    await patchTenant(tenant.id, { branding: { display_name: 'New Name', primary_color: '#22aa44' } });
    const { body } = (await loginPage(conf, t.origin)).page;
    expect(body).toContain('New Name');
    expect(body).not.toContain('Old Name');
    expect(body).toContain('#22aa44');
  });

  it('a changed session_timeout sets the lifetime of the next refresh token', async () => {
    const { tenant, conf, email } = await signInTenant(t.origin);
    const signIn = async () => {
      const { browser, page, verifier } = await loginPage(conf, t.origin, 'openid offline_access');
      const after = await browser.submitForm(page, { email, password: PASSWORD });
      const tokens = await client.authorizationCodeGrant(conf, new URL(after.location as string), {
        pkceCodeVerifier: verifier,
      });
      const refresh = await client.tokenIntrospection(conf, tokens.refresh_token as string);
      return (refresh.exp as number) - (refresh.iat as number);
    };
    expect(await signIn()).toBe(480 * 60);
    await patchTenant(tenant.id, { settings: { session_timeout: 7 } });
    expect(await signIn()).toBe(7 * 60);
  });

  it('a password max_age_days set later asks for a new password at the next sign-in', async () => {
    const { tenant, conf, email } = await signInTenant(t.origin);
    expect((await attempt(conf, t.origin, email, PASSWORD)).location).toMatch(/code=/);
    await t.database.db
      .updateTable('users')
      .set({ password_changed_at: new Date(Date.now() - 3 * 86_400_000) })
      .where('tenant_id', '=', tenant.id)
      .execute();
    await patchTenant(tenant.id, { settings: { password_policy: { max_age_days: 2 } } });
    const asked = await attempt(conf, t.origin, email, PASSWORD);
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('Choose a new password');
  });

  it('leaves out stored branding that would not pass validation (rows older than the rules)', async () => {
    const { tenant, conf } = await signInTenant(t.origin);
    // Written behind the API's back (then announced, as a migration of the rows would).
    await t.database.db
      .updateTable('tenants')
      .set({
        branding: JSON.stringify({
          display_name: '<script>alert(1)</script>',
          logo_url: 'http://cdn.example/x" onerror="alert(1)',
          favicon_url: 'javascript:alert(1)',
          primary_color: 'red;}body{display:none',
          support_email: 'a"b@example.com',
        }),
      })
      .where('id', '=', tenant.id)
      .execute();
    t.app.scaikey.invalidation.local(`tenant:${tenant.id}`);
    const { body } = (await loginPage(conf, t.origin)).page;
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toContain('<script');
    expect(body).not.toContain('cdn.example');
    expect(body).not.toContain('javascript:');
    expect(body).not.toContain('display:none');
    expect(body).not.toContain('mailto:');
    expect(body).toContain('#1f5fbf');
  });

  it('a new name and slug serve at once (the old slug is gone)', async () => {
    const { tenant, conf } = await signInTenant(t.origin, { name: 'Before Rename' });
    expect((await loginPage(conf, t.origin)).page.body).toContain('Before Rename');
    const slug = `renamed-${tenant.slug}`.slice(0, 60);
    await patchTenant(tenant.id, { name: 'After Rename', slug });
    const old = await fetch(
      `${t.origin}/api/v1/auth/tenants/${tenant.slug}/.well-known/openid-configuration`,
    );
    expect(old.status).toBe(404);
    const renamed = await fetch(`${t.origin}/api/v1/auth/tenants/${slug}/.well-known/openid-configuration`);
    expect(((await renamed.json()) as { issuer: string }).issuer).toBe(
      `${t.origin}/api/v1/auth/tenants/${slug}`,
    );
  });
});

/**
 * A second instance of the installation, listening on its own port, on the same database: its own
 * connection pool and LISTEN connection on PostgreSQL; on PGlite (one process, one connection)
 * the same database handle, so that only NOTIFY carries the change from one app to the other.
 */
async function secondInstance(): Promise<{ app: FastifyInstance; origin: string; close(): Promise<void> }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const database = onPostgres ? await t.database_.open() : t.database;
  const app = await buildApp(testConfig({ publicUrl: origin, port }), { database });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    origin,
    async close() {
      await app.close();
      if (onPostgres) await database.close();
    },
  };
}

/** Resolves when `app` has been told (by NOTIFY) that `topic` changed. */
function notified(app: FastifyInstance, topic: string): Promise<void> {
  return new Promise((resolve) => app.scaikey.invalidation.on((seen) => seen === topic && resolve()));
}

describe('two instances on one database', () => {
  it('a change made on one applies to sign-in on the other as soon as it is notified', async () => {
    const b = await secondInstance();
    try {
      const { tenant, conf, email } = await signInTenant(b.origin, { branding: { display_name: 'Before' } });
      // B serves the tenant (provider and row cached there) before the change.
      expect((await loginPage(conf, b.origin)).page.body).toContain('Before');
      expect((await attempt(conf, b.origin, email, PASSWORD)).location).toMatch(/code=/);

      const told = notified(b.app, `tenant:${tenant.id}`);
      await patchTenant(tenant.id, {
        settings: { lockout: { max_failed_attempts: 2, lockout_minutes: 5 } },
        branding: { display_name: 'After' },
      });
      await told;
      expect((await loginPage(conf, b.origin)).page.body).toContain('After');
      const refused = await lockoutProbe(conf, b.origin, email);
      expect(refused.status).toBe(401);
      expect(messageOf(refused.body)).toBe(WRONG_MESSAGE);
    } finally {
      await b.close();
    }
  });
});
