import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { decodeHtml, type Page, PathBrowser } from './helpers/path-browser.js';
import {
  authorizationRequest,
  createSignInUser,
  PASSWORD,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';
import { startUpstreamOp, UPSTREAM_ACCOUNTS, type UpstreamOp } from './helpers/upstream-op.js';

// Issue 15, end to end: an application of a ScaiKey tenant signs a user in through an upstream
// OpenID provider — an independent oidc-provider in its own process, and a second ScaiKey tenant —
// from the sign-in page's SSO button to the federation callback, JIT provisioning and back to the
// application with a code.

const t = useTestApp({}, { live: true });
let realm: SignInRealm;
let op: UpstreamOp;
let opProviderId: string;
const OP_LABEL = 'Upstream OP';

const callbackOf = (tenant: Tenant) =>
  `${t.origin}/api/v1/auth/tenants/${tenant.slug}/federation/oidc/callback`;

async function createProvider(tenant: Tenant, body: Record<string, unknown>) {
  const response = await t.post('/api/v1/admin/identity-providers/', {
    tenant_id: tenant.id,
    provider_type: 'OIDC',
    ...body,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string };
}

beforeAll(async () => {
  realm = await signInRealm(t);
  op = await startUpstreamOp({ redirectUris: [callbackOf(realm.tenant)] });
  opProviderId = (
    await createProvider(realm.tenant, {
      name: OP_LABEL,
      config: {
        issuer: op.issuer,
        client_id: op.clientId,
        client_secret: op.clientSecret,
        scopes: 'openid email profile groups',
        use_userinfo: true,
      },
      group_mapping: [{ upstream_group: 'engineering', group_name: 'Engineers' }],
    })
  ).id;
});
afterAll(async () => {
  await op?.stop();
});

/** The SSO button of `label` on a sign-in page: its target. */
function ssoLink(page: Page, label: string): string {
  const link = new RegExp(`<a class="button secondary" href="([^"]+)">Sign in with ${label}</a>`).exec(
    page.body,
  );
  if (!link) throw new Error(`no "${label}" button on the page:\n${page.body.slice(0, 1500)}`);
  return new URL(decodeHtml(link[1] as string), page.url).href;
}

/** The application's authorization → ScaiKey's sign-in page → the SSO button: where it redirects. */
async function startAtUpstream(label = OP_LABEL) {
  const browser = new PathBrowser(t.origin);
  const request = await authorizationRequest(realm.config);
  const page = await browser.follow(request.url);
  expect(page.status).toBe(200);
  const started = await browser.follow(ssoLink(page, label));
  return { browser, request, started };
}

describe('sign-in through an independent OpenID provider', () => {
  it('creates the user at the first sign-in and returns to the application with a code', async () => {
    const { browser, request, started } = await startAtUpstream();
    expect(started.location?.startsWith(`${op.issuer}/auth?`)).toBe(true);
    const upstreamRequest = new URL(started.location as string);
    expect(upstreamRequest.searchParams.get('code_challenge_method')).toBe('S256');
    expect(upstreamRequest.searchParams.get('redirect_uri')).toBe(callbackOf(realm.tenant));

    const callback = await op.login(upstreamRequest, 'alice');
    expect(callback.href.startsWith(`${callbackOf(realm.tenant)}?code=`)).toBe(true);
    const done = await browser.follow(callback.href);
    expect(done.location?.startsWith('http://127.0.0.1:9/callback?code=')).toBe(true);

    const tokens = await request.tokens(done.location);
    const claims = tokens.claims();
    const alice = UPSTREAM_ACCOUNTS.alice;
    expect(claims).toMatchObject({
      email: alice.email,
      given_name: alice.givenName,
      family_name: alice.familyName,
    });
    const user = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${claims?.sub}?include=groups`)).body
      .data;
    expect(user).toMatchObject({ email: alice.email, identity_source: 'OIDC', status: 'ACTIVE' });
    // The group mapping made the upstream group `engineering` a ScaiKey group with the user in it;
    // `platform-admins` is mapped to nothing.
    expect(user.groups).toEqual([expect.objectContaining({ name: 'Engineers', membership_type: 'DIRECT' })]);

    // The next sign-in finds the same user by its upstream subject.
    const again = await startAtUpstream();
    const secondCallback = await op.login(again.started.location as string, 'alice');
    const secondDone = await again.browser.follow(secondCallback.href);
    expect((await again.request.tokens(secondDone.location)).claims()?.sub).toBe(claims?.sub);
  });

  it('refuses a callback answered already (a replayed code)', async () => {
    const { browser, started } = await startAtUpstream();
    const callback = await op.login(started.location as string, 'bob');
    const done = await browser.follow(callback.href);
    expect(done.location?.startsWith('http://127.0.0.1:9/callback?code=')).toBe(true);
    const replayed = await fetch(callback);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ code: 'FEDERATION_FAILED' });
  });

  it('refuses a callback whose state belongs to no sign-in', async () => {
    const { started } = await startAtUpstream();
    const callback = await op.login(started.location as string, 'bob');
    callback.searchParams.set('state', 'not-the-state-of-any-sign-in');
    const response = await fetch(callback);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'FEDERATION_FAILED' });
  });

  it('refuses an ID token whose nonce is not the sign-in’s and says so on the sign-in page', async () => {
    const { browser, started } = await startAtUpstream();
    const callback = await op.login(started.location as string, 'alice');
    await t.database.db
      .updateTable('federation_logins')
      .set({ nonce: 'a-nonce-of-another-sign-in' })
      .where('id', '=', callback.searchParams.get('state') as string)
      .execute();
    const page = await browser.follow(callback.href);
    expect(page.status).toBe(401);
    expect(page.body).toContain(`Signing in with ${OP_LABEL} did not work`);
    expect(page.body).toContain('nonce mismatch');
  });

  it('shows the provider’s access_denied with its description when the user refuses', async () => {
    const { browser, started } = await startAtUpstream();
    const callback = await op.login(started.location as string, 'alice', { consent: false });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const page = await browser.follow(callback.href);
    expect(page.status).toBe(401);
    expect(page.body).toContain('access_denied (The user refused to share their account)');
  });

  it('stops the sign-ins of a provider disabled while its user was at the provider', async () => {
    const label = 'Soon disabled OP';
    const provider = await createProvider(realm.tenant, {
      name: label,
      config: { issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret },
    });
    const { browser, started } = await startAtUpstream(label);
    const callback = await op.login(started.location as string, 'alice');
    const disabled = await t.patch(`/api/v1/admin/identity-providers/${provider.id}`, { enabled: false });
    expect(disabled.status).toBe(200);
    const page = await browser.follow(callback.href);
    expect(page.status).toBe(403);
    expect(page.body).toContain('This sign-in option is not available any more.');
    expect(page.location).toBeNull();
  });

  it('passes the connection test of the admin API', async () => {
    const response = await t.post(`/api/v1/admin/identity-providers/${opProviderId}/test`, {});
    expect(response.status).toBe(200);
    const checks = JSON.stringify(response.body);
    expect(checks).toContain('"name":"jwks"');
    expect(checks).not.toContain('"ok":false');
  });

  it('refuses an Entra ID provider on a multi-tenant endpoint', async () => {
    const response = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: realm.tenant.id,
      provider_type: 'OIDC',
      name: 'Entra everyone',
      config: { preset: 'entra', entra_tenant_id: 'common', client_id: 'x', client_secret: 'y' },
    });
    expect(response.status).toBe(422);
    expect(JSON.stringify(response.body)).toContain('multi-tenant');
  });
});

describe('sign-in through a second ScaiKey tenant as the upstream provider', () => {
  it('signs the upstream tenant’s user in and returns to the application with a code', async () => {
    const upstream = await createTenant(t);
    const upstreamApp = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: upstream.partner_id,
      tenantId: upstream.id,
      type: 'WEB',
      allowedScopes: ['openid', 'profile', 'email'],
      redirectUris: [callbackOf(realm.tenant)],
    });
    const label = `Tenant ${upstream.slug}`;
    await createProvider(realm.tenant, {
      name: label,
      config: {
        issuer: `${t.origin}/api/v1/auth/tenants/${upstream.slug}`,
        client_id: upstreamApp.id,
        client_secret: upstreamApp.secret,
        scopes: 'openid email profile',
      },
    });
    const upstreamUser = await createSignInUser(t, upstream, { first_name: 'Una', last_name: 'Upstream' });

    const { browser, request, started } = await startAtUpstream(label);
    // The upstream is on the same origin: the browser is now at the upstream tenant's sign-in page.
    expect(started.status).toBe(200);
    expect(started.url).toContain(`/api/v1/auth/tenants/${upstream.slug}/`);
    const done = await browser.submitForm(started, { email: upstreamUser.email, password: PASSWORD });
    expect(done.location?.startsWith('http://127.0.0.1:9/callback?code=')).toBe(true);

    const claims = (await request.tokens(done.location)).claims();
    expect(claims).toMatchObject({ email: upstreamUser.email, given_name: 'Una', family_name: 'Upstream' });
    expect(claims?.sub).not.toBe(upstreamUser.id);
    const user = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${claims?.sub}`)).body.data;
    expect(user).toMatchObject({ email: upstreamUser.email, identity_source: 'OIDC' });
  });
});
