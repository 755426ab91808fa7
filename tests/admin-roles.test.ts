import { describe, expect, it } from 'vitest';
import { effectiveAdminRole } from '../src/modules/admin-roles/effective-role.js';
import { adminUserToken, createPartner, createTenant, insertUser } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const BASE = '/api/v1/admin/admin-roles';
const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();

const assign = (body: Record<string, unknown>, as = t.token) =>
  t.request({ method: 'POST', url: `${BASE}/`, token: as, body });
const getOne = (id: string, as = t.token) => t.request({ method: 'GET', url: `${BASE}/${id}`, token: as });
const patch = (id: string, body: unknown, as = t.token) =>
  t.request({ method: 'PATCH', url: `${BASE}/${id}`, token: as, body });
const revoke = (id: string, as = t.token) => t.request({ method: 'DELETE', url: `${BASE}/${id}`, token: as });
const userRoles = (userId: string, query = '', as = t.token) =>
  t.request({ method: 'GET', url: `${BASE}/user/${userId}${query}`, token: as });

async function assigned(body: Record<string, unknown>) {
  const response = await assign(body);
  if (response.status !== 201) throw new Error(`assign: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as { id: string; user_id: string; is_active: boolean; [key: string]: unknown };
}

/** A tenant in its own partner and a live user of it. */
async function person() {
  const partner = await createPartner(t);
  const tenant = await createTenant(t, { partner_id: partner.id });
  const user = await insertUser(t, tenant.id);
  return { partner, tenant, user };
}

/** Moves an assignment's expiry into the past, as time passing would (the API refuses past expiries). */
async function expire(id: string) {
  await t.database.db
    .updateTable('admin_role_assignments')
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where('id', '=', id)
    .execute();
}

describe('POST /api/v1/admin/admin-roles/', () => {
  it('assigns each role with its target and answers the assignment', async () => {
    const { partner, tenant, user } = await person();
    const superRole = await assign({ user_id: user.id, role: 'SUPER_ADMIN' });
    expect(superRole.status).toBe(201);
    expect(superRole.body.data.id).toMatch(/^rol_[0-9a-z]{20}$/);
    expect(superRole.body.data).toMatchObject({
      user_id: user.id,
      user_tenant_id: tenant.id,
      role: 'SUPER_ADMIN',
      partner_id: null,
      tenant_id: null,
      expires_at: null,
      is_active: true,
    });
    expect(superRole.body.data.user_email).toMatch(/@example\.com$/);
    expect(superRole.body.data.created_by).toBe(t.config.bootstrap.clientId);

    const partnerRole = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    expect(partnerRole).toMatchObject({ role: 'PARTNER_ADMIN', partner_id: partner.id, tenant_id: null });

    const expiresAt = inOneHour();
    const tenantRole = await assigned({
      user_id: user.id,
      role: 'TENANT_ADMIN',
      tenant_id: tenant.id,
      expires_at: expiresAt,
    });
    expect(tenantRole).toMatchObject({
      role: 'TENANT_ADMIN',
      tenant_id: tenant.id,
      partner_id: partner.id,
      expires_at: expiresAt,
      is_active: true,
    });
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', tenantRole.id)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'admin_role.assigned', resource_type: 'admin_role_assignment' });
  });

  it('refuses an identical active assignment (409) but allows it again once revoked or expired', async () => {
    const { partner, user } = await person();
    const first = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const duplicate = await assign({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('ROLE_ALREADY_ASSIGNED');
    // Another partner is another assignment.
    const other = await createPartner(t);
    expect((await assign({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: other.id })).status).toBe(
      201,
    );
    expect((await revoke(first.id)).status).toBe(204);
    const second = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    await expire(second.id);
    expect((await assign({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id })).status).toBe(
      201,
    );
  });

  it('validates the role target and the expiry (422)', async () => {
    const { partner, tenant, user } = await person();
    const cases: [Record<string, unknown>, (string | number)[], string][] = [
      [{ role: 'PARTNER_ADMIN' }, ['body', 'partner_id'], 'missing'],
      [{ role: 'TENANT_ADMIN' }, ['body', 'tenant_id'], 'missing'],
      [{ role: 'TENANT_ADMIN', tenant_id: null }, ['body', 'tenant_id'], 'missing'],
      [{ role: 'SUPER_ADMIN', tenant_id: tenant.id }, ['body', 'tenant_id'], 'value_error'],
      [{ role: 'SUPER_ADMIN', partner_id: partner.id }, ['body', 'partner_id'], 'value_error'],
      [
        { role: 'PARTNER_ADMIN', partner_id: partner.id, tenant_id: tenant.id },
        ['body', 'tenant_id'],
        'value_error',
      ],
      [{ role: 'OWNER' }, ['body', 'role'], 'enum'],
      [
        { role: 'SUPER_ADMIN', expires_at: new Date(Date.now() - 60_000).toISOString() },
        ['body', 'expires_at'],
        'value_error',
      ],
      [{ role: 'SUPER_ADMIN', expires_at: 'tomorrow' }, ['body', 'expires_at'], 'date-time_parsing'],
      [{ role: 'SUPER_ADMIN', is_active: false }, ['body', 'is_active'], 'extra_forbidden'],
    ];
    for (const [fields, loc, type] of cases) {
      const response = await assign({ user_id: user.id, ...fields });
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(response.body.detail, JSON.stringify(fields)).toContainEqual(
        expect.objectContaining({ loc, type }),
      );
    }
    const noUser = await assign({ role: 'SUPER_ADMIN' });
    expect(noUser.status).toBe(422);
    expect(noUser.body.detail[0]).toMatchObject({ loc: ['body', 'user_id'], type: 'missing' });
  });

  it('needs a live user and a live partner or tenant (404), the user’s own tenant for TENANT_ADMIN (400)', async () => {
    const { partner, tenant, user } = await person();
    const deleted = await insertUser(t, tenant.id, { deleted: true });
    for (const userId of ['usr_00000000000000000000', 'not-a-user', deleted.id]) {
      const response = await assign({ user_id: userId, role: 'SUPER_ADMIN' });
      expect(response.status, userId).toBe(404);
      expect(response.body.detail).toBe('User not found');
    }
    expect(
      (await assign({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: 'prt_00000000000000000000' }))
        .status,
    ).toBe(404);
    expect((await assign({ user_id: user.id, role: 'TENANT_ADMIN', tenant_id: 'tnt_bad' })).status).toBe(404);
    const sibling = await createTenant(t, { partner_id: partner.id });
    const foreign = await assign({ user_id: user.id, role: 'TENANT_ADMIN', tenant_id: sibling.id });
    expect(foreign.status).toBe(400);
    expect(foreign.body.code).toBe('BAD_REQUEST');
    const otherPartner = await createPartner(t);
    const wrongPartner = await assign({
      user_id: user.id,
      role: 'TENANT_ADMIN',
      tenant_id: tenant.id,
      partner_id: otherPartner.id,
    });
    expect(wrongPartner.status).toBe(400);
    expect(
      (await assign({ user_id: user.id, role: 'TENANT_ADMIN', tenant_id: tenant.id, partner_id: partner.id }))
        .status,
    ).toBe(201);
  });
});

describe('super_admin only', () => {
  it('answers 403 on all 6 routes to partner and tenant admins and to admin:read tokens on writes', async () => {
    const { partner, tenant, user } = await person();
    const target = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const partnerAdmin = (await adminUserToken(t, { role: 'partner_admin', tenant })).token;
    const tenantAdmin = (await adminUserToken(t, { role: 'tenant_admin', tenant })).token;
    for (const as of [partnerAdmin, tenantAdmin]) {
      const responses = [
        await t.request({ method: 'GET', url: `${BASE}/`, token: as }),
        await assign({ user_id: user.id, role: 'SUPER_ADMIN' }, as),
        await userRoles(user.id, '', as),
        await getOne(target.id, as),
        await patch(target.id, { is_active: false }, as),
        await revoke(target.id, as),
      ];
      for (const response of responses) {
        expect(response.status).toBe(403);
        expect(response.body.code).toBe('FORBIDDEN');
      }
    }
    const reader = await t.platformToken('admin:read');
    expect((await getOne(target.id, reader)).status).toBe(200);
    expect((await assign({ user_id: user.id, role: 'SUPER_ADMIN' }, reader)).status).toBe(403);
    expect((await revoke(target.id, reader)).status).toBe(403);
    expect((await t.request({ method: 'GET', url: `${BASE}/` })).status).toBe(401);
    expect((await getOne(target.id)).body.data.is_active).toBe(true);
  });
});

describe('reading assignments', () => {
  it('lists with role, user_id and is_active filters and pagination', async () => {
    const { partner, tenant, user } = await person();
    const a = await assigned({ user_id: user.id, role: 'SUPER_ADMIN' });
    const b = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const c = await assigned({ user_id: user.id, role: 'TENANT_ADMIN', tenant_id: tenant.id });
    await revoke(b.id);
    await expire(c.id);
    const ids = async (query: string) => {
      const response = await t.get(`${BASE}/?user_id=${user.id}${query}`);
      expect(response.status).toBe(200);
      return response.body.data.map((item: { id: string }) => item.id);
    };
    expect(await ids('')).toEqual([a.id, b.id, c.id]);
    expect(await ids('&is_active=true')).toEqual([a.id]);
    expect(await ids('&is_active=false')).toEqual([b.id, c.id]);
    expect(await ids('&role=TENANT_ADMIN')).toEqual([c.id]);
    const page = await t.get(`${BASE}/?user_id=${user.id}&per_page=2&page=2`);
    expect(page.body.pagination).toEqual({ page: 2, per_page: 2, total_items: 3, total_pages: 2 });
    expect(page.body.data.map((item: { id: string }) => item.id)).toEqual([c.id]);
    for (const query of ['role=OWNER', 'is_active=maybe', 'per_page=500']) {
      expect((await t.get(`${BASE}/?${query}`)).status, query).toBe(422);
    }
  });

  it("answers one assignment and a user's assignments; 404 for unknown ids", async () => {
    const { partner, user } = await person();
    const a = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const b = await assigned({ user_id: user.id, role: 'SUPER_ADMIN', expires_at: inOneHour() });
    await revoke(b.id);
    const one = await getOne(a.id);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: a.id, role: 'PARTNER_ADMIN', is_active: true });
    const all = await userRoles(user.id);
    expect(all.status).toBe(200);
    expect(all.body.data.map((item: { id: string }) => item.id)).toEqual([a.id, b.id]);
    const active = await userRoles(user.id, '?is_active=true');
    expect(active.body.data.map((item: { id: string }) => item.id)).toEqual([a.id]);
    const lonely = await insertUser(t, (await createTenant(t)).id);
    expect((await userRoles(lonely.id)).body.data).toEqual([]);
    for (const id of ['rol_00000000000000000000', 'nope', a.user_id]) {
      expect((await getOne(id)).status, id).toBe(404);
      expect((await patch(id, { is_active: false })).status, id).toBe(404);
      expect((await revoke(id)).status, id).toBe(404);
    }
    expect((await userRoles('usr_00000000000000000000')).status).toBe(404);
    expect((await userRoles('bad')).status).toBe(404);
  });
});

describe('changing assignments', () => {
  it('revokes (is_active false, the row stays) and publishes user:<id>; revoking twice is a no-op', async () => {
    const { user } = await person();
    const role = await assigned({ user_id: user.id, role: 'SUPER_ADMIN' });
    const topics: string[] = [];
    t.app.scaikey.invalidation.on((topic) => topics.push(topic));
    expect((await revoke(role.id)).status).toBe(204);
    expect(topics).toContain(`user:${user.id}`);
    expect((await getOne(role.id)).body.data.is_active).toBe(false);
    expect((await revoke(role.id)).status).toBe(204);
    const audits = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', role.id)
      .where('action', '=', 'admin_role.revoked')
      .execute();
    expect(audits).toHaveLength(1);
  });

  it('updates expires_at and is_active; reinstating next to an identical active one is a 409', async () => {
    const { partner, user } = await person();
    const role = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const expiresAt = inOneHour();
    const updated = await patch(role.id, { expires_at: expiresAt });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ expires_at: expiresAt, is_active: true });
    expect((await patch(role.id, { expires_at: null })).body.data.expires_at).toBeNull();
    expect((await patch(role.id, { is_active: false })).body.data.is_active).toBe(false);
    expect((await patch(role.id, { is_active: true })).body.data.is_active).toBe(true);

    await patch(role.id, { is_active: false });
    await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const reinstate = await patch(role.id, { is_active: true });
    expect(reinstate.status).toBe(409);
    expect(reinstate.body.code).toBe('ROLE_ALREADY_ASSIGNED');

    for (const body of [
      { expires_at: new Date(Date.now() - 1000).toISOString() },
      { role: 'SUPER_ADMIN' },
      { is_active: 'yes' },
    ]) {
      expect((await patch(role.id, body)).status, JSON.stringify(body)).toBe(422);
    }
  });
});

describe('expiry and effectiveAdminRole', () => {
  it('shows an expired assignment as inactive and leaves it out of the effective role', async () => {
    const { tenant, user } = await person();
    const role = await assigned({
      user_id: user.id,
      role: 'TENANT_ADMIN',
      tenant_id: tenant.id,
      expires_at: inOneHour(),
    });
    expect(await effectiveAdminRole(t.database.db, tenant.id, user.id)).toEqual({
      role: 'tenant_admin',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
    });
    await expire(role.id);
    expect((await getOne(role.id)).body.data.is_active).toBe(false);
    expect((await userRoles(user.id)).body.data[0].is_active).toBe(false);
    expect(await effectiveAdminRole(t.database.db, tenant.id, user.id)).toBeNull();
  });

  it('picks the highest active role, ties to the oldest, and nothing for revoked roles or deleted users', async () => {
    const { partner, tenant, user } = await person();
    const db = t.database.db;
    expect(await effectiveAdminRole(db, tenant.id, user.id)).toBeNull();
    await assigned({ user_id: user.id, role: 'TENANT_ADMIN', tenant_id: tenant.id });
    const firstPartner = await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: partner.id });
    const otherPartner = await createPartner(t);
    await assigned({ user_id: user.id, role: 'PARTNER_ADMIN', partner_id: otherPartner.id });
    expect(await effectiveAdminRole(db, tenant.id, user.id)).toEqual({
      role: 'partner_admin',
      partnerId: partner.id,
      tenantId: null,
    });
    const superRole = await assigned({ user_id: user.id, role: 'SUPER_ADMIN' });
    expect(await effectiveAdminRole(db, tenant.id, user.id)).toEqual({
      role: 'super_admin',
      partnerId: null,
      tenantId: null,
    });
    await revoke(superRole.id);
    await revoke(firstPartner.id);
    expect(await effectiveAdminRole(db, tenant.id, user.id)).toEqual({
      role: 'partner_admin',
      partnerId: otherPartner.id,
      tenantId: null,
    });
    // Another tenant id never finds the user's roles.
    expect(await effectiveAdminRole(db, (await createTenant(t)).id, user.id)).toBeNull();
    await db.updateTable('users').set({ deleted_at: new Date() }).where('id', '=', user.id).execute();
    expect(await effectiveAdminRole(db, tenant.id, user.id)).toBeNull();
  });
});
