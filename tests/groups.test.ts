import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { groupClosureDrift } from '../src/modules/groups/group-closure.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
  insertUser,
  type Tenant,
} from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

interface Group {
  id: string;
  name: string;
  parent_group_id: string | null;
}

const tenantUrl = (tenant: Tenant, rest = '') => `/api/v1/tenants/${tenant.id}/groups${rest}`;

async function createGroup(
  tenant: Tenant,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<Group> {
  const response = await t.request({
    method: 'POST',
    url: tenantUrl(tenant),
    token: t.token,
    body: { name, ...extra },
  });
  if (response.status !== 201)
    throw new Error(`createGroup ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data;
}

const getGroup = async (tenant: Tenant, id: string, query = '') =>
  (await t.request({ method: 'GET', url: tenantUrl(tenant, `/${id}${query}`), token: t.token })).body.data;

const putMembers = (tenant: Tenant, id: string, body: unknown, as = t.token) =>
  t.request({ method: 'PUT', url: tenantUrl(tenant, `/${id}/members`), token: as, body });

const patchGroup = (tenant: Tenant, id: string, body: unknown) =>
  t.request({ method: 'PATCH', url: tenantUrl(tenant, `/${id}`), token: t.token, body });

const nest = (parentId: string, childIds: string[]) =>
  t.request({
    method: 'POST',
    url: `/api/v1/admin/groups/${parentId}/nested-groups`,
    token: t.token,
    body: { group_ids: childIds },
  });

const deleteGroup = (tenant: Tenant, id: string, strategy?: string) =>
  t.request({
    method: 'DELETE',
    url: tenantUrl(tenant, `/${id}${strategy ? `?strategy=${strategy}` : ''}`),
    token: t.token,
  });

async function effective(groupId: string, query = '?per_page=100') {
  const response = await t.request({
    method: 'GET',
    url: `/api/v1/admin/groups/${groupId}/effective-members${query}`,
    token: t.token,
  });
  expect(response.status).toBe(200);
  return response.body as {
    data: { user_id: string; membership_type: string }[];
    pagination: { total_items: number };
  };
}

/** user id → membership_type of a group's effective members. */
async function effectiveMap(groupId: string): Promise<Record<string, string>> {
  const body = await effective(groupId);
  return Object.fromEntries(body.data.map((member) => [member.user_id, member.membership_type]));
}

/** `count` (at most 5) new live users of the tenant, typed as five ids so destructuring needs no checks. */
async function users(tenant: Tenant, count: number) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await insertUser(t, tenant.id)).id);
  return ids as [string, string, string, string, string];
}

async function auditEvents(resourceId: string) {
  return (
    t.database.db
      .selectFrom('audit_events')
      .select(['action', 'before', 'after', 'tenant_id'])
      .where('resource_id', '=', resourceId)
      .orderBy('created_at')
      // Events of one transaction share its timestamp: the creation comes first, then the rest.
      .orderBy(sql`action <> 'group.created'`)
      .orderBy('action')
      .execute()
  );
}

async function expectNoDrift(tenant: Tenant) {
  expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
}

describe('create and read', () => {
  it('creates a group with every field, initial members and a parent, and reads it back', async () => {
    const tenant = await createTenant(t);
    const [alice, bob] = await users(tenant, 2);
    const engineering = await createGroup(tenant, 'Engineering');
    const response = await t.request({
      method: 'POST',
      url: tenantUrl(tenant),
      token: t.token,
      body: {
        name: 'Backend',
        description: 'Servers',
        group_type: 'DISTRIBUTION',
        parent_group_id: engineering.id,
        initial_members: [alice, bob, alice],
        custom_attributes: { cost_center: 'CC-7' },
      },
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
    const clash = await t.request({
      method: 'POST',
      url: tenantUrl(tenant),
      token: t.token,
      body: { name: 'ADMINS' },
    });
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
      const response = await t.request({ method: 'POST', url: tenantUrl(tenant), token: t.token, body });
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail).toContainEqual(expect.objectContaining({ loc, type }));
    }
    const group = await createGroup(tenant, 'G');
    const patch = await patchGroup(tenant, group.id, { group_type: 'DISTRIBUTION' });
    expect(patch.status).toBe(422);
    expect(patch.body.detail[0]).toMatchObject({ loc: ['body', 'group_type'], type: 'extra_forbidden' });
    const include = await t.request({
      method: 'GET',
      url: tenantUrl(tenant, `/${group.id}?include=owners`),
      token: t.token,
    });
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
      const response = await t.request({
        method: 'POST',
        url: tenantUrl(tenant),
        token: t.token,
        body: { name: 'X', ...body },
      });
      expect(response.status, JSON.stringify(body)).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
    const list = await t.request({ method: 'GET', url: tenantUrl(tenant), token: t.token });
    expect(list.body.pagination.total_items).toBe(0);
    for (const id of ['grp_00000000000000000000', 'nope', foreignGroup.id]) {
      expect(
        (await t.request({ method: 'GET', url: tenantUrl(tenant, `/${id}`), token: t.token })).status,
      ).toBe(404);
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
    const list = async (query: string) =>
      (await t.request({ method: 'GET', url: tenantUrl(tenant, query), token: t.token })).body;

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
      expect(
        (await t.request({ method: 'GET', url: tenantUrl(tenant, query), token: t.token })).status,
        query,
      ).toBe(422);
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
    const create = await t.request({
      method: 'POST',
      url: tenantUrl(tenant),
      token: t.token,
      body: { name: 'F', parent_group_id: c.id },
    });
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
    const unnest = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/groups/${right.id}/nested-groups/${bottom.id}`,
      token: t.token,
    });
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
    const members = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${child.id}/members`,
      token: t.token,
    });
    expect(members.body.data.map((member: { user_id: string }) => member.user_id)).toEqual([live]);
    expect(members.body.pagination.total_items).toBe(1);
    const list = await t.request({
      method: 'GET',
      url: tenantUrl(tenant, `?user_id=${doomed}`),
      token: t.token,
    });
    expect(list.body.data).toEqual([]);
    const nested = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${parent.id}/nested-groups`,
      token: t.token,
    });
    expect(nested.body.data).toEqual([{ group_id: child.id, name: 'Child', member_count: 1 }]);
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
    expect(
      (await t.request({ method: 'GET', url: tenantUrl(tenant, `/${grandchild.id}`), token: t.token }))
        .status,
    ).toBe(404);
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
    const list = await t.request({
      method: 'GET',
      url: tenantUrl(tenant, `?user_id=${inDoomed}`),
      token: t.token,
    });
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
      expect(
        (await t.request({ method: 'GET', url: tenantUrl(tenant, `/${id}`), token: t.token })).status,
      ).toBe(404);
    }
    expect(await getGroup(tenant, nested.id)).toMatchObject({ member_count: 1, effective_member_count: 1 });
    expect(await getGroup(tenant, parent.id)).toMatchObject({
      nested_group_count: 0,
      effective_member_count: 0,
    });
    expect((await getGroup(tenant, otherParent.id)).nested_group_count).toBe(0);
    const inherited = await t.request({
      method: 'GET',
      url: tenantUrl(tenant, `?user_id=${inChild}`),
      token: t.token,
    });
    expect(inherited.body.data).toEqual([]);
    const stillNested = await t.request({
      method: 'GET',
      url: tenantUrl(tenant, `?user_id=${inNested}`),
      token: t.token,
    });
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
    const bad = await t.request({
      method: 'GET',
      url: '/api/v1/admin/groups/?group_type=ROLE',
      token: t.token,
    });
    expect(bad.status).toBe(422);
  });

  it('creates (with tenant_id), gets, updates and soft-deletes with ORPHAN semantics', async () => {
    const tenant = await createTenant(t);
    const [user] = await users(tenant, 1);
    const created = await t.request({
      method: 'POST',
      url: '/api/v1/admin/groups/',
      token: t.token,
      body: { tenant_id: tenant.id, name: 'Ops', initial_members: [user] },
    });
    expect(created.status).toBe(201);
    const ops = created.body.data;
    expect(ops).toMatchObject({ tenant_id: tenant.id, name: 'Ops', member_count: 1 });
    const child = await createGroup(tenant, 'OpsChild', { parent_group_id: ops.id });
    const got = await t.request({ method: 'GET', url: `/api/v1/admin/groups/${ops.id}`, token: t.token });
    expect(got.body.data).toMatchObject({ id: ops.id, nested_group_count: 1, members: null });
    const patched = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/groups/${ops.id}`,
      token: t.token,
      body: { name: 'Operations' },
    });
    expect(patched.body.data.name).toBe('Operations');
    expect((await getGroup(tenant, child.id)).parent_group_path).toBe('/Operations');
    const removed = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/groups/${ops.id}`,
      token: t.token,
    });
    expect(removed.status).toBe(204);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/groups/${ops.id}`, token: t.token })).status,
    ).toBe(404);
    expect(await getGroup(tenant, child.id)).toMatchObject({
      parent_group_id: null,
      parent_group_path: null,
    });
    expect((await auditEvents(ops.id)).at(-1)).toMatchObject({
      action: 'group.deleted',
      after: { strategy: 'ORPHAN' },
    });

    for (const tenantId of ['tnt_00000000000000000000', 'nope']) {
      const response = await t.request({
        method: 'POST',
        url: '/api/v1/admin/groups/',
        token: t.token,
        body: { tenant_id: tenantId, name: 'X' },
      });
      expect(response.status).toBe(404);
    }
    const missing = await t.request({
      method: 'POST',
      url: '/api/v1/admin/groups/',
      token: t.token,
      body: { name: 'X' },
    });
    expect(missing.status).toBe(422);
    await expectNoDrift(tenant);
  });

  it('lists, adds and removes members; lists effective members', async () => {
    const tenant = await createTenant(t);
    const [a, b, c] = await users(tenant, 3);
    const parent = await createGroup(tenant, 'Parent');
    const child = await createGroup(tenant, 'Child', { parent_group_id: parent.id, initial_members: [c] });
    const add = await t.request({
      method: 'POST',
      url: `/api/v1/admin/groups/${parent.id}/members`,
      token: t.token,
      body: { user_ids: [a, b] },
    });
    expect(add.status).toBe(200);
    expect(add.body.data).toMatchObject({ member_count: 2, effective_member_count: 3 });
    const members = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${parent.id}/members?per_page=1`,
      token: t.token,
    });
    expect(members.body.pagination).toEqual({ page: 1, per_page: 1, total_items: 2, total_pages: 2 });
    expect(members.body.data[0]).toEqual({
      user_id: [a, b].sort()[0],
      email: expect.stringContaining('@'),
      display_name: null,
      membership_type: 'DIRECT',
    });
    expect(await effectiveMap(parent.id)).toEqual({ [a]: 'DIRECT', [b]: 'DIRECT', [c]: 'INHERITED' });
    const remove = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/groups/${parent.id}/members/${a}`,
      token: t.token,
    });
    expect(remove.status).toBe(204);
    const again = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/groups/${parent.id}/members/${a}`,
      token: t.token,
    });
    expect(again.status).toBe(404);
    const inherited = await t.request({
      method: 'DELETE',
      url: `/api/v1/admin/groups/${parent.id}/members/${c}`,
      token: t.token,
    });
    expect(inherited.status).toBe(404);
    const bad = await t.request({
      method: 'POST',
      url: `/api/v1/admin/groups/${parent.id}/members`,
      token: t.token,
      body: { user_ids: [a, 'usr_00000000000000000000'] },
    });
    expect(bad.status).toBe(404);
    expect(await effectiveMap(parent.id)).toEqual({ [b]: 'DIRECT', [c]: 'INHERITED' });
    const wrongBody = await t.request({
      method: 'POST',
      url: `/api/v1/admin/groups/${parent.id}/members`,
      token: t.token,
      body: { users: [a] },
    });
    expect(wrongBody.status).toBe(422);
    expect((await auditEvents(parent.id)).map((event) => event.action)).toEqual([
      'group.created',
      'group.member_added',
      'group.member_removed',
    ]);
    expect(child).toBeDefined();
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
    const children = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${parent.id}/nested-groups`,
      token: t.token,
    });
    expect(children.body.data).toEqual([
      { group_id: nestedChild.id, name: 'Alpha', member_count: 1 },
      { group_id: hierarchyChild.id, name: 'Bravo', member_count: 0 },
    ]);
    expect(children.body.pagination.total_items).toBe(2);
    const parents = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${nestedChild.id}/parent-groups?per_page=1&page=2`,
      token: t.token,
    });
    expect(parents.body.pagination).toEqual({ page: 2, per_page: 1, total_items: 2, total_pages: 2 });
    expect(parents.body.data).toEqual([{ group_id: secondParent.id, name: 'Second', member_count: 0 }]);
    const hierarchyParents = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${hierarchyChild.id}/parent-groups`,
      token: t.token,
    });
    expect(hierarchyParents.body.data.map((group: { group_id: string }) => group.group_id)).toEqual([
      parent.id,
    ]);

    const foreign = await createGroup(other, 'Foreign');
    for (const ids of [[foreign.id], ['grp_00000000000000000000'], ['nope']]) {
      expect((await nest(parent.id, ids)).status, ids[0]).toBe(404);
    }
    const unnest = (child: string) =>
      t.request({
        method: 'DELETE',
        url: `/api/v1/admin/groups/${parent.id}/nested-groups/${child}`,
        token: t.token,
      });
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
    await t.request({ method: 'DELETE', url: `/api/v1/admin/tenants/${deletedTenant.id}`, token: t.token });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/groups/${orphaned.id}`, token: t.token })).status,
    ).toBe(404);
    expect((await t.request({ method: 'GET', url: tenantUrl(deletedTenant), token: t.token })).status).toBe(
      404,
    );
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
