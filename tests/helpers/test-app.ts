import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { type BuildOptions, buildApp } from '../../src/app.js';
import { type Config, RATE_LIMITS, type RateLimitName } from '../../src/platform/config.js';
import { type DatabaseHandle, openDatabase } from '../../src/platform/db/database.js';

export const TEST_CLIENT_ID = 'app_bootstrap0000000test';
export const TEST_CLIENT_SECRET = 'test-bootstrap-secret-0123456789abcdefghij';
export const PUBLIC_URL = 'http://scaikey.test';
export const onPostgres = !!process.env.TEST_DATABASE_URL;

/** A fresh database for one test file (or one restart test), copied from the run's migrated template. */
export interface TestDatabase {
  open(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
  /** Environment that points a ScaiKey process at this database (persistent PGlite or PostgreSQL). */
  env: Record<string, string>;
}

let templateBlob: Blob | null = null;

export async function createTestDatabase(options: { persistent?: boolean } = {}): Promise<TestDatabase> {
  const template = inject('databaseTemplate');
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    templateBlob ??= new Blob([readFileSync(template)]);
    const dataDir = options.persistent ? mkdtempSync(join(tmpdir(), 'scaikey-test-')) : null;
    let opened = false;
    return {
      // A persistent folder is filled from the template once; later opens find it as it was left.
      open: () => {
        const template = opened && dataDir ? undefined : (templateBlob as Blob);
        opened = true;
        return openDatabase({ kind: 'pglite', dataDir, ...(template ? { template } : {}) });
      },
      drop: async () => {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      },
      env: dataDir ? { SCAIKEY_DATA_DIR: dataDir } : {},
    };
  }
  const name = `${inject('databaseRunId')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database "${name}" template "${template}"`);
  await admin.end();
  const databaseUrl = new URL(url);
  databaseUrl.pathname = `/${name}`;
  return {
    open: () => openDatabase({ kind: 'postgres', url: databaseUrl.toString() }, { poolSize: 5 }),
    env: { DATABASE_URL: databaseUrl.toString() },
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

/**
 * Rate limits no ordinary test reaches (every test file sends its requests from 127.0.0.1), still
 * counted, so that the limits run in every test; tests/rate-limit.test.ts sets small ones.
 */
export function generousRateLimits(overrides: Partial<Config['rateLimits']> = {}): Config['rateLimits'] {
  const limits = Object.fromEntries(
    Object.keys(RATE_LIMITS).map((name) => [name, { max: 1_000_000, windowMs: 3_600_000 }]),
  ) as Record<RateLimitName, { max: number; windowMs: number }>;
  return { ...limits, ...overrides };
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: null,
    dataDir: '/nonexistent',
    publicUrl: PUBLIC_URL,
    trustProxy: false,
    bootstrap: {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      adminEmail: null,
      adminPassword: null,
    },
    logLevel: 'silent',
    mail: { smtpUrl: null, from: 'ScaiKey <no-reply@scaikey.test>' },
    sms: { webhookUrl: null },
    events: { retentionDays: 30 },
    webhooks: {
      allowPrivate: true,
      timeoutMs: 10_000,
      retryBaseMs: 5000,
      retryWindowMs: 259_200_000,
      failingAfter: 5,
      concurrency: 16,
    },
    nativeClientCredentials: true,
    nativeUserGrants: true,
    rateLimits: generousRateLimits(),
    redisUrl: null,
    databaseWaitMs: 0,
    shutdownGraceMs: 20_000,
    auditRetentionDays: 365,
    federationAllowHttp: true,
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert each one.
type AnyBody = any;

export interface Response<T = AnyBody> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface TestApp {
  app: FastifyInstance;
  database: DatabaseHandle;
  config: Config;
  /** Sends a request; `token` becomes the bearer token, `body` is sent as JSON. */
  request<T = AnyBody>(
    options: { method: InjectOptions['method']; url: string; token?: string | null; body?: unknown } & Omit<
      InjectOptions,
      'method' | 'url' | 'body'
    >,
  ): Promise<Response<T>>;
  /** A platform token of the bootstrap client, obtained through the token endpoint. */
  platformToken(scope?: string): Promise<string>;
  close(): Promise<void>;
}

/** Builds the app on a fresh copy of the template database. */
export async function startTestApp(
  overrides: Partial<Config> = {},
  testDatabase?: TestDatabase,
  buildOptions: Omit<BuildOptions, 'database'> = {},
): Promise<TestApp> {
  const owned = !testDatabase;
  const spec = testDatabase ?? (await createTestDatabase());
  const database = await spec.open();
  const config = testConfig(overrides);
  const app = await buildApp(config, { ...buildOptions, database });
  const tokens = new Map<string, string>();

  const request: TestApp['request'] = async ({ token, body, headers, ...rest }) => {
    const response = await app.inject({
      ...rest,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown = response.body;
    if (String(response.headers['content-type'] ?? '').includes('json') && response.body) {
      parsed = JSON.parse(response.body);
    }
    return { status: response.statusCode, body: parsed as never, headers: response.headers };
  };

  return {
    app,
    database,
    config,
    request,
    async platformToken(scope = 'admin:read admin:write') {
      const cached = tokens.get(scope);
      if (cached) return cached;
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/platform/oauth/token',
        headers: {
          authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
      });
      if (response.statusCode !== 200) throw new Error(`token request failed: ${response.body}`);
      const token = JSON.parse(response.body).access_token as string;
      tokens.set(scope, token);
      return token;
    },
    async close() {
      await app.close();
      await database.close();
      if (owned) await spec.drop();
    },
  };
}

/** A request of the `get`/`post`/… helpers; `token` defaults to the handle's platform token, `null` sends none. */
type ShortRequest = { token?: string | null } & Omit<
  Parameters<TestApp['request']>[0],
  'method' | 'url' | 'body' | 'token'
>;

/**
 * The handle of `useTestApp()`: the started TestApp (filled in `beforeAll`), the platform token
 * with `admin:read admin:write`, and request helpers that send it unless told otherwise.
 */
export interface TestAppHandle extends TestApp {
  /** The bootstrap client's platform token (`admin:read admin:write`), fetched in `beforeAll`. */
  readonly token: string;
  get<T = AnyBody>(url: string, options?: ShortRequest): Promise<Response<T>>;
  delete<T = AnyBody>(url: string, options?: ShortRequest): Promise<Response<T>>;
  post<T = AnyBody>(url: string, body?: unknown, options?: ShortRequest): Promise<Response<T>>;
  put<T = AnyBody>(url: string, body?: unknown, options?: ShortRequest): Promise<Response<T>>;
  patch<T = AnyBody>(url: string, body?: unknown, options?: ShortRequest): Promise<Response<T>>;
}

export interface UseTestAppOptions {
  /** Fetch the platform token in `beforeAll` (default true; rate-limit tests count token requests). */
  token?: boolean;
  /** Build options of the app (for example a log stream). */
  build?: Omit<BuildOptions, 'database'>;
  /** Listen on a real port with the public URL pointing at it, for real clients (`startLiveApp`). */
  live?: boolean;
  /**
   * The live app's host name in its public URL: `localhost` for WebAuthn (127.0.0.1 is not a
   * valid RP ID); default 127.0.0.1.
   */
  liveHostname?: 'localhost' | '127.0.0.1';
}

/**
 * Registers `beforeAll` (start the app on a fresh database, fetch the platform token) and
 * `afterAll` (close it) in the calling file or `describe`, and returns a handle that is filled
 * when `beforeAll` has run. Later hooks of the file run after the start and before the close.
 */
export function useTestApp(
  overrides: Partial<Config>,
  options: UseTestAppOptions & { live: true },
): LiveApp & TestAppHandle;
export function useTestApp(overrides?: Partial<Config>, options?: UseTestAppOptions): TestAppHandle;
export function useTestApp(overrides: Partial<Config> = {}, options: UseTestAppOptions = {}): TestAppHandle {
  return useStartedApp(
    () =>
      options.live
        ? startLiveApp(overrides, options.liveHostname)
        : startTestApp(overrides, undefined, options.build),
    options,
  );
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A started app that listens on a real port; `database_` is its database, dropped by `close`. */
export type LiveApp = TestApp & { origin: string; database_: TestDatabase };

/** The app listening on a real port, with SCAIKEY_PUBLIC_URL pointing at it (for real clients). */
export async function startLiveApp(
  overrides: Partial<Config> = {},
  hostname: 'localhost' | '127.0.0.1' = '127.0.0.1',
): Promise<LiveApp> {
  const port = await freePort();
  const origin = `http://${hostname}:${port}`;
  const database = await createTestDatabase();
  const t = await startTestApp({ ...overrides, publicUrl: origin, port }, database);
  // `localhost` listens on each of the addresses it resolves to here.
  await t.app.listen({ port, host: hostname });
  return {
    ...t,
    origin,
    database_: database,
    close: async () => {
      await t.close();
      await database.drop();
    },
  };
}

/** `useTestApp` for any started app type (the live app adds its origin). */
function useStartedApp<A extends TestApp>(
  start: () => Promise<A>,
  options: { token?: boolean } = {},
): A & TestAppHandle {
  let current: A | null = null;
  let token: string | null = null;
  const started = (): A => {
    if (!current) throw new Error('useTestApp: the app is used before beforeAll has started it');
    return current;
  };
  beforeAll(async () => {
    current = await start();
    if (options.token !== false) token = await current.platformToken();
  });
  afterAll(async () => {
    await current?.close();
    current = null;
  });
  const send =
    (method: InjectOptions['method']) =>
    (url: string, body: unknown, { token: as, ...rest }: ShortRequest = {}) =>
      started().request({ ...rest, method, url, body, token: as === undefined ? handle.token : as });
  const handle = new Proxy({} as A & TestAppHandle, {
    get(_, property) {
      switch (property) {
        case 'token':
          if (token === null) throw new Error('useTestApp: no platform token (token: false, or not started)');
          return token;
        case 'get':
        case 'delete':
          return (url: string, options?: ShortRequest) =>
            send(property === 'get' ? 'GET' : 'DELETE')(url, undefined, options);
        case 'post':
          return send('POST');
        case 'put':
          return send('PUT');
        case 'patch':
          return send('PATCH');
        default:
          return Reflect.get(started(), property);
      }
    },
    has: (_, property) => Reflect.has(started(), property),
  });
  return handle;
}
