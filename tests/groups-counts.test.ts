import { describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import {
  groupClosureDrift,
  groupCountDrift,
  rebuildGroupClosure,
  userGroupMemberships,
} from '../src/modules/groups/index.js';
import { createTenant, insertUser, type Tenant } from './helpers/factories.js';
import { seeded } from './helpers/seeded.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Issue 17: group_member_counts and group_effective_members.direct (migration 0019) stay equal to
 * a recount through every kind of change, and the reads that use them (member totals, DIRECT /
 * INHERITED) answer what the source tables say.
 */
const t = useTestApp();

async function expectNoDrift(tenant: Tenant, context: string) {
  expect(await groupCountDrift(t.database.db, tenant.id), context).toEqual({ counts: [], direct: [] });
  expect(await groupClosureDrift(t.database.db, tenant.id), context).toEqual({ closure: [], effective: [] });
}

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The tenant's groups by id and name, in the order of their names (K0, K1, …). */
async function groupNames(tenantId: string) {
  const rows = await t.database.db
    .selectFrom('groups')
    .select(['id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .execute();
  return rows.sort((a, b) => order(a.name, b.name));
}

/** Live group ids in the order of their names, never of their random ids: a seed replays the same
 * sequence on every run. */
async function liveGroups(tenantId: string): Promise<string[]> {
  return (await groupNames(tenantId)).map((row) => row.id);
}

async function edges(tenantId: string) {
  const names = new Map((await groupNames(tenantId)).map((row) => [row.id, row.name]));
  const rows = await t.database.db
    .selectFrom('group_edges')
    .select(['parent_group_id', 'child_group_id'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const key = (edge: (typeof rows)[number]) =>
    `${names.get(edge.parent_group_id)}>${names.get(edge.child_group_id)}`;
  return rows.sort((a, b) => order(key(a), key(b)));
}

/** The stored counts of a group (undefined when it has no row). */
async function storedCounts(groupId: string) {
  return t.database.db
    .selectFrom('group_member_counts')
    .select(['direct_count', 'effective_count'])
    .where('group_id', '=', groupId)
    .executeTakeFirst();
}

describe('group member counts', () => {
  for (const seed of [17, 4242]) {
    it(`equal a recount after many mixed operations (seed ${seed})`, async () => {
      const random = seeded(seed);
      const tenant = await createTenant(t);
      const users: string[] = [];
      for (let i = 0; i < 16; i++) users.push((await insertUser(t, tenant.id)).id);
      const liveUsers = new Set(users);
      const softDeleted: string[] = [];
      let named = 0;
      const create = async () => {
        const groups = await liveGroups(tenant.id);
        const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
          name: `K${named++}`,
          parent_group_id: groups.length > 0 && random.chance(0.5) ? random.pick(groups) : null,
          initial_members: random.some([...liveUsers], 3),
        });
        expect(response.status).toBe(201);
      };
      for (let i = 0; i < 8; i++) await create();

      const done = new Map<string, number>();
      const count = (kind: string) => done.set(kind, (done.get(kind) ?? 0) + 1);
      for (let step = 0; step < 150; step++) {
        const groups = await liveGroups(tenant.id);
        const a = random.pick(groups);
        const b = random.pick(groups);
        const roll = random.int(100);
        if (roll < 30) {
          const alive = [...liveUsers];
          const toAdd = random.some(alive, 4);
          const toRemove = random.some(alive, 3).filter((id) => !toAdd.includes(id));
          const response = await t.put(`/api/v1/tenants/${tenant.id}/groups/${a}/members`, {
            users_to_add: toAdd,
            users_to_remove: toRemove,
          });
          expect(response.status, `step ${step}`).toBe(200);
          count('members');
        } else if (roll < 48) {
          const response = await t.post(`/api/v1/admin/groups/${a}/nested-groups`, { group_ids: [b] });
          expect([200, 400]).toContain(response.status);
          if (response.status === 200) count('nest');
        } else if (roll < 58) {
          const all = await edges(tenant.id);
          if (all.length === 0) continue;
          const edge = random.pick(all);
          const response = await t.delete(
            `/api/v1/admin/groups/${edge.parent_group_id}/nested-groups/${edge.child_group_id}`,
          );
          expect(response.status).toBe(204);
          count('unnest');
        } else if (roll < 68) {
          const response = await t.patch(`/api/v1/tenants/${tenant.id}/groups/${b}`, {
            parent_group_id: random.chance(0.2) ? null : a,
          });
          expect([200, 400]).toContain(response.status);
          if (response.status === 200) count('move');
        } else if (roll < 76) {
          const strategy = random.pick(['ORPHAN', 'CASCADE']);
          const response = await t.delete(`/api/v1/tenants/${tenant.id}/groups/${a}?strategy=${strategy}`);
          expect(response.status).toBe(204);
          count('delete group');
          await create();
        } else if (roll < 84) {
          if (liveUsers.size < 4) continue;
          // Through the API: the user's memberships end in the delete's transaction.
          const doomed = random.pick([...liveUsers]);
          liveUsers.delete(doomed);
          expect((await t.delete(`/api/v1/admin/users/${doomed}`)).status).toBe(204);
          count('delete user');
        } else if (roll < 92) {
          if (liveUsers.size < 4) continue;
          // Around the API (a bulk path): the user stays a member; the trigger moves the counts.
          const doomed = random.pick([...liveUsers]);
          liveUsers.delete(doomed);
          softDeleted.push(doomed);
          await t.database.db
            .updateTable('users')
            .set({ deleted_at: new Date() })
            .where('id', '=', doomed)
            .execute();
          count('soft delete');
        } else if (softDeleted.length > 0) {
          const restored = softDeleted.splice(random.int(softDeleted.length), 1)[0] as string;
          await t.database.db
            .updateTable('users')
            .set({ deleted_at: null })
            .where('id', '=', restored)
            .execute();
          liveUsers.add(restored);
          count('restore');
        } else {
          await create();
        }
        if (step % 15 === 14) await expectNoDrift(tenant, `after step ${step}`);
      }
      await expectNoDrift(tenant, 'after the random steps');

      // The random steps may end with no nested group that has members (the groups picked depend
      // on their generated ids), so one nesting with members is made here: the sums below then
      // hold on every run, and the counters are checked once more after it.
      const parent = await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: 'Parent' });
      const child = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
        name: 'Child',
        parent_group_id: parent.body.data.id,
        initial_members: [...liveUsers].slice(0, 2),
      });
      expect([parent.status, child.status]).toEqual([201, 201]);
      await expectNoDrift(tenant, 'at the end');

      // Every kind of change happened, and the counts are not trivially zero.
      for (const kind of [
        'members',
        'nest',
        'unnest',
        'move',
        'delete group',
        'delete user',
        'soft delete',
      ]) {
        expect(done.get(kind) ?? 0, kind).toBeGreaterThan(0);
      }
      const totals = await t.database.db
        .selectFrom('group_member_counts')
        .select((eb) => [
          eb.fn.sum<number>('direct_count').as('d'),
          eb.fn.sum<number>('effective_count').as('e'),
        ])
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      expect(Number(totals.d)).toBeGreaterThan(0);
      expect(Number(totals.e)).toBeGreaterThan(Number(totals.d));

      // The API's totals are the counters, and they equal the members listed.
      for (const id of await liveGroups(tenant.id)) {
        const counts = await storedCounts(id);
        const effective = await t.get(`/api/v1/admin/groups/${id}/effective-members?per_page=100`);
        expect(effective.body.pagination.total_items).toBe(Number(counts?.effective_count));
        expect(effective.body.data).toHaveLength(Number(counts?.effective_count));
        const direct = effective.body.data.filter(
          (member: { membership_type: string }) => member.membership_type === 'DIRECT',
        );
        expect(direct).toHaveLength(Number(counts?.direct_count));
        const read = await t.get(`/api/v1/admin/groups/${id}`);
        expect(read.body.data).toMatchObject({
          member_count: Number(counts?.direct_count),
          effective_member_count: Number(counts?.effective_count),
        });
      }
    }, 180_000);
  }

  it('stay exact under concurrent membership, nesting and user deletes in one tenant', async () => {
    const random = seeded(5);
    const tenant = await createTenant(t);
    const users: string[] = [];
    for (let i = 0; i < 12; i++) users.push((await insertUser(t, tenant.id)).id);
    const groups: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
        name: `P${i}`,
        parent_group_id: i > 0 ? groups[i - 1] : null,
      });
      groups.push(response.body.data.id);
    }
    const doomed = users.slice(8);
    const alive = users.slice(0, 8);
    const writes = [
      ...doomed.map((id) => t.delete(`/api/v1/admin/users/${id}`)),
      ...Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? t.put(`/api/v1/tenants/${tenant.id}/groups/${random.pick(groups)}/members`, {
              users_to_add: random.some(alive, 4),
              users_to_remove: [],
            })
          : t.post(`/api/v1/admin/groups/${groups[0]}/nested-groups`, { group_ids: [random.pick(groups)] }),
      ),
      // Members to be deleted join first, in a write of their own.
      t.put(`/api/v1/tenants/${tenant.id}/groups/${groups[5]}/members`, {
        users_to_add: doomed,
        users_to_remove: [],
      }),
    ];
    for (const response of await Promise.all(writes)) expect([200, 204, 400, 404]).toContain(response.status);
    await expectNoDrift(tenant, 'after the concurrent writes');
  }, 120_000);

  it('tell DIRECT from INHERITED after a direct membership ends while an inherited one stays', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const create = async (name: string, extra: Record<string, unknown> = {}) =>
      (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name, ...extra })).body.data.id as string;
    const top = await create('Top', { initial_members: [user.id] });
    const child = await create('Child', { parent_group_id: top, initial_members: [user.id] });
    const types = async () =>
      Object.fromEntries(
        (await userGroupMemberships(t.database.db, tenant.id, user.id)).map((g) => [
          g.group_id,
          g.membership_type,
        ]),
      );
    expect(await types()).toEqual({ [top]: 'DIRECT', [child]: 'DIRECT' });
    expect(await storedCounts(top)).toEqual({ direct_count: 1, effective_count: 1 });

    await t.put(`/api/v1/tenants/${tenant.id}/groups/${top}/members`, { users_to_remove: [user.id] });
    expect(await types()).toEqual({ [top]: 'INHERITED', [child]: 'DIRECT' });
    expect(await storedCounts(top)).toEqual({ direct_count: 0, effective_count: 1 });
    const listed = await t.get(`/api/v1/admin/groups/${top}/effective-members`);
    expect(listed.body.data.map((m: { membership_type: string }) => m.membership_type)).toEqual([
      'INHERITED',
    ]);

    await t.put(`/api/v1/tenants/${tenant.id}/groups/${top}/members`, { users_to_add: [user.id] });
    expect(await types()).toEqual({ [top]: 'DIRECT', [child]: 'DIRECT' });
    expect(await storedCounts(top)).toEqual({ direct_count: 1, effective_count: 1 });

    // Soft-deleted around the API while a member: out of every count; restored: back in.
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', user.id)
      .execute();
    expect(await storedCounts(top)).toEqual({ direct_count: 0, effective_count: 0 });
    expect(await storedCounts(child)).toEqual({ direct_count: 0, effective_count: 0 });
    expect((await t.get(`/api/v1/admin/groups/${top}/effective-members`)).body.pagination.total_items).toBe(
      0,
    );
    await t.database.db.updateTable('users').set({ deleted_at: null }).where('id', '=', user.id).execute();
    expect(await storedCounts(top)).toEqual({ direct_count: 1, effective_count: 1 });
    await expectNoDrift(tenant, 'at the end');
  });

  it('are reported when they drift and recomputed by rebuildGroupClosure', async () => {
    const tenant = await createTenant(t);
    const user = await insertUser(t, tenant.id);
    const top = (
      await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: 'Top', initial_members: [user.id] })
    ).body.data.id as string;
    await t.database.db
      .updateTable('group_member_counts')
      .set({ effective_count: 5 })
      .where('group_id', '=', top)
      .execute();
    await t.database.db
      .updateTable('group_effective_members')
      .set({ direct: false })
      .where('group_id', '=', top)
      .execute();
    expect(await groupCountDrift(t.database.db, tenant.id)).toEqual({
      counts: [
        { group_id: top, stored_direct: 1, expected_direct: 1, stored_effective: 5, expected_effective: 1 },
      ],
      direct: [{ group_id: top, user_id: user.id, stored: false, expected: true }],
    });
    // A bulk load writes the source tables only: a group without a counts row drifts too.
    const bulk = newId('group');
    await t.database.db
      .insertInto('groups')
      .values({ tenant_id: tenant.id, id: bulk, name: 'Bulk', description: null, parent_group_id: null })
      .execute();
    expect((await groupCountDrift(t.database.db, tenant.id)).counts).toContainEqual({
      group_id: bulk,
      stored_direct: null,
      expected_direct: 0,
      stored_effective: null,
      expected_effective: 0,
    });
    await t.database.db.transaction().execute((trx) => rebuildGroupClosure(trx, tenant.id));
    await expectNoDrift(tenant, 'after the rebuild');
  });
});
