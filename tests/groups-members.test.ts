// Groups: direct members, and effective members through nesting.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTenant, insertUser } from './helpers/factories.js';
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
