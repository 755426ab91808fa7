// Users: listing, reading and updating users, and tenancy and access of the user routes.
import { describe, expect, it } from 'vitest';
import { adminUserToken, applicationToken, createTenant, insertApplication } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';
import { STRONG, usersApi } from './helpers/users.js';

const t = useTestApp();
const { email, createUser, createGroup, getUser } = usersApi(t);

describe('GET /api/v1/tenants/{tenant_id}/users', () => {
  it('filters by search, status, ou_id, group_id and mfa_enabled, sorts, and paginates with exact totals', async () => {
    const tenant = await createTenant(t);
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Ops' })).body.data;
    const filterGroup = await createGroup(tenant, 'Filter');
    const alice = await createUser(tenant, {
      email: 'alice@list.example',
      display_name: 'Alice Zed',
      ou_id: ou.id,
    });
    const bob = await createUser(tenant, {
      email: 'bob@list.example',
      display_name: 'Bob Young',
      group_ids: [filterGroup],
    });
    const carol = await createUser(tenant, {
      email: 'carol@list.example',
      first_name: 'Carolina',
      password: STRONG,
    });
    await t.database.db
      .updateTable('users')
      .set({ mfa_enabled: true, last_login_at: new Date('2026-01-01T00:00:00Z') })
      .where('id', '=', carol.id)
      .execute();
    const list = (query: string) => t.get(`/api/v1/tenants/${tenant.id}/users?${query}`);

    const all = await list('');
    expect(all.body.data.map((u: { id: string }) => u.id)).toEqual([carol.id, bob.id, alice.id]);
    expect(all.body.pagination).toMatchObject({ page: 1, per_page: 20, total_items: 3, total_pages: 1 });
    expect(all.body.data[2]).toEqual({
      id: alice.id,
      email: 'alice@list.example',
      display_name: 'Alice Zed',
      status: 'PENDING_EMAIL_VERIFICATION',
      ou_path: '/Ops',
      identity_source: 'LOCAL',
      mfa_enabled: false,
      last_login_at: null,
    });
    expect((await list('search=CAROL')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list('search=young')).body.data.map((u: { id: string }) => u.id)).toEqual([bob.id]);
    expect((await list('status=ACTIVE')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list(`ou_id=${ou.id}`)).body.data.map((u: { id: string }) => u.id)).toEqual([alice.id]);
    expect((await list(`group_id=${filterGroup}`)).body.data.map((u: { id: string }) => u.id)).toEqual([
      bob.id,
    ]);
    expect((await list('mfa_enabled=true')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list('mfa_enabled=false')).body.pagination.total_items).toBe(2);
    expect((await list('sort_by=email&sort_order=asc')).body.data.map((u: { id: string }) => u.id)).toEqual([
      alice.id,
      bob.id,
      carol.id,
    ]);
    expect(
      (await list('sort_by=display_name&sort_order=asc')).body.data.map((u: { id: string }) => u.id),
    ).toEqual([alice.id, bob.id, carol.id]);
    // Descending puts users who never signed in first (PostgreSQL's nulls-first for DESC).
    expect((await list('sort_by=last_login_at&sort_order=desc')).body.data.at(-1).id).toBe(carol.id);
    expect((await list('sort_by=last_login_at&sort_order=asc')).body.data[0].id).toBe(carol.id);
    expect((await list('sort_by=status&sort_order=asc')).body.data[0].id).toBe(carol.id);
    const paged = await list('per_page=2&page=2&sort_by=email&sort_order=asc');
    expect(paged.body.pagination).toMatchObject({ page: 2, per_page: 2, total_items: 3, total_pages: 2 });
    expect(paged.body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
  });

  it('walks every page by keyset cursor with the same rows as page numbers, for every sort', async () => {
    const tenant = await createTenant(t);
    for (let i = 0; i < 7; i++) {
      await createUser(tenant, {
        email: `k${(i * 3) % 7}@keyset.example`,
        display_name: i % 3 === 0 ? null : `Name ${i % 2}`,
      });
    }
    for (const sort of ['created_at', 'email', 'display_name', 'last_login_at', 'status']) {
      for (const order of ['asc', 'desc']) {
        const byPages: string[] = [];
        for (let page = 1; page <= 3; page++) {
          const response = await t.get(
            `/api/v1/tenants/${tenant.id}/users?per_page=3&page=${page}&sort_by=${sort}&sort_order=${order}`,
          );
          byPages.push(...response.body.data.map((u: { id: string }) => u.id));
        }
        const byCursor: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/api/v1/tenants/${tenant.id}/users?per_page=3&sort_by=${sort}&sort_order=${order}${cursor ? `&cursor=${cursor}` : ''}`;
          const response = await t.get(url);
          expect(response.status).toBe(200);
          byCursor.push(...response.body.data.map((u: { id: string }) => u.id));
          cursor = response.body.pagination.next_cursor;
        } while (cursor);
        expect(byCursor, `${sort} ${order}`).toEqual(byPages);
        expect(new Set(byCursor).size).toBe(7);
      }
    }
    const mismatched = await t.get(`/api/v1/tenants/${tenant.id}/users?cursor=garbage`);
    expect(mismatched.status).toBe(422);
    expect(mismatched.body.detail[0].loc).toEqual(['query', 'cursor']);
  });

  it('answers 422 for unknown sort_by, sort_order and status values', async () => {
    const tenant = await createTenant(t);
    for (const [query, loc] of [
      ['sort_by=password', ['query', 'sort_by']],
      ['sort_order=up', ['query', 'sort_order']],
      ['status=ASLEEP', ['query', 'status']],
      ['mfa_enabled=perhaps', ['query', 'mfa_enabled']],
      ['per_page=101', ['query', 'per_page']],
    ] as const) {
      const response = await t.get(`/api/v1/tenants/${tenant.id}/users?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.detail[0].loc).toEqual(loc);
    }
  });
});

describe('GET and PATCH /api/v1/tenants/{tenant_id}/users/{user_id}', () => {
  it('updates attributes, moves between OUs, clears with null, and audits before/after', async () => {
    const tenant = await createTenant(t);
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'HR' })).body.data;
    const user = await createUser(tenant, { first_name: 'Old', phone: '123' });
    const patched = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
      first_name: 'New',
      phone: null,
      ou_id: ou.id,
      timezone: 'Asia/Tokyo',
      custom_attributes: { level: 3 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({
      first_name: 'New',
      phone: null,
      ou_id: ou.id,
      ou_path: '/HR',
      timezone: 'Asia/Tokyo',
      custom_attributes: { level: 3 },
    });
    expect(patched.body.data.updated_at).not.toBeNull();
    const out = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
      ou_id: null,
      timezone: null,
    });
    expect(out.body.data).toMatchObject({ ou_id: null, ou_path: null, timezone: 'UTC', first_name: 'New' });
    const event = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.updated')
      .orderBy('created_at')
      .executeTakeFirstOrThrow();
    expect(event.before).toMatchObject({ first_name: 'Old', phone: '123', ou_id: null });
    expect(event.after).toMatchObject({ first_name: 'New', phone: null, ou_id: ou.id });
  });

  it('refuses an email taken in the tenant (409), an unknown OU (404) and PATCH fields that are not in UserUpdate (422)', async () => {
    const tenant = await createTenant(t);
    const a = await createUser(tenant);
    const b = await createUser(tenant);
    const taken = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, {
      email: a.email.toUpperCase(),
    });
    expect(taken.status).toBe(409);
    const ou = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, {
      ou_id: 'ou_00000000000000000000',
    });
    expect(ou.status).toBe(404);
    for (const body of [{ password: STRONG }, { status: 'DISABLED' }, { email: null }]) {
      const response = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
    }
    const include = await getUser(tenant, b.id, '?include=everything');
    expect(include.status).toBe(422);
  });
});

describe('tenancy and access', () => {
  it("answers 404 for another tenant's users and for tenants outside the caller's reach", async () => {
    const tenantA = await createTenant(t);
    const tenantB = await createTenant(t);
    const userA = await createUser(tenantA);
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantB.id}/users/${userA.id}`, undefined],
      ['PATCH', `/api/v1/tenants/${tenantB.id}/users/${userA.id}`, { first_name: 'x' }],
      [
        'DELETE',
        `/api/v1/tenants/${tenantB.id}/users/${userA.id}?confirm_email=${encodeURIComponent(userA.email)}`,
        undefined,
      ],
      ['POST', `/api/v1/tenants/${tenantB.id}/users/${userA.id}/password/reset`, {}],
      ['PUT', `/api/v1/tenants/${tenantB.id}/users/${userA.id}/status`, { status: 'DISABLED' }],
      ['GET', `/api/v1/tenants/${tenantA.id}/users/usr_00000000000000000000`, undefined],
      ['GET', `/api/v1/tenants/${tenantA.id}/users/nonsense`, undefined],
    ] as const) {
      expect((await t.request({ method, url, token: t.token, body })).status, `${method} ${url}`).toBe(404);
    }
    const { token: adminB } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenantA.id}/users`, token: adminB })).status,
    ).toBe(404);
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/api/v1/tenants/${tenantA.id}/users`,
          token: adminB,
          body: { email: email() },
        })
      ).status,
    ).toBe(404);
  });

  it('lets a users:read application read but not write', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant);
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      allowedScopes: ['users:read'],
    });
    const reader = applicationToken(t, app, ['users:read']);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: reader })).status,
    ).toBe(200);
    expect(
      (
        await t.request({
          method: 'GET',
          url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
          token: reader,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/api/v1/tenants/${tenant.id}/users`,
          token: reader,
          body: { email: email() },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await t.request({
          method: 'PATCH',
          url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
          token: reader,
          body: { first_name: 'x' },
        })
      ).status,
    ).toBe(403);
  });
});
