import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookDispatcher } from '../src/modules/events/delivery.js';
import type { Db } from '../src/platform/db/database.js';
import { EventSignal } from '../src/platform/events/event-signal.js';
import { UnitOfWork } from '../src/platform/events/unit-of-work.js';
import { SecretBox } from '../src/platform/secret-box.js';
import { createTenant, type Tenant } from './helpers/factories.js';
import { moment } from './helpers/moment.js';
import { useTestApp } from './helpers/test-app.js';
import { LOOPBACK_WEBHOOKS } from './helpers/webhook-receiver.js';

/**
 * The webhook fan-out coalesces notices (src/modules/events/delivery.ts): a burst of event notices
 * while a fan-out step runs or is queued gives one more step, not one per notice, and every
 * subscribed endpoint still gets exactly one delivery per event. The app's own dispatcher is
 * stopped here; each test runs a dispatcher of its own that sends nothing (concurrency 0), whose
 * fan-out transactions wait at a gate the test opens, and counts its steps.
 */
const t = useTestApp({ webhooks: LOOPBACK_WEBHOOKS });

let box: SecretBox;
beforeAll(async () => {
  await t.app.scaikey.webhookDelivery.stop();
  box = await SecretBox.open(t.database.db);
});

/** A database whose transactions wait until `open()`; `entered` resolves when one is waiting. */
function gatedDb(db: Db) {
  const gate = moment();
  const entered = moment();
  const gated = new Proxy(db, {
    get(target, property) {
      if (property === 'transaction') {
        return () => ({
          execute: async <T>(run: Parameters<ReturnType<Db['transaction']>['execute']>[0]) => {
            entered.reach();
            await gate.reached;
            return target.transaction().execute(run) as Promise<T>;
          },
        });
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Db;
  return { db: gated, open: gate.reach, waiting: entered.reached };
}

/** An EventSignal on the database's notices that also tells how many it heard. */
class CountingSignal extends EventSignal {
  heard = 0;
  #waiters: { count: number; resolve: () => void }[] = [];
  override notify(key: string): void {
    super.notify(key);
    this.heard++;
    for (const waiter of this.#waiters.filter((each) => this.heard >= each.count)) waiter.resolve();
  }
  heardAtLeast(count: number): Promise<void> {
    if (this.heard >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

function dispatcher(db: Db, signal: EventSignal) {
  return new WebhookDispatcher({
    db,
    // Used by sends only, and this dispatcher sends nothing (concurrency 0).
    work: new UnitOfWork(db, t.app.scaikey.invalidation, t.app.scaikey.mailer),
    box,
    signal,
    settings: { ...LOOPBACK_WEBHOOKS, concurrency: 0 },
    log: t.app.log,
    safetyPollMs: 3_600_000,
  });
}

async function endpoint(tenant: Tenant, events: string[]) {
  const response = await t.post('/api/v1/admin/webhooks/', {
    url: 'http://127.0.0.1:9/hook',
    events,
    tenant_id: tenant.id,
  });
  expect(response.status).toBe(201);
  return response.body.data.id as string;
}

async function createUser(tenant: Tenant) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `u${Math.random().toString(36).slice(2)}@example.com`,
    send_welcome_email: false,
  });
  expect(response.status).toBe(201);
  return response.body.data.id as string;
}

/**
 * Waits until every event written so far is older than every transaction still open on the
 * database server: the fan-out reads only those (commit order), so an open transaction of another
 * test file on the same PostgreSQL server holds newer events back until it ends.
 */
async function eventsReadable() {
  await vi.waitFor(
    async () => {
      const { rows } = await sql<{ readable: boolean }>`select coalesce(
        (select max(txid) from event_outbox) < pg_snapshot_xmin(pg_current_snapshot()), true) as readable`.execute(
        t.database.db,
      );
      expect(rows[0]?.readable).toBe(true);
    },
    { timeout: 60_000, interval: 20 },
  );
}

/** The users of `ids` each endpoint got a user.created delivery for: endpoint id → count. */
async function deliveriesFor(endpoints: string[], ids: string[]) {
  const rows = await t.database.db
    .selectFrom('webhook_deliveries')
    .select(['endpoint_id', sql<number>`count(*)::int`.as('n')])
    .where('endpoint_id', 'in', endpoints)
    .where('event_type', '=', 'user.created')
    .where(sql<string>`body::jsonb->'data'->>'id'`, 'in', ids)
    .groupBy('endpoint_id')
    .execute();
  return Object.fromEntries(endpoints.map((id) => [id, rows.find((row) => row.endpoint_id === id)?.n ?? 0]));
}

describe('webhook fan-out', () => {
  const running: WebhookDispatcher[] = [];
  afterAll(async () => {
    for (const each of running) await each.stop();
  });

  it('gives a burst of N creates one more step while a step runs, and each endpoint its N deliveries', async () => {
    const tenant = await createTenant(t);
    const subscribed = [await endpoint(tenant, ['user.created']), await endpoint(tenant, ['user.*'])];
    const elsewhere = await endpoint(tenant, ['group.created']);
    const signal = new CountingSignal();
    await signal.start(t.database);
    const gated = gatedDb(t.database.db);
    const fanOut = dispatcher(gated.db, signal);
    running.push(fanOut);
    fanOut.start();
    // The start's step waits at the gate; the N creates and their notices arrive meanwhile.
    await gated.waiting;
    const N = 12;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(await createUser(tenant));
    await signal.heardAtLeast(N);
    await eventsReadable();
    gated.open();
    await fanOut.idle();
    await signal.stop();
    // The step the start queued, and one more for all N notices (not one per notice).
    expect(fanOut.fanOutSteps).toBe(2);
    const counts = await deliveriesFor([...subscribed, elsewhere], ids);
    expect(counts).toEqual({ [subscribed[0] as string]: N, [subscribed[1] as string]: N, [elsewhere]: 0 });
  });

  it('runs one step for notices that arrive while one is queued', async () => {
    const tenant = await createTenant(t);
    const subscribed = await endpoint(tenant, ['user.created']);
    const fanOut = dispatcher(t.database.db, new EventSignal());
    running.push(fanOut);
    fanOut.start();
    await fanOut.idle();
    const before = fanOut.fanOutSteps;
    const N = 8;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(await createUser(tenant));
    await eventsReadable();
    // N notices in one turn of the event loop: the cycle they queue reads every event once.
    for (let i = 0; i < N; i++) fanOut.kick(true, false);
    await fanOut.idle();
    expect(fanOut.fanOutSteps - before).toBe(1);
    expect(await deliveriesFor([subscribed], ids)).toEqual({ [subscribed]: N });
    // Nothing new: another notice reads nothing and makes no delivery.
    fanOut.kick(true, false);
    await fanOut.idle();
    expect(await deliveriesFor([subscribed], ids)).toEqual({ [subscribed]: N });
  });
});
