import { describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { UnitOfWork } from '../src/platform/events/unit-of-work.js';
import type { AuditOrigin } from '../src/platform/http.js';
import { Invalidation } from '../src/platform/invalidation.js';
import { createTenant, insertUser } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const origin: AuditOrigin = { actorType: 'system', actorId: null, ipAddress: null, requestId: 'req_uow' };

// Issue 12: a change and its side effects (audit, domain event, invalidation, mail) commit together.
describe('unit of work', () => {
  const t = useTestApp();

  function unitOfWork() {
    const invalidation = new Invalidation();
    const seen: string[] = [];
    invalidation.on((topic) => seen.push(topic));
    return { work: new UnitOfWork(t.database.db, invalidation, t.app.scaikey.mailer), seen };
  }

  const outbox = (resourceId: string) =>
    t.database.db.selectFrom('event_outbox').selectAll().where('resource_id', '=', resourceId).execute();
  const audit = (resourceId: string) =>
    t.database.db.selectFrom('audit_events').selectAll().where('resource_id', '=', resourceId).execute();
  const mails = (to: string) =>
    t.database.db.selectFrom('email_outbox').select('id').where('recipient', '=', to).execute();

  it('writes the audit entry, the outbox event and the mail with the change, and invalidates after commit', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const to = `uow-${newId('user')}@example.com`;
    const { work, seen } = unitOfWork();
    await work.inTenant(tenant.id, origin, async (w) => {
      await w.db.updateTable('users').set({ display_name: 'Renamed' }).where('id', '=', user.id).execute();
      w.audit({
        action: 'user.updated',
        resourceType: 'user',
        resourceId: user.id,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        after: { display_name: 'Renamed' },
      });
      w.audit({ action: 'user.refused', resourceType: 'user', resourceId: user.id, result: 'FAILURE' });
      w.invalidate(`user:${user.id}`);
      await w.mail({ to, subject: 's', text: 't', kind: 'test', tenantId: tenant.id });
      // Nothing is visible to this instance's caches before the commit.
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([`user:${user.id}`]);
    const events = await outbox(user.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'user.updated',
      tenant_id: tenant.id,
      partner_id: tenant.partner_id,
      resource_type: 'user',
      data: { display_name: 'Renamed' },
      request_id: 'req_uow',
    });
    expect(events[0]?.id).toMatch(/^evt_/);
    expect((await audit(user.id)).map((row) => row.action).sort()).toEqual(['user.refused', 'user.updated']);
    expect(await mails(to)).toHaveLength(1);
  });

  it('leaves nothing behind when the change fails', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const to = `uow-${newId('user')}@example.com`;
    const { work, seen } = unitOfWork();
    await expect(
      work.inTenant(tenant.id, origin, async (w) => {
        await w.db.updateTable('users').set({ display_name: 'Lost' }).where('id', '=', user.id).execute();
        w.audit({ action: 'user.updated', resourceType: 'user', resourceId: user.id, tenantId: tenant.id });
        w.invalidate(`user:${user.id}`);
        await w.mail({ to, subject: 's', text: 't', kind: 'test', tenantId: tenant.id });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(seen).toEqual([]);
    expect(await outbox(user.id)).toEqual([]);
    expect(await audit(user.id)).toEqual([]);
    expect(await mails(to)).toEqual([]);
    const row = await t.database.db
      .selectFrom('users')
      .select('display_name')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.display_name).toBeNull();
  });

  it('binds the transaction of a tenant unit of work to its tenant', async () => {
    const [mine, other] = [await createTenant(t), await createTenant(t)];
    const theirs = await insertUser(t, other.id);
    const { work } = unitOfWork();
    const changed = await work.inTenant(mine.id, origin, async (w) => {
      const result = await w.db
        .updateTable('users')
        .set({ display_name: 'Hijacked' })
        .where('id', '=', theirs.id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
    expect(changed).toBe(0);
  });
});
