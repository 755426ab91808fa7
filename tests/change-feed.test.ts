import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { eventsHeldBack } from '../src/platform/events/event-log.repository.js';
import { EventSignal } from '../src/platform/events/event-signal.js';
import { insertAuditEvents } from '../src/platform/events/events.repository.js';
import { adminUserToken, createTenant, type Tenant } from './helpers/factories.js';
import { freePort, onPostgres, testConfig, useTestApp } from './helpers/test-app.js';

// Issue 14: the change feed, GET /api/v1/tenants/{tenant_id}/events — a tenant's domain events in
// commit order after an opaque cursor, long-polled with `wait`.

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let other: Tenant;

beforeAll(async () => {
  tenant = await createTenant(t);
  other = await createTenant(t);
});

const email = () => `feed-${randomUUID().slice(0, 12)}@example.com`;
const feedUrl = (tenantId: string, query: Record<string, string | number> = {}) => {
  const search = new URLSearchParams(
    Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]),
  );
  return `/api/v1/tenants/${tenantId}/events${search.size > 0 ? `?${search}` : ''}`;
};

interface FeedEvent {
  id: string;
  type: string;
  cursor: string;
  tenant_id: string | null;
  resource: { type: string; id: string | null };
  actor: { type: string | null; id: string | null };
  data: Record<string, unknown>;
}

async function readFeed(tenantId: string, query: Record<string, string | number> = {}, token?: string) {
  const response = await t.get(feedUrl(tenantId, query), token ? { token } : {});
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.data as { events: FeedEvent[]; next_cursor: string | null; has_more: boolean };
}

/**
 * Waits until no committed event of the tenant is held back: the feed hands out an event only once
 * every older transaction of the PostgreSQL cluster has ended (commit order), and other test files
 * run long transactions (directory syncs) on the same cluster.
 */
const settled = (tenantId: string) =>
  expect
    .poll(() => eventsHeldBack(t.database.db, { tenantId }), { timeout: 60_000, interval: 50 })
    .toBe(false);

/** Reads everything after `after` page by page; returns the events and the last cursor. */
async function readAll(tenantId: string, after: string | null, query: Record<string, string | number> = {}) {
  await settled(tenantId);
  const events: FeedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await readFeed(tenantId, { ...query, ...(cursor ? { after: cursor } : {}) });
    events.push(...page.events);
    cursor = page.next_cursor;
    if (!page.has_more) return { events, cursor };
  }
}

/** The current end of a tenant's feed. */
const endOf = async (tenantId: string) => (await readAll(tenantId, null)).cursor;

const createUser = async (tenantId: string) => {
  const response = await t.post(`/api/v1/tenants/${tenantId}/users`, { email: email() });
  expect(response.status).toBe(201);
  return response.body.data as { id: string; email: string };
};

describe('reading the feed', () => {
  it("returns a tenant's own events in the order they were made, each with its resource and actor", async () => {
    const start = await endOf(tenant.id);
    const user = await createUser(tenant.id);
    const group = (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: `g-${randomUUID()}` })).body
      .data;
    expect(
      (await t.put(`/api/v1/tenants/${tenant.id}/groups/${group.id}/members`, { users_to_add: [user.id] }))
        .status,
    ).toBe(200);
    await createUser(other.id);

    const { events } = await readAll(tenant.id, start);
    expect(events.map((event) => event.type)).toEqual([
      'user.created',
      'group.created',
      'group.member_added',
    ]);
    const [created] = events;
    expect(created).toMatchObject({
      tenant_id: tenant.id,
      resource: { type: 'user', id: user.id },
      actor: { type: expect.any(String) },
      data: { email: user.email },
    });
    expect(created?.id).toMatch(/^evt_/);
    // Nothing of another tenant, and the other tenant sees its own.
    expect(events.every((event) => event.tenant_id === tenant.id)).toBe(true);
    expect((await readAll(other.id, null)).events.some((event) => event.type === 'user.created')).toBe(true);
  });

  it('pages with limit and next_cursor, resumes from any event cursor, and filters by type patterns', async () => {
    const start = await endOf(tenant.id);
    for (let i = 0; i < 5; i += 1) await createUser(tenant.id);
    await settled(tenant.id);
    const first = await readFeed(tenant.id, { after: start as string, limit: 2 });
    expect(first.events).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const rest = await readAll(tenant.id, first.next_cursor);
    expect(rest.events).toHaveLength(3);
    // An event's own cursor resumes right after it.
    const fromSecond = await readAll(tenant.id, first.events[0]?.cursor ?? null);
    expect(fromSecond.events.map((event) => event.id)).toEqual(
      [first.events[1], ...rest.events].map((event) => event?.id),
    );
    // An empty read keeps the cursor.
    const empty = await readFeed(tenant.id, { after: rest.cursor as string });
    expect(empty).toMatchObject({ events: [], next_cursor: rest.cursor, has_more: false });

    await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: `g-${randomUUID()}` });
    const groupsOnly = await readAll(tenant.id, start, { types: 'group.*' });
    expect(groupsOnly.events.map((event) => event.type)).toEqual(['group.created']);
    const usersOnly = await readAll(tenant.id, start, { types: 'user.created, user.deleted' });
    expect(usersOnly.events).toHaveLength(5);
  });

  it('refuses a cursor that is not one of ours and unknown types (422 with loc)', async () => {
    for (const after of [
      'nonsense',
      Buffer.from('1.2.3').toString('base64url'),
      Buffer.from('x.1').toString('base64url'),
    ]) {
      const response = await t.get(feedUrl(tenant.id, { after }));
      expect(response.status).toBe(422);
      expect(response.body.detail[0].loc).toEqual(['query', 'after']);
    }
    const unknown = await t.get(feedUrl(tenant.id, { types: 'user.created,user.teleported' }));
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail[0]).toMatchObject({ loc: ['query', 'types'] });
    expect(unknown.body.detail[0].msg).toContain('user.teleported');
    expect((await t.get(feedUrl(tenant.id, { limit: 0 }))).status).toBe(422);
    expect((await t.get(feedUrl(tenant.id, { wait: 61 }))).status).toBe(422);
  });

  it("is the tenant's own: another tenant's admin gets 404, its own admin reads it", async () => {
    const foreign = await adminUserToken(t, { role: 'tenant_admin', tenant: other });
    expect((await t.get(feedUrl(tenant.id), { token: foreign.token })).status).toBe(404);
    const own = await adminUserToken(t, { role: 'tenant_admin', tenant });
    expect((await t.get(feedUrl(tenant.id), { token: own.token })).status).toBe(200);
  });

  it('keeps failed changes out: an audit entry of a refused change is no event', async () => {
    const start = await endOf(tenant.id);
    const user = await createUser(tenant.id);
    // A taken email is refused: no user, no event.
    expect((await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: user.email })).status).toBe(409);
    const { events } = await readAll(tenant.id, start);
    expect(events.map((event) => event.type)).toEqual(['user.created']);
  });
});

describe('long-polling', () => {
  it('answers at once when events wait, and otherwise when the first new one commits', async () => {
    const start = await endOf(tenant.id);
    const waiting = t.get(feedUrl(tenant.id, { after: start as string, wait: 30 }));
    // The request is parked: its answer comes with the change, not before.
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    const user = await createUser(tenant.id);
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(response.body.data.events.map((event: FeedEvent) => event.resource.id)).toContain(user.id);
  });

  it('parks a request over real HTTP until the change, and ends the wait when the client goes away', async () => {
    const start = await endOf(tenant.id);
    const url = `${t.origin}${feedUrl(tenant.id, { after: start as string, wait: 30 })}`;
    const headers = { authorization: `Bearer ${t.token}` };
    let answered = false;
    const waiting = fetch(url, { headers }).then(async (response) => {
      answered = true;
      return {
        status: response.status,
        body: (await response.json()) as { data: { events: FeedEvent[] } },
      };
    });
    // Another request in between: the first one is still parked.
    expect((await t.get(feedUrl(tenant.id, { after: start as string }))).body.data.events).toEqual([]);
    expect(answered).toBe(false);
    const user = await createUser(tenant.id);
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(response.body.data.events.map((event: FeedEvent) => event.resource.id)).toContain(user.id);

    // A client that gives up: its request ends and the server keeps answering others.
    const controller = new AbortController();
    const end = (await readFeed(tenant.id, { after: start as string })).next_cursor as string;
    const abandoned = fetch(`${t.origin}${feedUrl(tenant.id, { after: end, wait: 30 })}`, {
      headers,
      signal: controller.signal,
    }).catch((error: Error) => error.name);
    controller.abort();
    expect(await abandoned).toBe('AbortError');
    expect((await t.get(feedUrl(tenant.id, { after: end }))).status).toBe(200);
  });

  it('wait=0 answers an empty page at once', async () => {
    const end = await endOf(tenant.id);
    expect(await readFeed(tenant.id, { after: end as string, wait: 0 })).toMatchObject({ events: [] });
  });
});

describe('two instances on one database', () => {
  // Issue 17: the "new events" notice leaves after the commit, outside the change's transaction
  // (event-notices.ts); it must still wake the waiters of every other instance at once.
  it("a long-poll and the webhook dispatcher's wait on instance B wake on a create on instance A", async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // Its own pool and LISTEN connection on PostgreSQL; on PGlite the same handle, where only the
    // NOTIFY carries the notice from one app's listener to the other's.
    const database = onPostgres ? await t.database_.open() : t.database;
    // The same public URL as A (one installation behind one address), so that A's token serves on B.
    const b = await buildApp(testConfig({ publicUrl: t.origin, port }), { database });
    await b.listen({ port, host: '127.0.0.1' });
    try {
      const start = await endOf(tenant.id);
      // The dispatcher of B waits on its EventSignal for any key (delivery.ts).
      const dispatcherWoken = b.scaikey.events.next(EventSignal.ANY).arrived;
      const began = Date.now();
      // Without a notice, a 60 s long-poll would answer only when its wait ends (after the test's timeout).
      const waiting = fetch(`${origin}${feedUrl(tenant.id, { after: start as string, wait: 60 })}`, {
        headers: { authorization: `Bearer ${t.token}` },
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { data: { events: FeedEvent[] } },
      }));
      // B answers another request meanwhile (the long-poll is parked or about to be).
      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
      const user = await createUser(tenant.id);
      // Only a notice wakes B's signal: A's change went through A's unit of work and A's sender.
      await dispatcherWoken;
      const response = await waiting;
      expect(response.status).toBe(200);
      expect(response.body.data.events.map((event) => event.resource.id)).toContain(user.id);
      expect(Date.now() - began).toBeLessThan(20_000);
    } finally {
      await b.close();
      if (onPostgres) await database.close();
    }
  });
});

describe('commit order', () => {
  it('returns every committed event exactly once, in each writer’s order, under 20 concurrent writers', async () => {
    const start = await endOf(tenant.id);
    const writers = 20;
    const perWriter = 8;
    const made: string[][] = Array.from({ length: writers }, () => []);
    const read: FeedEvent[] = [];
    let done = false;
    // A consumer reads along while the writers write, keeping only its cursor; it long-polls
    // while they write (an in-process PGlite answers in microtasks: a tight loop would starve them).
    // Once the writers are done it reads on until it has seen every change they made: a change
    // committed after another transaction began is held back until that one ends (the feed's
    // commit order), which on a busy machine can outlast the writers.
    const seenAll = () => {
      const seen = new Set(read.map((event) => event.resource.id));
      return made.every((ids) => ids.every((id) => seen.has(id)));
    };
    const consumer = (async () => {
      let cursor = start;
      for (;;) {
        const finished = done && seenAll();
        const page = await readFeed(tenant.id, {
          ...(cursor ? { after: cursor } : {}),
          limit: 37,
          wait: finished ? 0 : 5,
        });
        read.push(...page.events);
        cursor = page.next_cursor;
        if (finished && !page.has_more) return;
      }
    })();
    await Promise.all(
      made.map(async (ids) => {
        for (let i = 0; i < perWriter; i += 1) ids.push((await createUser(tenant.id)).id);
      }),
    );
    done = true;
    await consumer;
    const created = read.filter((event) => event.type === 'user.created');
    const ids = created.map((event) => event.resource.id);
    expect(ids).toHaveLength(writers * perWriter);
    expect(new Set(ids).size).toBe(writers * perWriter);
    expect(new Set(ids)).toEqual(new Set(made.flat()));
    // A writer's next change starts after its previous one committed: the feed keeps that order.
    for (const writer of made) {
      const positions = writer.map((id) => ids.indexOf(id));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  }, 90_000); // 160 writes and a reader beside them: ~25 s on a machine at load 30.

  it.skipIf(!onPostgres)(
    'never passes an event of a transaction still running, even when a later one committed first',
    // PGlite has one connection: its transactions run one after another, so none commits out of order.
    async () => {
      const start = await endOf(tenant.id);
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let inserted = () => {};
      const begun = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      // T1 writes its event first (smaller seq) and stays open.
      const slow = t.database.db.transaction().execute(async (trx) => {
        await insertAuditEvents(trx, [
          {
            origin: { actorType: 'system', actorId: null, ipAddress: null, requestId: 'feed-test' },
            event: {
              action: 'user.updated',
              resourceType: 'user',
              resourceId: 'usr_slow',
              tenantId: tenant.id,
            },
          },
        ]);
        inserted();
        await gate;
      });
      await begun;
      // T2 commits meanwhile.
      const user = await createUser(tenant.id);
      const during = await readFeed(tenant.id, { after: start as string });
      expect(during.events).toEqual([]);
      // A long-poll parked now is answered when T1 commits, with both events in order.
      const waiting = t.get(feedUrl(tenant.id, { after: start as string, wait: 30 }));
      release();
      await slow;
      const after = (await waiting).body.data as { events: FeedEvent[] };
      expect(after.events.map((event) => event.resource.id)).toEqual(['usr_slow', user.id]);
    },
  );
});

describe('retention', () => {
  it('deletes events older than SCAIKEY_EVENT_RETENTION_DAYS and keeps newer ones', async () => {
    const start = await endOf(tenant.id);
    const old = await createUser(tenant.id);
    const recent = await createUser(tenant.id);
    await t.database.db
      .updateTable('event_outbox')
      .set({ created_at: new Date(Date.now() - 31 * 24 * 3600 * 1000) })
      .where('resource_id', '=', old.id)
      .execute();
    const removed = await t.app.scaikey.housekeeping.runAll(['event-retention']);
    expect(removed['event-retention']).toBeGreaterThanOrEqual(1);
    const ids = (await readAll(tenant.id, start)).events.map((event) => event.resource.id);
    expect(ids).not.toContain(old.id);
    expect(ids).toContain(recent.id);
  });
});
