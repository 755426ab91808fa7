import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../src/modules/events/delivery.js';
import { adminUserToken, createPartner, createTenant, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';
import {
  LOOPBACK_WEBHOOKS,
  type Received,
  verifyDelivery,
  WebhookReceiver,
} from './helpers/webhook-receiver.js';

/** Issue 14: the Webhooks API and signed, retried, ordered delivery to a receiver the test runs. */
const t = useTestApp({ webhooks: LOOPBACK_WEBHOOKS });
const receiver = new WebhookReceiver();
beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.close();
});

let paths = 0;
/** A fresh receiver path per endpoint, so that tests never see each other's deliveries. */
const newPath = () => `/hook-${++paths}`;

async function createWebhook(fields: Record<string, unknown>, token?: string) {
  const response = await t.post('/api/v1/admin/webhooks/', fields, token ? { token } : {});
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.data as { id: string; secret: string; [key: string]: unknown };
}

/** A new tenant and an endpoint of it on a fresh receiver path, subscribed to `events`. */
async function tenantEndpoint(events: string[]) {
  const tenant = await createTenant(t);
  const path = newPath();
  const hook = await createWebhook({ url: `${receiver.base}${path}`, events, tenant_id: tenant.id });
  return { tenant, path, hook };
}

async function createUser(tenant: Tenant, email = `u${Math.random().toString(36).slice(2)}@example.com`) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email, send_welcome_email: false });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.data as { id: string; email: string };
}

async function deliveries(webhookId: string, query = '') {
  const response = await t.get(`/api/v1/admin/webhooks/${webhookId}/deliveries?per_page=100${query}`);
  expect(response.status).toBe(200);
  return response.body.data as {
    id: number;
    status: string;
    attempts: number;
    event_id: string;
    event_type: string;
    redelivery_of: number | null;
    last_response_code: number | null;
    last_response_ms: number | null;
    next_attempt_at: string | null;
    attempt_log: {
      attempt: number;
      started_at: string;
      response_code: number | null;
      error: string | null;
      next_attempt_at: string | null;
    }[];
  }[];
}

/** Waits until the endpoint's deliveries satisfy `condition` (re-reading after each receiver request or 50 ms of quiet). */
async function waitForDeliveries(
  webhookId: string,
  condition: (rows: Awaited<ReturnType<typeof deliveries>>) => boolean,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await deliveries(webhookId);
    if (condition(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`deliveries never matched: ${JSON.stringify(rows)}`);
    // The outcome is recorded just after the receiver answered: wait for the next notice of the app.
    await new Promise<void>((resolve) => {
      const wait = t.app.scaikey.events.next('*');
      const timer = setTimeout(() => {
        wait.cancel();
        resolve();
      }, 50);
      void wait.arrived.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

describe('webhook endpoints API', () => {
  it('creates an endpoint, shows its secret once, reads, lists, changes and deletes it', async () => {
    const tenant = await createTenant(t);
    const url = `${receiver.base}${newPath()}`;
    const created = await createWebhook({
      url,
      events: ['user.*'],
      tenant_id: tenant.id,
      description: 'CRM sync',
    });
    expect(created.id).toMatch(/^whk_[0-9a-z]{20}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({
      url,
      events: ['user.*'],
      scope: 'TENANT',
      tenant_id: tenant.id,
      partner_id: tenant.partner_id,
      enabled: true,
      status: 'active',
    });

    const read = await t.get(`/api/v1/admin/webhooks/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body.data.secret).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toContain(created.secret.slice(6));

    const list = await t.get(`/api/v1/admin/webhooks/?tenant_id=${tenant.id}`);
    expect(list.body.data.map((row: { id: string }) => row.id)).toEqual([created.id]);
    expect(list.body.pagination).toMatchObject({ page: 1, total_items: 1 });
    const byPartner = await t.get(`/api/v1/admin/webhooks/?partner_id=${tenant.partner_id}`);
    expect(byPartner.body.data.map((row: { id: string }) => row.id)).toContain(created.id);

    const changed = await t.patch(`/api/v1/admin/webhooks/${created.id}`, {
      events: ['group.*', 'user.created'],
      enabled: false,
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ events: ['group.*', 'user.created'], enabled: false });

    expect((await t.delete(`/api/v1/admin/webhooks/${created.id}`)).status).toBe(204);
    expect((await t.get(`/api/v1/admin/webhooks/${created.id}`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/webhooks/${created.id}`)).status).toBe(404);
  });

  it('refuses unknown event types and bad URLs with 422 naming the field', async () => {
    const tenant = await createTenant(t);
    const unknown = await t.post('/api/v1/admin/webhooks/', {
      url: `${receiver.base}/x`,
      events: ['user.created', 'user.nope'],
      tenant_id: tenant.id,
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail[0].loc).toEqual(['body', 'events', 1]);
    const malformed = await t.post('/api/v1/admin/webhooks/', {
      url: `${receiver.base}/x`,
      events: ['USER'],
      tenant_id: tenant.id,
    });
    expect(malformed.status).toBe(422);
    for (const url of ['ftp://example.com/hook', 'not a url', 'https://user:pass@example.com/hook']) {
      const refused = await t.post('/api/v1/admin/webhooks/', { url, events: ['*'], tenant_id: tenant.id });
      expect(refused.status, url).toBe(422);
      expect(refused.body.detail[0].loc).toEqual(['body', 'url']);
    }
    const noEvents = await t.post('/api/v1/admin/webhooks/', {
      url: `${receiver.base}/x`,
      events: [],
      tenant_id: tenant.id,
    });
    expect(noEvents.status).toBe(422);
  });

  it('answers 404 for ids that do not exist or are malformed', async () => {
    for (const id of ['whk_00000000000000000000', 'nope']) {
      expect((await t.get(`/api/v1/admin/webhooks/${id}`)).status).toBe(404);
      expect((await t.patch(`/api/v1/admin/webhooks/${id}`, { enabled: true })).status).toBe(404);
      expect((await t.post(`/api/v1/admin/webhooks/${id}/rotate-secret`)).status).toBe(404);
      expect((await t.get(`/api/v1/admin/webhooks/${id}/deliveries`)).status).toBe(404);
    }
  });

  it('scopes endpoints by role: a tenant admin sees its tenant only, a partner admin its partner and tenants', async () => {
    const partner = await createPartner(t);
    const mine = await createTenant(t, { partner_id: partner.id });
    const sibling = await createTenant(t, { partner_id: partner.id });
    const foreign = await createTenant(t);
    const mineHook = await createWebhook({
      url: `${receiver.base}${newPath()}`,
      events: ['*'],
      tenant_id: mine.id,
    });
    const siblingHook = await createWebhook({
      url: `${receiver.base}${newPath()}`,
      events: ['*'],
      tenant_id: sibling.id,
    });
    const foreignHook = await createWebhook({
      url: `${receiver.base}${newPath()}`,
      events: ['*'],
      tenant_id: foreign.id,
    });
    const partnerHook = await createWebhook({
      url: `${receiver.base}${newPath()}`,
      events: ['*'],
      partner_id: partner.id,
    });
    const platformHook = await createWebhook({ url: `${receiver.base}${newPath()}`, events: ['*'] });
    expect(partnerHook.scope).toBe('PARTNER');
    expect(platformHook).toMatchObject({ scope: 'PLATFORM', tenant_id: null, partner_id: null });

    const tenantAdmin = (await adminUserToken(t, { role: 'tenant_admin', tenant: mine })).token;
    const seen = await t.get('/api/v1/admin/webhooks/?per_page=100', { token: tenantAdmin });
    expect(seen.body.data.map((row: { id: string }) => row.id)).toEqual([mineHook.id]);
    for (const other of [siblingHook, foreignHook, partnerHook, platformHook]) {
      expect((await t.get(`/api/v1/admin/webhooks/${other.id}`, { token: tenantAdmin })).status).toBe(404);
      expect((await t.delete(`/api/v1/admin/webhooks/${other.id}`, { token: tenantAdmin })).status).toBe(404);
    }
    const ownByDefault = await createWebhook(
      { url: `${receiver.base}${newPath()}`, events: ['user.*'] },
      tenantAdmin,
    );
    expect(ownByDefault).toMatchObject({ scope: 'TENANT', tenant_id: mine.id });
    const intoForeign = await t.post(
      '/api/v1/admin/webhooks/',
      { url: `${receiver.base}/x`, events: ['*'], tenant_id: foreign.id },
      { token: tenantAdmin },
    );
    expect(intoForeign.status).toBe(404);

    const partnerAdmin = (await adminUserToken(t, { role: 'partner_admin', tenant: mine })).token;
    const partnerSeen = await t.get('/api/v1/admin/webhooks/?per_page=100', { token: partnerAdmin });
    expect(new Set(partnerSeen.body.data.map((row: { id: string }) => row.id))).toEqual(
      new Set([mineHook.id, siblingHook.id, partnerHook.id, ownByDefault.id]),
    );
    expect((await t.get(`/api/v1/admin/webhooks/${foreignHook.id}`, { token: partnerAdmin })).status).toBe(
      404,
    );
    expect((await t.get(`/api/v1/admin/webhooks/${platformHook.id}`, { token: partnerAdmin })).status).toBe(
      404,
    );
    const foreignPartner = await t.post(
      '/api/v1/admin/webhooks/',
      { url: `${receiver.base}/x`, events: ['*'], partner_id: foreign.partner_id },
      { token: partnerAdmin },
    );
    expect(foreignPartner.status).toBe(404);
  });

  it('lists the event catalogue with a JSON Schema of each type’s data', async () => {
    const response = await t.get('/api/v1/admin/webhooks/events');
    expect(response.status).toBe(200);
    const created = response.body.data.find((entry: { type: string }) => entry.type === 'user.created');
    expect(created).toMatchObject({ resource_type: 'user', data_schema: { type: 'object' } });
    expect(created.data_schema.properties.email).toEqual({ type: 'string' });
    expect(response.body.data.map((entry: { type: string }) => entry.type)).not.toContain('webhook.test');
  });
});

describe('webhook retry schedule', () => {
  it('doubles from the base, with ±25% jitter, capped at 6 hours', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(5000, n, () => 0.5))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(5000, 3, low)).toBe(15_000);
    expect(retryDelayMs(5000, 3, high)).toBe(25_000);
    expect(retryDelayMs(5000, 30, () => 0.5)).toBe(6 * 3600 * 1000);
    expect(retryDelayMs(5000, 1000, () => 0.5)).toBe(6 * 3600 * 1000);
  });
});

describe('webhook delivery', () => {
  it('delivers a subscribed event signed per Standard Webhooks and with the ScaiKey headers', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.*']);
    const user = await createUser(tenant);
    await receiver.waitFor(() => receiver.at(path).length >= 1);
    const [got] = receiver.at(path) as [Received];
    expect(verifyDelivery(hook.secret, got)).toMatchObject({ type: 'user.created' });
    expect(got.json).toMatchObject({
      type: 'user.created',
      event_type: 'user.created',
      tenant_id: tenant.id,
      resource: { type: 'user', id: user.id },
      actor: { type: expect.any(String) },
      data: { email: user.email },
    });
    expect(got.json.id).toMatch(/^evt_/);
    expect(got.json.event_id).toBe(got.json.id);
    expect(got.json.timestamp).toBe(got.json.created_at);
    expect(got.body).not.toMatch(/\s/);
    expect(got.headers['webhook-id']).toBe(got.json.id);
    expect(got.headers['x-scaikey-event-id']).toBe(got.json.id);
    expect(got.headers['x-scaikey-event-type']).toBe('user.created');
    expect(got.headers['user-agent']).toBe('ScaiKey-Webhook/1.0');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-scaikey-webhook-id']).toMatch(/^\d+$/);
    const timestamp = got.headers['x-scaikey-timestamp'] as string;
    expect(timestamp).toBe(got.headers['webhook-timestamp']);
    const key = Buffer.from(hook.secret.slice(6), 'base64');
    const hex = createHmac('sha256', key).update(`${timestamp}.${got.body}`).digest('hex');
    expect(got.headers['x-scaikey-signature']).toBe(`t=${timestamp},v1=${hex}`);
    const rows = await waitForDeliveries(hook.id, (list) => list[0]?.status === 'succeeded');
    expect(rows[0]).toMatchObject({
      id: Number(got.headers['x-scaikey-webhook-id']),
      event_type: 'user.created',
      attempts: 1,
      last_response_code: 204,
    });
  });

  it('delivers only events in the endpoint’s scope and subscription', async () => {
    const partner = await createPartner(t);
    const [a, b] = [
      await createTenant(t, { partner_id: partner.id }),
      await createTenant(t, { partner_id: partner.id }),
    ];
    const other = await createTenant(t);
    const [tenantPath, partnerPath, groupsPath] = [newPath(), newPath(), newPath()];
    await createWebhook({ url: `${receiver.base}${tenantPath}`, events: ['user.created'], tenant_id: a.id });
    await createWebhook({
      url: `${receiver.base}${partnerPath}`,
      events: ['user.created'],
      partner_id: partner.id,
    });
    await createWebhook({ url: `${receiver.base}${groupsPath}`, events: ['group.*'], tenant_id: a.id });
    const inA = await createUser(a);
    const inB = await createUser(b);
    const outside = await createUser(other);
    await receiver.waitFor(() => receiver.at(tenantPath).length >= 1 && receiver.at(partnerPath).length >= 2);
    // A later event of tenant a: everything before it was fanned out already.
    const last = await createUser(a);
    const ids = (path: string) => [...new Set(receiver.at(path).map((request) => request.json.resource.id))];
    await receiver.waitFor(() => ids(tenantPath).includes(last.id));
    // At least once: a slow answer may be retried, so each event counts once here.
    expect(ids(tenantPath)).toEqual([inA.id, last.id]);
    expect(ids(partnerPath)).toEqual(expect.arrayContaining([inA.id, inB.id]));
    expect(ids(partnerPath)).not.toContain(outside.id);
    expect(receiver.at(groupsPath)).toHaveLength(0);
  });

  it('retries a 500 with growing, jittered delays, keeping the webhook-id, and shows each attempt', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.created']);
    let calls = 0;
    const previous = receiver.answer;
    receiver.answer = (request) => (request.path === path ? (++calls <= 3 ? 500 : 200) : previous(request));
    await createUser(tenant);
    await receiver.waitFor(() => receiver.at(path).length >= 4);
    receiver.answer = previous;
    const got = receiver.at(path);
    expect(new Set(got.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(new Set(got.map((request) => request.headers['x-scaikey-webhook-id'])).size).toBe(1);
    for (const request of got) verifyDelivery(hook.secret, request);
    const [row] = await waitForDeliveries(hook.id, (list) => list[0]?.status === 'succeeded');
    expect(row?.attempts).toBe(4);
    expect(row?.attempt_log.map((attempt) => attempt.response_code)).toEqual([500, 500, 500, 200]);
    // The page, its attempts and the count are read together; past the last page, the count alone.
    const paged = await t.get(`/api/v1/admin/webhooks/${hook.id}/deliveries?per_page=1`);
    expect(paged.body.pagination).toMatchObject({ page: 1, total_items: 1 });
    expect(paged.body.data[0].attempt_log).toHaveLength(4);
    const beyond = await t.get(`/api/v1/admin/webhooks/${hook.id}/deliveries?per_page=1&page=3`);
    expect(beyond.status).toBe(200);
    expect(beyond.body.data).toEqual([]);
    expect(beyond.body.pagination).toMatchObject({ page: 3, total_items: 1 });
    const log = row?.attempt_log ?? [];
    const delays = log
      .slice(0, 3)
      .map((attempt) => Date.parse(attempt.next_attempt_at as string) - Date.parse(attempt.started_at));
    // Each failure scheduled its retry at least base·2ⁿ⁻¹ less 25% jitter after the attempt began
    // (the attempt's own time adds to it; the exact schedule is checked on retryDelayMs below).
    delays.forEach((delay, index) => {
      expect(delay).toBeGreaterThanOrEqual(0.75 * 40 * 2 ** index);
    });
    expect(log[3]?.next_attempt_at).toBeNull();
  });

  it('retries a delivery that timed out', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.created']);
    let calls = 0;
    const previous = receiver.answer;
    receiver.answer = (request) =>
      request.path === path ? (++calls === 1 ? 'hang' : 204) : previous(request);
    await createUser(tenant);
    await receiver.waitFor(() => receiver.at(path).length >= 2);
    receiver.answer = previous;
    const [row] = await waitForDeliveries(hook.id, (list) => list[0]?.status === 'succeeded');
    expect(row?.attempt_log[0]).toMatchObject({ attempt: 1, response_code: null });
    expect(row?.attempt_log[0]?.error).toMatch(/No complete response within 2000 ms/);
    expect(row?.attempt_log[1]).toMatchObject({ attempt: 2, response_code: 204 });
  });

  it('redelivers a delivery as a new one with the same message', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.created']);
    await createUser(tenant);
    const [first] = await waitForDeliveries(hook.id, (list) => list[0]?.status === 'succeeded');
    const response = await t.post(`/api/v1/admin/webhooks/${hook.id}/deliveries/${first?.id}/redeliver`);
    expect(response.status).toBe(202);
    expect(response.body.data).toMatchObject({
      redelivery_of: first?.id,
      status: 'pending',
      event_id: first?.event_id,
    });
    await receiver.waitFor(() => receiver.at(path).length >= 2);
    const [original, again] = receiver.at(path) as [Received, Received];
    expect(again.body).toBe(original.body);
    expect(again.headers['webhook-id']).toBe(original.headers['webhook-id']);
    expect(again.headers['x-scaikey-webhook-id']).toBe(String(response.body.data.id));
    verifyDelivery(hook.secret, again);
    expect((await t.post(`/api/v1/admin/webhooks/${hook.id}/deliveries/999999999/redeliver`)).status).toBe(
      404,
    );
    expect((await t.post(`/api/v1/admin/webhooks/${hook.id}/deliveries/abc/redeliver`)).status).toBe(404);
  });

  it('signs with the old and the new secret during the rotation overlap', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.created']);
    const rotated = await t.post(`/api/v1/admin/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    const secret = rotated.body.data.secret as string;
    expect(secret).not.toBe(hook.secret);
    const overlapEnds = Date.parse(rotated.body.data.previous_secret_expires_at);
    expect(overlapEnds - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    await createUser(tenant);
    await receiver.waitFor(() => receiver.at(path).length >= 1);
    const [got] = receiver.at(path) as [Received];
    expect((got.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    verifyDelivery(secret, got);
    verifyDelivery(hook.secret, got);
    expect((got.headers['x-scaikey-signature'] as string).match(/v1=/g)).toHaveLength(2);

    // Once the overlap is over, only the new secret signs.
    await t.database.db
      .updateTable('webhook_endpoints')
      .set({ previous_secret_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', hook.id)
      .execute();
    await createUser(tenant);
    await receiver.waitFor(() => receiver.at(path).length >= 2);
    const later = receiver.at(path)[1] as Received;
    verifyDelivery(secret, later);
    expect(() => verifyDelivery(hook.secret, later)).toThrow();
  });

  it('sends the changes of one resource in order, holding later ones while an earlier one is retried', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.*']);
    let failed = 0;
    const previous = receiver.answer;
    receiver.answer = (request) =>
      request.path === path
        ? request.json.type === 'user.created' && ++failed <= 2
          ? 503
          : 204
        : previous(request);
    const user = await createUser(tenant);
    for (let index = 1; index <= 5; index++) {
      const changed = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
        display_name: `Name ${index}`,
      });
      expect(changed.status).toBe(200);
    }
    await receiver.waitFor(
      () => receiver.at(path).filter((request) => request.json.type === 'user.updated').length >= 5,
    );
    receiver.answer = previous;
    const accepted = receiver
      .at(path)
      .filter((request) => request.json.type !== 'user.created' || failed > 2);
    const sequence = receiver
      .at(path)
      .map((request) => (request.json.type === 'user.created' ? 'created' : request.json.data.display_name));
    expect(sequence).toEqual([
      'created',
      'created',
      'created',
      'Name 1',
      'Name 2',
      'Name 3',
      'Name 4',
      'Name 5',
    ]);
    expect(accepted.length).toBeGreaterThan(0);
    await waitForDeliveries(
      hook.id,
      (list) => list.length === 6 && list.every((row) => row.status === 'succeeded'),
    );
  });

  it('marks an endpoint failing, then disables it when a delivery fails for its whole retry window (audited)', async () => {
    const { tenant, path, hook } = await tenantEndpoint(['user.created']);
    const previous = receiver.answer;
    receiver.answer = (request) => (request.path === path ? 500 : previous(request));
    await createUser(tenant);
    await waitForDeliveries(hook.id, (list) => (list[0]?.attempt_log.length ?? 0) >= 3);
    expect((await t.get(`/api/v1/admin/webhooks/${hook.id}`)).body.data).toMatchObject({
      status: 'failing',
      enabled: true,
    });
    // The retry window (10 minutes here) is over for a delivery of an event an hour old.
    await t.database.db
      .updateTable('webhook_deliveries')
      .set({ created_at: new Date(Date.now() - 3_600_000) })
      .where('endpoint_id', '=', hook.id)
      .execute();
    const rows = await waitForDeliveries(hook.id, (list) => list[0]?.status === 'failed', 30_000);
    receiver.answer = previous;
    const endpoint = (await t.get(`/api/v1/admin/webhooks/${hook.id}`)).body.data;
    expect(endpoint).toMatchObject({ status: 'disabled', enabled: false });
    expect(endpoint.consecutive_failures).toBe(rows[0]?.attempts);
    expect(rows[0]?.next_attempt_at).toBeNull();
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'webhook.disabled')
      .where('resource_id', '=', hook.id)
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ tenant_id: tenant.id, actor_type: 'system', result: 'SUCCESS' });
    // Enabling it again makes it active.
    const resumed = await t.patch(`/api/v1/admin/webhooks/${hook.id}`, { enabled: true });
    expect(resumed.body.data).toMatchObject({ status: 'active', enabled: true, consecutive_failures: 0 });
  });

  it('test pings an endpoint synchronously and reports its answer', async () => {
    const { path, hook } = await tenantEndpoint(['user.created']);
    const pinged = await t.post(`/api/v1/admin/webhooks/${hook.id}/test`);
    expect(pinged.status).toBe(200);
    expect(pinged.body.data).toMatchObject({ success: true, response_code: 204, error: null });
    const [got] = receiver.at(path) as [Received];
    expect(verifyDelivery(hook.secret, got)).toMatchObject({
      type: 'webhook.test',
      data: { webhook_id: hook.id },
    });
    expect(got.headers['x-scaikey-webhook-id']).toBe(String(pinged.body.data.delivery_id));
    const previous = receiver.answer;
    receiver.answer = (request) => (request.path === path ? 410 : previous(request));
    const refused = await t.post(`/api/v1/admin/webhooks/${hook.id}/test`);
    receiver.answer = previous;
    expect(refused.body.data).toMatchObject({ success: false, response_code: 410, error: 'HTTP 410' });
    const listed = await deliveries(hook.id, '&status=failed');
    expect(listed.map((row) => row.id)).toEqual([refused.body.data.delivery_id]);
  });
});
