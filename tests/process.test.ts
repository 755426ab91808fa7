import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { platformToken, startServer } from './helpers/process.js';
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
    const inFlight = fetch(`${first.base}/api/v1/admin/tenants/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Written before SIGTERM' }),
    });
    // Give the request time to reach the server, then ask it to stop.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const created = await inFlight;
    expect(created.status).toBe(201);
    const tenantId = ((await created.json()) as { data: { id: string } }).data.id;
    const [code] = await once(first.child, 'exit');
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
