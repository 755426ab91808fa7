import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { newId } from '../src/lib/ids.js';
import type { Config } from '../src/platform/config.js';
import type { DatabaseHandle } from '../src/platform/db/database.js';
import { instanceSecret } from '../src/platform/db/instance-secrets.js';
import {
  type CounterBackend,
  PostgresCounters,
  RedisCounters,
  redisKeyPrefix,
} from '../src/platform/rate-limit/backends.js';
import { REDIS_NAMESPACE_SECRET } from '../src/platform/rate-limit/limits.js';
import {
  createTenant,
  type insertApplication,
  insertWebApplication,
  type Tenant,
} from './helpers/factories.js';
import { REDIS_URL, withRedis } from './helpers/redis.js';
import {
  createTestDatabase,
  generousRateLimits,
  PUBLIC_URL,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  testConfig,
  useTestApp,
} from './helpers/test-app.js';

// Issue item 6 (no rate limiting anywhere). Small limits; every test sends from its own documentation
// address (inject's remoteAddress), so that tests do not count each other's requests.
const MINUTE = 60_000;
const LIMITS = generousRateLimits({
  tokenPerIp: { max: 150, windowMs: MINUTE },
  introspectionPerIp: { max: 5, windowMs: MINUTE },
  clientFailuresPerClient: { max: 5, windowMs: 5 * MINUTE },
  clientFailuresPerIp: { max: 12, windowMs: 5 * MINUTE },
  signInFailuresPerIp: { max: 30, windowMs: 15 * MINUTE },
  signInFailuresPerAccount: { max: 4, windowMs: 15 * MINUTE },
  passwordLinkPerIp: { max: 3, windowMs: 15 * MINUTE },
  emailDiscoveryPerIp: { max: 3, windowMs: 5 * MINUTE },
});
const PASSWORD = 'Correct-Horse-Battery-9';
const CALLBACK = 'http://127.0.0.1:9/callback';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

let address = 0;
/** A fresh client address (TEST-NET-3) per test. */
const nextAddress = () => `203.0.113.${++address}`;

function tokenRequest(app: FastifyInstance, ip: string, secret: string, clientId = TEST_CLIENT_ID) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/platform/oauth/token',
    remoteAddress: ip,
    headers: { ...form, authorization: basic(clientId, secret) },
    payload: 'grant_type=client_credentials',
  });
}

async function hitsOf(database: DatabaseHandle, key: string): Promise<number> {
  const row = await database.db
    .selectFrom('rate_limits')
    .select('hits')
    .where('key', '=', key)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(row?.hits ?? 0);
}

/** Waits (in tiny steps) until a count that is made after a response has landed; the bound only ends a failing test. */
async function until(condition: () => Promise<boolean>) {
  await vi.waitFor(async () => expect(await condition()).toBe(true), { timeout: 30_000, interval: 10 });
}

/** Sends requests until the first that is not `status`; returns how many were `status` and that answer. */
async function countUntilNot(status: number, send: () => Promise<LightMyRequestResponse>, most = 400) {
  let count = 0;
  for (;;) {
    const response = await send();
    if (response.statusCode !== status || count >= most) return { count, response };
    count++;
  }
}

function expectOAuthRateLimited(response: LightMyRequestResponse) {
  expect(response.statusCode).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.json()).toEqual({
    error: 'temporarily_unavailable',
    error_description: `too many requests; retry after ${retryAfter} seconds`,
  });
  return retryAfter;
}

const t = useTestApp({ rateLimits: LIMITS }, { token: false });

describe('token endpoints', () => {
  it('answer 200 wrong client secrets with 5 × 401, then 429 with Retry-After and an RFC 6749 body', async () => {
    const ip = nextAddress();
    const statuses: number[] = [];
    let last: LightMyRequestResponse | undefined;
    for (let attempt = 0; attempt < 200; attempt++) {
      last = await tokenRequest(t.app, ip, `wrong-secret-${attempt}`);
      statuses.push(last.statusCode);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    expect(expectOAuthRateLimited(last as never)).toBeLessThanOrEqual(300);
    // Refused before the secret is checked: 5 failures counted, not 200.
    expect(await hitsOf(t.database, `clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`)).toBe(5);
    // The right secret from that address waits too; from another address the client works.
    expectOAuthRateLimited(await tokenRequest(t.app, ip, TEST_CLIENT_SECRET));
    expect((await tokenRequest(t.app, nextAddress(), TEST_CLIENT_SECRET)).statusCode).toBe(200);
  });

  it('count failed client authentications per address over all client ids', async () => {
    const ip = nextAddress();
    for (let attempt = 0; attempt < 12; attempt++) {
      const response = await tokenRequest(t.app, ip, 'wrong', newId('application'));
      expect(response.statusCode).toBe(401);
    }
    expectOAuthRateLimited(await tokenRequest(t.app, ip, 'wrong', newId('application')));
    expectOAuthRateLimited(await tokenRequest(t.app, ip, TEST_CLIENT_SECRET));
  });

  it('leave correct requests under the limits alone (a success is not counted as a failure)', async () => {
    const ip = nextAddress();
    for (let attempt = 0; attempt < 4; attempt++) {
      expect((await tokenRequest(t.app, ip, 'wrong')).statusCode).toBe(401);
    }
    const ok = await tokenRequest(t.app, ip, TEST_CLIENT_SECRET);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['retry-after']).toBeUndefined();
    expect(ok.json().access_token).toBeTypeOf('string');
    expect(await hitsOf(t.database, `clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`)).toBe(4);
    expect((await tokenRequest(t.app, ip, 'wrong')).statusCode).toBe(401);
    expectOAuthRateLimited(await tokenRequest(t.app, ip, 'wrong'));
  });

  it('limit every request per address, successful grants included', async () => {
    const ip = nextAddress();
    const { count, response } = await countUntilNot(200, () => tokenRequest(t.app, ip, TEST_CLIENT_SECRET));
    expect(count).toBe(150);
    expect(expectOAuthRateLimited(response)).toBeLessThanOrEqual(60);
  });

  it('count the client authentication failures of the oidc-provider hand-over (tenant token endpoint)', async () => {
    const tenant = await createTenant(t);
    const web = await insertWebApplication(t, tenant, ['openid'], [CALLBACK]);
    const ip = nextAddress();
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/auth/tenants/${tenant.slug}/oauth/token`,
        remoteAddress: ip,
        headers: { ...form, authorization: basic(web.id, 'wrong') },
        payload: new URLSearchParams({
          grant_type: 'authorization_code',
          code: 'not-a-code',
          redirect_uri: CALLBACK,
          code_verifier: 'x'.repeat(43),
        }).toString(),
      });
    for (let attempt = 1; attempt <= 5; attempt++) {
      const response = await send();
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
      // Counted when oidc-provider's answer is finished, just after the response.
      await until(
        async () => (await hitsOf(t.database, `clientFailuresPerClient:${web.id}|${ip}`)) === attempt,
      );
    }
    expectOAuthRateLimited(await send());
    // The native client_credentials path of the same URL is refused as well.
    expectOAuthRateLimited(
      await t.app.inject({
        method: 'POST',
        url: `/api/v1/auth/tenants/${tenant.slug}/oauth/token`,
        remoteAddress: ip,
        headers: { ...form, authorization: basic(web.id, web.secret) },
        payload: 'grant_type=client_credentials',
      }),
    );
  });
});

describe('introspection', () => {
  it('limits every request per address with an RFC 6749 429', async () => {
    const ip = nextAddress();
    const token = await t.platformToken();
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/platform/oauth/introspect',
        remoteAddress: ip,
        headers: { ...form, authorization: basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET) },
        payload: new URLSearchParams({ token }).toString(),
      });
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await send();
      expect(response.statusCode).toBe(200);
      expect(response.json().active).toBe(true);
    }
    expectOAuthRateLimited(await send());
  });

  it('counts failed client authentications like the token endpoint', async () => {
    const ip = nextAddress();
    const token = await t.platformToken();
    const ips = [ip, nextAddress()];
    // Spread over two addresses to stay under the per-address request limit (5).
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/platform/oauth/introspect',
        remoteAddress: ips[attempt % 2],
        headers: { ...form, authorization: basic(TEST_CLIENT_ID, 'wrong') },
        payload: new URLSearchParams({ token }).toString(),
      });
      expect(response.statusCode).toBe(401);
    }
    // Three failures from the first address: its per-client count is 3 of 5, not yet refused.
    expect(await hitsOf(t.database, `clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`)).toBe(3);
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await tokenRequest(t.app, ip, 'wrong')).statusCode).toBe(401);
    }
    // 3 at the introspection endpoint + 2 at the token endpoint: the same count, now refused.
    expectOAuthRateLimited(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/platform/oauth/introspect',
        remoteAddress: ip,
        headers: { ...form, authorization: basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET) },
        payload: new URLSearchParams({ token }).toString(),
      }),
    );
  });
});

/** A browser over inject: a cookie jar, manual redirects within ScaiKey, a fixed client address. */
class InjectBrowser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly app: FastifyInstance,
    readonly ip: string,
  ) {}

  async request(url: string, fields?: Record<string, string>) {
    const target = new URL(url, PUBLIC_URL);
    const response = await this.app.inject({
      method: fields ? 'POST' : 'GET',
      url: target.pathname + target.search,
      remoteAddress: this.ip,
      headers: {
        ...(this.cookies.size > 0
          ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
          : {}),
        ...(fields ? form : {}),
      },
      ...(fields ? { payload: new URLSearchParams(fields).toString() } : {}),
    });
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.expires && cookie.expires.getTime() < Date.now())) {
        this.cookies.delete(cookie.name);
      } else this.cookies.set(cookie.name, cookie.value);
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      location: response.headers.location as string | undefined,
      body: response.body,
      url: target.toString(),
    };
  }

  async follow(url: string) {
    let current = await this.request(url);
    for (let hops = 0; hops < 10 && current.location; hops++) {
      const next = new URL(current.location, current.url);
      if (next.origin !== PUBLIC_URL) return { ...current, location: next.toString() };
      current = await this.request(next.toString());
    }
    return current;
  }

  /** Submits the sign-in form of a page (its hidden fields and action) with an email and password. */
  async signIn(page: { body: string; url: string }, email: string, password: string) {
    const action = /<form method="post" action="([^"]*)"/.exec(page.body)?.[1];
    const csrf = /name="csrf" value="([^"]*)"/.exec(page.body)?.[1];
    if (!action || !csrf) throw new Error(`no sign-in form:\n${page.body.slice(0, 400)}`);
    return this.request(new URL(action.replace(/&amp;/g, '&'), page.url).toString(), {
      csrf,
      email,
      password,
    });
  }
}

describe('hosted sign-in', () => {
  let tenant: Tenant;
  let web: Awaited<ReturnType<typeof insertApplication>>;
  const emails: string[] = [];

  beforeAll(async () => {
    tenant = await createTenant(t);
    web = await insertWebApplication(t, tenant, ['openid'], [CALLBACK]);
    const token = await t.platformToken();
    for (let index = 0; index < 11; index++) {
      const email = `sprayed-${index}-${randomBytes(3).toString('hex')}@acme.example`;
      const response = await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/users`,
        token,
        body: { email, password: PASSWORD, send_welcome_email: false },
      });
      expect(response.status).toBe(201);
      emails.push(email);
    }
  });

  async function loginPage(browser: InjectBrowser) {
    const challenge = createHash('sha256').update('v'.repeat(43)).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: web.id,
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'state',
    });
    const page = await browser.follow(`/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?${query}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="password"');
    return page;
  }

  it('answers 40 passwords sprayed over 10 users from one address with 30 × 401, then a 429 page', async () => {
    const browser = new InjectBrowser(t.app, nextAddress());
    const page = await loginPage(browser);
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<InjectBrowser['request']>> | undefined;
    for (let round = 0; round < 4; round++) {
      for (const email of emails.slice(0, 10)) {
        const response = await browser.signIn(page, email, `Guess-${round}-password!`);
        statuses.push(response.status);
        if (response.status === 429) refused = response;
      }
    }
    expect(statuses.slice(0, 30).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(30)).toEqual(Array(10).fill(429));
    const page429 = refused as NonNullable<typeof refused>;
    expect(page429.headers['content-type']).toMatch(/^text\/html/);
    const retryAfter = Number(page429.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(page429.body).toContain('Too many sign-in attempts.');
    expect(page429.body).toContain(tenant.name);
    // Three failures each, under the tenant's lockout threshold (5): no account was locked.
    const locked = await t.database.db
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('status', '=', 'LOCKED')
      .execute();
    expect(locked).toEqual([]);
    // The right password from another address signs the user in.
    const other = new InjectBrowser(t.app, nextAddress());
    const signedIn = await other.signIn(await loginPage(other), emails[0] as string, PASSWORD);
    expect(signedIn.status).toBe(303);
  });

  it('limits the failures of one account from any address, the right password included', async () => {
    const email = emails[10] as string;
    for (let attempt = 0; attempt < 4; attempt++) {
      const browser = new InjectBrowser(t.app, nextAddress());
      const response = await browser.signIn(await loginPage(browser), email, 'Wrong-password-1!');
      expect(response.status).toBe(401);
    }
    const browser = new InjectBrowser(t.app, nextAddress());
    const response = await browser.signIn(await loginPage(browser), email.toUpperCase(), PASSWORD);
    expect(response.status).toBe(429);
    expect(response.body).toContain('Too many sign-in attempts.');
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('password links and the platform email step', () => {
  it('limit the set-password POST per address: JSON envelope, then a page to form posts', async () => {
    const tenant = await createTenant(t);
    const ip = nextAddress();
    const url = `/api/v1/auth/tenants/${tenant.slug}/reset-password`;
    const json = () =>
      t.app.inject({
        method: 'POST',
        url,
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ token: 'not-a-token', new_password: PASSWORD }),
      });
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await json();
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('INVALID_TOKEN');
    }
    const refused = await json();
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(refused.json()).toEqual({
      detail: expect.stringMatching(/^Too many attempts/),
      code: 'RATE_LIMITED',
    });
    const page = await t.app.inject({
      method: 'POST',
      url,
      remoteAddress: ip,
      headers: form,
      payload: new URLSearchParams({ token: 'not-a-token', new_password: PASSWORD }).toString(),
    });
    expect(page.statusCode).toBe(429);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['retry-after']).toBeDefined();
    expect(page.body).toContain('Too many attempts.');
  });

  it('limit the platform email step per address with a page', async () => {
    const ip = nextAddress();
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/platform/oauth/authorize',
        remoteAddress: ip,
        headers: form,
        payload: new URLSearchParams({ query: 'client_id=x', email: 'someone@example.com' }).toString(),
      });
    for (let attempt = 0; attempt < 3; attempt++) expect((await send()).statusCode).toBe(400);
    const refused = await send();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toContain('Too many attempts from your network.');
  });
});

describe('windows', () => {
  it('end: after the window (store time and clock moved on), failures count from zero again', async () => {
    const ip = nextAddress();
    for (let attempt = 0; attempt < 5; attempt++) await tokenRequest(t.app, ip, 'wrong');
    expectOAuthRateLimited(await tokenRequest(t.app, ip, 'wrong'));
    await t.database.db
      .updateTable('rate_limits')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('key', 'like', `%${ip}`)
      .execute();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 5 * MINUTE + 1000);
      expect((await tokenRequest(t.app, ip, 'wrong')).statusCode).toBe(401);
      expect(await hitsOf(t.database, `clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`)).toBe(1);
      expect((await tokenRequest(t.app, ip, TEST_CLIENT_SECRET)).statusCode).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** Two apps on one database handle (two instances of one installation). */
async function twoInstances(overrides: Partial<Config>) {
  const spec = await createTestDatabase();
  const database = await spec.open();
  const config = testConfig({ rateLimits: LIMITS, ...overrides });
  const a = await buildApp(config, { database });
  const b = await buildApp(config, { database });
  return {
    a,
    b,
    database,
    async close() {
      await a.close();
      await b.close();
      await database.close();
      await spec.drop();
    },
  };
}

describe('two instances on one database', () => {
  it('share the failure count: 5 × 401 between them, then 429 from both', async () => {
    const pair = await twoInstances({});
    try {
      const ip = nextAddress();
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        statuses.push((await tokenRequest(attempt % 2 ? pair.b : pair.a, ip, 'wrong')).statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
      // The 6th failure went to the instance that had not counted the 5th: it counted it, learnt
      // that the limit was reached and answered 429; every later one was refused uncounted.
      expect(await hitsOf(pair.database, `clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`)).toBe(6);
      expectOAuthRateLimited(await tokenRequest(pair.a, ip, TEST_CLIENT_SECRET));
      expectOAuthRateLimited(await tokenRequest(pair.b, ip, TEST_CLIENT_SECRET));
    } finally {
      await pair.close();
    }
  });

  it('never admit more than the per-address limit together (each reserves a few hits at a time)', async () => {
    const pair = await twoInstances({});
    try {
      const ip = nextAddress();
      let admitted = 0;
      let refused = 0;
      for (let attempt = 0; attempt < 200; attempt++) {
        const status = (await tokenRequest(attempt % 2 ? pair.b : pair.a, ip, TEST_CLIENT_SECRET)).statusCode;
        if (status === 200) admitted++;
        else if (status === 429) refused++;
      }
      // 150 per minute; each instance reserves 3 hits at a time, so up to 2 may stay unused each.
      expect(admitted).toBeLessThanOrEqual(150);
      expect(admitted).toBeGreaterThanOrEqual(146);
      expect(admitted + refused).toBe(200);
      expect(await hitsOf(pair.database, `tokenPerIp:${ip}`)).toBeGreaterThanOrEqual(150);
    } finally {
      await pair.close();
    }
  });
});

describe('several counters in one round trip (a sign-in counts its address and its account together)', () => {
  it('add one hit to each key and give one back to each, in the database and in Redis', async () => {
    const backends: [string, CounterBackend, () => Promise<void>][] = [
      ['database', new PostgresCounters(t.database.db), async () => {}],
    ];
    if (await withRedis()) {
      const redis = await RedisCounters.connect(
        REDIS_URL,
        `test-${randomBytes(6).toString('hex')}`,
        () => {},
      );
      backends.push(['Redis', redis, () => redis.close()]);
    }
    for (const [name, backend, close] of backends) {
      try {
        const a = `each-a-${randomBytes(4).toString('hex')}`;
        const b = `each-b-${randomBytes(4).toString('hex')}`;
        await backend.add(a, 2, MINUTE);
        // b's window is new and short; a's stays the one already open (a minute).
        const windows = await backend.addEach([
          { key: b, windowMs: 30_000 },
          { key: a, windowMs: 5 * MINUTE },
        ]);
        expect(
          windows.map((window) => window.hits),
          name,
        ).toEqual([1, 3]);
        expect(windows[0]?.ttlMs, name).toBeLessThanOrEqual(30_000);
        expect(windows[1]?.ttlMs, name).toBeLessThanOrEqual(MINUTE);
        expect(windows[1]?.ttlMs, name).toBeGreaterThan(30_000);
        await backend.subtractEach([a, b]);
        await backend.subtractEach([b]); // never below zero
        const after = await backend.addEach([
          { key: a, windowMs: MINUTE },
          { key: b, windowMs: MINUTE },
        ]);
        expect(
          after.map((window) => window.hits),
          name,
        ).toEqual([3, 1]);
      } finally {
        await close();
      }
    }
  });
});

describe.runIf(await withRedis())('with Redis (SCAIKEY_REDIS_URL)', () => {
  it('keeps the counts in Redis, shared by two instances; nothing in the database', async () => {
    const pair = await twoInstances({ redisUrl: REDIS_URL });
    try {
      const ip = nextAddress();
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 200; attempt++) {
        statuses.push((await tokenRequest(attempt % 2 ? pair.b : pair.a, ip, `wrong-${attempt}`)).statusCode);
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
      expectOAuthRateLimited(await tokenRequest(pair.a, ip, TEST_CLIENT_SECRET));
      const rows = await pair.database.db.selectFrom('rate_limits').selectAll().execute();
      expect(rows).toEqual([]);

      const { Redis } = await import('ioredis');
      const redis = new Redis(REDIS_URL);
      try {
        const prefix = redisKeyPrefix(await instanceSecret(pair.database.db, REDIS_NAMESPACE_SECRET));
        const keys = await redis.keys(`${prefix}*${ip}`);
        expect(keys.sort()).toEqual(
          [`clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`, `clientFailuresPerIp:${ip}`, `tokenPerIp:${ip}`]
            .map((key) => prefix + key)
            .sort(),
        );
        // 5 failures, and the 6th: the instance that had not counted the 5th learnt the block
        // by counting it (refused with 429 all the same).
        const clientKey = `${prefix}clientFailuresPerClient:${TEST_CLIENT_ID}|${ip}`;
        expect(Number(await redis.get(clientKey))).toBe(6);
        const ttl = await redis.pttl(clientKey);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5 * MINUTE);
      } finally {
        redis.disconnect();
      }
    } finally {
      await pair.close();
    }
  });
});
