// Group membership and access: direct and effective members, the /api/v1/admin/groups routes, and
// tenancy and access of every group route. Groups themselves and their hierarchy are in groups.test.ts.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
  insertUser,
} from './helpers/factories.js';
import type { Group } from './helpers/groups.js';
import { groupsApi } from './helpers/groups.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();
const {
  tenantUrl,
  createGroup,
  getGroup,
  putMembers,
  patchGroup,
  nest,
  effective,
  effectiveMap,
  users,
  auditEvents,
  expectNoDrift,
} = groupsApi(t);

describe('members', () => {
  it('applies users_to_add and users_to_remove together, idempotently, and audits who changed', async () => {
    const tenant = await createTenant(t);
    const [a, b, c] = await users(tenant, 3);
    const group = await createGroup(tenant, 'Team', { initial_members: [a, b] });
    const response = await putMembers(tenant, group.id, { users_to_add: [c, a], users_to_remove: [b] });
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ id: group.id, member_count: 2, effective_member_count: 2 });
    const again = await putMembers(tenant, group.id, { users_to_add: [c], users_to_remove: [b] });
    expect(again.body.data.member_count).toBe(2);
    const events = await auditEvents(group.id);
    expect(events.map((event) => [event.action, event.before, event.after])).toEqual([
      ['group.created', null, expect.anything()],
      ['group.member_added', null, { user_ids: expect.arrayContaining([a, b]) }],
      ['group.member_added', null, { user_ids: [c] }],
      ['group.member_removed', { user_ids: [b] }, null],
    ]);
    expect((await putMembers(tenant, group.id, {})).status).toBe(200);
    const both = await putMembers(tenant, group.id, { users_to_add: [b], users_to_remove: [b] });
    expect(both.status).toBe(400);
  });

  it('is atomic: one unknown, deleted, foreign or malformed id is a 404 and nothing changes', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const [a, b, c] = await users(tenant, 3);
    const group = await createGroup(tenant, 'Team', { initial_members: [a] });
    const deleted = await insertUser(t, tenant.id, { deleted: true });
    const foreign = await insertUser(t, other.id);
    for (const bad of ['usr_00000000000000000000', deleted.id, foreign.id, 'not-an-id']) {
      for (const body of [
        { users_to_add: [b, bad], users_to_remove: [a] },
        { users_to_add: [b, c], users_to_remove: [a, bad] },
      ]) {
        const response = await putMembers(tenant, group.id, body);
        expect(response.status, JSON.stringify(body)).toBe(404);
        expect(response.body.code).toBe('NOT_FOUND');
      }
    }
    expect(await effectiveMap(group.id)).toEqual({ [a]: 'DIRECT' });
    expect((await auditEvents(group.id)).map((event) => event.action)).toEqual([
      'group.created',
      'group.member_added',
    ]);
    expect((await putMembers(tenant, 'grp_00000000000000000000', { users_to_add: [b] })).status).toBe(404);
  });

  it('adds 1,000 users in one PUT and removes them again', async () => {
    const tenant = await createTenant(t);
    const prefix = tenant.id.slice(4, 16);
    await sql`insert into users (tenant_id, id, email)
      select ${tenant.id}, 'usr_' || ${prefix} || lpad(i::text, 8, '0'), 'bulk-' || i || '@example.com'
      from generate_series(0, 999) i`.execute(t.database.db);
    const userIds = Array.from({ length: 1000 }, (_, i) => `usr_${prefix}${String(i).padStart(8, '0')}`);
    const top = await createGroup(tenant, 'Top');
    const mid = await createGroup(tenant, 'Mid', { parent_group_id: top.id });
    const big = await createGroup(tenant, 'Big', { parent_group_id: mid.id });
    const response = await putMembers(tenant, big.id, { users_to_add: userIds });
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ member_count: 1000, effective_member_count: 1000 });
    expect((await getGroup(tenant, top.id)).effective_member_count).toBe(1000);
    const page = await effective(top.id, '?per_page=100&page=10');
    expect(page.pagination.total_items).toBe(1000);
    expect(page.data).toHaveLength(100);
    expect(page.data.every((member) => member.membership_type === 'INHERITED')).toBe(true);
    await expectNoDrift(tenant);
    const removed = await putMembers(tenant, big.id, { users_to_remove: userIds.slice(0, 600) });
    expect(removed.body.data.member_count).toBe(400);
    expect((await getGroup(tenant, top.id)).effective_member_count).toBe(400);
    await expectNoDrift(tenant);
  });
});

describe('effective members', () => {
  it('gathers members through four levels with DIRECT and INHERITED, each user once', async () => {
    const tenant = await createTenant(t);
    const [u1, u2, u3, u4, both] = await users(tenant, 5);
    const l1 = await createGroup(tenant, 'L1', { initial_members: [u1, both] });
    const l2 = await createGroup(tenant, 'L2', { parent_group_id: l1.id, initial_members: [u2] });
    const l3 = await createGroup(tenant, 'L3', { parent_group_id: l2.id, initial_members: [u3, both] });
    const l4 = await createGroup(tenant, 'L4', { parent_group_id: l3.id, initial_members: [u4] });
    expect(await effectiveMap(l1.id)).toEqual({
      [u1]: 'DIRECT',
      [both]: 'DIRECT',
      [u2]: 'INHERITED',
      [u3]: 'INHERITED',
      [u4]: 'INHERITED',
    });
    expect(await effectiveMap(l3.id)).toEqual({ [u3]: 'DIRECT', [both]: 'DIRECT', [u4]: 'INHERITED' });
    expect(await getGroup(tenant, l1.id)).toMatchObject({ member_count: 2, effective_member_count: 5 });
    expect(await effectiveMap(l4.id)).toEqual({ [u4]: 'DIRECT' });
    const paged = await effective(l1.id, '?per_page=2&page=3');
    expect(paged.pagination).toEqual({ page: 3, per_page: 2, total_items: 5, total_pages: 3 });
    expect(paged.data).toHaveLength(1);
  });

  it('counts a user reachable by several paths (a diamond) once, until the last path goes', async () => {
    const tenant = await createTenant(t);
    const [user, other] = await users(tenant, 2);
    const top = await createGroup(tenant, 'Top');
    const left = await createGroup(tenant, 'Left', { parent_group_id: top.id });
    const right = await createGroup(tenant, 'Right', { parent_group_id: top.id });
    const bottom = await createGroup(tenant, 'Bottom', { parent_group_id: left.id, initial_members: [user] });
    expect((await nest(right.id, [bottom.id])).status).toBe(200);
    await putMembers(tenant, right.id, { users_to_add: [user, other] });
    expect(await getGroup(tenant, top.id)).toMatchObject({
      effective_member_count: 2,
      nested_group_count: 2,
    });
    expect(await effectiveMap(top.id)).toEqual({ [user]: 'INHERITED', [other]: 'INHERITED' });
    expect(await effectiveMap(right.id)).toEqual({ [user]: 'DIRECT', [other]: 'DIRECT' });

    // Cut one path at a time: the user stays until the last one is gone.
    const unnest = await t.delete(`/api/v1/admin/groups/${right.id}/nested-groups/${bottom.id}`);
    expect(unnest.status).toBe(204);
    expect(await effectiveMap(top.id)).toEqual({ [user]: 'INHERITED', [other]: 'INHERITED' });
    await putMembers(tenant, right.id, { users_to_remove: [user] });
    expect(await effectiveMap(top.id)).toEqual({ [user]: 'INHERITED', [other]: 'INHERITED' });
    await patchGroup(tenant, left.id, { parent_group_id: null });
    expect(await effectiveMap(top.id)).toEqual({ [other]: 'INHERITED' });
    expect(await effectiveMap(left.id)).toEqual({ [user]: 'INHERITED' });
    await expectNoDrift(tenant);
  });

  it('never shows deleted users in members, counts or effective members', async () => {
    const tenant = await createTenant(t);
    const [live, doomed] = await users(tenant, 2);
    const parent = await createGroup(tenant, 'Parent', { initial_members: [doomed] });
    const child = await createGroup(tenant, 'Child', {
      parent_group_id: parent.id,
      initial_members: [live, doomed],
    });
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', doomed)
      .execute();
    expect(await getGroup(tenant, parent.id, '?include=members')).toMatchObject({
      member_count: 0,
      effective_member_count: 1,
      members: [],
    });
    expect(await getGroup(tenant, child.id)).toMatchObject({ member_count: 1, effective_member_count: 1 });
    expect(await effectiveMap(parent.id)).toEqual({ [live]: 'INHERITED' });
    const members = await t.get(`/api/v1/admin/groups/${child.id}/members`);
    expect(members.body.data.map((member: { user_id: string }) => member.user_id)).toEqual([live]);
    expect(members.body.pagination.total_items).toBe(1);
    const list = await t.get(tenantUrl(tenant, `?user_id=${doomed}`));
    expect(list.body.data).toEqual([]);
    const nested = await t.get(`/api/v1/admin/groups/${parent.id}/nested-groups`);
    expect(nested.body.data).toEqual([{ group_id: child.id, name: 'Child', member_count: 1 }]);
  });
});

describe('admin routes', () => {
  it('lists across visible tenants with tenant_id, partner_id, group_type and search', async () => {
    const partner = await createPartner(t);
    const inPartner = await createTenant(t, { partner_id: partner.id });
    const elsewhere = await createTenant(t);
    const marker = `Zq${Date.now().toString(36)}`;
    const g1 = await createGroup(inPartner, `${marker} one`, { group_type: 'DISTRIBUTION' });
    const g2 = await createGroup(elsewhere, `${marker} two`);
    const list = async (query: string, as = t.token) =>
      (await t.request({ method: 'GET', url: `/api/v1/admin/groups/${query}`, token: as })).body;

    const all = await list(`?search=${marker}`);
    expect(all.data.map((group: Group) => group.id)).toEqual([g1.id, g2.id]);
    expect(all.data[0]).toEqual({
      id: g1.id,
      tenant_id: inPartner.id,
      name: `${marker} one`,
      group_type: 'DISTRIBUTION',
      member_count: 0,
      parent_group_id: null,
    });
    expect((await list(`?search=${marker}&partner_id=${partner.id}`)).data.map((g: Group) => g.id)).toEqual([
      g1.id,
    ]);
    expect((await list(`?search=${marker}&tenant_id=${elsewhere.id}`)).data.map((g: Group) => g.id)).toEqual([
      g2.id,
    ]);
    expect((await list(`?search=${marker}&group_type=SECURITY`)).data.map((g: Group) => g.id)).toEqual([
      g2.id,
    ]);
    expect((await list('?tenant_id=nope')).data).toEqual([]);
    const { token: partnerAdmin } = await adminUserToken(t, { role: 'partner_admin', tenant: inPartner });
    expect((await list(`?search=${marker}`, partnerAdmin)).data.map((g: Group) => g.id)).toEqual([g1.id]);
    const { token: tenantAdmin } = await adminUserToken(t, { role: 'tenant_admin', tenant: elsewhere });
    expect((await list(`?search=${marker}`, tenantAdmin)).data.map((g: Group) => g.id)).toEqual([g2.id]);
    expect((await list(`?search=${marker}&tenant_id=${inPartner.id}`, tenantAdmin)).data).toEqual([]);
    const bad = await t.get('/api/v1/admin/groups/?group_type=ROLE');
    expect(bad.status).toBe(422);
  });

  it('creates (with tenant_id), gets, updates and soft-deletes with ORPHAN semantics', async () => {
    const tenant = await createTenant(t);
    const [user] = await users(tenant, 1);
    const created = await t.post('/api/v1/admin/groups/', {
      tenant_id: tenant.id,
      name: 'Ops',
      initial_members: [user],
    });
    expect(created.status).toBe(201);
    const ops = created.body.data;
    expect(ops).toMatchObject({ tenant_id: tenant.id, name: 'Ops', member_count: 1 });
    const child = await createGroup(tenant, 'OpsChild', { parent_group_id: ops.id });
    const got = await t.get(`/api/v1/admin/groups/${ops.id}`);
    expect(got.body.data).toMatchObject({ id: ops.id, nested_group_count: 1, members: null });
    const patched = await t.patch(`/api/v1/admin/groups/${ops.id}`, { name: 'Operations' });
    expect(patched.body.data.name).toBe('Operations');
    expect((await getGroup(tenant, child.id)).parent_group_path).toBe('/Operations');
    const removed = await t.delete(`/api/v1/admin/groups/${ops.id}`);
    expect(removed.status).toBe(204);
    expect((await t.get(`/api/v1/admin/groups/${ops.id}`)).status).toBe(404);
    expect(await getGroup(tenant, child.id)).toMatchObject({
      parent_group_id: null,
      parent_group_path: null,
    });
    expect((await auditEvents(ops.id)).at(-1)).toMatchObject({
      action: 'group.deleted',
      after: { strategy: 'ORPHAN' },
    });

    for (const tenantId of ['tnt_00000000000000000000', 'nope']) {
      const response = await t.post('/api/v1/admin/groups/', { tenant_id: tenantId, name: 'X' });
      expect(response.status).toBe(404);
    }
    const missing = await t.post('/api/v1/admin/groups/', { name: 'X' });
    expect(missing.status).toBe(422);
    await expectNoDrift(tenant);
  });

  it('lists, adds and removes members; lists effective members', async () => {
    const tenant = await createTenant(t);
    const [a, b, c] = await users(tenant, 3);
    const parent = await createGroup(tenant, 'Parent');
    const child = await createGroup(tenant, 'Child', { parent_group_id: parent.id, initial_members: [c] });
    const add = await t.post(`/api/v1/admin/groups/${parent.id}/members`, { user_ids: [a, b] });
    expect(add.status).toBe(200);
    expect(add.body.data).toMatchObject({ member_count: 2, effective_member_count: 3 });
    const members = await t.get(`/api/v1/admin/groups/${parent.id}/members?per_page=1`);
    expect(members.body.pagination).toEqual({ page: 1, per_page: 1, total_items: 2, total_pages: 2 });
    expect(members.body.data[0]).toEqual({
      user_id: [a, b].sort()[0],
      email: expect.stringContaining('@'),
      display_name: null,
      membership_type: 'DIRECT',
    });
    expect(await effectiveMap(parent.id)).toEqual({ [a]: 'DIRECT', [b]: 'DIRECT', [c]: 'INHERITED' });
    const remove = await t.delete(`/api/v1/admin/groups/${parent.id}/members/${a}`);
    expect(remove.status).toBe(204);
    const again = await t.delete(`/api/v1/admin/groups/${parent.id}/members/${a}`);
    expect(again.status).toBe(404);
    const inherited = await t.delete(`/api/v1/admin/groups/${parent.id}/members/${c}`);
    expect(inherited.status).toBe(404);
    const bad = await t.post(`/api/v1/admin/groups/${parent.id}/members`, {
      user_ids: [a, 'usr_00000000000000000000'],
    });
    expect(bad.status).toBe(404);
    expect(await effectiveMap(parent.id)).toEqual({ [b]: 'DIRECT', [c]: 'INHERITED' });
    const wrongBody = await t.post(`/api/v1/admin/groups/${parent.id}/members`, { users: [a] });
    expect(wrongBody.status).toBe(422);
    expect((await auditEvents(parent.id)).map((event) => event.action)).toEqual([
      'group.created',
      'group.member_added',
      'group.member_removed',
    ]);
    expect(child).toBeDefined();
  });

  it('answers an effective members page past the end with the exact total and no members (issue 17)', async () => {
    const tenant = await createTenant(t);
    const [a, b, c] = await users(tenant, 3);
    const parent = await createGroup(tenant, 'Paged', { initial_members: [a, b] });
    await createGroup(tenant, 'Paged child', { parent_group_id: parent.id, initial_members: [c] });
    const last = await t.get(`/api/v1/admin/groups/${parent.id}/effective-members?per_page=2&page=2`);
    expect(last.status).toBe(200);
    expect(last.body.data).toEqual([
      {
        user_id: [a, b, c].sort()[2],
        email: expect.any(String),
        display_name: null,
        membership_type: expect.any(String),
      },
    ]);
    expect(last.body.pagination).toEqual({ page: 2, per_page: 2, total_items: 3, total_pages: 2 });
    const beyond = await t.get(`/api/v1/admin/groups/${parent.id}/effective-members?per_page=2&page=3`);
    expect(beyond.status).toBe(200);
    expect(beyond.body.data).toEqual([]);
    expect(beyond.body.pagination).toEqual({ page: 3, per_page: 2, total_items: 3, total_pages: 2 });
    const empty = await createGroup(tenant, 'Empty');
    const none = await t.get(`/api/v1/admin/groups/${empty.id}/effective-members`);
    expect(none.body).toMatchObject({ data: [], pagination: { total_items: 0, total_pages: 0 } });
  });

  it('lists, adds and removes nested groups and lists parent groups', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const [user] = await users(tenant, 1);
    const parent = await createGroup(tenant, 'Parent');
    const hierarchyChild = await createGroup(tenant, 'Bravo', { parent_group_id: parent.id });
    const nestedChild = await createGroup(tenant, 'Alpha', { initial_members: [user] });
    const secondParent = await createGroup(tenant, 'Second');
    const added = await nest(parent.id, [nestedChild.id, nestedChild.id]);
    expect(added.status).toBe(200);
    expect(added.body.data).toMatchObject({ nested_group_count: 2, effective_member_count: 1 });
    expect((await nest(parent.id, [nestedChild.id])).status).toBe(200);
    await nest(secondParent.id, [nestedChild.id]);
    const children = await t.get(`/api/v1/admin/groups/${parent.id}/nested-groups`);
    expect(children.body.data).toEqual([
      { group_id: nestedChild.id, name: 'Alpha', member_count: 1 },
      { group_id: hierarchyChild.id, name: 'Bravo', member_count: 0 },
    ]);
    expect(children.body.pagination.total_items).toBe(2);
    const parents = await t.get(`/api/v1/admin/groups/${nestedChild.id}/parent-groups?per_page=1&page=2`);
    expect(parents.body.pagination).toEqual({ page: 2, per_page: 1, total_items: 2, total_pages: 2 });
    expect(parents.body.data).toEqual([{ group_id: secondParent.id, name: 'Second', member_count: 0 }]);
    const hierarchyParents = await t.get(`/api/v1/admin/groups/${hierarchyChild.id}/parent-groups`);
    expect(hierarchyParents.body.data.map((group: { group_id: string }) => group.group_id)).toEqual([
      parent.id,
    ]);

    const foreign = await createGroup(other, 'Foreign');
    for (const ids of [[foreign.id], ['grp_00000000000000000000'], ['nope']]) {
      expect((await nest(parent.id, ids)).status, ids[0]).toBe(404);
    }
    const unnest = (child: string) => t.delete(`/api/v1/admin/groups/${parent.id}/nested-groups/${child}`);
    expect((await unnest(nestedChild.id)).status).toBe(204);
    expect((await unnest(nestedChild.id)).status).toBe(404);
    expect((await unnest('nope')).status).toBe(404);
    expect((await unnest(hierarchyChild.id)).status).toBe(204);
    expect(await getGroup(tenant, hierarchyChild.id)).toMatchObject({ parent_group_id: null });
    expect(await getGroup(tenant, parent.id)).toMatchObject({
      nested_group_count: 0,
      effective_member_count: 0,
    });
    expect((await auditEvents(parent.id)).map((event) => event.action)).toEqual([
      'group.created',
      'group.nested_group_added',
      'group.nested_group_removed',
      'group.nested_group_removed',
    ]);
    await expectNoDrift(tenant);
  });
});

describe('tenancy and access', () => {
  it('answers 404 for foreign groups on every route and for tenants out of reach', async () => {
    const tenantA = await createTenant(t);
    const tenantB = await createTenant(t);
    const [userA] = await users(tenantA, 1);
    const groupA = await createGroup(tenantA, 'Secret', { initial_members: [userA] });
    const groupB = await createGroup(tenantB, 'Mine');
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantB.id}/groups/${groupA.id}`, undefined],
      ['PATCH', `/api/v1/tenants/${tenantB.id}/groups/${groupA.id}`, { name: 'x' }],
      ['DELETE', `/api/v1/tenants/${tenantB.id}/groups/${groupA.id}`, undefined],
      ['PUT', `/api/v1/tenants/${tenantB.id}/groups/${groupA.id}/members`, { users_to_add: [] }],
      ['PUT', `/api/v1/tenants/${tenantB.id}/groups/${groupB.id}/members`, { users_to_add: [userA] }],
      ['PATCH', `/api/v1/tenants/${tenantB.id}/groups/${groupB.id}`, { parent_group_id: groupA.id }],
    ] as const) {
      expect((await t.request({ method, url, token: t.token, body })).status, `${method} ${url}`).toBe(404);
    }
    const { token: adminB } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB });
    const a = `/api/v1/admin/groups/${groupA.id}`;
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantA.id}/groups`, undefined],
      ['POST', `/api/v1/tenants/${tenantA.id}/groups`, { name: 'x' }],
      ['GET', `/api/v1/tenants/${tenantA.id}/groups/${groupA.id}`, undefined],
      ['GET', a, undefined],
      ['PATCH', a, { name: 'x' }],
      ['DELETE', a, undefined],
      ['GET', `${a}/members`, undefined],
      ['POST', `${a}/members`, { user_ids: [] }],
      ['DELETE', `${a}/members/${userA}`, undefined],
      ['GET', `${a}/effective-members`, undefined],
      ['GET', `${a}/nested-groups`, undefined],
      ['POST', `${a}/nested-groups`, { group_ids: [] }],
      ['DELETE', `${a}/nested-groups/${groupB.id}`, undefined],
      ['GET', `${a}/parent-groups`, undefined],
      ['POST', `/api/v1/admin/groups/${groupB.id}/nested-groups`, { group_ids: [groupA.id] }],
      ['POST', '/api/v1/admin/groups/', { tenant_id: tenantA.id, name: 'x' }],
    ] as const) {
      expect((await t.request({ method, url, token: adminB, body })).status, `${method} ${url}`).toBe(404);
    }
    const own = await t.request({ method: 'GET', url: `/api/v1/admin/groups/${groupB.id}`, token: adminB });
    expect(own.status).toBe(200);
    expect((await getGroup(tenantA, groupA.id)).member_count).toBe(1);
    const deletedTenant = await createTenant(t);
    const orphaned = await createGroup(deletedTenant, 'Gone');
    await t.delete(`/api/v1/admin/tenants/${deletedTenant.id}`);
    expect((await t.get(`/api/v1/admin/groups/${orphaned.id}`)).status).toBe(404);
    expect((await t.get(tenantUrl(deletedTenant))).status).toBe(404);
  });

  it('lets groups:read applications read tenant routes, not write or use the admin API', async () => {
    const tenant = await createTenant(t);
    const group = await createGroup(tenant, 'Readable');
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      allowedScopes: ['groups:read'],
    });
    const reader = applicationToken(t, app, ['groups:read']);
    expect((await t.request({ method: 'GET', url: tenantUrl(tenant), token: reader })).status).toBe(200);
    expect(
      (await t.request({ method: 'GET', url: tenantUrl(tenant, `/${group.id}`), token: reader })).status,
    ).toBe(200);
    for (const [method, url, body] of [
      ['POST', tenantUrl(tenant), { name: 'No' }],
      ['PATCH', tenantUrl(tenant, `/${group.id}`), { name: 'No' }],
      ['DELETE', tenantUrl(tenant, `/${group.id}`), undefined],
      ['PUT', tenantUrl(tenant, `/${group.id}/members`), {}],
      ['GET', `/api/v1/admin/groups/${group.id}`, undefined],
      ['GET', '/api/v1/admin/groups/', undefined],
    ] as const) {
      expect((await t.request({ method, url, token: reader, body })).status, `${method} ${url}`).toBe(403);
    }
    const adminReader = await t.platformToken('admin:read');
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/groups/${group.id}`, token: adminReader }))
        .status,
    ).toBe(200);
    const write = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/groups/${group.id}`,
      token: adminReader,
      body: { name: 'No' },
    });
    expect(write.status).toBe(403);
    expect((await t.request({ method: 'GET', url: tenantUrl(tenant) })).status).toBe(401);
    expect((await t.request({ method: 'GET', url: '/api/v1/admin/groups/' })).status).toBe(401);
  });
});
