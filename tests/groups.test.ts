// Groups and their hierarchy: create, read, list, update, nesting without cycles, and the delete
// strategies. Members, effective members, the admin routes and tenancy are in groups-members.test.ts.
import { describe, expect, it } from 'vitest';
import { createTenant, insertUser, type Tenant } from './helpers/factories.js';
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
  deleteGroup,
  effectiveMap,
  users,
  auditEvents,
  expectNoDrift,
} = groupsApi(t);

describe('create and read', () => {
  it('creates a group with every field, initial members and a parent, and reads it back', async () => {
    const tenant = await createTenant(t);
    const [alice, bob] = await users(tenant, 2);
    const engineering = await createGroup(tenant, 'Engineering');
    const response = await t.post(tenantUrl(tenant), {
      name: 'Backend',
      description: 'Servers',
      group_type: 'DISTRIBUTION',
      parent_group_id: engineering.id,
      initial_members: [alice, bob, alice],
      custom_attributes: { cost_center: 'CC-7' },
    });
    expect(response.status).toBe(201);
    const backend = response.body.data;
    expect(backend).toEqual({
      id: expect.stringMatching(/^grp_[0-9a-z]{20}$/),
      tenant_id: tenant.id,
      name: 'Backend',
      description: 'Servers',
      group_type: 'DISTRIBUTION',
      parent_group_id: engineering.id,
      parent_group_path: '/Engineering',
      member_count: 2,
      effective_member_count: 2,
      nested_group_count: 0,
      members: null,
      nested_groups: null,
      custom_attributes: { cost_center: 'CC-7' },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: null,
    });
    const parent = await getGroup(tenant, engineering.id, '?include=members,nested_groups');
    expect(parent).toMatchObject({
      group_type: 'SECURITY',
      description: null,
      parent_group_id: null,
      parent_group_path: null,
      member_count: 0,
      effective_member_count: 2,
      nested_group_count: 1,
      members: [],
      nested_groups: [{ group_id: backend.id, name: 'Backend', member_count: 2 }],
    });
    const child = await getGroup(tenant, backend.id, '?include=members');
    expect(child.members).toEqual(
      [alice, bob].sort().map((id) => ({
        user_id: id,
        email: expect.any(String),
        display_name: null,
        membership_type: 'DIRECT',
      })),
    );
    expect(child.nested_groups).toBeNull();
    expect((await auditEvents(backend.id)).map((event) => [event.action, event.after])).toEqual([
      ['group.created', expect.objectContaining({ name: 'Backend', initial_members: expect.any(Array) })],
      ['group.member_added', { user_ids: expect.arrayContaining([alice, bob]) }],
    ]);
    await expectNoDrift(tenant);
  });

  it('refuses a name taken in the tenant in any case (409), frees it on delete', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const admins = await createGroup(tenant, 'Admins');
    const clash = await t.post(tenantUrl(tenant), { name: 'ADMINS' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('NAME_TAKEN');
    const other2 = await createGroup(tenant, 'Other');
    expect((await patchGroup(tenant, other2.id, { name: 'admins' })).status).toBe(409);
    await createGroup(other, 'Admins');
    expect((await deleteGroup(tenant, admins.id)).status).toBe(204);
    await createGroup(tenant, 'admins');
  });

  it('answers 422 for malformed bodies and queries', async () => {
    const tenant = await createTenant(t);
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['body', 'name'], 'missing'],
      [{ name: '' }, ['body', 'name'], 'string_too_short'],
      [{ name: 'a/b' }, ['body', 'name'], 'string_pattern_mismatch'],
      [{ name: 'x', colour: 'red' }, ['body', 'colour'], 'extra_forbidden'],
      [{ name: 'x', group_type: 'ROLE' }, ['body', 'group_type'], 'enum'],
      [{ name: 'x', initial_members: 'usr_x' }, ['body', 'initial_members'], 'list_type'],
      [{ name: 'x', initial_members: [7] }, ['body', 'initial_members', 0], 'string_type'],
      [{ name: 'x', custom_attributes: [1] }, ['body', 'custom_attributes'], 'dict_type'],
    ];
    for (const [body, loc, type] of cases) {
      const response = await t.post(tenantUrl(tenant), body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail).toContainEqual(expect.objectContaining({ loc, type }));
    }
    const group = await createGroup(tenant, 'G');
    const patch = await patchGroup(tenant, group.id, { group_type: 'DISTRIBUTION' });
    expect(patch.status).toBe(422);
    expect(patch.body.detail[0]).toMatchObject({ loc: ['body', 'group_type'], type: 'extra_forbidden' });
    const include = await t.get(tenantUrl(tenant, `/${group.id}?include=owners`));
    expect(include.status).toBe(422);
    expect(include.body.detail[0].loc).toEqual(['query', 'include']);
    const put = await putMembers(tenant, group.id, { users_to_add: [], extra: 1 });
    expect(put.status).toBe(422);
    const tooMany = await putMembers(tenant, group.id, { users_to_add: Array(10_001).fill('usr_x') });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.detail[0]).toMatchObject({ loc: ['body', 'users_to_add'], type: 'too_long' });
  });

  it('answers 404 for an unknown, foreign or malformed parent or member, creating nothing', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const foreignGroup = await createGroup(other, 'Foreign');
    const [live] = await users(tenant, 1);
    const deleted = await insertUser(t, tenant.id, { deleted: true });
    const foreignUser = await insertUser(t, other.id);
    const bodies = [
      { parent_group_id: foreignGroup.id },
      { parent_group_id: 'grp_00000000000000000000' },
      { parent_group_id: 'nope' },
      { initial_members: [live, deleted.id] },
      { initial_members: [live, foreignUser.id] },
      { initial_members: [live, 'usr_00000000000000000000'] },
      { initial_members: ['garbage'] },
    ];
    for (const body of bodies) {
      const response = await t.post(tenantUrl(tenant), { name: 'X', ...body });
      expect(response.status, JSON.stringify(body)).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
    const list = await t.get(tenantUrl(tenant));
    expect(list.body.pagination.total_items).toBe(0);
    for (const id of ['grp_00000000000000000000', 'nope', foreignGroup.id]) {
      expect((await t.get(tenantUrl(tenant, `/${id}`))).status).toBe(404);
    }
  });
});

describe('list', () => {
  it('lists by name with pagination, search, type, parent_group_id and user_id (inherited too)', async () => {
    const tenant = await createTenant(t);
    const [member, outsider] = await users(tenant, 2);
    const root = await createGroup(tenant, 'Root');
    const delta = await createGroup(tenant, 'Delta', { parent_group_id: root.id, initial_members: [member] });
    await createGroup(tenant, 'alpha', { parent_group_id: root.id, group_type: 'DISTRIBUTION' });
    await createGroup(tenant, 'Charlie', { parent_group_id: root.id });
    const doomed = await createGroup(tenant, 'bravo');
    await deleteGroup(tenant, doomed.id);
    const list = async (query: string) => (await t.get(tenantUrl(tenant, query))).body;

    const page = await list('?per_page=2&page=2');
    expect(page.pagination).toEqual({ page: 2, per_page: 2, total_items: 4, total_pages: 2 });
    expect(page.data.map((group: Group) => group.name)).toEqual(['Delta', 'Root']);
    expect((await list('?page=9')).data).toEqual([]);
    const children = await list(`?parent_group_id=${root.id}`);
    expect(children.data.map((group: Group) => group.name)).toEqual(['alpha', 'Charlie', 'Delta']);
    expect(children.data[2]).toEqual({
      id: delta.id,
      tenant_id: tenant.id,
      name: 'Delta',
      group_type: 'SECURITY',
      member_count: 1,
      parent_group_id: root.id,
    });
    expect((await list('?search=HAR')).data.map((group: Group) => group.name)).toEqual(['Charlie']);
    expect((await list('?type=DISTRIBUTION')).data.map((group: Group) => group.name)).toEqual(['alpha']);
    expect((await list(`?user_id=${member}`)).data.map((group: Group) => group.name)).toEqual([
      'Delta',
      'Root',
    ]);
    expect((await list(`?user_id=${outsider}`)).data).toEqual([]);
    expect((await list('?user_id=nope')).data).toEqual([]);
    expect((await list('?parent_group_id=nope')).data).toEqual([]);
    for (const query of ['?type=ROLE', '?per_page=101', '?page=0']) {
      expect((await t.get(tenantUrl(tenant, query))).status, query).toBe(422);
    }
  });
});

describe('update', () => {
  it('renames, describes and re-parents, keeping parent_group_path right four levels deep', async () => {
    const tenant = await createTenant(t);
    const l1 = await createGroup(tenant, 'L1');
    const l2 = await createGroup(tenant, 'L2', { parent_group_id: l1.id });
    const l3 = await createGroup(tenant, 'L3', { parent_group_id: l2.id });
    const l4 = await createGroup(tenant, 'L4', { parent_group_id: l3.id });
    expect((await getGroup(tenant, l4.id)).parent_group_path).toBe('/L1/L2/L3');

    const renamed = await patchGroup(tenant, l2.id, {
      name: 'Level2',
      description: 'Two',
      custom_attributes: { a: 1 },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data).toMatchObject({
      name: 'Level2',
      description: 'Two',
      custom_attributes: { a: 1 },
      updated_at: expect.any(String),
    });
    expect((await getGroup(tenant, l4.id)).parent_group_path).toBe('/L1/Level2/L3');

    const target = await createGroup(tenant, 'Target');
    const [user] = await users(tenant, 1);
    await putMembers(tenant, l4.id, { users_to_add: [user] });
    expect((await getGroup(tenant, l1.id)).effective_member_count).toBe(1);
    const moved = await patchGroup(tenant, l3.id, { parent_group_id: target.id });
    expect(moved.body.data).toMatchObject({ parent_group_id: target.id, parent_group_path: '/Target' });
    expect((await getGroup(tenant, l4.id)).parent_group_path).toBe('/Target/L3');
    expect(await getGroup(tenant, l1.id)).toMatchObject({ effective_member_count: 0, nested_group_count: 1 });
    expect(await getGroup(tenant, l2.id)).toMatchObject({ effective_member_count: 0, nested_group_count: 0 });
    expect((await getGroup(tenant, target.id)).effective_member_count).toBe(1);

    const top = await patchGroup(tenant, l3.id, { parent_group_id: null });
    expect(top.body.data).toMatchObject({ parent_group_id: null, parent_group_path: null });
    expect((await getGroup(tenant, l4.id)).parent_group_path).toBe('/L3');
    expect((await getGroup(tenant, target.id)).effective_member_count).toBe(0);

    const cleared = await patchGroup(tenant, l2.id, { description: null, custom_attributes: null });
    expect(cleared.body.data).toMatchObject({ description: null, custom_attributes: null, name: 'Level2' });
    const events = await auditEvents(l3.id);
    expect(events.map((event) => event.action)).toEqual(['group.created', 'group.updated', 'group.updated']);
    expect(events[1]).toMatchObject({
      before: { parent_group_id: l2.id },
      after: { parent_group_id: target.id },
    });
    expect((await patchGroup(tenant, l3.id, { parent_group_id: 'grp_00000000000000000000' })).status).toBe(
      404,
    );
    await expectNoDrift(tenant);
  });

  it('makes an existing nested-group parent the hierarchy parent without duplicating the path', async () => {
    const tenant = await createTenant(t);
    const [user] = await users(tenant, 1);
    const parent = await createGroup(tenant, 'Parent');
    const child = await createGroup(tenant, 'Child', { initial_members: [user] });
    expect((await nest(parent.id, [child.id])).status).toBe(200);
    const moved = await patchGroup(tenant, child.id, { parent_group_id: parent.id });
    expect(moved.status).toBe(200);
    expect(await getGroup(tenant, parent.id)).toMatchObject({
      nested_group_count: 1,
      effective_member_count: 1,
    });
    await patchGroup(tenant, child.id, { parent_group_id: null });
    expect(await getGroup(tenant, parent.id)).toMatchObject({
      nested_group_count: 0,
      effective_member_count: 0,
    });
    await expectNoDrift(tenant);
  });
});

describe('cycles', () => {
  async function chain(tenant: Tenant) {
    const a = await createGroup(tenant, 'A');
    const b = await createGroup(tenant, 'B', { parent_group_id: a.id });
    const c = await createGroup(tenant, 'C', { parent_group_id: b.id });
    return { a, b, c };
  }

  it('refuses a group as its own parent or nested group (direct cycle)', async () => {
    const tenant = await createTenant(t);
    const { a } = await chain(tenant);
    const self = await patchGroup(tenant, a.id, { parent_group_id: a.id });
    expect(self.status).toBe(400);
    expect(self.body.code).toBe('GROUP_CYCLE');
    const nested = await nest(a.id, [a.id]);
    expect(nested.status).toBe(400);
    expect(nested.body.code).toBe('GROUP_CYCLE');
  });

  it('refuses indirect cycles via parent_group_id and via nested groups, changing nothing', async () => {
    const tenant = await createTenant(t);
    const { a, b, c } = await chain(tenant);
    const viaParent = await patchGroup(tenant, a.id, { name: 'Renamed', parent_group_id: c.id });
    expect(viaParent.status).toBe(400);
    expect(viaParent.body.code).toBe('GROUP_CYCLE');
    expect((await getGroup(tenant, a.id)).name).toBe('A');
    const viaNested = await nest(c.id, [a.id]);
    expect(viaNested.status).toBe(400);
    // A nested edge first, then the hierarchy closes the loop: D nested in C, then A under D.
    const d = await createGroup(tenant, 'D');
    expect((await nest(c.id, [d.id])).status).toBe(200);
    const mixed = await patchGroup(tenant, a.id, { parent_group_id: d.id });
    expect(mixed.body.code).toBe('GROUP_CYCLE');
    const mixedNested = await nest(d.id, [b.id]);
    expect(mixedNested.body.code).toBe('GROUP_CYCLE');
    // A batch with one bad id is refused whole.
    const e = await createGroup(tenant, 'E');
    const batch = await nest(d.id, [e.id, a.id]);
    expect(batch.status).toBe(400);
    expect((await getGroup(tenant, d.id)).nested_group_count).toBe(0);
    const create = await t.post(tenantUrl(tenant), { name: 'F', parent_group_id: c.id });
    expect(create.status).toBe(201);
    await expectNoDrift(tenant);
  });

  it('never lets two concurrent writes close a cycle (parent_group_id, nested groups, mixed)', async () => {
    const tenant = await createTenant(t);
    for (let round = 0; round < 6; round++) {
      const a = await createGroup(tenant, `A${round}`);
      const b = await createGroup(tenant, `B${round}`);
      const c = await createGroup(tenant, `C${round}`);
      const writes =
        round % 3 === 0
          ? [
              patchGroup(tenant, a.id, { parent_group_id: b.id }),
              patchGroup(tenant, b.id, { parent_group_id: a.id }),
            ]
          : round % 3 === 1
            ? [nest(a.id, [b.id]), nest(b.id, [c.id]), nest(c.id, [a.id])]
            : [nest(a.id, [b.id]), patchGroup(tenant, a.id, { parent_group_id: b.id })];
      const statuses = (await Promise.all(writes)).map((response) => response.status);
      expect(
        statuses.filter((status) => status === 400),
        `round ${round}: ${statuses}`,
      ).toHaveLength(1);
      expect(statuses.filter((status) => status === 200)).toHaveLength(writes.length - 1);
      const cyclic = await t.database.db
        .selectFrom('group_closure')
        .select('ancestor_group_id')
        .where('tenant_id', '=', tenant.id)
        .whereRef('ancestor_group_id', '<>', 'descendant_group_id')
        .where('ancestor_group_id', 'in', [a.id, b.id, c.id])
        .where('descendant_group_id', 'in', [a.id, b.id, c.id])
        .execute();
      expect(cyclic.length).toBeLessThanOrEqual(3);
    }
    await expectNoDrift(tenant);
  });
});

describe('delete strategies', () => {
  async function fixture() {
    const tenant = await createTenant(t);
    const [inDoomed, inChild, inNested] = await users(tenant, 3);
    const parent = await createGroup(tenant, 'Parent');
    const doomed = await createGroup(tenant, 'Doomed', {
      parent_group_id: parent.id,
      initial_members: [inDoomed],
    });
    const child = await createGroup(tenant, 'Child', {
      parent_group_id: doomed.id,
      initial_members: [inChild],
    });
    const grandchild = await createGroup(tenant, 'Grandchild', { parent_group_id: child.id });
    const nested = await createGroup(tenant, 'Nested', { initial_members: [inNested] });
    expect((await nest(doomed.id, [nested.id])).status).toBe(200);
    const otherParent = await createGroup(tenant, 'OtherParent');
    expect((await nest(otherParent.id, [doomed.id])).status).toBe(200);
    return { tenant, parent, doomed, child, grandchild, nested, otherParent, inDoomed, inChild, inNested };
  }

  it('BLOCK (the default) refuses a group with members or child groups, deletes an empty one', async () => {
    const { tenant, doomed, grandchild, nested, child } = await fixture();
    for (const id of [doomed.id, child.id]) {
      const blocked = await deleteGroup(tenant, id);
      expect(blocked.status).toBe(409);
      expect(blocked.body.code).toBe('GROUP_NOT_EMPTY');
    }
    // A group whose only child is a nested group is not empty either.
    const holder = await createGroup(tenant, 'Holder');
    await nest(holder.id, [grandchild.id]);
    expect((await deleteGroup(tenant, holder.id, 'BLOCK')).status).toBe(409);
    expect((await deleteGroup(tenant, grandchild.id, 'BLOCK')).status).toBe(204);
    expect(await getGroup(tenant, holder.id)).toMatchObject({ nested_group_count: 0 });
    // Members that are deleted users do not block.
    const ghost = await insertUser(t, tenant.id);
    const lonely = await createGroup(tenant, 'Lonely', { initial_members: [ghost.id] });
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', ghost.id)
      .execute();
    expect((await deleteGroup(tenant, lonely.id)).status).toBe(204);
    expect((await t.get(tenantUrl(tenant, `/${grandchild.id}`))).status).toBe(404);
    expect(nested).toBeDefined();
    await expectNoDrift(tenant);
  });

  it('ORPHAN moves hierarchy children to the parent, unlinks nested groups and members', async () => {
    const { tenant, parent, doomed, child, grandchild, nested, otherParent, inDoomed, inChild, inNested } =
      await fixture();
    expect(await effectiveMap(parent.id)).toEqual({
      [inDoomed]: 'INHERITED',
      [inChild]: 'INHERITED',
      [inNested]: 'INHERITED',
    });
    expect((await deleteGroup(tenant, doomed.id, 'ORPHAN')).status).toBe(204);
    expect(await getGroup(tenant, child.id)).toMatchObject({
      parent_group_id: parent.id,
      parent_group_path: '/Parent',
    });
    expect((await getGroup(tenant, grandchild.id)).parent_group_path).toBe('/Parent/Child');
    expect(await getGroup(tenant, nested.id)).toMatchObject({ parent_group_id: null, member_count: 1 });
    expect(await effectiveMap(parent.id)).toEqual({ [inChild]: 'INHERITED' });
    expect(await getGroup(tenant, otherParent.id)).toMatchObject({
      nested_group_count: 0,
      effective_member_count: 0,
    });
    const list = await t.get(tenantUrl(tenant, `?user_id=${inDoomed}`));
    expect(list.body.data).toEqual([]);
    const event = (await auditEvents(doomed.id)).at(-1);
    expect(event).toMatchObject({
      action: 'group.deleted',
      after: {
        strategy: 'ORPHAN',
        memberships_removed: 1,
        children_moved: [child.id],
        nested_groups_unlinked: [nested.id],
        parents_unlinked: expect.arrayContaining([parent.id, otherParent.id]),
      },
    });
    expect((await auditEvents(child.id)).at(-1)).toMatchObject({
      action: 'group.updated',
      before: { parent_group_id: doomed.id },
      after: { parent_group_id: parent.id },
    });
    await expectNoDrift(tenant);
  });

  it('ORPHAN of a top-level group makes its children top-level', async () => {
    const tenant = await createTenant(t);
    const root = await createGroup(tenant, 'Root');
    const child = await createGroup(tenant, 'Child', { parent_group_id: root.id });
    expect((await deleteGroup(tenant, root.id, 'ORPHAN')).status).toBe(204);
    expect(await getGroup(tenant, child.id)).toMatchObject({
      parent_group_id: null,
      parent_group_path: null,
    });
    await expectNoDrift(tenant);
  });

  it('CASCADE deletes the hierarchy subtree; groups only nested in it are unlinked and survive', async () => {
    const { tenant, parent, doomed, child, grandchild, nested, otherParent, inChild, inNested } =
      await fixture();
    expect((await deleteGroup(tenant, doomed.id, 'CASCADE')).status).toBe(204);
    for (const id of [doomed.id, child.id, grandchild.id]) {
      expect((await t.get(tenantUrl(tenant, `/${id}`))).status).toBe(404);
    }
    expect(await getGroup(tenant, nested.id)).toMatchObject({ member_count: 1, effective_member_count: 1 });
    expect(await getGroup(tenant, parent.id)).toMatchObject({
      nested_group_count: 0,
      effective_member_count: 0,
    });
    expect((await getGroup(tenant, otherParent.id)).nested_group_count).toBe(0);
    const inherited = await t.get(tenantUrl(tenant, `?user_id=${inChild}`));
    expect(inherited.body.data).toEqual([]);
    const stillNested = await t.get(tenantUrl(tenant, `?user_id=${inNested}`));
    expect(stillNested.body.data.map((group: Group) => group.id)).toEqual([nested.id]);
    expect((await auditEvents(doomed.id)).at(-1)).toMatchObject({
      action: 'group.deleted',
      after: { strategy: 'CASCADE', groups_deleted: expect.arrayContaining([child.id, grandchild.id]) },
    });
    expect((await auditEvents(grandchild.id)).at(-1)).toMatchObject({
      action: 'group.deleted',
      after: { strategy: 'CASCADE', deleted_with: doomed.id },
    });
    // The names are free again.
    await createGroup(tenant, 'Child');
    await expectNoDrift(tenant);
  });

  it('answers 422 for an unknown strategy and 404 for unknown or deleted groups', async () => {
    const { tenant, doomed } = await fixture();
    const response = await deleteGroup(tenant, doomed.id, 'SHRED');
    expect(response.status).toBe(422);
    expect(response.body.detail[0]).toMatchObject({ loc: ['query', 'strategy'], type: 'enum' });
    expect((await deleteGroup(tenant, 'grp_00000000000000000000')).status).toBe(404);
    expect((await deleteGroup(tenant, 'nope')).status).toBe(404);
    expect((await deleteGroup(tenant, doomed.id, 'CASCADE')).status).toBe(204);
    expect((await deleteGroup(tenant, doomed.id, 'CASCADE')).status).toBe(404);
    expect((await patchGroup(tenant, doomed.id, { name: 'Back' })).status).toBe(404);
    expect((await putMembers(tenant, doomed.id, {})).status).toBe(404);
  });
});
