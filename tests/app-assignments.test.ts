import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isUserAssigned } from '../src/modules/applications/index.js';
import { bindTenant } from '../src/platform/db/tenant-scope.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
  type Tenant,
} from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

interface User {
  id: string;
  email: string;
}
const unique = () => randomBytes(4).toString('hex');

async function createUser(tenant: Tenant, name: string): Promise<User> {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `${name}.${unique()}@example.com`,
    display_name: name,
    send_welcome_email: false,
  });
  if (response.status !== 201)
    throw new Error(`createUser: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data;
}

async function createGroup(tenant: Tenant, fields: Record<string, unknown>): Promise<string> {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
    name: `Group ${unique()}`,
    ...fields,
  });
  if (response.status !== 201)
    throw new Error(`createGroup: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data.id;
}

async function createApp(fields: Record<string, unknown>): Promise<string> {
  const response = await t.post('/api/v1/admin/applications/', {
    name: `App ${unique()}`,
    application_type: 'WEB',
    ...fields,
  });
  if (response.status !== 201)
    throw new Error(`createApp: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data.id;
}

const appUrl = (tenant: Tenant, appId: string, rest = '') =>
  `/api/v1/tenants/${tenant.id}/applications/${appId}${rest}`;
const groupAppsUrl = (tenant: Tenant, groupId: string, rest = '') =>
  `/api/v1/tenants/${tenant.id}/groups/${groupId}/applications${rest}`;

const assignGroup = (tenant: Tenant, groupId: string, appId: string, as = t.token) =>
  t.request({
    method: 'POST',
    url: groupAppsUrl(tenant, groupId),
    token: as,
    body: { application_id: appId },
  });
const unassignGroup = (tenant: Tenant, groupId: string, appId: string, as = t.token) =>
  t.request({ method: 'DELETE', url: groupAppsUrl(tenant, groupId, `/${appId}`), token: as });
const assignUser = (tenant: Tenant, appId: string, userId: string, as = t.token) =>
  t.request({ method: 'POST', url: appUrl(tenant, appId, '/users'), token: as, body: { user_id: userId } });
const unassignUser = (tenant: Tenant, appId: string, userId: string, as = t.token) =>
  t.request({ method: 'DELETE', url: appUrl(tenant, appId, `/users/${userId}`), token: as });
const effectiveUsers = (tenant: Tenant, appId: string, query = '', as = t.token) =>
  t.request({ method: 'GET', url: appUrl(tenant, appId, `/effective-users${query}`), token: as });

/**
 * A tenant with a three-level group chain (top ← middle ← bottom by parent_group_id) and users:
 * ada directly in top, bob in middle, cyd in bottom, dan in no group, eve in bottom and middle.
 */
async function directory() {
  const tenant = await createTenant(t);
  const ada = await createUser(tenant, 'ada');
  const bob = await createUser(tenant, 'bob');
  const cyd = await createUser(tenant, 'cyd');
  const dan = await createUser(tenant, 'dan');
  const eve = await createUser(tenant, 'eve');
  const top = await createGroup(tenant, { initial_members: [ada.id] });
  const middle = await createGroup(tenant, { parent_group_id: top, initial_members: [bob.id, eve.id] });
  const bottom = await createGroup(tenant, { parent_group_id: middle, initial_members: [cyd.id, eve.id] });
  const app = await createApp({ scope: 'TENANT', tenant_id: tenant.id, assignment_required: true });
  return { tenant, users: { ada, bob, cyd, dan, eve }, groups: { top, middle, bottom }, app };
}

describe('assigning groups and users', () => {
  it('computes effective users through nested groups, each user once, direct ones marked DIRECT', async () => {
    const { tenant, users, groups, app } = await directory();
    const assigned = await assignGroup(tenant, groups.top, app);
    expect(assigned.status).toBe(201);
    expect(assigned.body.data).toMatchObject({
      application_id: app,
      scope: 'TENANT',
      tenant_id: tenant.id,
      principal_type: 'GROUP',
      principal_id: groups.top,
    });
    expect((await assignGroup(tenant, groups.bottom, app)).status).toBe(201);
    expect((await assignUser(tenant, app, users.bob.id)).status).toBe(201);
    expect((await assignUser(tenant, app, users.dan.id)).status).toBe(201);

    const response = await effectiveUsers(tenant, app);
    expect(response.status).toBe(200);
    expect(response.body.pagination).toEqual({ page: 1, per_page: 20, total_items: 5, total_pages: 1 });
    const byName = Object.fromEntries(
      response.body.data.map((item: { display_name: string }) => [item.display_name, item]),
    );
    expect(Object.keys(byName).sort()).toEqual(['ada', 'bob', 'cyd', 'dan', 'eve']);
    expect(byName.ada).toMatchObject({
      user_id: users.ada.id,
      email: users.ada.email,
      status: 'PENDING_EMAIL_VERIFICATION',
      assignment_type: 'GROUP',
      group_ids: [groups.top],
    });
    expect(byName.bob).toMatchObject({ assignment_type: 'DIRECT', group_ids: [groups.top] });
    expect(byName.cyd).toMatchObject({
      assignment_type: 'GROUP',
      group_ids: [groups.top, groups.bottom].sort(),
    });
    expect(byName.dan).toMatchObject({ assignment_type: 'DIRECT', group_ids: [] });
    expect(byName.eve).toMatchObject({
      assignment_type: 'GROUP',
      group_ids: [groups.top, groups.bottom].sort(),
    });
    // Ordered by email.
    const emails = response.body.data.map((item: { email: string }) => item.email);
    expect(emails).toEqual([...emails].sort());

    const page = await effectiveUsers(tenant, app, '?per_page=2&page=3');
    expect(page.body.pagination).toEqual({ page: 3, per_page: 2, total_items: 5, total_pages: 3 });
    expect(page.body.data).toHaveLength(1);
    expect((await effectiveUsers(tenant, app, '?per_page=0')).status).toBe(422);
  });

  it('lists assignees, the applications of a group and of a user, and checks one user', async () => {
    const { tenant, users, groups, app } = await directory();
    await assignGroup(tenant, groups.middle, app);
    await assignUser(tenant, app, users.ada.id);

    const assignees = await t.get(appUrl(tenant, app, '/assignees'));
    expect(assignees.status).toBe(200);
    expect(assignees.body.data.application_id).toBe(app);
    expect(assignees.body.data.users).toEqual([
      expect.objectContaining({ user_id: users.ada.id, email: users.ada.email, display_name: 'ada' }),
    ]);
    expect(assignees.body.data.groups).toEqual([expect.objectContaining({ group_id: groups.middle })]);
    expect(assignees.body.data.users[0].assigned_at).toMatch(/Z$/);

    const groupApps = await t.get(groupAppsUrl(tenant, groups.middle));
    expect(groupApps.status).toBe(200);
    expect(groupApps.body.data).toEqual([
      expect.objectContaining({ application_id: app, principal_type: 'GROUP', principal_id: groups.middle }),
    ]);
    // Assignments are not inherited upwards: top's own list is empty.
    expect((await t.get(groupAppsUrl(tenant, groups.top))).body.data).toEqual([]);

    const cydApps = await t.get(`/api/v1/tenants/${tenant.id}/users/${users.cyd.id}/applications`);
    expect(cydApps.status).toBe(200);
    expect(cydApps.body.data).toEqual([
      expect.objectContaining({
        application_id: app,
        assignment_required: true,
        assignment_type: 'GROUP',
        group_ids: [groups.middle],
      }),
    ]);
    const adaApps = await t.get(`/api/v1/tenants/${tenant.id}/users/${users.ada.id}/applications`);
    expect(adaApps.body.data).toEqual([
      expect.objectContaining({ application_id: app, assignment_type: 'DIRECT', group_ids: [] }),
    ]);
    const danApps = await t.get(`/api/v1/tenants/${tenant.id}/users/${users.dan.id}/applications`);
    expect(danApps.body.data).toEqual([]);

    const check = (userId: string) => t.get(appUrl(tenant, app, `/users/${userId}`));
    expect((await check(users.cyd.id)).body.data).toEqual({
      application_id: app,
      user_id: users.cyd.id,
      assigned: true,
      assignment_type: 'GROUP',
      group_ids: [groups.middle],
    });
    expect((await check(users.dan.id)).body.data).toMatchObject({ assigned: false, assignment_type: null });
    expect((await check('usr_00000000000000000000')).status).toBe(404);
  });

  it('makes assigning twice a no-op (200) and unassigning a missing assignment a 404', async () => {
    const { tenant, users, groups, app } = await directory();
    expect((await assignGroup(tenant, groups.top, app)).status).toBe(201);
    const again = await assignGroup(tenant, groups.top, app);
    expect(again.status).toBe(200);
    expect(again.body.data.principal_id).toBe(groups.top);
    expect((await assignUser(tenant, app, users.ada.id)).status).toBe(201);
    expect((await assignUser(tenant, app, users.ada.id)).status).toBe(200);

    expect((await unassignGroup(tenant, groups.top, app)).status).toBe(204);
    expect((await unassignGroup(tenant, groups.top, app)).status).toBe(404);
    expect((await unassignUser(tenant, app, users.ada.id)).status).toBe(204);
    const missing = await unassignUser(tenant, app, users.ada.id);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    expect((await effectiveUsers(tenant, app)).body.data).toEqual([]);

    const actions = (
      await t.database.db
        .selectFrom('audit_events')
        .select('action')
        .where('resource_id', '=', app)
        .where('action', 'like', 'application.%assigned')
        .orderBy('created_at')
        .execute()
    ).map((row) => row.action);
    expect(actions.sort()).toEqual(
      [
        'application.group_assigned',
        'application.group_unassigned',
        'application.user_assigned',
        'application.user_unassigned',
      ].sort(),
    );
  });

  it('leaves deleted users and deleted groups out', async () => {
    const { tenant, users, groups, app } = await directory();
    await assignGroup(tenant, groups.middle, app);
    await assignUser(tenant, app, users.dan.id);
    const deleted = await t.delete(
      `/api/v1/tenants/${tenant.id}/users/${users.cyd.id}?confirm_email=${encodeURIComponent(users.cyd.email)}`,
    );
    expect(deleted.status).toBe(204);
    const names = async () =>
      (await effectiveUsers(tenant, app)).body.data
        .map((item: { display_name: string }) => item.display_name)
        .sort();
    expect(await names()).toEqual(['bob', 'dan', 'eve']);

    const groupDeleted = await t.delete(
      `/api/v1/tenants/${tenant.id}/groups/${groups.middle}?strategy=CASCADE`,
    );
    expect(groupDeleted.status).toBe(204);
    expect(await names()).toEqual(['dan']);
    const assignees = await t.get(appUrl(tenant, app, '/assignees'));
    expect(assignees.body.data.groups).toEqual([]);
    expect((await t.get(groupAppsUrl(tenant, groups.middle))).status).toBe(404);
    expect((await assignGroup(tenant, groups.middle, app)).status).toBe(404);
    // The deleted group's assignment rows go with it, as a deleted user's do.
    const rows = await t.database.db
      .selectFrom('application_assignments')
      .select(['principal_type', 'principal_id'])
      .where('application_id', '=', app)
      .execute();
    expect(rows).toEqual([{ principal_type: 'USER', principal_id: users.dan.id }]);
  });

  it('removes the assignments of a deleted application', async () => {
    const { tenant, users, groups, app } = await directory();
    await assignGroup(tenant, groups.top, app);
    await assignUser(tenant, app, users.dan.id);
    expect((await t.delete(`/api/v1/admin/applications/${app}`)).status).toBe(204);
    expect((await effectiveUsers(tenant, app)).status).toBe(404);
    const rows = await t.database.db
      .selectFrom('application_assignments')
      .select('principal_id')
      .where('application_id', '=', app)
      .execute();
    expect(rows).toEqual([]);
  });
});

describe('isUserAssigned', () => {
  it('answers for direct, nested-group and missing assignments', async () => {
    const { tenant, users, groups, app } = await directory();
    const db = t.database.db;
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.cyd.id)).toBe(false);
    await assignGroup(tenant, groups.top, app);
    await assignUser(tenant, app, users.dan.id);
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.cyd.id)).toBe(true);
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.ada.id)).toBe(true);
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.dan.id)).toBe(true);
    const other = await createApp({ scope: 'TENANT', tenant_id: tenant.id });
    expect(await isUserAssigned(bindTenant(db, tenant.id), other, users.cyd.id)).toBe(false);
    // Leaving the nested group ends the access.
    await t.put(`/api/v1/tenants/${tenant.id}/groups/${groups.bottom}/members`, {
      users_to_remove: [users.cyd.id],
    });
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.cyd.id)).toBe(false);
    await unassignGroup(tenant, groups.top, app);
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.ada.id)).toBe(false);
    expect(await isUserAssigned(bindTenant(db, tenant.id), app, users.dan.id)).toBe(true);
    // Another tenant's view of the same ids finds nothing.
    const elsewhere = await createTenant(t);
    expect(await isUserAssigned(bindTenant(db, elsewhere.id), app, users.dan.id)).toBe(false);
  });
});

describe('which applications a tenant may assign', () => {
  it('accepts its TENANT apps, its partner PARTNER apps and GLOBAL apps; 404 for the rest', async () => {
    const partner = await createPartner(t);
    const tenant = await createTenant(t, { partner_id: partner.id });
    const sibling = await createTenant(t, { partner_id: partner.id });
    const otherPartner = await createPartner(t);
    const group = await createGroup(tenant, {});
    const usable = [
      await createApp({ scope: 'GLOBAL' }),
      await createApp({ scope: 'PARTNER', partner_id: partner.id }),
      await createApp({ scope: 'TENANT', tenant_id: tenant.id }),
    ];
    for (const app of usable) expect((await assignGroup(tenant, group, app)).status).toBe(201);
    const unusable = [
      await createApp({ scope: 'PARTNER', partner_id: otherPartner.id }),
      await createApp({ scope: 'TENANT', tenant_id: sibling.id }),
      'app_00000000000000000000',
      'not-an-app',
    ];
    for (const app of unusable) {
      const response = await assignGroup(tenant, group, app);
      expect(response.status, app).toBe(404);
      expect(response.body.detail).toBe('Application not found');
      expect((await effectiveUsers(tenant, app)).status).toBe(404);
    }
    const listed = await t.get(groupAppsUrl(tenant, group));
    expect(listed.body.data.map((item: { application_id: string }) => item.application_id).sort()).toEqual(
      [...usable].sort(),
    );
  });
});

describe('access to the assignment routes', () => {
  it('answers 404 on every route to a tenant admin of another tenant', async () => {
    const { tenant, users, groups, app } = await directory();
    const outsider = (await adminUserToken(t, { role: 'tenant_admin', tenant: await createTenant(t) })).token;
    const requests = [
      { method: 'GET', url: appUrl(tenant, app, '/assignees') },
      { method: 'GET', url: appUrl(tenant, app, '/effective-users') },
      { method: 'GET', url: appUrl(tenant, app, `/users/${users.ada.id}`) },
      { method: 'POST', url: appUrl(tenant, app, '/users'), body: { user_id: users.ada.id } },
      { method: 'DELETE', url: appUrl(tenant, app, `/users/${users.ada.id}`) },
      { method: 'GET', url: groupAppsUrl(tenant, groups.top) },
      { method: 'POST', url: groupAppsUrl(tenant, groups.top), body: { application_id: app } },
      { method: 'DELETE', url: groupAppsUrl(tenant, groups.top, `/${app}`) },
      { method: 'GET', url: `/api/v1/tenants/${tenant.id}/users/${users.ada.id}/applications` },
    ] as const;
    for (const request of requests) {
      const response = await t.request({ ...request, token: outsider });
      expect(response.status, `${request.method} ${request.url}`).toBe(404);
      expect(response.body.detail).toBe('Tenant not found');
    }
    // The tenant's own admin reaches them.
    const own = (await adminUserToken(t, { role: 'tenant_admin', tenant })).token;
    expect((await assignUser(tenant, app, users.ada.id, own)).status).toBe(201);
    expect((await effectiveUsers(tenant, app, '', own)).status).toBe(200);
    expect((await t.request({ method: 'GET', url: appUrl(tenant, app, '/assignees') })).status).toBe(401);
  });

  it('lets users:read tokens read assignees but not effective users (admin scope) nor write', async () => {
    const { tenant, users, groups, app } = await directory();
    const reader = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      allowedScopes: ['users:read', 'admin:read'],
    });
    const narrow = applicationToken(t, reader, ['users:read']);
    expect(
      (await t.request({ method: 'GET', url: appUrl(tenant, app, '/assignees'), token: narrow })).status,
    ).toBe(200);
    expect(
      (await t.request({ method: 'GET', url: groupAppsUrl(tenant, groups.top), token: narrow })).status,
    ).toBe(200);
    const effective = await effectiveUsers(tenant, app, '', narrow);
    expect(effective.status).toBe(403);
    expect(effective.body.code).toBe('FORBIDDEN');
    expect((await assignUser(tenant, app, users.ada.id, narrow)).status).toBe(403);
    expect((await assignGroup(tenant, groups.top, app, narrow)).status).toBe(403);
    const adminRead = applicationToken(t, reader, ['admin:read']);
    expect((await effectiveUsers(tenant, app, '', adminRead)).status).toBe(200);
    expect((await assignUser(tenant, app, users.ada.id, adminRead)).status).toBe(403);
  });

  it('validates bodies (422) and answers 404 for malformed or unknown ids', async () => {
    const { tenant, users, groups, app } = await directory();
    const missing = await t.post(groupAppsUrl(tenant, groups.top), {});
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0]).toMatchObject({ loc: ['body', 'application_id'], type: 'missing' });
    const extra = await t.post(appUrl(tenant, app, '/users'), { user_id: users.ada.id, role: 'owner' });
    expect(extra.status).toBe(422);
    expect(extra.body.detail[0].type).toBe('extra_forbidden');
    const wrongType = await t.post(appUrl(tenant, app, '/users'), { user_id: 42 });
    expect(wrongType.status).toBe(422);

    expect((await assignUser(tenant, app, 'usr_00000000000000000000')).status).toBe(404);
    expect((await assignUser(tenant, app, 'bad')).status).toBe(404);
    expect((await assignGroup(tenant, 'grp_00000000000000000000', app)).status).toBe(404);
    expect((await assignGroup(tenant, 'bad', app)).status).toBe(404);
    // A user of another tenant is unknown here.
    const stranger = await createUser(await createTenant(t), 'stranger');
    expect((await assignUser(tenant, app, stranger.id)).status).toBe(404);
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/bad/applications`)).status).toBe(404);
    expect((await t.get(`/api/v1/tenants/tnt_bad/applications/${app}/assignees`)).status).toBe(404);
  });
});
