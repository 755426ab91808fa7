import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
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
    nativeClientCredentials: true,
    rateLimits: generousRateLimits(),
    redisUrl: null,
    databaseWaitMs: 0,
    shutdownGraceMs: 20_000,
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
