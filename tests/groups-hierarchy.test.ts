// Groups: nesting without cycles, and the delete strategies for a group with children.
import { describe, expect, it } from 'vitest';
import { createTenant, insertUser, type Tenant } from './helpers/factories.js';
import { type Group, groupsApi } from './helpers/groups.js';
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
