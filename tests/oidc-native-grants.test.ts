import { decodeJwt, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertApplication } from './helpers/factories.js';
import {
  CALLBACK,
  createSignInUser,
  passwordSignInCallback,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * The native authorization_code and refresh_token grants (src/protocols/oauth/user-grants.ts,
 * docs/adr/0016-native-user-grants.md): the same tokens, rows and errors as oidc-provider, and at
 * most one success of simultaneous uses of one code or refresh token.
 */
const t = useTestApp({}, { live: true });
let realm: SignInRealm;
let tokenUrl: string;
let user: { id: string; email: string };

beforeAll(async () => {
  realm = await signInRealm(t);
  tokenUrl = `${t.origin}/api/v1/auth/tenants/${realm.tenant.slug}/oauth/token`;
  user = await createSignInUser(t, realm.tenant, { first_name: 'Nat', last_name: 'Ive' });
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A sign-in of `account` in a new browser up to the callback: the code and its PKCE verifier. */
async function signInCode(extra: Record<string, string> = {}, account: { email: string } = user) {
  const { request, callback } = await passwordSignInCallback(t, realm.config, account.email, extra);
  const code = new URL(callback as string).searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback}`);
  return { code, verifier: request.verifier };
}

// biome-ignore lint/suspicious/noExplicitAny: token responses are asserted field by field.
type Body = any;

/** A token request (HTTP Basic as the WEB application unless `authorization` says otherwise). */
async function token(form: Record<string, string>, authorization: string | null = null) {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: authorization ?? basic(realm.web.id, realm.web.secret),
    },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: response.status,
    body: (await response.json()) as Body,
    requestId: response.headers.get('x-request-id'),
  };
}

/**
 * An extra parameter the native path does not know: oidc-provider ignores it, so the same request
 * is answered by the provider (the reference the native answers are compared with).
 */
const VIA_PROVIDER = { trace: 'provider' };

const exchange = (code: { code: string; verifier: string }, extra: Record<string, string> = {}) =>
  token({
    grant_type: 'authorization_code',
    code: code.code,
    code_verifier: code.verifier,
    redirect_uri: CALLBACK,
    ...extra,
  });

const refresh = (refreshToken: string, extra: Record<string, string> = {}) =>
  token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });

/** The request ids whose token.issued audit rows carry them (only native answers know theirs). */
async function nativeRequestIds(): Promise<Set<string>> {
  await t.app.scaikey.audit.flush();
  const rows = await t.database.db
    .selectFrom('audit_events')
    .select('request_id')
    .where('action', '=', 'token.issued')
    .where('resource_id', '=', realm.web.id)
    .execute();
  return new Set(rows.map((row) => row.request_id).filter((id): id is string => id !== null));
}

/** What must be equal between two token responses: everything but ids and times. */
function shape(body: Body) {
  const claims = (jwt: string) => {
    const { jti, iat, exp, grant_id, ...rest } = decodeJwt(jwt);
    return {
      ...rest,
      lifetime: (exp as number) - (iat as number),
      jti: typeof jti === 'string' ? jti.length : null,
      grant_id: typeof grant_id,
    };
  };
  return {
    keys: Object.keys(body).sort(),
    token_type: body.token_type,
    expires_in: body.expires_in,
    scope: body.scope,
    access: claims(body.access_token),
    accessHeader: decodeProtectedHeader(body.access_token),
    id: body.id_token ? claims(body.id_token) : null,
    idHeader: body.id_token ? decodeProtectedHeader(body.id_token) : null,
    refresh: typeof body.refresh_token === 'string' ? body.refresh_token.length : null,
  };
}

/** A stored refresh token's payload without its ids and times. */
async function storedRefreshToken(id: string) {
  const row = await t.database.db
    .selectFrom('oidc_payloads')
    .select(['payload', 'grant_id', 'expires_at', 'consumed_at'])
    .where('model', '=', 'RefreshToken')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  const { jti, iat, exp, iiat, grantId, sessionUid, authTime, ...rest } = row.payload as Record<
    string,
    unknown
  >;
  expect(jti).toBe(id);
  expect(grantId).toBe(row.grant_id);
  // exp counts from the token's whole-second iat, expires_at from the moment oidc-provider stored
  // it (later by up to a second plus however long the request waited for a CPU).
  expect(Math.abs((row.expires_at as Date).getTime() / 1000 - (exp as number))).toBeLessThanOrEqual(2);
  return { ...rest, lifetime: (exp as number) - (iat as number), consumed: row.consumed_at !== null };
}

describe('native authorization_code grant', () => {
  it('answers like oidc-provider: the same response fields, claims and stored refresh token', async () => {
    const [nativeCode, providerCode] = [await signInCode(), await signInCode()];
    const native = await exchange(nativeCode);
    const provider = await exchange(providerCode, VIA_PROVIDER);
    expect(native.status).toBe(200);
    expect(provider.status).toBe(200);
    const natives = await nativeRequestIds();
    expect(natives.has(native.requestId as string)).toBe(true);
    expect(natives.has(provider.requestId as string)).toBe(false);
    expect(shape(native.body)).toEqual(shape(provider.body));
    expect(decodeJwt(native.body.access_token)).toMatchObject({ sub: user.id, tenant_id: realm.tenant.id });
    expect(decodeJwt(native.body.id_token)).toMatchObject({
      sub: user.id,
      given_name: 'Nat',
      family_name: 'Ive',
    });
    expect(await storedRefreshToken(native.body.refresh_token)).toEqual(
      await storedRefreshToken(provider.body.refresh_token),
    );
    // The access token works where ScaiKey's tokens are used.
    const userinfo = await fetch(`${t.origin}/api/v1/auth/tenants/${realm.tenant.slug}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${native.body.access_token}` },
    });
    expect(userinfo.status).toBe(200);
  });

  it('refuses a wrong PKCE verifier (invalid_grant) and leaves the code usable', async () => {
    const code = await signInCode();
    const wrong = await exchange({ code: code.code, verifier: `${code.verifier.slice(0, -1)}x` });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    const missing = await token({
      grant_type: 'authorization_code',
      code: code.code,
      redirect_uri: CALLBACK,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_grant');
    expect((await exchange(code)).status).toBe(200);
  });

  it('refuses a code of another client (invalid_grant) and a wrong redirect_uri', async () => {
    const other = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: realm.tenant.partner_id,
      tenantId: realm.tenant.id,
      type: 'WEB',
      allowedScopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [CALLBACK],
    });
    const code = await signInCode();
    const form = {
      grant_type: 'authorization_code',
      code: code.code,
      code_verifier: code.verifier,
      redirect_uri: CALLBACK,
    };
    const stolen = await token(form, basic(other.id, other.secret));
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    const badSecret = await token(form, basic(realm.web.id, `${realm.web.secret}x`));
    expect(badSecret.status).toBe(401);
    expect(badSecret.body.error).toBe('invalid_client');
    const elsewhere = await exchange(code, { redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error).toBe('invalid_grant');
    expect((await exchange(code)).status).toBe(200);
  });

  it('refuses an expired code (invalid_grant)', async () => {
    const code = await signInCode();
    await t.database.db
      .updateTable('oidc_payloads')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('model', '=', 'AuthorizationCode')
      .where('id', '=', code.code)
      .execute();
    const expired = await exchange(code);
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe('invalid_grant');
  });

  it('refuses a used code and revokes what the first exchange issued, as oidc-provider does', async () => {
    const code = await signInCode();
    const first = await exchange(code);
    expect(first.status).toBe(200);
    const again = await exchange(code);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    const refreshed = await refresh(first.body.refresh_token);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
    const userinfo = await fetch(`${t.origin}/api/v1/auth/tenants/${realm.tenant.slug}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${first.body.access_token}` },
    });
    expect(userinfo.status).toBe(401);
  });

  it('lets at most one of simultaneous exchanges of one code succeed', async () => {
    const code = await signInCode();
    const answers = await Promise.all(Array.from({ length: 6 }, () => exchange(code)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400]);
    for (const answer of answers.filter((each) => each.status === 400)) {
      expect(answer.body.error).toBe('invalid_grant');
    }
  });
});

describe('native refresh_token grant', () => {
  it('rotates like oidc-provider: the same response and stored token, the old one consumed', async () => {
    const tokens = await exchange(await signInCode());
    const other = await exchange(await signInCode());
    const native = await refresh(tokens.body.refresh_token);
    const provider = await refresh(other.body.refresh_token, VIA_PROVIDER);
    expect(native.status).toBe(200);
    expect(provider.status).toBe(200);
    const natives = await nativeRequestIds();
    expect(natives.has(native.requestId as string)).toBe(true);
    expect(natives.has(provider.requestId as string)).toBe(false);
    expect(shape(native.body)).toEqual(shape(provider.body));
    expect(native.body.refresh_token).not.toBe(tokens.body.refresh_token);
    const stored = await storedRefreshToken(native.body.refresh_token);
    expect(stored).toEqual(await storedRefreshToken(provider.body.refresh_token));
    expect(stored).toMatchObject({ rotations: 1, gty: 'authorization_code refresh_token', consumed: false });
    expect(await storedRefreshToken(tokens.body.refresh_token)).toMatchObject({ consumed: true });
    // The next rotation goes on from the native one.
    const next = await refresh(native.body.refresh_token);
    expect(next.status).toBe(200);
    expect(await storedRefreshToken(next.body.refresh_token)).toMatchObject({ rotations: 2 });
  });

  it('revokes the family when a rotated refresh token comes back', async () => {
    const tokens = await exchange(await signInCode());
    const rotated = await refresh(tokens.body.refresh_token);
    expect(rotated.status).toBe(200);
    const reused = await refresh(tokens.body.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    const after = await refresh(rotated.body.refresh_token);
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('lets at most one of simultaneous uses of one refresh token succeed', async () => {
    const tokens = await exchange(await signInCode());
    const answers = await Promise.all(Array.from({ length: 6 }, () => refresh(tokens.body.refresh_token)));
    const successes = answers.filter((answer) => answer.status === 200);
    expect(successes).toHaveLength(1);
    for (const answer of answers.filter((each) => each.status !== 200)) {
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_grant');
    }
  });

  it('narrows the scope like oidc-provider and refuses a wider one (invalid_scope)', async () => {
    const tokens = await exchange(await signInCode());
    const other = await exchange(await signInCode());
    const native = await refresh(tokens.body.refresh_token, { scope: 'openid email' });
    const provider = await refresh(other.body.refresh_token, { scope: 'openid email', ...VIA_PROVIDER });
    expect(native.status).toBe(200);
    expect(shape(native.body)).toEqual(shape(provider.body));
    const idToken = decodeJwt(native.body.id_token);
    expect(idToken.email).toBe(user.email);
    expect(idToken.given_name).toBeUndefined();
    const wider = await refresh(native.body.refresh_token, { scope: 'openid email groups' });
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
  });

  it('refuses a refresh token of another client and an expired one (invalid_grant)', async () => {
    const other = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: realm.tenant.partner_id,
      tenantId: realm.tenant.id,
      type: 'WEB',
      allowedScopes: ['openid'],
      redirectUris: [CALLBACK],
    });
    const tokens = await exchange(await signInCode());
    const stolen = await token(
      { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token },
      basic(other.id, other.secret),
    );
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    await t.database.db
      .updateTable('oidc_payloads')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('model', '=', 'RefreshToken')
      .where('id', '=', tokens.body.refresh_token)
      .execute();
    const expired = await refresh(tokens.body.refresh_token);
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe('invalid_grant');
  });
});

describe('the account, its admin role and the grant, read with every native grant', () => {
  /** Two refresh tokens of `account`: one to refresh natively, one through oidc-provider. */
  async function twoRefreshTokens(account: { email: string }) {
    const native = await exchange(await signInCode({}, account));
    const provider = await exchange(await signInCode({}, account));
    expect(native.status).toBe(200);
    expect(provider.status).toBe(200);
    return { native: native.body.refresh_token as string, provider: provider.body.refresh_token as string };
  }

  /** Refreshes both: the native answer and the provider's, each then continuing with its new token. */
  async function refreshBoth(tokens: { native: string; provider: string }) {
    const native = await refresh(tokens.native);
    const provider = await refresh(tokens.provider, VIA_PROVIDER);
    if (native.status === 200) tokens.native = native.body.refresh_token;
    if (provider.status === 200) tokens.provider = provider.body.refresh_token;
    return { native, provider };
  }

  const setStatus = (userId: string, status: 'ACTIVE' | 'DISABLED') =>
    t.database.db.updateTable('users').set({ status }).where('id', '=', userId).execute();

  it('refuses a disabled or deleted account at the next refresh, like oidc-provider', async () => {
    const account = await createSignInUser(t, realm.tenant);
    const tokens = await twoRefreshTokens(account);
    // A plain SQL change: no session or grant is ended for it, only the account read can refuse.
    await setStatus(account.id, 'DISABLED');
    const disabled = await refreshBoth(tokens);
    expect([disabled.native.status, disabled.native.body.error]).toEqual([400, 'invalid_grant']);
    expect([disabled.provider.status, disabled.provider.body.error]).toEqual([400, 'invalid_grant']);

    const other = await createSignInUser(t, realm.tenant);
    const more = await twoRefreshTokens(other);
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', other.id)
      .execute();
    const deleted = await refreshBoth(more);
    expect([deleted.native.status, deleted.native.body.error]).toEqual([400, 'invalid_grant']);
    expect([deleted.provider.status, deleted.provider.body.error]).toEqual([400, 'invalid_grant']);
  });

  it('carries the admin role the account holds at each refresh, like oidc-provider', async () => {
    const account = await createSignInUser(t, realm.tenant);
    const tokens = await twoRefreshTokens(account);
    const roles = async () => {
      const { native, provider } = await refreshBoth(tokens);
      expect(native.status).toBe(200);
      expect(provider.status).toBe(200);
      const claims = [decodeJwt(native.body.access_token), decodeJwt(provider.body.access_token)];
      expect(claims[0]).toMatchObject({ sub: account.id, tenant_id: realm.tenant.id });
      expect((await nativeRequestIds()).has(native.requestId as string)).toBe(true);
      return claims.map((each) => [each.role ?? null, each.partner_id]);
    };
    expect(await roles()).toEqual([
      [null, realm.tenant.partner_id],
      [null, realm.tenant.partner_id],
    ]);
    const assigned = await t.post('/api/v1/admin/admin-roles/', {
      user_id: account.id,
      role: 'TENANT_ADMIN',
      tenant_id: realm.tenant.id,
    });
    expect(assigned.status).toBe(201);
    expect(await roles()).toEqual([
      ['tenant_admin', realm.tenant.partner_id],
      ['tenant_admin', realm.tenant.partner_id],
    ]);
    const revoked = await t.delete(`/api/v1/admin/admin-roles/${assigned.body.data.id}`);
    expect(revoked.status).toBe(204);
    expect(await roles()).toEqual([
      [null, realm.tenant.partner_id],
      [null, realm.tenant.partner_id],
    ]);
  });

  it('refuses a refresh token whose grant was revoked, like oidc-provider', async () => {
    const account = await createSignInUser(t, realm.tenant);
    const tokens = await twoRefreshTokens(account);
    await t.database.db
      .deleteFrom('oidc_payloads')
      .where('model', '=', 'Grant')
      .where(sql<string>`payload->>'accountId'`, '=', account.id)
      .execute();
    const revoked = await refreshBoth(tokens);
    expect([revoked.native.status, revoked.native.body.error]).toEqual([400, 'invalid_grant']);
    expect([revoked.provider.status, revoked.provider.body.error]).toEqual([400, 'invalid_grant']);
  });
});
