import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../src/modules/events/outbound.js';
import { createTenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';
import { GUARDED_WEBHOOKS, WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Issue 14: webhooks never reach private, loopback or link-local targets (SSRF) unless
 * SCAIKEY_WEBHOOK_ALLOW_PRIVATE is set: refused when an endpoint is created or changed, and again
 * at each delivery (DNS may have changed since), after resolving the host name.
 */
const t = useTestApp({ webhooks: GUARDED_WEBHOOKS });
const receiver = new WebhookReceiver();
beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.close();
});

/** A public address literal: creating an endpoint on it needs no DNS. */
const PUBLIC_URL = 'http://93.184.215.14/hook';

describe('webhook SSRF protection', () => {
  it('classifies addresses: private, loopback, link-local, unique-local, CGNAT, multicast, unspecified, mapped', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
    ]) {
      expect(isForbiddenAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isForbiddenAddress(address), address).toBe(false);
    }
  });

  it('refuses endpoints on loopback, private and link-local targets when they are created or changed', async () => {
    const tenant = await createTenant(t);
    const port = new URL(receiver.base).port;
    for (const url of [
      `http://127.0.0.1:${port}/hook`,
      `http://localhost:${port}/hook`,
      'http://10.0.0.5/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd12::1]/hook',
      'http://0.0.0.0/hook',
    ]) {
      const refused = await t.post('/api/v1/admin/webhooks/', { url, events: ['*'], tenant_id: tenant.id });
      expect(refused.status, url).toBe(422);
      expect(refused.body.detail[0].loc).toEqual(['body', 'url']);
    }
    const created = await t.post('/api/v1/admin/webhooks/', {
      url: PUBLIC_URL,
      events: ['user.*'],
      tenant_id: tenant.id,
    });
    expect(created.status).toBe(201);
    const changed = await t.patch(`/api/v1/admin/webhooks/${created.body.data.id}`, {
      url: `http://127.0.0.1:${port}/x`,
    });
    expect(changed.status).toBe(422);
  });

  it('refuses at delivery time a target that became private (IP literal or a name resolving to loopback)', async () => {
    const tenant = await createTenant(t);
    const port = new URL(receiver.base).port;
    for (const url of [`http://127.0.0.1:${port}/late`, `http://localhost:${port}/late`]) {
      const created = await t.post('/api/v1/admin/webhooks/', {
        url: PUBLIC_URL,
        events: ['user.*'],
        tenant_id: tenant.id,
      });
      expect(created.status).toBe(201);
      const id = created.body.data.id as string;
      // As if the endpoint's DNS name now pointed at this machine.
      await t.database.db.updateTable('webhook_endpoints').set({ url }).where('id', '=', id).execute();
      const pinged = await t.post(`/api/v1/admin/webhooks/${id}/test`);
      expect(pinged.status).toBe(200);
      expect(pinged.body.data).toMatchObject({ success: false, response_code: null });
      expect(pinged.body.data.error, url).toMatch(/^Refused: .*not a public address/);
    }
    // A scheduled delivery too: the attempt fails (and will be retried), nothing reaches the receiver.
    const hooks = await t.get(`/api/v1/admin/webhooks/?tenant_id=${tenant.id}`);
    const users = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'ssrf@example.com',
      send_welcome_email: false,
    });
    expect(users.status).toBe(201);
    for (const hook of hooks.body.data as { id: string }[]) {
      let rows: { status: string; attempt_log: { error: string | null }[]; event_type: string }[] = [];
      for (;;) {
        rows = (await t.get(`/api/v1/admin/webhooks/${hook.id}/deliveries`)).body.data;
        const delivery = rows.find((row) => row.event_type === 'user.created');
        if (delivery && delivery.attempt_log.length > 0) {
          expect(delivery.status).toBe('pending');
          expect(delivery.attempt_log[0]?.error).toMatch(/^Refused: /);
          break;
        }
        await new Promise<void>((resolve) => {
          const wait = t.app.scaikey.events.next('*');
          setTimeout(() => {
            wait.cancel();
            resolve();
          }, 50);
        });
      }
    }
    expect(receiver.received).toHaveLength(0);
  });
});
