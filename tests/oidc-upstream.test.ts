import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestValidationError } from '../src/platform/errors.js';
import { oidcKind } from '../src/protocols/federation/oidc/kind.js';
import {
  authorizationUrl,
  type CallbackChecks,
  discover,
  forgetDiscovery,
  GOOGLE_ISSUER,
  handleCallback,
  identityFromClaims,
  newLoginSecrets,
  resolveIssuer,
  testConnection,
  UpstreamOidcError,
} from '../src/protocols/federation/oidc/upstream.js';
import type { OidcProviderConfig } from '../src/protocols/federation/types.js';
import {
  startUpstreamOp,
  UPSTREAM_ACCOUNTS,
  type UpstreamAccount,
  type UpstreamOp,
} from './helpers/upstream-op.js';

// Issue 15: upstream OpenID Connect against an independent OpenID provider (oidc-provider in its
// own process, tests/fixtures/upstream-op.mjs) — nothing of it is mocked.

const REDIRECT_URI = 'http://127.0.0.1:9/api/v1/auth/tenants/acme/federation/oidc/callback';
let op: UpstreamOp;

beforeAll(async () => {
  op = await startUpstreamOp({ redirectUris: [REDIRECT_URI] });
});
afterAll(async () => {
  await op?.stop();
});

function providerConfig(overrides: Partial<OidcProviderConfig> = {}): OidcProviderConfig {
  return {
    preset: 'generic',
    issuer: op.issuer,
    client_id: op.clientId,
    scopes: 'openid email profile groups department',
    use_userinfo: false,
    groups_claim: 'groups',
    token_endpoint_auth_method: 'client_secret_basic',
    ...overrides,
  };
}

/** Starts a login, signs in at the OP as `account`, and returns the callback URL with what the core would keep. */
async function signInUpstream(
  account: UpstreamAccount,
  options: { consent?: boolean; config?: OidcProviderConfig } = {},
) {
  const configuration = await discover(options.config ?? providerConfig(), op.clientSecret, {
    allowInsecure: true,
  });
  const secrets = newLoginSecrets();
  const url = await authorizationUrl(configuration, {
    redirectUri: REDIRECT_URI,
    ...secrets,
    scopes: (options.config ?? providerConfig()).scopes,
  });
  const callback = await op.login(url, account, { consent: options.consent ?? true });
  const checks: CallbackChecks = {
    currentUrl: callback,
    expectedState: secrets.state,
    expectedNonce: secrets.nonce,
    codeVerifier: secrets.codeVerifier,
    useUserinfo: false,
    groupsClaim: 'groups',
  };
  return { configuration, callback, secrets, checks };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamOidcError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UpstreamOidcError);
  return error as UpstreamOidcError;
}

async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('authorization request', () => {
  it('asks for a code with PKCE S256, a nonce, a state and the openid scope', async () => {
    const configuration = await discover(providerConfig(), op.clientSecret, { allowInsecure: true });
    const secrets = newLoginSecrets();
    const url = await authorizationUrl(configuration, {
      redirectUri: REDIRECT_URI,
      ...secrets,
      scopes: 'email profile',
      loginHint: 'alice@upstream.example',
    });
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(op.clientId);
    expect(url.searchParams.get('scope')).toBe('openid email profile');
    expect(url.searchParams.get('state')).toBe(secrets.state);
    expect(url.searchParams.get('nonce')).toBe(secrets.nonce);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).not.toBe(secrets.codeVerifier);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('login_hint')).toBe('alice@upstream.example');
  });
});

describe('callback', () => {
  it('yields the identity with groups and amr from the ID token', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    const identity = await handleCallback(configuration, checks);
    const alice = UPSTREAM_ACCOUNTS.alice;
    expect(identity).toMatchObject({
      subject: alice.sub,
      email: alice.email,
      emailVerified: true,
      groups: alice.groups,
      amr: alice.amr,
    });
    expect(identity.attributes).toMatchObject({
      given_name: alice.givenName,
      family_name: alice.familyName,
      name: alice.name,
      iss: op.issuer,
    });
    // Protocol claims are not user attributes; userinfo was not asked.
    expect(identity.attributes).not.toHaveProperty('nonce');
    expect(identity.attributes).not.toHaveProperty('department');
  });

  it('merges userinfo claims when the provider is configured for it', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    const identity = await handleCallback(configuration, { ...checks, useUserinfo: true });
    expect(identity.subject).toBe(UPSTREAM_ACCOUNTS.alice.sub);
    expect(identity.attributes.department).toBe(UPSTREAM_ACCOUNTS.alice.department);
    expect(identity.groups).toEqual(UPSTREAM_ACCOUNTS.alice.groups);
  });

  it('keeps an email the provider does not vouch for unverified', async () => {
    const { configuration, checks } = await signInUpstream('bob');
    const identity = await handleCallback(configuration, checks);
    expect(identity).toMatchObject({
      subject: UPSTREAM_ACCOUNTS.bob.sub,
      email: UPSTREAM_ACCOUNTS.bob.email,
      emailVerified: false,
      groups: ['sales'],
      amr: ['pwd'],
    });
  });

  it('refuses a callback whose state is not the login’s', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    const error = await failure(
      handleCallback(configuration, { ...checks, expectedState: newLoginSecrets().state }),
    );
    expect(error.reason).toBe('state_mismatch');
    expect(error.status).toBe(400);
  });

  it('refuses an ID token whose nonce is not the login’s', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    const error = await failure(
      handleCallback(configuration, { ...checks, expectedNonce: newLoginSecrets().nonce }),
    );
    expect(error.reason).toBe('nonce_mismatch');
    expect(error.status).toBe(400);
  });

  it('surfaces the upstream invalid_grant when a code is replayed', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    await handleCallback(configuration, checks);
    const error = await failure(handleCallback(configuration, checks));
    expect(error.reason).toBe('token_error');
    expect(error.upstream?.error).toBe('invalid_grant');
    expect(error.detail).toContain('invalid_grant');
  });

  it('refuses a code exchanged with another PKCE verifier', async () => {
    const { configuration, checks } = await signInUpstream('alice');
    const error = await failure(
      handleCallback(configuration, { ...checks, codeVerifier: newLoginSecrets().codeVerifier }),
    );
    expect(error.reason).toBe('token_error');
    expect(error.upstream?.error).toBe('invalid_grant');
  });

  it('surfaces the upstream access_denied with its description when the user refuses', async () => {
    const { configuration, callback, checks } = await signInUpstream('alice', { consent: false });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const error = await failure(handleCallback(configuration, checks));
    expect(error.reason).toBe('upstream_error');
    expect(error.upstream).toEqual({
      error: 'access_denied',
      description: 'The user refused to share their account',
    });
    expect(error.detail).toBe(
      'The identity provider refused the sign-in: access_denied (The user refused to share their account)',
    );
  });

  it('authenticates to the token endpoint with client_secret_post when configured', async () => {
    const postOp = await startUpstreamOp({
      redirectUris: [REDIRECT_URI],
      tokenEndpointAuthMethod: 'client_secret_post',
    });
    try {
      const config = providerConfig({
        issuer: postOp.issuer,
        token_endpoint_auth_method: 'client_secret_post',
      });
      const configuration = await discover(config, postOp.clientSecret, { allowInsecure: true });
      const secrets = newLoginSecrets();
      const url = await authorizationUrl(configuration, {
        redirectUri: REDIRECT_URI,
        ...secrets,
        scopes: config.scopes,
      });
      const callback = await postOp.login(url, 'bob');
      const identity = await handleCallback(configuration, {
        currentUrl: callback,
        expectedState: secrets.state,
        expectedNonce: secrets.nonce,
        codeVerifier: secrets.codeVerifier,
        useUserinfo: true,
        groupsClaim: 'groups',
      });
      expect(identity.subject).toBe(UPSTREAM_ACCOUNTS.bob.sub);
    } finally {
      await postOp.stop();
    }
  });

  it('refuses a client secret the provider does not know (invalid_client)', async () => {
    const config = providerConfig();
    const configuration = await discover(config, 'not-the-upstream-secret', { allowInsecure: true });
    const secrets = newLoginSecrets();
    const url = await authorizationUrl(configuration, {
      redirectUri: REDIRECT_URI,
      ...secrets,
      scopes: config.scopes,
    });
    const callback = await op.login(url, 'alice');
    const error = await failure(
      handleCallback(configuration, {
        currentUrl: callback,
        expectedState: secrets.state,
        expectedNonce: secrets.nonce,
        codeVerifier: secrets.codeVerifier,
        useUserinfo: false,
        groupsClaim: 'groups',
      }),
    );
    expect(error.reason).toBe('token_error');
    expect(error.upstream?.error).toBe('invalid_client');
    expect(error.detail).not.toContain('not-the-upstream-secret');
  });
});

describe('discovery', () => {
  it('reuses the discovered configuration until the provider is forgotten', async () => {
    const config = providerConfig();
    const first = await discover(config, op.clientSecret, { allowInsecure: true });
    expect(await discover(config, op.clientSecret, { allowInsecure: true })).toBe(first);
    expect(first.serverMetadata().issuer).toBe(op.issuer);
    // Another secret is another client configuration.
    expect(await discover(config, 'another-secret', { allowInsecure: true })).not.toBe(first);
    forgetDiscovery(config);
    expect(await discover(config, op.clientSecret, { allowInsecure: true })).not.toBe(first);
  });

  it('says clearly that an unreachable issuer could not be reached', async () => {
    const port = await unusedPort();
    const error = await failure(
      discover(providerConfig({ issuer: `http://127.0.0.1:${port}` }), op.clientSecret, {
        allowInsecure: true,
      }),
    );
    expect(error.reason).toBe('unreachable');
    expect(error.status).toBe(503);
    expect(error.detail).toContain(
      `http://127.0.0.1:${port}/.well-known/openid-configuration could not be reached`,
    );
  });

  it('refuses a document that names another issuer', async () => {
    const error = await failure(
      discover(providerConfig({ issuer: op.issuer.replace('127.0.0.1', 'localhost') }), op.clientSecret, {
        allowInsecure: true,
      }),
    );
    expect(error.reason).toBe('discovery');
    expect(error.detail).toContain('not usable');
  });

  it('refuses an http issuer unless insecure issuers are allowed', async () => {
    const error = await failure(discover(providerConfig(), op.clientSecret));
    expect(error.reason).toBe('configuration');
    expect(error.status).toBe(400);
    expect(error.detail).toContain('is not https://');
  });

  it('refuses a confidential client without a secret', async () => {
    const error = await failure(discover(providerConfig(), undefined, { allowInsecure: true }));
    expect(error.reason).toBe('configuration');
    expect(error.detail).toContain('needs a client secret');
  });
});

describe('presets', () => {
  it('gives Google its issuer whatever issuer is stored', () => {
    expect(resolveIssuer({ preset: 'google', issuer: 'https://elsewhere.example' })).toBe(GOOGLE_ISSUER);
  });

  it('derives the Entra ID issuer from the directory id', () => {
    expect(
      resolveIssuer({ preset: 'entra', issuer: '', entra_tenant_id: '72F988BF-86F1-41AF-91AB-2D7CD011DB47' }),
    ).toBe('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
    expect(resolveIssuer({ preset: 'entra', issuer: '', entra_tenant_id: 'contoso.onmicrosoft.com' })).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
    );
  });

  it('refuses the Entra ID multi-tenant endpoints and a missing directory', () => {
    for (const tenant of ['common', 'organizations', 'Consumers']) {
      expect(() => resolveIssuer({ preset: 'entra', issuer: '', entra_tenant_id: tenant })).toThrow(
        /multi-tenant/,
      );
    }
    expect(() => resolveIssuer({ preset: 'entra', issuer: '', entra_tenant_id: null })).toThrow(
      /entra_tenant_id/,
    );
    expect(() => resolveIssuer({ preset: 'entra', issuer: '', entra_tenant_id: 'x/../evil' })).toThrow(
      /entra_tenant_id/,
    );
  });

  it('keys Entra ID users by oid and trusts their email only with xms_edov', () => {
    const claims = {
      sub: 'pairwise-per-app',
      oid: '00000000-0000-0000-0000-0000000000aa',
      email: 'a@contoso.com',
    };
    const unverified = identityFromClaims({ ...claims }, 'groups', 'entra');
    expect(unverified.subject).toBe(claims.oid);
    expect(unverified.emailVerified).toBe(false);
    expect(identityFromClaims({ ...claims, xms_edov: true }, 'groups', 'entra').emailVerified).toBe(true);
    // A generic provider's oid means nothing; xms_edov neither.
    const generic = identityFromClaims({ ...claims, xms_edov: true }, 'groups', 'generic');
    expect(generic).toMatchObject({ subject: 'pairwise-per-app', emailVerified: false });
    expect(() => identityFromClaims({ sub: 'x' }, 'groups', 'entra')).toThrow(/oid/);
  });

  it('refuses a groups claim left out for size rather than signing in without groups', () => {
    expect(() =>
      identityFromClaims(
        { sub: 'x', oid: 'y', _claim_names: { groups: 'src1' }, _claim_sources: {} },
        'groups',
        'entra',
      ),
    ).toThrow(/too many groups/);
  });

  it('reads groups from a nested claim path', () => {
    const identity = identityFromClaims(
      { sub: 'x', realm_access: { roles: ['a', 'b'] } },
      'realm_access.roles',
      'generic',
    );
    expect(identity.groups).toEqual(['a', 'b']);
  });
});

describe('connection test', () => {
  it('passes every check against a working provider', async () => {
    const checks = await testConnection(providerConfig({ use_userinfo: true }), op.clientSecret, {
      allowInsecure: true,
    });
    expect(checks.map((check) => check.name)).toEqual([
      'configuration',
      'discovery',
      'issuer',
      'endpoints',
      'pkce',
      'client_authentication',
      'jwks',
      'client',
    ]);
    expect(checks.filter((check) => !check.ok)).toEqual([]);
  });

  it('says that discovery failed for an unreachable provider', async () => {
    const port = await unusedPort();
    const checks = await testConnection(
      providerConfig({ issuer: `http://127.0.0.1:${port}` }),
      op.clientSecret,
      {
        allowInsecure: true,
      },
    );
    expect(checks).toEqual([
      { name: 'configuration', ok: true, detail: `issuer http://127.0.0.1:${port}` },
      expect.objectContaining({ name: 'discovery', ok: false }),
    ]);
    expect(checks[1]?.detail).toContain('could not be reached');
  });

  it('reports an issuer mismatch', async () => {
    const localhost = op.issuer.replace('127.0.0.1', 'localhost');
    const checks = await testConnection(providerConfig({ issuer: localhost }), op.clientSecret, {
      allowInsecure: true,
    });
    const byName = Object.fromEntries(checks.map((check) => [check.name, check]));
    expect(byName.discovery?.ok).toBe(true);
    expect(byName.issuer).toMatchObject({
      ok: false,
      detail: `the document names issuer ${op.issuer}, not ${localhost}`,
    });
    expect(byName.endpoints?.ok).toBe(true);
    expect(byName.client?.ok).toBe(false);
  });

  it('refuses an http issuer as a configuration failure', async () => {
    const checks = await testConnection(providerConfig(), op.clientSecret);
    expect(checks).toEqual([expect.objectContaining({ name: 'configuration', ok: false })]);
  });
});

describe('the OIDC provider kind', () => {
  it('refuses an http issuer before it is saved unless SCAIKEY_FEDERATION_ALLOW_HTTP is on', async () => {
    const config = { ...providerConfig() };
    const refused = await oidcKind({ allowHttp: false })
      .prepare?.(config, {})
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestValidationError);
    expect((refused as RequestValidationError).issues).toEqual([
      expect.objectContaining({
        loc: ['body', 'config', 'issuer'],
        msg: expect.stringContaining('not https://'),
      }),
    ]);
    expect(await oidcKind({ allowHttp: true }).prepare?.(config, {})).toMatchObject({ issuer: op.issuer });
  });

  it('stores the issuer an Entra ID preset stands for', async () => {
    const prepared = await oidcKind({ allowHttp: false }).prepare?.(
      { preset: 'entra', entra_tenant_id: 'Contoso.onmicrosoft.com', issuer: 'ignored', client_id: 'x' },
      {},
    );
    expect(prepared?.issuer).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
  });

  it('starts a sign-in at the provider with the login’s state, nonce and PKCE challenge', async () => {
    const kind = oidcKind({ allowHttp: true });
    const secrets = newLoginSecrets();
    const provider = {
      id: 'idp_test',
      config: { ...providerConfig() },
      secrets: { client_secret: op.clientSecret },
    } as unknown as Parameters<NonNullable<typeof kind.start>>[0];
    const started = await kind.start?.(provider, secrets, { redirect_uri: REDIRECT_URI });
    const url = new URL(started?.url as string);
    expect(url.searchParams.get('state')).toBe(secrets.state);
    expect(url.searchParams.get('nonce')).toBe(secrets.nonce);
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    // The same sign-in goes through at the provider and back.
    const callback = await op.login(url, 'bob');
    const identity = await handleCallback(
      await discover(providerConfig(), op.clientSecret, { allowInsecure: true }),
      {
        currentUrl: callback,
        expectedState: secrets.state,
        expectedNonce: secrets.nonce,
        codeVerifier: secrets.codeVerifier,
        useUserinfo: false,
        groupsClaim: 'groups',
      },
    );
    expect(identity.subject).toBe(UPSTREAM_ACCOUNTS.bob.sub);
  });
});
