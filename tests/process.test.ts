import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { platformToken, requestInFlight, startServer } from './helpers/process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-app.js';

/** End-to-end: the real entry point in its own process, as `npm start` runs it. */

describe('the service process', () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  it('starts, finishes in-flight requests on SIGTERM, exits 0 and finds its data after a restart', async () => {
    database = await createTestDatabase({ persistent: true });
    const env = { ...database.env };
    if (!env.DATABASE_URL) {
      // Let the process create its own PGlite folder from scratch, as a first `npm start` does.
      env.SCAIKEY_DATA_DIR = `${env.SCAIKEY_DATA_DIR}/data`;
    }
    const first = await startServer(env);
    const bearer = await platformToken(first.base);
    // A request in flight at the signal, made so on purpose: the server has its headers in hand
    // (it answered 100 Continue), its body follows the SIGTERM.
    const body = JSON.stringify({ name: 'Written before SIGTERM' });
    const request = await requestInFlight(first.base, {
      path: '/api/v1/admin/tenants/',
      contentLength: Buffer.byteLength(body),
      headers: { Authorization: `Bearer ${bearer}` },
    });
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    request.write(body);
    // A keep-alive connection: the server closes it once the request is answered.
    await request.closed;
    const answer = request.answers()[1] ?? '';
    expect(answer, request.received()).toMatch(/^HTTP\/1\.1 201 /);
    const tenantId = (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { data: { id: string } })
      .data.id;
    const code = await first.exited;
    expect(code, first.output()).toBe(0);
    // Regression: the connection of the in-flight request used to keep the process alive for the
    // whole keep-alive timeout (72 s) after it was answered.
    expect(Date.now() - signalled).toBeLessThan(20_000);

    const second = await startServer(env);
    try {
      const read = await fetch(`${second.base}/api/v1/admin/tenants/${tenantId}`, {
        headers: { authorization: `Bearer ${await platformToken(second.base)}` },
      });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { data: { name: string } }).data.name).toBe('Written before SIGTERM');
      expect(second.output()).not.toContain('client secret:');
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
  }, 90_000);

  it('refuses to start with a clear message naming a bad variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain('PORT');
  });
});
