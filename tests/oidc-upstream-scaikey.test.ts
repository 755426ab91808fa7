import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorizationUrl,
  discover,
  handleCallback,
  newLoginSecrets,
  testConnection,
  UpstreamOidcError,
} from '../src/protocols/federation/oidc/upstream.js';
import type { OidcProviderConfig } from '../src/protocols/federation/types.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { createSignInUser, PASSWORD } from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 15: a ScaiKey tenant as the upstream OpenID provider of another's federation — ScaiKey's
// own per-tenant issuer, spoken to over HTTP like any other provider.

const t = useTestApp({}, { live: true });
const REDIRECT_URI = 'http://127.0.0.1:9/api/v1/auth/tenants/downstream/federation/oidc/callback';
let upstreamTenant: Tenant;
let web: Awaited<ReturnType<typeof insertApplication>>;
let config: OidcProviderConfig;

beforeAll(async () => {
  upstreamTenant = await createTenant(t);
  web = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: upstreamTenant.partner_id,
    tenantId: upstreamTenant.id,
    type: 'WEB',
    allowedScopes: ['openid', 'profile', 'email', 'groups'],
    redirectUris: [REDIRECT_URI],
  });
  config = {
    preset: 'generic',
    issuer: `${t.origin}/api/v1/auth/tenants/${upstreamTenant.slug}`,
    client_id: web.id,
    scopes: 'openid profile email groups',
    use_userinfo: true,
    groups_claim: 'groups',
    token_endpoint_auth_method: 'client_secret_basic',
  };
});

async function signInUpstream(email: string) {
  const configuration = await discover(config, web.secret, { allowInsecure: true });
  const secrets = newLoginSecrets();
  const url = await authorizationUrl(configuration, {
    redirectUri: REDIRECT_URI,
    ...secrets,
    scopes: config.scopes,
  });
  const browser = new TestBrowser(t.origin);
  const page = await browser.follow(url.href);
  expect(page.status).toBe(200);
  const done = await browser.submitForm(page, { email, password: PASSWORD });
  if (!done.location?.startsWith(REDIRECT_URI))
    throw new Error(`the sign-in did not end at the callback: ${done.body}`);
  return { configuration, secrets, callback: new URL(done.location) };
}

describe('a ScaiKey tenant as the upstream provider', () => {
  it('passes the connection test', async () => {
    const checks = await testConnection(config, web.secret, { allowInsecure: true });
    expect(checks.filter((check) => !check.ok)).toEqual([]);
  });

  it('signs its user in and yields the user’s id as subject, with email, groups and amr', async () => {
    const group = (
      await t.post(`/api/v1/tenants/${upstreamTenant.id}/groups`, { name: 'Upstream engineers' })
    ).body.data as { id: string };
    const user = await createSignInUser(t, upstreamTenant, {
      first_name: 'Uma',
      last_name: 'Upstream',
      group_ids: [group.id],
    });
    const { configuration, secrets, callback } = await signInUpstream(user.email);
    const identity = await handleCallback(configuration, {
      currentUrl: callback,
      expectedState: secrets.state,
      expectedNonce: secrets.nonce,
      codeVerifier: secrets.codeVerifier,
      useUserinfo: true,
      groupsClaim: 'groups',
    });
    expect(identity).toMatchObject({
      subject: user.id,
      email: user.email,
      groups: [group.id],
      amr: ['pwd'],
    });
    expect(identity.attributes).toMatchObject({
      given_name: 'Uma',
      family_name: 'Upstream',
      iss: config.issuer,
    });
  });

  it('refuses a replayed code with the upstream invalid_grant', async () => {
    const user = await createSignInUser(t, upstreamTenant);
    const { configuration, secrets, callback } = await signInUpstream(user.email);
    const checks = {
      currentUrl: callback,
      expectedState: secrets.state,
      expectedNonce: secrets.nonce,
      codeVerifier: secrets.codeVerifier,
      useUserinfo: false,
      groupsClaim: 'groups',
    };
    await handleCallback(configuration, checks);
    const error = await handleCallback(configuration, checks).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamOidcError);
    expect(error).toMatchObject({ reason: 'token_error', upstream: { error: 'invalid_grant' } });
  });
});
