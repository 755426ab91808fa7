// Regression tests of issue 10 (security hardening): items 5, 13, 16, 17 and 19.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import {
  startTestApp,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type TestApp,
  useTestApp,
} from './helpers/test-app.js';

const t = useTestApp();

const post = (url: string, body: unknown) => t.post(url, body);

describe('issue 10 item 5: input that used to cause a 500', () => {
  it('refuses a NUL character in a body string field with a 422 naming the field', async () => {
    const response = await post('/api/v1/admin/tenants/', { name: 'a\u0000b' });
    expect(response.status).toBe(422);
    expect(response.body.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'name'], type: 'string_invalid_characters' }),
    ]);
  });

  it('refuses a NUL character in a user first_name', async () => {
    const tenant = await createTenant(t);
    const response = await post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'nul@example.com',
      first_name: 'a\u0000b',
    });
    expect(response.status).toBe(422);
    expect(response.body.detail.map((issue: { loc: unknown }) => issue.loc)).toEqual([
      ['body', 'first_name'],
    ]);
  });

  it('refuses a NUL character inside a free-form object, keys included', async () => {
    const tenant = await createTenant(t);
    const inValue = await post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'nul-value@example.com',
      custom_attributes: { badge: ['ok', 'a\u0000b'] },
    });
    expect(inValue.status).toBe(422);
    expect(inValue.body.detail[0].loc).toEqual(['body', 'custom_attributes', 'badge', 1]);
    const inKey = await post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'nul-key@example.com',
      custom_attributes: { 'a\u0000b': 1 },
    });
    expect(inKey.status).toBe(422);
    expect(inKey.body.detail[0].loc).toEqual(['body', 'custom_attributes', 'a\u0000b']);
  });

  it('refuses a NUL character in the search query parameter', async () => {
    const tenant = await createTenant(t);
    for (const url of ['/api/v1/admin/tenants/', `/api/v1/tenants/${tenant.id}/users`]) {
      const response = await t.get(`${url}?search=a%00b`);
      expect(response.status, url).toBe(422);
      expect(response.body.detail).toEqual([
        expect.objectContaining({ loc: ['query', 'search'], type: 'string_invalid_characters' }),
      ]);
    }
  });

  it('answers a NUL character in an OAuth parameter without a 500', async () => {
    const tenant = await createTenant(t);
    const authorize = await t.request({
      method: 'GET',
      url: `/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?client_id=app_a%00b&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fa.example`,
    });
    expect(authorize.status).toBe(400);
    const refresh = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/oauth/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=refresh_token&client_id=app_a%00b&client_secret=x&refresh_token=a%00b',
    });
    expect(refresh.status).toBe(401);
    expect(refresh.body.error).toBe('invalid_client');
  });

  it('refuses lone surrogates in a body', async () => {
    for (const name of ['\ud800', 'x\udc00y', 'ab\udbff']) {
      // JSON.stringify escapes a lone surrogate (`"\ud800"`): the server decodes it back to one.
      const response = await post('/api/v1/admin/tenants/', { name });
      expect(response.status).toBe(422);
      expect(response.body.detail[0]).toMatchObject({ loc: ['body', 'name'] });
    }
    const pair = await post('/api/v1/admin/tenants/', { name: 'Emoji \ud83d\ude00 tenant' });
    expect(pair.status).toBe(201);
  });

  it('refuses JSON nested 10,000 deep before parsing it', async () => {
    const deep = `{"name":"deep","branding":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const response = await post('/api/v1/admin/tenants/', deep);
    expect(response.status).toBe(422);
    expect(response.body.detail).toEqual([
      { loc: ['body'], msg: 'JSON is nested deeper than 64 levels', type: 'json_invalid' },
    ]);
    const objects = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    expect((await post('/api/v1/admin/tenants/', objects)).status).toBe(422);
  });

  it('accepts nesting within the cap, and brackets inside strings do not count', async () => {
    const tenant = await createTenant(t);
    const nested = `${'{"a":'.repeat(60)}1${'}'.repeat(60)}`;
    const response = await post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'nested@example.com',
      custom_attributes: JSON.parse(nested),
      first_name: `${'['.repeat(100)}\\"${'{'.repeat(100)}`,
    });
    expect(response.status).toBe(201);
  });

  it('answers page values past the cap with a 422, not a 500', async () => {
    const tenant = await createTenant(t);
    const urls = ['/api/v1/admin/tenants/', `/api/v1/tenants/${tenant.id}/users`, '/api/v1/admin/users/'];
    for (const url of urls) {
      for (const page of ['99999999999999999999', 'Infinity', '1e400', '1000001']) {
        const response = await t.get(`${url}?page=${page}`);
        expect(response.status, `${url} page=${page}`).toBe(422);
        expect(response.body.detail[0].loc).toEqual(['query', 'page']);
      }
    }
    const last = await t.get('/api/v1/admin/tenants/?page=1000000');
    expect(last.status).toBe(200);
    expect(last.body.data).toEqual([]);
  });
});

describe('issue 10 item 13: secrets in logs', () => {
  it('redacts token-bearing query values in the access log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const logged = await startTestApp({ logLevel: 'info' }, undefined, { logStream: stream });
    try {
      const tenant = await createTenant(logged);
      const urls = [
        '/api/v1/auth/tenants/x/session/end?id_token_hint=SECRETVALUE&state=S2',
        `/api/v1/auth/tenants/${tenant.slug}/oauth/logout?ID_Token_Hint=SECRETVALUE&post_logout_redirect_uri=https%3A%2F%2Fa.example&STATE=SECRETSTATE`,
        `/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?client_id=app_x&code=SECRETCODE&login_hint=secret%40example.com`,
        `/api/v1/auth/tenants/${tenant.slug}/reset-password?token=SECRETLINK`,
        '/api/v1/admin/tenants/?access_token=SECRETACCESS&search=visible',
      ];
      for (const url of urls) await logged.request({ method: 'GET', url });
      const text = lines.join('');
      expect(text).not.toMatch(/SECRET|secret%40/);
      const access = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request completed');
      const logUrls = access.map((line) => line.url as string);
      expect(logUrls).toContain(
        '/api/v1/auth/tenants/x/session/end?id_token_hint=[REDACTED]&state=[REDACTED]',
      );
      expect(logUrls).toContain(
        `/api/v1/auth/tenants/${tenant.slug}/oauth/logout?ID_Token_Hint=[REDACTED]&post_logout_redirect_uri=https%3A%2F%2Fa.example&STATE=[REDACTED]`,
      );
      expect(logUrls).toContain('/api/v1/admin/tenants/?access_token=[REDACTED]&search=visible');
    } finally {
      await logged.close();
    }
  });
});

describe('issue 10 item 16: responses with a client secret are not cached', () => {
  it('marks create application and rotate secret Cache-Control: no-store', async () => {
    const created = await post('/api/v1/admin/applications/', {
      name: 'No-store app',
      application_type: 'SERVICE',
      scope: 'GLOBAL',
    });
    expect(created.status).toBe(201);
    expect(created.body.data.client_secret).toEqual(expect.any(String));
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.headers.pragma).toBe('no-cache');
    const rotated = await post(`/api/v1/admin/applications/${created.body.data.id}/rotate-secret`, undefined);
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.client_secret).toEqual(expect.any(String));
    expect(rotated.headers['cache-control']).toBe('no-store');
  });
});

describe('issue 10 item 19: over-long ids in a path', () => {
  it('answer 404 in the {detail, code} envelope', async () => {
    const tenant = await createTenant(t);
    const long = 'x'.repeat(400);
    const urls = [
      `/api/v1/admin/tenants/${long}`,
      `/api/v1/tenants/${tenant.id}/users/${long}`,
      `/api/v1/tenants/${long}/users`,
      `/api/v1/tenants/${tenant.id}/groups/${long}/members`,
      `/api/v1/admin/applications/${long}`,
      `/api/v1/tenants/${tenant.id}/users/%E0%A4%A`,
    ];
    for (const url of urls) {
      const response = await t.get(url);
      expect(response.status, url).toBe(404);
      expect(response.body, url).toEqual({ detail: expect.any(String), code: 'NOT_FOUND' });
      expect(response.headers['x-request-id'], url).toEqual(expect.any(String));
    }
  });
});

/**
 * One raw HTTP/1.1 exchange as a client on a real network makes it: the head, then the body in
 * 64 KiB pieces a few milliseconds apart, without waiting for an answer (no Expect: 100-continue).
 * Collects the answer until the server closes; `reset` says whether the server reset the
 * connection under the client (a write failed, or the connection was reset).
 */
async function rawExchange(port: number, head: string, body: Buffer) {
  // Half-open like curl or undici: a FIN from the server does not stop the client sending.
  const socket: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  const received: Buffer[] = [];
  let reset = false;
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => {
    reset = true;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(head);
  for (let offset = 0; offset < body.length && !socket.destroyed; offset += 64 * 1024) {
    socket.write(body.subarray(offset, offset + 64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!socket.destroyed) socket.end();
  await closed;
  return { text: Buffer.concat(received).toString('utf8'), reset };
}

describe('issue 10 item 17: a body over the limit on a real socket', () => {
  let live: TestApp;
  let port: number;
  beforeAll(async () => {
    live = await startTestApp();
    await live.app.listen({ port: 0, host: '127.0.0.1' });
    port = (live.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await live?.close();
  });

  it('answers 413 PAYLOAD_TOO_LARGE (not a reset) and closes the connection', async () => {
    const liveToken = await live.platformToken();
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const head =
      'POST /api/v1/admin/tenants/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${liveToken}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { text, reset } = await rawExchange(port, head, body);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      detail: 'Request body is larger than 1 MiB',
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(reset).toBe(false);
  });

  it('answers 413 to a chunked body over the limit, without a reset', async () => {
    const liveToken = await live.platformToken();
    const piece = Buffer.concat([
      Buffer.from('10000\r\n'),
      Buffer.alloc(64 * 1024, 'a'),
      Buffer.from('\r\n'),
    ]);
    const body = Buffer.concat([...Array.from({ length: 32 }, () => piece), Buffer.from('0\r\n\r\n')]);
    const head =
      'POST /api/v1/admin/tenants/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${liveToken}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const { text, reset } = await rawExchange(port, head, body);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).code).toBe('PAYLOAD_TOO_LARGE');
    expect(reset).toBe(false);
  });

  it('answers the token endpoint an RFC 6749 error with 413 for a body over its limit, not a reset', async () => {
    const body = Buffer.from(`grant_type=client_credentials&pad=${'a'.repeat(2 * 1024 * 1024)}`);
    const basic = Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64');
    const head =
      'POST /api/v1/platform/oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      `Content-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic ${basic}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { text, reset } = await rawExchange(port, head, body);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'invalid_request',
      error_description: 'request body too large',
    });
    expect(reset).toBe(false);
  });
});
