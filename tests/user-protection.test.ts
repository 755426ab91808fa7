import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import type { AdminRole } from '../src/platform/auth/principal.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  grantAdminRole,
  insertApplication,
  insertUser,
  type Partner,
  type Tenant,
} from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 10, item 1: no admin changes a user who holds its own admin role or a higher one (a
// super_admin manages everyone); item 7: an email change voids the links mailed to the old address.

const t = useTestApp();
let partner: Partner;
let tenant: Tenant;

beforeAll(async () => {
  partner = await createPartner(t);
  tenant = await createTenant(t, { partner_id: partner.id });
});

/** A user of `tenant` holding `role` (for partner_admin: of the tenant's partner). */
async function userWithRole(role: AdminRole) {
  const user = await insertUser(t, tenant.id);
  await grantAdminRole(t, user.id, role, tenant);
  return user;
}

async function snapshot(userId: string) {
  return t.database.db
    .selectFrom('users')
    .select(['email', 'first_name', 'status', 'password_hash', 'deleted_at', 'updated_at'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

async function emailOf(userId: string) {
  return (await snapshot(userId)).email;
}

/** Every route that changes a user, with a body that would pass validation. */
function userWrites(userId: string, email: string) {
  const tenantBase = `/api/v1/tenants/${tenant.id}/users/${userId}`;
  const adminBase = `/api/v1/admin/users/${userId}`;
  return [
    { method: 'PATCH', url: tenantBase, body: { first_name: 'Mallory', email: 'taken-over@evil.example' } },
    { method: 'DELETE', url: `${tenantBase}?confirm_email=${encodeURIComponent(email)}` },
    {
      method: 'POST',
      url: `${tenantBase}/password/reset`,
      body: { method: 'DIRECT', new_password: 'Taken-Over-Password-1' },
    },
    { method: 'POST', url: `${tenantBase}/password/reset`, body: { method: 'EMAIL' } },
    { method: 'PUT', url: `${tenantBase}/status`, body: { status: 'DISABLED' } },
    { method: 'PATCH', url: adminBase, body: { email: 'taken-over@evil.example' } },
    { method: 'DELETE', url: adminBase },
    {
      method: 'POST',
      url: `${adminBase}/reset-password`,
      body: { method: 'DIRECT', new_password: 'Taken-Over-Password-1' },
    },
    { method: 'POST', url: `${adminBase}/reset-password`, body: { method: 'EMAIL' } },
    { method: 'POST', url: `${adminBase}/unlock` },
    { method: 'POST', url: `${adminBase}/mfa/disable` },
    {
      method: 'POST',
      url: '/api/v1/admin/admin-roles/',
      body: { user_id: userId, role: 'TENANT_ADMIN', tenant_id: tenant.id },
    },
  ] as const;
}

type Caller = { name: string; level: AdminRole; token: () => Promise<string> };

const callers: Caller[] = [
  {
    name: 'a tenant_admin user',
    level: 'tenant_admin',
    token: async () => (await adminUserToken(t, { role: 'tenant_admin', tenant })).token,
  },
  {
    name: 'a TENANT application',
    level: 'tenant_admin',
    token: async () =>
      applicationToken(
        t,
        await insertApplication(t, { scope: 'TENANT', partnerId: partner.id, tenantId: tenant.id }),
      ),
  },
  {
    name: 'a partner_admin user',
    level: 'partner_admin',
    token: async () => (await adminUserToken(t, { role: 'partner_admin', tenant })).token,
  },
  {
    name: 'a PARTNER application',
    level: 'partner_admin',
    token: async () =>
      applicationToken(t, await insertApplication(t, { scope: 'PARTNER', partnerId: partner.id })),
  },
];
const RANK: Record<AdminRole, number> = { super_admin: 0, partner_admin: 1, tenant_admin: 2 };
const ROLES: AdminRole[] = ['super_admin', 'partner_admin', 'tenant_admin'];

describe('role hierarchy on user writes (item 1)', () => {
  for (const caller of callers) {
    for (const role of ROLES.filter((role) => RANK[role] <= RANK[caller.level])) {
      it(`refuses ${caller.name} every write on a ${role} (403, nothing changed)`, async () => {
        const token = await caller.token();
        const target = await userWithRole(role);
        const before = await snapshot(target.id);
        for (const route of userWrites(target.id, before.email)) {
          const response = await t.request({ ...route, token });
          expect(response.status, `${route.method} ${route.url}`).toBe(403);
          expect(response.body.code).toBe('FORBIDDEN');
        }
        expect(await snapshot(target.id)).toEqual(before);
        expect(await lastMailTo(t, before.email)).toBeUndefined();
      });
    }
  }

  it('lets each admin manage the users below it, a super_admin everyone, and anyone itself', async () => {
    const allowed: [string, () => Promise<string>, AdminRole | null][] = [
      [callers[0]?.name as string, callers[0]?.token as () => Promise<string>, null],
      [callers[2]?.name as string, callers[2]?.token as () => Promise<string>, 'tenant_admin'],
      [
        'a super_admin user',
        async () => (await adminUserToken(t, { role: 'super_admin', tenant })).token,
        'super_admin',
      ],
      ['a platform token', () => t.platformToken(), 'super_admin'],
    ];
    for (const [name, token, role] of allowed) {
      const target = role ? await userWithRole(role) : await insertUser(t, tenant.id);
      const response = await t.request({
        method: 'PUT',
        url: `/api/v1/tenants/${tenant.id}/users/${target.id}/status`,
        token: await token(),
        body: { status: 'DISABLED' },
      });
      expect(response.status, name).toBe(200);
      expect(response.body.data.status).toBe('DISABLED');
    }
    const self = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const renamed = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/users/${self.user.id}`,
      token: self.token,
      body: { first_name: 'Myself' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.first_name).toBe('Myself');
  });

  it('stops protecting a user whose admin role was revoked', async () => {
    const target = await userWithRole('tenant_admin');
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const status = (body: Record<string, unknown>) =>
      t.request({
        method: 'PUT',
        url: `/api/v1/tenants/${tenant.id}/users/${target.id}/status`,
        token,
        body,
      });
    expect((await status({ status: 'DISABLED' })).status).toBe(403);
    await t.database.db
      .updateTable('admin_role_assignments')
      .set({ is_active: false })
      .where('user_id', '=', target.id)
      .execute();
    expect((await status({ status: 'DISABLED' })).status).toBe(200);
  });
});

describe('email change (item 7)', () => {
  async function useLink(token: string) {
    return t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/reset-password`,
      body: { token, new_password: 'Fresh-Password-Battery-7' },
    });
  }

  it('voids invitation and reset links mailed to the old address', async () => {
    const platform = await t.platformToken();
    const invited = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: platform,
      body: { email: `invited-${newId('user').slice(4, 12)}@old.example`, send_welcome_email: true },
    });
    expect(invited.status).toBe(201);
    const user = invited.body.data as { id: string; email: string };
    const invitation = linkIn((await lastMailTo(t, user.email))?.text_body ?? '');

    const active = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: platform,
      body: {
        email: `reset-${newId('user').slice(4, 12)}@old.example`,
        password: 'Initial-Password-Battery-7',
        send_welcome_email: false,
      },
    });
    const resetUser = active.body.data as { id: string; email: string };
    await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users/${resetUser.id}/password/reset`,
      token: platform,
      body: { method: 'EMAIL' },
    });
    const reset = linkIn((await lastMailTo(t, resetUser.email))?.text_body ?? '');

    for (const [id, link] of [
      [user.id, invitation],
      [resetUser.id, reset],
    ] as const) {
      const changed = await t.request({
        method: 'PATCH',
        url: `/api/v1/tenants/${tenant.id}/users/${id}`,
        token: platform,
        body: { email: `moved-${newId('user').slice(4, 12)}@new.example` },
      });
      expect(changed.status).toBe(200);
      const used = await useLink(link.token);
      expect(used.status).toBe(400);
      expect(used.body.code).toBe('INVALID_TOKEN');
    }
    expect(await emailOf(user.id)).toMatch(/@new\.example$/);

    // A change that keeps the address (another case) leaves a new link working.
    await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users/${resetUser.id}/password/reset`,
      token: platform,
      body: { method: 'EMAIL' },
    });
    const address = await emailOf(resetUser.id);
    const fresh = linkIn((await lastMailTo(t, address))?.text_body ?? '');
    await t.request({
      method: 'PATCH',
      url: `/api/v1/tenants/${tenant.id}/users/${resetUser.id}`,
      token: platform,
      body: { email: address.toUpperCase() },
    });
    expect((await useLink(fresh.token)).status).toBe(200);
  });
});
