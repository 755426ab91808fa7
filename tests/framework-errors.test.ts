// Regression tests of issue 11 item 11: every error the framework (Fastify, Node's HTTP parser)
// answers by itself is in the one error model, `{detail, code}`, with the right status.
import { once } from 'node:events';
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();
let port: number;
beforeAll(async () => {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});

/** Writes `request` as raw bytes on a fresh connection and reads until the server closes it. */
async function raw(request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = once(socket, 'close');
  socket.on('error', () => {});
  socket.end(request);
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  return {
    status: Number(text.slice(9, 12)),
    headers: text.slice(0, split).toLowerCase(),
    body: text.slice(split + 4),
  };
}

describe('issue 11 item 11: unsupported methods on known paths', () => {
  it('answers 405 with Allow on a collection route, before authentication', async () => {
    const response = await t.request({ method: 'PUT', url: '/api/v1/admin/tenants/', body: {} });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, POST');
    expect(response.body).toEqual({
      detail: 'Method PUT not allowed; use GET, HEAD, POST',
      code: 'METHOD_NOT_ALLOWED',
    });
  });

  it('answers 405 with Allow on a route with a path parameter, either slash form', async () => {
    const tenant = await createTenant(t);
    for (const url of [`/api/v1/admin/tenants/${tenant.id}`, `/api/v1/admin/tenants/${tenant.id}/`]) {
      const response = await t.post(url);
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD, DELETE, PATCH');
      expect(response.body.code).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('answers 405 to TRACE and OPTIONS on a known path', async () => {
    for (const method of ['TRACE', 'OPTIONS'] as const) {
      const response = await t.request({ method, url: '/healthz' });
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(response.body.code).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('keeps 404 for a path no method serves', async () => {
    const response = await t.request({ method: 'PUT', url: '/api/v1/admin/nothing-here' });
    expect(response.status).toBe(404);
    expect(response.headers.allow).toBeUndefined();
    expect(response.body).toEqual({
      detail: 'No route for PUT /api/v1/admin/nothing-here',
      code: 'NOT_FOUND',
    });
  });

  it('answers a method Node does not know with a 400 in the error model', async () => {
    const response = await raw('BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      detail: 'The request could not be parsed as HTTP/1.1',
      code: 'BAD_REQUEST',
    });
  });
});

describe('issue 11 item 11: request bodies', () => {
  it('answers a body of another media type with 415', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/tenants/',
      token: t.token,
      headers: { 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(response.status).toBe(415);
    expect(response.body).toEqual({
      detail: 'Unsupported media type; send application/json',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('answers a malformed or foreign Content-Type header with 415', async () => {
    for (const type of [
      'application/',
      'json',
      'application/json-patch+json',
      'multipart/form-data; boundary=x',
    ]) {
      const response = await t.request({
        method: 'POST',
        url: '/api/v1/admin/tenants/',
        token: t.token,
        headers: { 'content-type': type },
        payload: '{"name": "x"}',
      });
      expect(response.status, type).toBe(415);
      expect(response.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('answers malformed JSON with the 422 json_invalid of the reference (decisions.md, "Errors")', async () => {
    const response = await t.post('/api/v1/admin/tenants/', '{"a":');
    expect(response.status).toBe(422);
    expect(response.body.detail[0]).toMatchObject({ loc: ['body', 0], type: 'json_invalid' });
  });

  it('ignores an empty JSON body on a route that takes none', async () => {
    const tenant = await createTenant(t);
    const response = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: t.token,
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(204);
  });

  it('answers a Content-Length that does not match the body with 400', async () => {
    const response = await raw(
      `POST /api/v1/admin/tenants/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}',
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).code).toBe('BAD_REQUEST');
  });

  it('answers Content-Length together with Transfer-Encoding (request smuggling) with 400', async () => {
    const response = await raw(
      'POST /api/v1/admin/tenants/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).code).toBe('BAD_REQUEST');
  });
});

describe('issue 11 item 11: headers and URLs', () => {
  it('answers headers over the size limit with 431 in the error model', async () => {
    const response = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(response.status).toBe(431);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toEqual({
      detail: 'Request headers are larger than the server accepts',
      code: 'HEADERS_TOO_LARGE',
    });
  });

  it('answers a malformed request line with 400 in the error model', async () => {
    const response = await raw('GET /healthz HTTP/9.9 extra\r\n\r\n');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).code).toBe('BAD_REQUEST');
  });

  it('answers a path that is not valid percent-encoding with 404 (no id has that shape)', async () => {
    for (const url of ['/api/v1/admin/tenants/%zz', '/api/v1/%E0%A4%A', '/%']) {
      const response = await t.get(url);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
  });

  it('answers a query value that is not valid percent-encoding without a 5xx', async () => {
    const response = await t.get('/api/v1/admin/tenants/?search=%zz%E0%A4%A');
    expect(response.status).toBe(200);
  });

  it('answers a repeated scalar query parameter with a 422 naming it', async () => {
    const response = await t.get('/api/v1/admin/tenants/?page=1&page=2');
    expect(response.status).toBe(422);
    expect(response.body.detail[0].loc).toEqual(['query', 'page']);
  });

  it('ignores thousands of unknown query parameters', async () => {
    const query = Array.from({ length: 1500 }, (_, index) => `p${index}=1`).join('&');
    const response = await t.get(`/api/v1/admin/tenants/?${query}`);
    expect(response.status).toBe(200);
  });
});
