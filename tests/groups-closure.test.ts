import { describe, expect, it } from 'vitest';
import {
  groupClosureDrift,
  rebuildGroupClosure,
  userGroupMemberships,
  usersInGroupSubquery,
} from '../src/modules/groups/index.js';
import { bindTenant } from '../src/platform/db/tenant-scope.js';
import { createTenant, insertUser, type Tenant } from './helpers/factories.js';
import { seeded } from './helpers/seeded.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

/** What the database says, read from the source tables only (never the maintained closures). */
async function snapshot(tenantId: string) {
  const db = t.database.db;
  const groups = await db
    .selectFrom('groups')
    .select(['id', 'name', 'parent_group_id'])
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .execute();
  const edges = await db
    .selectFrom('group_edges')
    .select(['parent_group_id', 'child_group_id', 'kind'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const memberships = await db
    .selectFrom('group_memberships as m')
    .innerJoin('users as u', (join) =>
      join.onRef('u.tenant_id', '=', 'm.tenant_id').onRef('u.id', '=', 'm.user_id'),
    )
    .select(['m.group_id', 'm.user_id'])
    .where('m.tenant_id', '=', tenantId)
    .where('u.deleted_at', 'is', null)
    .execute();
  // In the order of the groups' names (G0, G1, …), never of their random ids, so that a seed
  // replays the same sequence on every run.
  const nameOf = new Map(groups.map((group) => [group.id, group.name]));
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  groups.sort((a, b) => order(a.name, b.name));
  const edgeKey = (edge: { parent_group_id: string; child_group_id: string; kind: string }) =>
    `${nameOf.get(edge.parent_group_id)}>${nameOf.get(edge.child_group_id)}>${edge.kind}`;
  edges.sort((a, b) => order(edgeKey(a), edgeKey(b)));
  const children = new Map<string, string[]>();
  for (const edge of edges)
    children.set(edge.parent_group_id, [...(children.get(edge.parent_group_id) ?? []), edge.child_group_id]);
  const direct = new Map<string, Set<string>>();
  for (const m of memberships) direct.set(m.group_id, (direct.get(m.group_id) ?? new Set()).add(m.user_id));

  const descendants = (id: string): Set<string> => {
    const seen = new Set<string>([id]);
    const stack = [id];
    while (stack.length > 0) {
      for (const child of children.get(stack.pop() as string) ?? []) {
        if (!seen.has(child)) {
          seen.add(child);
          stack.push(child);
        }
      }
    }
    return seen;
  };
  const effective = (id: string): Map<string, 'DIRECT' | 'INHERITED'> => {
    const result = new Map<string, 'DIRECT' | 'INHERITED'>();
    for (const group of descendants(id)) {
      for (const user of direct.get(group) ?? []) if (!result.has(user)) result.set(user, 'INHERITED');
    }
    for (const user of direct.get(id) ?? []) result.set(user, 'DIRECT');
    return result;
  };
  const byId = new Map(groups.map((group) => [group.id, group]));
  const path = (id: string): string | null => {
    const names: string[] = [];
    let parent = byId.get(id)?.parent_group_id ?? null;
    while (parent) {
      const group = byId.get(parent);
      if (!group) throw new Error(`parent ${parent} of a live group is not live`);
      names.unshift(group.name);
      parent = group.parent_group_id;
    }
    return names.length > 0 ? `/${names.join('/')}` : null;
  };
  return { groups, edges, direct, children, descendants, effective, path };
}

async function effectiveViaApi(groupId: string) {
  const result = new Map<string, string>();
  for (let page = 1; ; page++) {
    const response = await t.get(
      `/api/v1/admin/groups/${groupId}/effective-members?per_page=100&page=${page}`,
    );
    expect(response.status).toBe(200);
    for (const member of response.body.data) {
      expect(result.has(member.user_id), 'each user once').toBe(false);
      result.set(member.user_id, member.membership_type);
    }
    if (page >= response.body.pagination.total_pages) {
      expect(result.size).toBe(response.body.pagination.total_items);
      return result;
    }
  }
}

/** Every invariant of the graph, checked against the source tables. */
async function checkInvariants(tenant: Tenant, sample: string[]) {
  expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
  const state = await snapshot(tenant.id);
  const live = new Set(state.groups.map((group) => group.id));
  // parent_group_id mirrors the HIERARCHY edges; no edge touches a deleted group.
  const hierarchy = state.edges.filter((edge) => edge.kind === 'HIERARCHY');
  expect(hierarchy.map((edge) => `${edge.parent_group_id}>${edge.child_group_id}`).sort()).toEqual(
    state.groups
      .filter((group) => group.parent_group_id)
      .map((group) => `${group.parent_group_id}>${group.id}`)
      .sort(),
  );
  for (const edge of state.edges) {
    expect(live.has(edge.parent_group_id) && live.has(edge.child_group_id)).toBe(true);
  }
  for (const id of sample.filter((group) => live.has(group))) {
    const expected = state.effective(id);
    expect(Object.fromEntries(await effectiveViaApi(id))).toEqual(Object.fromEntries(expected));
    const read = await t.get(`/api/v1/admin/groups/${id}`);
    expect(read.body.data).toMatchObject({
      member_count: state.direct.get(id)?.size ?? 0,
      effective_member_count: expected.size,
      nested_group_count: state.children.get(id)?.length ?? 0,
      parent_group_path: state.path(id),
    });
  }
  return state;
}

describe('maintained closure equals the recursive definition', () => {
  for (const seed of [7, 2024]) {
    it(`after a random sequence of edge, membership, move and delete operations (seed ${seed})`, async () => {
      const random = seeded(seed);
      const tenant = await createTenant(t);
      const userIds: string[] = [];
      for (let i = 0; i < 14; i++) userIds.push((await insertUser(t, tenant.id)).id);
      let counter = 0;
      const groupIds: string[] = [];
      const liveUsers = [...userIds];
      const create = async () => {
        const live = (await snapshot(tenant.id)).groups.map((group) => group.id);
        const parent = live.length > 0 && random.chance(0.4) ? random.pick(live) : null;
        const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
          name: `G${counter++}`,
          parent_group_id: parent,
          initial_members: random.some(liveUsers, 3),
        });
        expect(response.status).toBe(201);
        groupIds.push(response.body.data.id);
      };
      for (let i = 0; i < 10; i++) await create();

      let refusedCycles = 0;
      let diamonds = 0;
      for (let step = 0; step < 160; step++) {
        const state = await snapshot(tenant.id);
        const live = state.groups.map((group) => group.id);
        const a = random.pick(live);
        const b = random.pick(live);
        const closesCycle = a === b || state.descendants(b).has(a);
        const roll = random.int(100);
        if (roll < 28) {
          const response = await t.post(`/api/v1/admin/groups/${a}/nested-groups`, { group_ids: [b] });
          expect(response.status, `step ${step}: nest ${b} in ${a}`).toBe(closesCycle ? 400 : 200);
          if (closesCycle) refusedCycles++;
        } else if (roll < 40 && state.edges.length > 0) {
          const edge = random.pick(state.edges);
          const response = await t.delete(
            `/api/v1/admin/groups/${edge.parent_group_id}/nested-groups/${edge.child_group_id}`,
          );
          expect(response.status).toBe(204);
        } else if (roll < 58) {
          const parent = random.chance(0.2) ? null : a;
          const response = await t.patch(`/api/v1/tenants/${tenant.id}/groups/${b}`, {
            parent_group_id: parent,
          });
          const cycle = parent !== null && (parent === b || state.descendants(b).has(parent));
          expect(response.status, `step ${step}: move ${b} under ${parent}`).toBe(cycle ? 400 : 200);
        } else if (roll < 82) {
          const toAdd = random.some(userIds, 4);
          const toRemove = random.some(userIds, 3).filter((id) => !toAdd.includes(id));
          const response = await t.put(`/api/v1/tenants/${tenant.id}/groups/${a}/members`, {
            users_to_add: toAdd,
            users_to_remove: toRemove,
          });
          // Users deleted along the way are unknown now: the whole request is refused.
          expect([200, 404]).toContain(response.status);
        } else if (roll < 92) {
          const strategy = random.pick(['BLOCK', 'ORPHAN', 'CASCADE']);
          const response = await t.delete(`/api/v1/tenants/${tenant.id}/groups/${a}?strategy=${strategy}`);
          const empty = (state.direct.get(a)?.size ?? 0) === 0 && (state.children.get(a)?.length ?? 0) === 0;
          expect(response.status).toBe(strategy === 'BLOCK' && !empty ? 409 : 204);
          if (response.status === 204) await create();
        } else if (roll < 95) {
          if (liveUsers.length < 2) continue;
          const doomed = random.pick(liveUsers);
          liveUsers.splice(liveUsers.indexOf(doomed), 1);
          await t.database.db
            .updateTable('users')
            .set({ deleted_at: new Date() })
            .where('id', '=', doomed)
            .execute();
        } else {
          await create();
        }
        if (step % 20 === 19) await checkInvariants(tenant, [a, b, random.pick(live)]);
        // Pairs joined by several paths (diamonds) are what path counts are for.
        const multiPath = await t.database.db
          .selectFrom('group_closure')
          .select('path_count')
          .where('tenant_id', '=', tenant.id)
          .where('path_count', '>', 1)
          .executeTakeFirst();
        if (multiPath) diamonds++;
      }
      const state = await checkInvariants(tenant, groupIds);
      // The sequence must have exercised what it claims to.
      expect(refusedCycles).toBeGreaterThan(0);
      expect(diamonds).toBeGreaterThan(10);
      expect(state.edges.filter((edge) => edge.kind === 'NESTED').length).toBeGreaterThan(0);
    }, 90_000); // a few hundred API calls with invariant checks: ~20 s at load 15.
  }

  it('stays exact under concurrent membership and edge changes in one tenant', async () => {
    const random = seeded(99);
    const tenant = await createTenant(t);
    const userIds: string[] = [];
    for (let i = 0; i < 10; i++) userIds.push((await insertUser(t, tenant.id)).id);
    const groupIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
        name: `C${i}`,
        parent_group_id: i > 0 && i % 2 === 0 ? groupIds[i - 1] : null,
      });
      groupIds.push(response.body.data.id);
    }
    for (let round = 0; round < 4; round++) {
      const writes = Array.from({ length: 10 }, (_, i) => {
        const a = random.pick(groupIds);
        const b = random.pick(groupIds);
        if (i % 3 === 0) {
          return t.post(`/api/v1/admin/groups/${a}/nested-groups`, { group_ids: [b] });
        }
        if (i % 3 === 1) {
          return t.patch(`/api/v1/tenants/${tenant.id}/groups/${b}`, {
            parent_group_id: random.chance(0.3) ? null : a,
          });
        }
        return t.put(`/api/v1/tenants/${tenant.id}/groups/${a}/members`, {
          users_to_add: random.some(userIds, 5),
          users_to_remove: [],
        });
      });
      for (const response of await Promise.all(writes)) expect([200, 400]).toContain(response.status);
      await checkInvariants(tenant, groupIds);
    }
  });

  it('is rebuilt from the source tables by rebuildGroupClosure after writes that bypass it', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const create = async (name: string, extra: Record<string, unknown> = {}) =>
      (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name, ...extra })).body.data.id as string;
    const top = await create('Top');
    const child = await create('Child', { parent_group_id: top, initial_members: [user.id] });
    // A bulk load writes the source tables only.
    await t.database.db
      .insertInto('group_memberships')
      .values({ tenant_id: tenant.id, group_id: top, user_id: user.id })
      .execute();
    await t.database.db
      .deleteFrom('group_closure')
      .where('tenant_id', '=', tenant.id)
      .where('ancestor_group_id', '=', top)
      .execute();
    const drift = await groupClosureDrift(t.database.db, tenant.id);
    expect(drift.closure).toEqual(
      expect.arrayContaining([
        { ancestor_group_id: top, descendant_group_id: child, stored: null, expected: 1 },
      ]),
    );
    expect(drift.effective).toEqual([{ group_id: top, user_id: user.id, stored: 1, expected: 2 }]);
    await rebuildGroupClosure(t.database.db, tenant.id);
    expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
  });
});

describe('functions for the Users module', () => {
  it('userGroupMemberships lists direct and inherited groups once each, by name', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const other = await insertUser(t, tenant.id);
    const create = async (name: string, extra: Record<string, unknown> = {}) =>
      (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name, ...extra })).body.data.id as string;
    const top = await create('top');
    const left = await create('Left', { parent_group_id: top, initial_members: [user.id] });
    const right = await create('Right', { parent_group_id: top });
    const bottom = await create('Bottom', { parent_group_id: left, initial_members: [user.id, other.id] });
    await t.post(`/api/v1/admin/groups/${right}/nested-groups`, { group_ids: [bottom] });
    await create('Unrelated', { initial_members: [other.id] });

    expect(await userGroupMemberships(t.database.db, tenant.id, user.id)).toEqual([
      { group_id: bottom, name: 'Bottom', membership_type: 'DIRECT' },
      { group_id: left, name: 'Left', membership_type: 'DIRECT' },
      { group_id: right, name: 'Right', membership_type: 'INHERITED' },
      { group_id: top, name: 'top', membership_type: 'INHERITED' },
    ]);
    expect(await userGroupMemberships(t.database.db, 'tnt_00000000000000000000', user.id)).toEqual([]);
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', user.id)
      .execute();
    expect(await userGroupMemberships(t.database.db, tenant.id, user.id)).toEqual([]);

    const usersOf = async (groupId: string, effective: boolean) =>
      (
        await t.database.db
          .selectFrom('users')
          .select('id')
          .where('tenant_id', '=', tenant.id)
          .where('deleted_at', 'is', null)
          .where('id', 'in', usersInGroupSubquery(t.database.db, tenant.id, groupId, { effective }))
          .execute()
      ).map((row) => row.id);
    expect(await usersOf(top, false)).toEqual([]);
    expect(await usersOf(top, true)).toEqual([other.id]);
    expect(await usersOf(bottom, false)).toEqual([other.id]);
  });

  // Issue 12: the face functions take a tenant-bound handle; the tenant is the handle's.
  it('answer the same on a tenant-bound handle, which sees its own tenant only', async () => {
    const [tenant, foreign] = [await createTenant(t), await createTenant(t)];
    const user = await insertUser(t, tenant.id);
    const create = async (name: string, extra: Record<string, unknown> = {}) =>
      (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name, ...extra })).body.data.id as string;
    const top = await create('Top');
    const child = await create('Child', { parent_group_id: top, initial_members: [user.id] });
    const bound = bindTenant(t.database.db, tenant.id);

    expect(await userGroupMemberships(bound, user.id)).toEqual([
      { group_id: child, name: 'Child', membership_type: 'DIRECT' },
      { group_id: top, name: 'Top', membership_type: 'INHERITED' },
    ]);
    expect(await userGroupMemberships(bindTenant(t.database.db, foreign.id), user.id)).toEqual([]);
    expect(await groupClosureDrift(bound)).toEqual({ closure: [], effective: [] });

    const usersOf = async (groupId: string, effective: boolean) =>
      (
        await bound
          .selectFrom('users')
          .select('id')
          .where('deleted_at', 'is', null)
          .where('id', 'in', usersInGroupSubquery(bound, groupId, { effective }))
          .execute()
      ).map((row) => row.id);
    expect(await usersOf(top, false)).toEqual([]);
    expect(await usersOf(top, true)).toEqual([user.id]);
    // The subquery keeps its tenant even inside a statement of an ordinary handle.
    const foreignSubquery = usersInGroupSubquery(bindTenant(t.database.db, foreign.id), top, {
      effective: true,
    });
    expect(
      await t.database.db.selectFrom('users').select('id').where('id', 'in', foreignSubquery).execute(),
    ).toEqual([]);
  });
});
