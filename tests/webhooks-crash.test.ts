import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { platformToken, type RunningServer, startServer } from './helpers/process.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/test-app.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Issue 14, "Done when": at-least-once delivery survives a crash, and instances share the work.
 * Events are written in the transaction of their change (the outbox), deliveries are claimed with a
 * lease: a server killed with SIGKILL in the middle of a burst loses nothing once it runs again,
 * and two servers on one PostgreSQL deliver every event with few duplicates.
 */

const WEBHOOK_ENV = {
  SCAIKEY_WEBHOOK_ALLOW_PRIVATE: 'true',
  SCAIKEY_WEBHOOK_RETRY_BASE_MS: '100',
  SCAIKEY_WEBHOOK_TIMEOUT_MS: '5000',
  LOG_LEVEL: 'error',
};

const servers: RunningServer[] = [];
const databases: TestDatabase[] = [];
const receiver = new WebhookReceiver();
afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }
});
afterAll(async () => {
  await receiver.close();
  for (const database of databases.splice(0)) await database.drop();
});

async function start(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer({ ...env, ...WEBHOOK_ENV });
  servers.push(server);
  return server;
}

async function call(server: RunningServer, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data: { id: string } } };
}

/** Sets up a tenant and an endpoint for its user.created events; returns the tenant id. */
async function subscribe(server: RunningServer, path: string): Promise<string> {
  const token = await platformToken(server.base);
  const tenant = await call(server, token, 'POST', '/api/v1/admin/tenants/', { name: `Burst ${path}` });
  expect(tenant.status).toBe(201);
  const hook = await call(server, token, 'POST', '/api/v1/admin/webhooks/', {
    url: `${receiver.base}${path}`,
    events: ['user.created'],
    tenant_id: tenant.body.data.id,
  });
  expect(hook.status).toBe(201);
  return tenant.body.data.id;
}

/**
 * Creates users `from`..`to-1` with `parallel` requests at a time, round-robin over `targets`;
 * returns the ids acknowledged (201). Stops early (failed requests ignored) when `stop()` says so.
 */
async function burst(
  targets: RunningServer[],
  tenantId: string,
  range: [number, number],
  parallel: number,
  stop: (acknowledged: number) => boolean = () => false,
): Promise<string[]> {
  const tokens = await Promise.all(targets.map((target) => platformToken(target.base)));
  const acknowledged: string[] = [];
  let next = range[0];
  const worker = async () => {
    while (next < range[1] && !stop(acknowledged.length)) {
      const index = next++;
      const target = index % targets.length;
      try {
        const created = await call(
          targets[target] as RunningServer,
          tokens[target] as string,
          'POST',
          `/api/v1/tenants/${tenantId}/users`,
          { email: `burst-${index}@example.com`, send_welcome_email: false },
        );
        if (created.status === 201) acknowledged.push(created.body.data.id);
      } catch {
        // The server was killed under this request: it may or may not have committed.
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return acknowledged;
}

/** The user ids of the user.created deliveries the receiver got at `path`. */
const deliveredUsers = (path: string) =>
  receiver.at(path).map((request) => request.json.resource.id as string);

describe('webhook delivery across crashes and instances', () => {
  it('loses no event of a burst of 1,000 changes when the server is killed with SIGKILL in the middle', async () => {
    await receiver.start();
    const database = await createTestDatabase({ persistent: true });
    databases.push(database);
    const path = '/crash';
    const first = await start(database.env);
    const tenantId = await subscribe(first, path);
    let killed = false;
    const beforeKill = await burst([first], tenantId, [0, 1000], 8, (acknowledged) => {
      if (acknowledged >= 400 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
      return killed;
    });
    await first.exited;
    expect(beforeKill.length).toBeGreaterThanOrEqual(400);
    expect(beforeKill.length).toBeLessThan(1000);

    // The same data, a new process: it delivers what was left, then the rest of the burst.
    const second = await start(database.env);
    const afterRestart = await burst([second], tenantId, [10_000, 10_000 + 1000 - beforeKill.length], 8);
    const expected = new Set([...beforeKill, ...afterRestart]);
    expect(expected.size).toBeGreaterThanOrEqual(1000);
    await receiver.waitFor(
      () => {
        const delivered = new Set(deliveredUsers(path));
        return [...expected].every((id) => delivered.has(id));
      },
      60_000,
      'every acknowledged change to be delivered',
    );
  }, 180_000);

  it.skipIf(!onPostgres)(
    'two instances on one PostgreSQL deliver every event, with under 1% duplicates',
    async () => {
      if (!receiver.base) await receiver.start();
      const database = await createTestDatabase();
      databases.push(database);
      const path = '/instances';
      const a = await start(database.env);
      const b = await start(database.env);
      const tenantId = await subscribe(a, path);
      const acknowledged = await burst([a, b], tenantId, [0, 1000], 16);
      expect(acknowledged).toHaveLength(1000);
      await receiver.waitFor(
        () => new Set(deliveredUsers(path)).size >= 1000,
        60_000,
        'every event to be delivered',
      );
      const delivered = deliveredUsers(path);
      expect(new Set(delivered)).toEqual(new Set(acknowledged));
      const duplicates = delivered.length - new Set(delivered).size;
      expect(duplicates / 1000).toBeLessThan(0.01);
      // One delivery row per event: the two fan-outs never both fanned out an event.
      const ids = new Set(receiver.at(path).map((request) => request.headers['x-scaikey-webhook-id']));
      expect(ids.size).toBe(1000);
    },
    180_000,
  );
});
