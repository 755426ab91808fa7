import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHtml, type Page, PathBrowser } from './helpers/path-browser.js';
import { authorizationRequest, createSignInUser, type SignInRealm, signInRealm } from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';
import { startUpstreamOp, UPSTREAM_ACCOUNTS, type UpstreamOp } from './helpers/upstream-op.js';

// Issue 15: the rules around a federated sign-in, through a real upstream OpenID provider (a
// separate process): linking an existing user by email and the identity-source mismatch it leaves,
// local passwords of federated users, the tenant's MFA policy and the provider's trust in the
// upstream's second factor, and deleting a provider.

const t = useTestApp({}, { live: true });
let realm: SignInRealm;
let op: UpstreamOp;
let providerId: string;
const LABEL = 'Corporate login';
const alice = UPSTREAM_ACCOUNTS.alice;

beforeAll(async () => {
  realm = await signInRealm(t);
  op = await startUpstreamOp({
    redirectUris: [`${t.origin}/api/v1/auth/tenants/${realm.tenant.slug}/federation/oidc/callback`],
  });
  const created = await t.post('/api/v1/admin/identity-providers/', {
    tenant_id: realm.tenant.id,
    provider_type: 'OIDC',
    name: LABEL,
    link_by_email: true,
    email_domains: ['upstream.example'],
    config: { issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  providerId = created.body.data.id;
});
afterAll(async () => {
  await op?.stop();
});

function ssoLink(page: Page): string {
  const link = new RegExp(`<a class="button secondary" href="([^"]+)">Sign in with ${LABEL}</a>`).exec(
    page.body,
  );
  if (!link) throw new Error(`no SSO button:\n${page.body.slice(0, 1500)}`);
  return new URL(decodeHtml(link[1] as string), page.url).href;
}

/** Through the sign-in page's button to the upstream as `account`; the page ScaiKey answers after it. */
async function signInUpstream(account: 'alice' | 'bob', extra: Record<string, string> = {}) {
  const browser = new PathBrowser(t.origin);
  const request = await authorizationRequest(realm.config, extra);
  const page = await browser.follow(request.url);
  const started = await browser.follow(ssoLink(page));
  const callback = await op.login(started.location as string, account);
  const done = await browser.follow(callback.href);
  return { browser, request, done };
}

const mismatches = async () =>
  (await t.get(`/api/v1/admin/users/identity-source/mismatches?tenant_id=${realm.tenant.id}`)).body.data;

describe('federation rules', () => {
  it('links an existing local user by its verified email and reports, then fixes, the mismatch', async () => {
    const local = await createSignInUser(t, realm.tenant, { email: alice.email });
    expect((await mismatches()).total).toBe(0);

    const { request, done } = await signInUpstream('alice');
    const tokens = await request.tokens(done.location);
    expect(tokens.claims()?.sub).toBe(local.id);
    const linked = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${local.id}`)).body.data;
    expect(linked.identity_source).toBe('LOCAL');
    expect((await t.get(`/api/v1/admin/identity-providers/${providerId}`)).body.data.users_count).toBe(1);

    const report = await mismatches();
    expect(report).toMatchObject({ total: 1, fixed: 0 });
    expect(report.mismatches[0]).toMatchObject({
      user_id: local.id,
      identity_source: 'LOCAL',
      expected_identity_source: 'OIDC',
      identity_provider_ids: [providerId],
      fixed: false,
    });
    const fixed = await t.get(
      `/api/v1/admin/users/identity-source/mismatches?tenant_id=${realm.tenant.id}&fix=true`,
    );
    expect(fixed.body.data).toMatchObject({ total: 1, fixed: 1 });
    expect(
      (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${local.id}`)).body.data.identity_source,
    ).toBe('OIDC');
    expect((await mismatches()).total).toBe(0);
  });

  it('gives a user of an identity provider no local password unless the tenant allows it', async () => {
    const user = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users?search=${alice.email}`)).body.data[0];
    expect(user.identity_source).toBe('OIDC');
    for (const body of [{ method: 'DIRECT', new_password: 'A-new-local-password-1' }, { method: 'EMAIL' }]) {
      const refused = await t.post(`/api/v1/admin/users/${user.id}/reset-password`, body);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('LOCAL_PASSWORD_NOT_ALLOWED');
    }
    const allow = await t.patch(`/api/v1/admin/tenants/${realm.tenant.id}`, {
      settings: { federated_local_passwords: true },
    });
    expect(allow.status).toBe(200);
    const reset = await t.post(`/api/v1/admin/users/${user.id}/reset-password`, {
      method: 'DIRECT',
      new_password: 'A-new-local-password-1',
    });
    expect(reset.status).toBe(200);
    await t.patch(`/api/v1/admin/tenants/${realm.tenant.id}`, {
      settings: { federated_local_passwords: false },
    });
  });

  it('applies the tenant’s MFA policy to federated users, unless the provider trusts the upstream’s factor', async () => {
    await t.patch(`/api/v1/admin/tenants/${realm.tenant.id}`, { settings: { mfa_required: true } });
    // Bob's upstream sign-in had one factor: a new user must set up a second one here first.
    const bob = await signInUpstream('bob');
    expect(bob.done.status).toBe(200);
    expect(bob.done.body).toContain('Set up two-step verification');
    // Alice's upstream sign-in had two factors (amr pwd mfa), but the provider is not trusted for it.
    const untrusted = await signInUpstream('alice');
    expect(untrusted.done.status).toBe(200);
    expect(untrusted.done.body).toContain('Set up two-step verification');

    const trust = await t.patch(`/api/v1/admin/identity-providers/${providerId}`, {
      trust_upstream_mfa: true,
    });
    expect(trust.status).toBe(200);
    const trusted = await signInUpstream('alice');
    const tokens = await trusted.request.tokens(trusted.done.location);
    expect(decodeJwt(tokens.id_token as string)).toMatchObject({
      amr: ['fed', 'mfa'],
      acr: 'urn:scaikey:loa:2',
    });
    // Bob's single factor is still not enough.
    const stillBob = await signInUpstream('bob');
    expect(stillBob.done.body).toContain('Set up two-step verification');
    await t.patch(`/api/v1/admin/tenants/${realm.tenant.id}`, { settings: { mfa_required: false } });
  });

  it('sends a login_hint of the provider’s domain straight to it', async () => {
    const browser = new PathBrowser(t.origin);
    const request = await authorizationRequest(realm.config, { login_hint: 'someone@UPSTREAM.example' });
    const page = await browser.follow(request.url);
    expect(page.location?.startsWith(`${op.issuer}/auth?`)).toBe(true);
  });

  it('on delete, ends the links: users left without a provider become local; the button goes', async () => {
    const bob = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users?search=bob`)).body.data[0];
    expect(bob.identity_source).toBe('OIDC');
    expect((await t.delete(`/api/v1/admin/identity-providers/${providerId}`)).status).toBe(204);
    const after = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${bob.id}`)).body.data;
    expect(after).toMatchObject({ identity_source: 'LOCAL', status: 'ACTIVE' });
    expect((await mismatches()).total).toBe(0);
    // The local user can now be given a password; the sign-in page has no button any more.
    const reset = await t.post(`/api/v1/admin/users/${bob.id}/reset-password`, { method: 'EMAIL' });
    expect(reset.status).toBe(200);
    const browser = new PathBrowser(t.origin);
    const page = await browser.follow((await authorizationRequest(realm.config)).url);
    expect(page.body).not.toContain(`Sign in with ${LABEL}`);
    const buttons = await t.get(`/api/v1/auth/tenants/${realm.tenant.slug}/federation/idps`, { token: null });
    expect(buttons.body.data).toEqual([]);
  });
});
