// Issue 11 items 8–10: start-up and configuration errors, shutdown deadline, access log, the root page.
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import { requestInFlight, spawnScript, startServer } from './helpers/process.js';
import {
  createTestDatabase,
  freePort,
  startLiveApp,
  startTestApp,
  type TestDatabase,
  useTestApp,
} from './helpers/test-app.js';

describe('item 8: configuration and start-up errors name the cause and the variable', () => {
  it('refuses a HOST that is no address or host name, naming HOST', async () => {
    const child = spawnScript('src/main.ts', [], { HOST: '999.1.1.1', PORT: String(await freePort()) });
    const code = await child.exited;
    expect(code).toBe(2);
    expect(child.output()).toContain('HOST must be an IP address');
    expect(child.output()).toContain('"999.1.1.1"');
    expect(child.output()).not.toContain('Invalid URL');
  });

  it('retries an unreachable DATABASE_URL with backoff, then exits non-zero naming DATABASE_URL', async () => {
    const port = await freePort();
    const child = spawnScript('src/main.ts', [], {
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://scaikey:s3cretPassw0rd@127.0.0.1:${port}/scaikey`,
      SCAIKEY_DATABASE_WAIT: '1',
      LOG_LEVEL: 'warn',
    });
    const code = await child.exited;
    const output = child.output();
    expect(code).toBe(1);
    expect(output).toContain(`PostgreSQL of DATABASE_URL (127.0.0.1:${port}/scaikey) does not answer`);
    expect(output).toContain('trying again in');
    expect(output).toMatch(
      /cannot connect to the PostgreSQL database of DATABASE_URL \(127\.0\.0\.1:\d+\/scaikey\): .*ECONNREFUSED/,
    );
    expect(output).toContain('SCAIKEY_DATABASE_WAIT');
    expect(output).not.toContain('s3cretPassw0rd');
  });

  it('says at once, without retrying, when the database refuses the credentials', async () => {
    const child = spawnScript('src/main.ts', [], {
      PORT: String(await freePort()),
      DATABASE_URL: 'postgres://no_such_role_scaikey:pw@127.0.0.1:5432/postgres',
      SCAIKEY_DATABASE_WAIT: '600',
      LOG_LEVEL: 'warn',
    });
    // Skipped where no PostgreSQL answers on 5432 (then the message is a refused connection).
    const code = await child.exited;
    expect(code).toBe(1);
    const output = child.output();
    expect(output).toContain('DATABASE_URL (127.0.0.1:5432/postgres)');
    if (!output.includes('ECONNREFUSED')) {
      expect(output).toMatch(/no_such_role_scaikey|28000|28P01/);
      expect(output).not.toContain('trying again');
    }
  });
});

describe('item 8: shutdown has a deadline', () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  it('closes a request still in flight after SCAIKEY_SHUTDOWN_GRACE and exits', async () => {
    database = await createTestDatabase({ persistent: true });
    const env: Record<string, string> = { ...database.env, SCAIKEY_SHUTDOWN_GRACE: '1' };
    if (!env.DATABASE_URL) env.SCAIKEY_DATA_DIR = `${env.SCAIKEY_DATA_DIR}/data`;
    const server = await startServer(env);
    // A client that sends its headers and part of its body, then stops: the server has the request
    // in hand once it answers 100 Continue.
    const request = await requestInFlight(server.base, {
      path: '/api/v1/admin/tenants/',
      contentLength: 100,
    });
    request.write('{"name":');
    server.child.kill('SIGTERM');
    const code = await server.exited;
    await request.closed;
    expect(code, server.output()).toBe(0);
    expect(server.output()).toContain('shutdown grace period ended with requests in flight');
  }, 90_000);
});

describe('item 11: a request that arrives while the server drains', () => {
  it('gets a 503 in the {detail, code} envelope and Connection: close', async () => {
    const live = await startLiveApp();
    // A request in flight (its body not yet sent) keeps the connection open through the shutdown.
    const body = '{"name":"Drained"}';
    const request = await requestInFlight(live.origin, {
      path: '/api/v1/admin/tenants/',
      contentLength: body.length,
    });
    const closed = live.app.close();
    // The shutdown has begun once the server stops listening (preClose hooks ran before that).
    while (live.app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    // The rest of the first request, and a second one pipelined behind it.
    request.write(`${body}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await request.closed;
    await closed;
    await live.close().catch(() => {});
    const responses = request.answers();
    expect(responses[0]).toMatch(/^HTTP\/1\.1 100 Continue/);
    // The request in flight was finished as usual (no token: 401).
    expect(responses[1]).toMatch(/^HTTP\/1\.1 401 /);
    const drained = responses[2] ?? '';
    expect(drained).toMatch(/^HTTP\/1\.1 503 /);
    expect(drained.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(drained.slice(drained.indexOf('\r\n\r\n') + 4))).toEqual({
      detail: 'The server is shutting down; retry the request',
      code: 'SERVICE_UNAVAILABLE',
    });
  }, 60_000);
});

describe('item 9: the access log', () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  const t = useTestApp({ logLevel: 'info', trustProxy: true }, { build: { logStream: stream } });

  const accessLine = (url: string) =>
    lines.find((line) => line.msg === 'request completed' && line.url === url) as Record<string, unknown>;

  it('carries the client IP (X-Forwarded-For when trusted), the user agent and the full path', async () => {
    const tenant = await createTenant(t);
    const discovery = `/api/v1/auth/tenants/${tenant.slug}/.well-known/openid-configuration`;
    const authorize = `/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?client_id=app_x&response_type=code`;
    const headers = { 'user-agent': 'ops-test/1.0', 'x-forwarded-for': '203.0.113.7' };
    await t.request({ method: 'GET', url: discovery, headers });
    await t.request({ method: 'GET', url: authorize, headers });
    await t.request({
      method: 'GET',
      url: '/api/v1/platform/oauth/.well-known/openid-configuration',
      headers,
    });
    for (const url of [discovery, authorize, '/api/v1/platform/oauth/.well-known/openid-configuration']) {
      const line = accessLine(url);
      expect(line, `${url} in ${JSON.stringify(lines.map((l) => l.url))}`).toBeDefined();
      expect(line).toMatchObject({ ip: '203.0.113.7', user_agent: 'ops-test/1.0', method: 'GET' });
    }
  });

  it('logs the socket address when proxies are not trusted', async () => {
    const own: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) if (line) own.push(JSON.parse(line));
        callback();
      },
    });
    const untrusting = await startTestApp({ logLevel: 'info' }, undefined, { logStream: stream });
    try {
      await untrusting.request({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      const line = own.find((entry) => entry.msg === 'request completed' && entry.url === '/healthz');
      expect(line).toMatchObject({ ip: '127.0.0.1' });
    } finally {
      await untrusting.close();
    }
  });
});

describe('item 10: the root page', () => {
  const t = useTestApp();

  it('is a small HTML page linking the docs, the OpenAPI document and the discovery document', async () => {
    const response = await t.request({ method: 'GET', url: '/' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    const links = [...String(response.body).matchAll(/href="([^"]+)"/g)].map((match) => match[1] as string);
    expect(links).toEqual(
      expect.arrayContaining([
        'http://scaikey.test/docs',
        'http://scaikey.test/openapi.json',
        'http://scaikey.test/api/v1/platform/oauth/.well-known/openid-configuration',
      ]),
    );
    // Every link on it works.
    for (const link of links.filter((href) => href.startsWith('http://scaikey.test/'))) {
      const target = await t.request({ method: 'GET', url: link.slice('http://scaikey.test'.length) });
      expect(target.status, link).toBe(200);
    }
  });

  it('answers HEAD, and JSON clients get a 404 nowhere else', async () => {
    const head = await t.request({ method: 'HEAD', url: '/' });
    expect(head.status).toBe(200);
    const missing = await t.request({ method: 'GET', url: '/nothing-here' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});
