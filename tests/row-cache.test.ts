import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { newId } from '../src/lib/ids.js';
import { ROWS_CHANNEL } from '../src/platform/row-cache.js';
import { adminUserToken, createTenant, type Tenant } from './helpers/factories.js';
import { onPostgres, testConfig, useTestApp } from './helpers/test-app.js';
import { usersApi } from './helpers/users.js';

// Issue 17: users, OUs and tenants read by id come from the row cache (ADR 0015); every change,
// through the API or behind its back, shows in the next read, on this instance and on the others.

const t = useTestApp({}, { live: true });
const api = usersApi(t);

async function createOu(tenant: Tenant, name: string, parentId: string | null = null): Promise<string> {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name, parent_id: parentId });
  expect(response.status).toBe(201);
  return response.body.data.id;
}

/** Resolves when `app` has heard a row notice naming `id` (or every row of its kind). */
function heard(app: FastifyInstance, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    app.scaikey.database
      .listen(ROWS_CHANNEL, (payload) => {
        if (payload.split(' ').some((part) => part === id || part === '*')) resolve();
      })
      .catch(reject);
  });
}

describe('row cache: reads by id after changes', () => {
  it('a GET after a PATCH shows the change, and a second GET is served from memory', async () => {
    const tenant = await createTenant(t);
    const user = await api.createUser(tenant, { first_name: 'Before' });
    expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('Before');
    const kept = t.app.scaikey.rows.size;
    expect(kept).toBeGreaterThan(0);
    expect(
      (await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, { first_name: 'After' })).status,
    ).toBe(200);
    expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('After');
    expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('After');
  });

  it('a change written behind the API (plain SQL) is seen at the next read, once its notice arrives', async () => {
    const tenant = await createTenant(t);
    const user = await api.createUser(tenant, { last_name: 'Sql' });
    expect((await api.getUser(tenant, user.id)).body.data.last_name).toBe('Sql');
    const notice = heard(t.app, user.id);
    await t.database.db
      .updateTable('users')
      .set({ last_name: 'Changed' })
      .where('id', '=', user.id)
      .execute();
    await notice;
    expect((await api.getUser(tenant, user.id)).body.data.last_name).toBe('Changed');
  });

  it('a renamed OU changes ou_path of its users; a moved user shows its new OU', async () => {
    const tenant = await createTenant(t);
    const sales = await createOu(tenant, 'Sales');
    const other = await createOu(tenant, 'Other');
    const user = await api.createUser(tenant, { ou_id: sales });
    expect((await api.getUser(tenant, user.id)).body.data.ou_path).toBe('/Sales');
    expect((await t.patch(`/api/v1/tenants/${tenant.id}/ous/${sales}`, { name: 'Revenue' })).status).toBe(
      200,
    );
    expect((await api.getUser(tenant, user.id)).body.data.ou_path).toBe('/Revenue');
    expect((await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, { ou_id: other })).status).toBe(
      200,
    );
    expect((await api.getUser(tenant, user.id)).body.data).toMatchObject({ ou_id: other, ou_path: '/Other' });
  });

  it('an OU deleted with its users moved away leaves no stale path; a deleted user is a 404', async () => {
    const tenant = await createTenant(t);
    const team = await createOu(tenant, 'Team');
    const user = await api.createUser(tenant, { ou_id: team });
    expect((await api.getUser(tenant, user.id)).body.data.ou_path).toBe('/Team');
    expect((await t.delete(`/api/v1/tenants/${tenant.id}/ous/${team}?strategy=MOVE_UP`)).status).toBe(204);
    expect((await api.getUser(tenant, user.id)).body.data).toMatchObject({ ou_id: null, ou_path: null });
    const confirm = encodeURIComponent(user.email);
    expect(
      (await t.delete(`/api/v1/tenants/${tenant.id}/users/${user.id}?confirm_email=${confirm}`)).status,
    ).toBe(204);
    expect((await api.getUser(tenant, user.id)).status).toBe(404);
  });

  it('a user kept in memory is a 404 through another tenant, and its tenant suspended or deleted hides it', async () => {
    const tenant = await createTenant(t);
    const stranger = await createTenant(t);
    const user = await api.createUser(tenant);
    expect((await api.getUser(tenant, user.id)).status).toBe(200);
    const foreign = await api.getUser(stranger, user.id);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual((await api.getUser(stranger, newId('user'))).body);
    expect((await t.delete(`/api/v1/admin/tenants/${tenant.id}`)).status).toBeLessThan(300);
    expect((await api.getUser(tenant, user.id)).status).toBe(404);
  });

  it('more than 200 rows changed by one statement drop every kept row of the cache', async () => {
    const tenant = await createTenant(t);
    const source = await createOu(tenant, 'Crowd');
    const target = await createOu(tenant, 'Elsewhere');
    const first = await api.createUser(tenant, { ou_id: source });
    expect((await api.getUser(tenant, first.id)).body.data.ou_path).toBe('/Crowd');
    // 210 more users of the OU, written in one statement behind the API.
    await t.database.db
      .insertInto('users')
      .values(
        Array.from({ length: 210 }, (_, i) => ({
          id: newId('user'),
          tenant_id: tenant.id,
          email: `crowd-${i}@crowd.example`,
          ou_id: source,
        })),
      )
      .execute();
    const notice = heard(t.app, '*');
    await t.database.db.updateTable('users').set({ ou_id: target }).where('ou_id', '=', source).execute();
    await notice;
    expect((await api.getUser(tenant, first.id)).body.data.ou_path).toBe('/Elsewhere');
  });
});

describe('row cache: groups and users addressed by id alone (admin routes, issue 17)', () => {
  const groupRoutes = (groupId: string) => [
    `/api/v1/admin/groups/${groupId}/effective-members`,
    `/api/v1/admin/groups/${groupId}/members`,
    `/api/v1/admin/groups/${groupId}/nested-groups`,
  ];

  async function groupWithMember(tenant: Tenant): Promise<{ groupId: string; userId: string }> {
    const user = await api.createUser(tenant);
    const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
      name: `Kept ${newId('group')}`,
      initial_members: [user.id],
    });
    expect(response.status).toBe(201);
    return { groupId: response.body.data.id, userId: user.id };
  }

  it('a group deleted through the API is a 404 on every route at the next read', async () => {
    const tenant = await createTenant(t);
    const { groupId } = await groupWithMember(tenant);
    for (const url of groupRoutes(groupId)) expect((await t.get(url)).status).toBe(200);
    expect((await t.delete(`/api/v1/admin/groups/${groupId}?strategy=CASCADE`)).status).toBe(204);
    for (const url of groupRoutes(groupId)) expect((await t.get(url)).status).toBe(404);
  });

  it('a group or user deleted behind the API (plain SQL) is a 404 once its notice arrives', async () => {
    const tenant = await createTenant(t);
    const { groupId, userId } = await groupWithMember(tenant);
    const effective = await t.get(`/api/v1/admin/groups/${groupId}/effective-members`);
    expect(effective.body.pagination.total_items).toBe(1);
    expect((await t.get(`/api/v1/admin/users/${userId}/groups`)).body.data).toHaveLength(1);
    const groupGone = heard(t.app, groupId);
    await t.database.db
      .updateTable('groups')
      .set({ deleted_at: new Date() })
      .where('id', '=', groupId)
      .execute();
    await groupGone;
    for (const url of groupRoutes(groupId)) expect((await t.get(url)).status).toBe(404);
    const userGone = heard(t.app, userId);
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', userId)
      .execute();
    await userGone;
    expect((await t.get(`/api/v1/admin/users/${userId}/groups`)).status).toBe(404);
  });

  it('a kept group or user is a 404 once its tenant is deleted, and to an admin of another tenant', async () => {
    const tenant = await createTenant(t);
    const stranger = await createTenant(t);
    const { groupId, userId } = await groupWithMember(tenant);
    expect((await t.get(`/api/v1/admin/groups/${groupId}/effective-members`)).status).toBe(200);
    expect((await t.get(`/api/v1/admin/users/${userId}/groups`)).status).toBe(200);
    const { token: foreignAdmin } = await adminUserToken(t, { role: 'tenant_admin', tenant: stranger });
    const asStranger = (url: string) => t.get(url, { token: foreignAdmin });
    const foreignGroup = await asStranger(`/api/v1/admin/groups/${groupId}/effective-members`);
    expect(foreignGroup.status).toBe(404);
    expect(foreignGroup.body).toEqual(
      (await asStranger(`/api/v1/admin/groups/${newId('group')}/effective-members`)).body,
    );
    expect((await asStranger(`/api/v1/admin/users/${userId}/groups`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/tenants/${tenant.id}`)).status).toBeLessThan(300);
    for (const url of groupRoutes(groupId)) expect((await t.get(url)).status).toBe(404);
    expect((await t.get(`/api/v1/admin/users/${userId}/groups`)).status).toBe(404);
  });
});

describe.runIf(onPostgres)('row cache on PostgreSQL: instances and lost notices', () => {
  it('a change made on one instance shows on the other as soon as its notice arrives there', async () => {
    const database = await t.database_.open();
    const b = await buildApp(testConfig({ publicUrl: t.config.publicUrl }), { database });
    try {
      const tenant = await createTenant(t);
      const user = await api.createUser(tenant, { first_name: 'One' });
      const token = await t.platformToken();
      const getOnB = async () =>
        (
          await b.inject({
            method: 'GET',
            url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
            headers: { authorization: `Bearer ${token}` },
          })
        ).json().data;
      expect((await getOnB()).first_name).toBe('One');
      expect(b.scaikey.rows.size).toBeGreaterThan(0);
      const notice = heard(b, user.id);
      expect(
        (await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, { first_name: 'Two' })).status,
      ).toBe(200);
      await notice;
      expect((await getOnB()).first_name).toBe('Two');
    } finally {
      await b.close();
      await database.close();
    }
  });

  it('a group deleted on one instance is a 404 on the other as soon as its notice arrives there', async () => {
    const database = await t.database_.open();
    const b = await buildApp(testConfig({ publicUrl: t.config.publicUrl }), { database });
    try {
      const tenant = await createTenant(t);
      const user = await api.createUser(tenant);
      const created = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
        name: 'On both',
        initial_members: [user.id],
      });
      const groupId = created.body.data.id;
      const token = await t.platformToken();
      const getOnB = async (url: string) =>
        (await b.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })).statusCode;
      expect(await getOnB(`/api/v1/admin/groups/${groupId}/effective-members`)).toBe(200);
      expect(await getOnB(`/api/v1/admin/users/${user.id}/groups`)).toBe(200);
      const groupGone = heard(b, groupId);
      expect((await t.delete(`/api/v1/admin/groups/${groupId}?strategy=CASCADE`)).status).toBe(204);
      await groupGone;
      expect(await getOnB(`/api/v1/admin/groups/${groupId}/effective-members`)).toBe(404);
      const userGone = heard(b, user.id);
      const confirm = encodeURIComponent(user.email);
      expect(
        (await t.delete(`/api/v1/tenants/${tenant.id}/users/${user.id}?confirm_email=${confirm}`)).status,
      ).toBe(204);
      await userGone;
      expect(await getOnB(`/api/v1/admin/users/${user.id}/groups`)).toBe(404);
    } finally {
      await b.close();
      await database.close();
    }
  });

  it('while the LISTEN connection is lost the cache reads through, and it starts empty when back', async () => {
    const tenant = await createTenant(t);
    const user = await api.createUser(tenant, { first_name: 'Kept' });
    expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('Kept');
    // A listener of this test on the app's handle, told after the cache when LISTEN is lost and back.
    let lost = () => {};
    let restored = () => {};
    const wasLost = new Promise<void>((resolve) => {
      lost = resolve;
    });
    const isBack = new Promise<void>((resolve) => {
      restored = resolve;
    });
    await t.app.scaikey.database.listen('scaikey_test_probe', () => {}, {
      lost: () => lost(),
      restored: () => restored(),
    });
    const admin = new pg.Client({ connectionString: t.database_.env.DATABASE_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen %'`,
      );
      expect(rows.length).toBeGreaterThan(0);
      await wasLost;
      // Behind the API while nobody listens: no instance can hear this change.
      await admin.query(`update users set first_name = 'Unheard' where id = $1`, [user.id]);
      expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('Unheard');
      await isBack;
      expect((await api.getUser(tenant, user.id)).body.data.first_name).toBe('Unheard');
    } finally {
      await admin.end();
    }
  });
});
