// Users after creation: deletion, password reset and status changes.
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/lib/passwords.js';
import { groupClosureDrift } from '../src/modules/groups/index.js';
import { adminUserToken, createTenant, type Tenant } from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';
import { STRONG, usersApi } from './helpers/users.js';

const t = useTestApp();
const { createUser, createGroup, userRow, getUser } = usersApi(t);

describe('DELETE /api/v1/tenants/{tenant_id}/users/{user_id}', () => {
  it('needs confirm_email: missing 422, mismatch 400, match (case-insensitive) 204 and the user vanishes', async () => {
    const tenant = await createTenant(t);
    const group = await createGroup(tenant, 'G');
    const user = await createUser(tenant, { group_ids: [group] });
    const base = `/api/v1/tenants/${tenant.id}/users/${user.id}`;
    const missing = await t.delete(base);
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0]).toMatchObject({ loc: ['query', 'confirm_email'], type: 'missing' });
    const mismatch = await t.delete(`${base}?confirm_email=someone@else.example`);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('CONFIRM_EMAIL_MISMATCH');
    const deleted = await t.delete(`${base}?confirm_email=${encodeURIComponent(user.email.toUpperCase())}`);
    expect(deleted.status).toBe(204);
    expect((await getUser(tenant, user.id)).status).toBe(404);
    const list = await t.get(`/api/v1/tenants/${tenant.id}/users`);
    expect(list.body.pagination.total_items).toBe(0);
    const tenantRead = await t.get(`/api/v1/admin/tenants/${tenant.id}`);
    expect(tenantRead.body.data.user_count).toBe(0);
    const memberships = await t.database.db
      .selectFrom('group_memberships')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(memberships).toEqual([]);
    const members = await t.get(`/api/v1/admin/groups/${group}/effective-members`);
    expect(members.body.pagination.total_items).toBe(0);
    // The maintained group closure still equals its definition after the user left.
    expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
    const row = await userRow(user.id);
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect((await t.delete(`${base}?confirm_email=${encodeURIComponent(user.email)}`)).status).toBe(404);
  });
});

describe('password reset', () => {
  it('EMAIL (default) mails a single-use link and answers without any secret', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const response = await t.post(`/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`, {});
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ user_id: user.id, method: 'EMAIL' });
    const mail = await lastMailTo(t, user.email);
    expect(mail?.kind).toBe('password_reset');
    const { url, token: linkToken } = linkIn(mail?.text_body ?? '');
    expect(JSON.stringify(response.body)).not.toContain(linkToken);
    const set = await t.request({
      method: 'POST',
      url: url.split('?')[0] as string,
      body: { token: linkToken, new_password: 'A-New-Password-42' },
    });
    expect(set.status).toBe(200);
    expect(await verifyPassword((await userRow(user.id)).password_hash as string, 'A-New-Password-42')).toBe(
      true,
    );
    const reuse = await t.request({
      method: 'POST',
      url: url.split('?')[0] as string,
      body: { token: linkToken, new_password: 'Another-Password-43' },
    });
    expect(reuse.status).toBe(400);
  });

  it('a new reset link replaces the previous one', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const reset = () =>
      t.post(`/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`, { method: 'EMAIL' });
    await reset();
    const first = linkIn((await lastMailTo(t, user.email))?.text_body ?? '');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reset();
    expect((await t.request({ method: 'GET', url: first.url })).status).toBe(400);
  });

  it('DIRECT sets the password, checking policy and history', async () => {
    const tenant = await createTenant(t, { settings: { password_policy: { history: 2 } } });
    const user = await createUser(tenant, { password: STRONG });
    const url = `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`;
    const missing = await t.post(url, { method: 'DIRECT' });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0].loc).toEqual(['body', 'new_password']);
    const reused = await t.post(url, { method: 'DIRECT', new_password: STRONG });
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe('PASSWORD_POLICY');
    const ok = await t.post(url, { method: 'DIRECT', new_password: 'Second-Password-2' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ method: 'DIRECT', expires_at: null });
    const third = await t.post(url, { method: 'DIRECT', new_password: 'Third-Password-33' });
    expect(third.status).toBe(200);
    // history 2: the last two (Second, Third) are refused, the first one is allowed again.
    expect((await t.post(url, { method: 'DIRECT', new_password: 'Second-Password-2' })).status).toBe(400);
    expect((await t.post(url, { method: 'DIRECT', new_password: STRONG })).status).toBe(200);
    const bad = await t.post(url, { method: 'SMS' });
    expect(bad.status).toBe(422);
  });

  it('refuses a redirect_uri that no application of the tenant knows', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const response = await t.post(`/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`, {
      redirect_uri: 'https://evil.example/after',
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('INVALID_REDIRECT_URI');
  });
});

describe('PUT /api/v1/tenants/{tenant_id}/users/{user_id}/status', () => {
  const put = (tenant: Tenant, userId: string, body: unknown) =>
    t.put(`/api/v1/tenants/${tenant.id}/users/${userId}/status`, body);

  it('follows the transitions of decisions.md, with no-ops and refusals', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).status).toBe(200);
    const disabled = await put(tenant, user.id, { status: 'DISABLED', reason: 'left the company' });
    expect(disabled.body.data.status).toBe('DISABLED');
    expect((await put(tenant, user.id, { status: 'DISABLED' })).status).toBe(200);
    const toPending = await put(tenant, user.id, { status: 'PENDING_APPROVAL' });
    expect(toPending.status).toBe(400);
    expect(toPending.body.code).toBe('INVALID_STATUS_TRANSITION');
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).body.data.status).toBe('ACTIVE');

    await t.database.db
      .updateTable('users')
      .set({ status: 'LOCKED', failed_login_attempts: 5, locked_until: new Date(Date.now() + 60_000) })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).body.data.status).toBe('ACTIVE');
    const row = await userRow(user.id);
    expect(row).toMatchObject({ failed_login_attempts: 0, locked_until: null });

    await t.database.db
      .updateTable('users')
      .set({ status: 'PENDING_APPROVAL' })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).status).toBe(200);
    await t.database.db
      .updateTable('users')
      .set({ status: 'PENDING_APPROVAL' })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'DISABLED' })).status).toBe(200);

    const pending = await createUser(tenant);
    expect((await put(tenant, pending.id, { status: 'ACTIVE' })).status).toBe(400);
    expect((await put(tenant, pending.id, { status: 'DISABLED' })).status).toBe(200);
    expect((await put(tenant, user.id, { status: 'ASLEEP' })).status).toBe(422);
    const audits = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', user.id)
      .execute();
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['user.suspended', 'user.activated']));
  });

  it('terminate_sessions revokes every session and refresh token, and a disabled user token stops working', async () => {
    const tenant = await createTenant(t);
    const { token: adminToken, user } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    for (const model of ['Session', 'RefreshToken', 'Grant']) {
      await t.database.db
        .insertInto('oidc_payloads')
        .values({
          model,
          id: `${model}-${user.id}`,
          payload: JSON.stringify({ accountId: user.id }),
          grant_id: null,
          user_code: null,
          uid: null,
          expires_at: null,
          consumed_at: null,
        })
        .execute();
    }
    await t.database.db
      .insertInto('oidc_payloads')
      .values({
        model: 'Session',
        id: 'someone-else',
        payload: JSON.stringify({ accountId: 'usr_other' }),
        grant_id: null,
        user_code: null,
        uid: null,
        expires_at: null,
        consumed_at: null,
      })
      .execute();
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: adminToken }))
        .status,
    ).toBe(200);
    const response = await put(tenant, user.id, { status: 'DISABLED', terminate_sessions: true });
    expect(response.status).toBe(200);
    const left = await t.database.db
      .selectFrom('oidc_payloads')
      .select('id')
      .where('id', 'like', `%${user.id}`)
      .execute();
    expect(left).toEqual([]);
    expect(
      await t.database.db
        .selectFrom('oidc_payloads')
        .select('id')
        .where('id', '=', 'someone-else')
        .executeTakeFirst(),
    ).toBeDefined();
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: adminToken }))
        .status,
    ).toBe(401);
  });
});
