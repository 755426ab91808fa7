import { describe, expect, it } from 'vitest';
import {
  adminUserToken,
  applicationToken,
  createTenant,
  insertApplication,
  insertUser,
  type Tenant,
} from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

async function createOu(
  tenant: Tenant,
  name: string,
  parentId?: string | null,
  extra: Record<string, unknown> = {},
) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/ous`, {
    name,
    ...(parentId !== undefined ? { parent_id: parentId } : {}),
    ...extra,
  });
  if (response.status !== 201)
    throw new Error(`createOu ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as { id: string; path: string; name: string };
}

const getOu = async (tenant: Tenant, id: string) =>
  (await t.get(`/api/v1/tenants/${tenant.id}/ous/${id}`)).body.data;

const ouUsers = async (tenant: Tenant, id: string, query = '') =>
  (await t.get(`/api/v1/tenants/${tenant.id}/ous/${id}/users${query}`)).body;

async function userOuPath(tenant: Tenant, userId: string): Promise<string | null> {
  const row = await t.database.db
    .selectFrom('users as u')
    .leftJoin('ous as o', (join) =>
      join.onRef('o.tenant_id', '=', 'u.tenant_id').onRef('o.id', '=', 'u.ou_id'),
    )
    .select(['o.path', 'u.ou_id'])
    .where('u.tenant_id', '=', tenant.id)
    .where('u.id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.path;
}

describe('create and read', () => {
  it('creates root and child OUs with paths, and reads them with children and counts', async () => {
    const tenant = await createTenant(t);
    const engineering = await createOu(tenant, 'Engineering', undefined, {
      description: 'Builds things',
      custom_attributes: { cost_center: 'CC-1' },
    });
    expect(engineering.path).toBe('/Engineering');
    const backend = await createOu(tenant, 'Backend', engineering.id);
    await createOu(tenant, 'Frontend', engineering.id);
    expect(backend.path).toBe('/Engineering/Backend');
    await insertUser(t, tenant.id, { ouId: engineering.id });
    await insertUser(t, tenant.id, { ouId: engineering.id, deleted: true });
    await insertUser(t, tenant.id, { ouId: backend.id });

    const read = await getOu(tenant, engineering.id);
    expect(read).toMatchObject({
      id: engineering.id,
      name: 'Engineering',
      description: 'Builds things',
      path: '/Engineering',
      parent_id: null,
      child_ou_count: 2,
      user_count: 1,
      custom_attributes: { cost_center: 'CC-1' },
      updated_at: null,
    });
    expect(read.children).toEqual([
      { ou_id: backend.id, name: 'Backend', path: '/Engineering/Backend', user_count: 1, children: [] },
      expect.objectContaining({ name: 'Frontend', user_count: 0 }),
    ]);
    expect(
      await t.database.db
        .selectFrom('audit_events')
        .select('action')
        .where('resource_id', '=', backend.id)
        .execute(),
    ).toEqual([{ action: 'ou.created' }]);
  });

  it('refuses sibling names that differ only in case (409) but allows them under other parents', async () => {
    const tenant = await createTenant(t);
    const sales = await createOu(tenant, 'Sales');
    const clash = await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'SALES' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('NAME_TAKEN');
    await createOu(tenant, 'EMEA', sales.id);
    const support = await createOu(tenant, 'Support');
    expect((await createOu(tenant, 'emea', support.id)).path).toBe('/Support/emea');
  });

  it('answers 404 for a parent in another tenant or of the wrong shape, 422 for bad bodies', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const foreign = await createOu(other, 'Foreign');
    for (const parentId of [foreign.id, 'ou_00000000000000000000', 'garbage']) {
      const response = await t.post(`/api/v1/tenants/${tenant.id}/ous`, {
        name: 'Child',
        parent_id: parentId,
      });
      expect(response.status, parentId).toBe(404);
    }
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['body', 'name'], 'missing'],
      [{ name: 'a/b' }, ['body', 'name'], 'string_pattern_mismatch'],
      [{ name: '' }, ['body', 'name'], 'string_too_short'],
      [{ name: 'x', color: 'red' }, ['body', 'color'], 'extra_forbidden'],
      [{ name: 'x', custom_attributes: [1] }, ['body', 'custom_attributes'], 'dict_type'],
      [{ name: 7 }, ['body', 'name'], 'string_type'],
    ];
    for (const [body, loc, type] of cases) {
      const response = await t.post(`/api/v1/tenants/${tenant.id}/ous`, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail).toContainEqual(expect.objectContaining({ loc, type }));
    }
  });
});

describe('list and tree', () => {
  it('lists by path with pagination, search and parent_id', async () => {
    const tenant = await createTenant(t);
    const root = await createOu(tenant, 'Root');
    for (const name of ['Delta', 'alpha', 'Charlie', 'bravo']) await createOu(tenant, name, root.id);
    await createOu(tenant, 'Other root');

    const all = await t.get(`/api/v1/tenants/${tenant.id}/ous?per_page=2&page=2`);
    expect(all.body.pagination).toEqual({ page: 2, per_page: 2, total_items: 6, total_pages: 3 });
    const children = await t.get(`/api/v1/tenants/${tenant.id}/ous?parent_id=${root.id}`);
    expect(children.body.data.map((ou: { name: string }) => ou.name)).toEqual([
      'Charlie',
      'Delta',
      'alpha',
      'bravo',
    ]);
    expect(children.body.data[0]).toEqual({
      id: expect.stringMatching(/^ou_/),
      name: 'Charlie',
      path: '/Root/Charlie',
      parent_id: root.id,
      user_count: 0,
    });
    const search = await t.get(`/api/v1/tenants/${tenant.id}/ous?search=ALP`);
    expect(search.body.data.map((ou: { path: string }) => ou.path)).toEqual(['/Root/alpha']);
    const unknownParent = await t.get(`/api/v1/tenants/${tenant.id}/ous?parent_id=nope`);
    expect(unknownParent.body.data).toEqual([]);
    const badPage = await t.get(`/api/v1/tenants/${tenant.id}/ous?per_page=500`);
    expect(badPage.status).toBe(422);
  });

  it('returns the whole forest with children sorted by name', async () => {
    const tenant = await createTenant(t);
    const b = await createOu(tenant, 'B');
    const a = await createOu(tenant, 'a');
    await createOu(tenant, 'z', a.id);
    const y = await createOu(tenant, 'Y', a.id);
    await createOu(tenant, 'leaf', y.id);
    const response = await t.get(`/api/v1/tenants/${tenant.id}/ous/tree`);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual([
      {
        id: a.id,
        name: 'a',
        path: '/a',
        children: [
          {
            id: y.id,
            name: 'Y',
            path: '/a/Y',
            children: [{ id: expect.any(String), name: 'leaf', path: '/a/Y/leaf', children: [] }],
          },
          { id: expect.any(String), name: 'z', path: '/a/z', children: [] },
        ],
      },
      { id: b.id, name: 'B', path: '/B', children: [] },
    ]);
  });
});

describe('rename and move', () => {
  it('rewrites the paths of the whole subtree and of its users, three levels deep', async () => {
    const tenant = await createTenant(t);
    const l1 = await createOu(tenant, 'L1');
    const l2 = await createOu(tenant, 'L2', l1.id);
    const l3 = await createOu(tenant, 'L3', l2.id);
    const l4 = await createOu(tenant, 'L4', l3.id);
    const user = await insertUser(t, tenant.id, { ouId: l4.id });

    const renamed = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${l2.id}`, { name: 'Level2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.path).toBe('/L1/Level2');
    expect((await getOu(tenant, l4.id)).path).toBe('/L1/Level2/L3/L4');
    expect(await userOuPath(tenant, user.id)).toBe('/L1/Level2/L3/L4');
    const listed = await ouUsers(tenant, l4.id);
    expect(listed.data[0]).toMatchObject({ id: user.id, ou_path: '/L1/Level2/L3/L4' });

    const target = await createOu(tenant, 'Target');
    const moved = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${l2.id}`, { parent_id: target.id });
    expect(moved.body.data).toMatchObject({ parent_id: target.id, path: '/Target/Level2' });
    expect((await getOu(tenant, l4.id)).path).toBe('/Target/Level2/L3/L4');
    expect(await userOuPath(tenant, user.id)).toBe('/Target/Level2/L3/L4');
    expect((await getOu(tenant, l1.id)).child_ou_count).toBe(0);

    const toRoot = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${l3.id}`, { parent_id: null });
    expect(toRoot.body.data).toMatchObject({ parent_id: null, path: '/L3' });
    expect(await userOuPath(tenant, user.id)).toBe('/L3/L4');
    const depth = await t.database.db
      .selectFrom('ous')
      .select('depth')
      .where('id', '=', l4.id)
      .executeTakeFirstOrThrow();
    expect(depth.depth).toBe(1);

    const actions = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', l2.id)
      .orderBy('created_at')
      .execute();
    expect(actions.map((row) => row.action)).toEqual(['ou.created', 'ou.updated', 'ou.moved']);
  });

  it('keeps other OUs whose names start with the same characters out of a rename', async () => {
    const tenant = await createTenant(t);
    const a = await createOu(tenant, 'Team');
    const b = await createOu(tenant, 'Team_B');
    const bChild = await createOu(tenant, 'Child', b.id);
    await t.patch(`/api/v1/tenants/${tenant.id}/ous/${a.id}`, { name: 'Squad' });
    expect((await getOu(tenant, bChild.id)).path).toBe('/Team_B/Child');
  });

  it('refuses a move under itself or a descendant with 400 OU_CYCLE, changing nothing', async () => {
    const tenant = await createTenant(t);
    const top = await createOu(tenant, 'Top');
    const mid = await createOu(tenant, 'Mid', top.id);
    const low = await createOu(tenant, 'Low', mid.id);
    for (const parent of [top.id, low.id, mid.id]) {
      const response = await t.patch(
        `/api/v1/tenants/${tenant.id}/ous/${parent === mid.id ? mid.id : top.id}`,
        { name: 'Renamed too', parent_id: parent },
      );
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('OU_CYCLE');
    }
    expect((await getOu(tenant, top.id)).name).toBe('Top');
    expect((await getOu(tenant, low.id)).path).toBe('/Top/Mid/Low');
  });

  it('refuses a move or rename onto a sibling name (409), changing nothing', async () => {
    const tenant = await createTenant(t);
    const a = await createOu(tenant, 'A');
    const b = await createOu(tenant, 'B');
    const x1 = await createOu(tenant, 'X', a.id);
    const x2 = await createOu(tenant, 'x', b.id);
    const deep = await createOu(tenant, 'Deep', x2.id);
    const move = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${x2.id}`, { parent_id: a.id });
    expect(move.status).toBe(409);
    expect((await getOu(tenant, deep.id)).path).toBe('/B/x/Deep');
    const rename = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${b.id}`, { name: 'a' });
    expect(rename.status).toBe(409);
    expect((await getOu(tenant, deep.id)).path).toBe('/B/x/Deep');
    void x1;
  });

  it('updates description and custom_attributes without touching paths', async () => {
    const tenant = await createTenant(t);
    const ou = await createOu(tenant, 'Finance', undefined, { custom_attributes: { a: 1 } });
    const response = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${ou.id}`, {
      description: 'Money',
      custom_attributes: { b: 2 },
    });
    expect(response.body.data).toMatchObject({
      description: 'Money',
      custom_attributes: { b: 2 },
      path: '/Finance',
    });
    const cleared = await t.patch(`/api/v1/tenants/${tenant.id}/ous/${ou.id}`, {
      description: null,
      custom_attributes: null,
    });
    expect(cleared.body.data).toMatchObject({ description: null, custom_attributes: null });
  });

  it('never lets two concurrent moves close a cycle', async () => {
    const tenant = await createTenant(t);
    for (let round = 0; round < 5; round++) {
      const a = await createOu(tenant, `A${round}`);
      const b = await createOu(tenant, `B${round}`);
      const [first, second] = await Promise.all([
        t.patch(`/api/v1/tenants/${tenant.id}/ous/${a.id}`, { parent_id: b.id }),
        t.patch(`/api/v1/tenants/${tenant.id}/ous/${b.id}`, { parent_id: a.id }),
      ]);
      expect([first.status, second.status].sort()).toEqual([200, 400]);
      const rows = await t.database.db
        .selectFrom('ous')
        .select(['id', 'parent_id', 'path'])
        .where('id', 'in', [a.id, b.id])
        .execute();
      expect(rows.filter((row) => row.parent_id === null)).toHaveLength(1);
    }
  });
});

describe('delete strategies', () => {
  async function fixture() {
    const tenant = await createTenant(t);
    const parent = await createOu(tenant, 'Parent');
    const doomed = await createOu(tenant, 'Doomed', parent.id);
    const child = await createOu(tenant, 'Child', doomed.id);
    const grandchild = await createOu(tenant, 'Grandchild', child.id);
    const inDoomed = await insertUser(t, tenant.id, { ouId: doomed.id });
    const inGrandchild = await insertUser(t, tenant.id, { ouId: grandchild.id });
    return { tenant, parent, doomed, child, grandchild, inDoomed, inGrandchild };
  }
  const del = (tenantId: string, id: string, strategy?: string) =>
    t.delete(`/api/v1/tenants/${tenantId}/ous/${id}${strategy ? `?strategy=${strategy}` : ''}`);

  it('BLOCK (the default) refuses an OU with users or children and deletes an empty one', async () => {
    const { tenant, doomed, grandchild, inGrandchild } = await fixture();
    const blocked = await del(tenant.id, doomed.id);
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('OU_NOT_EMPTY');
    expect((await del(tenant.id, grandchild.id, 'BLOCK')).status).toBe(409);
    await t.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', inGrandchild.id)
      .execute();
    expect((await del(tenant.id, grandchild.id, 'BLOCK')).status).toBe(204);
    expect((await t.get(`/api/v1/tenants/${tenant.id}/ous/${grandchild.id}`)).status).toBe(404);
  });

  it('MOVE_UP moves users and child OUs to the parent, with their paths', async () => {
    const { tenant, parent, doomed, child, grandchild, inDoomed, inGrandchild } = await fixture();
    expect((await del(tenant.id, doomed.id, 'MOVE_UP')).status).toBe(204);
    expect(await userOuPath(tenant, inDoomed.id)).toBe('/Parent');
    expect(await userOuPath(tenant, inGrandchild.id)).toBe('/Parent/Child/Grandchild');
    expect(await getOu(tenant, child.id)).toMatchObject({ parent_id: parent.id, path: '/Parent/Child' });
    expect((await getOu(tenant, grandchild.id)).path).toBe('/Parent/Child/Grandchild');
    const event = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', doomed.id)
      .where('action', '=', 'ou.deleted')
      .executeTakeFirstOrThrow();
    expect(event.after).toMatchObject({ strategy: 'MOVE_UP', users_moved: 1, children_moved: 1 });
  });

  it('MOVE_UP at the root leaves users in no OU and makes children roots', async () => {
    const tenant = await createTenant(t);
    const root = await createOu(tenant, 'Root');
    const child = await createOu(tenant, 'Root', root.id);
    const user = await insertUser(t, tenant.id, { ouId: root.id });
    expect((await del(tenant.id, root.id, 'MOVE_UP')).status).toBe(204);
    expect(await userOuPath(tenant, user.id)).toBeNull();
    // A child may take the name of the OU it replaces.
    expect(await getOu(tenant, child.id)).toMatchObject({ parent_id: null, path: '/Root' });
  });

  it('MOVE_UP that would clash with a sibling name is refused whole (409)', async () => {
    const { tenant, parent, doomed, inDoomed } = await fixture();
    await createOu(tenant, 'Child', parent.id);
    const response = await del(tenant.id, doomed.id, 'MOVE_UP');
    expect(response.status).toBe(409);
    expect((await getOu(tenant, doomed.id)).name).toBe('Doomed');
    expect(await userOuPath(tenant, inDoomed.id)).toBe('/Parent/Doomed');
  });

  it("CASCADE deletes the whole subtree and moves all its users to the deleted OU's parent", async () => {
    const { tenant, parent, doomed, child, grandchild, inDoomed, inGrandchild } = await fixture();
    expect((await del(tenant.id, doomed.id, 'CASCADE')).status).toBe(204);
    for (const id of [doomed.id, child.id, grandchild.id]) {
      expect((await t.get(`/api/v1/tenants/${tenant.id}/ous/${id}`)).status).toBe(404);
    }
    expect(await userOuPath(tenant, inDoomed.id)).toBe('/Parent');
    expect(await userOuPath(tenant, inGrandchild.id)).toBe('/Parent');
    expect((await getOu(tenant, parent.id)).user_count).toBe(2);
  });

  it('answers 422 for an unknown strategy and 404 for unknown OUs', async () => {
    const { tenant, doomed } = await fixture();
    const response = await del(tenant.id, doomed.id, 'SHRED');
    expect(response.status).toBe(422);
    expect(response.body.detail[0]).toMatchObject({ loc: ['query', 'strategy'], type: 'enum' });
    expect((await del(tenant.id, 'ou_00000000000000000000')).status).toBe(404);
    expect((await del(tenant.id, 'nope')).status).toBe(404);
  });
});

describe('users of an OU', () => {
  it('lists direct users, or the whole subtree with include_nested, paginated with exact totals', async () => {
    const tenant = await createTenant(t);
    const top = await createOu(tenant, 'Top');
    const sub = await createOu(tenant, 'Sub', top.id);
    const subsub = await createOu(tenant, 'SubSub', sub.id);
    const sibling = await createOu(tenant, 'Top2');
    await insertUser(t, tenant.id, { ouId: top.id });
    for (let i = 0; i < 3; i++) await insertUser(t, tenant.id, { ouId: sub.id });
    await insertUser(t, tenant.id, { ouId: subsub.id });
    await insertUser(t, tenant.id, { ouId: subsub.id, deleted: true });
    await insertUser(t, tenant.id, { ouId: sibling.id });

    const direct = await ouUsers(tenant, top.id);
    expect(direct.pagination.total_items).toBe(1);
    const nested = await ouUsers(tenant, top.id, '?include_nested=true&per_page=2');
    expect(nested.pagination).toEqual({ page: 1, per_page: 2, total_items: 5, total_pages: 3 });
    expect(nested.data[0]).toEqual({
      id: expect.stringMatching(/^usr_/),
      email: expect.any(String),
      display_name: null,
      status: 'ACTIVE',
      ou_path: expect.stringMatching(/^\/Top/),
      identity_source: 'LOCAL',
      mfa_enabled: false,
      last_login_at: null,
    });
    const lastPage = await ouUsers(tenant, top.id, '?include_nested=true&per_page=2&page=3');
    expect(lastPage.data).toHaveLength(1);
    const bad = await t.get(`/api/v1/tenants/${tenant.id}/ous/${top.id}/users?include_nested=maybe`);
    expect(bad.status).toBe(422);
  });
});

describe('tenancy and access', () => {
  it("answers 404 for another tenant's OU and for a tenant outside the caller's reach", async () => {
    const tenantA = await createTenant(t);
    const tenantB = await createTenant(t);
    const ouA = await createOu(tenantA, 'Secret');
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantB.id}/ous/${ouA.id}`, undefined],
      ['PATCH', `/api/v1/tenants/${tenantB.id}/ous/${ouA.id}`, { name: 'x' }],
      ['DELETE', `/api/v1/tenants/${tenantB.id}/ous/${ouA.id}`, undefined],
      ['GET', `/api/v1/tenants/${tenantB.id}/ous/${ouA.id}/users`, undefined],
    ] as const) {
      expect((await t.request({ method, url, token: t.token, body })).status, `${method} ${url}`).toBe(404);
    }
    const { token: adminB } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB });
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantA.id}/ous`, undefined],
      ['GET', `/api/v1/tenants/${tenantA.id}/ous/tree`, undefined],
      ['POST', `/api/v1/tenants/${tenantA.id}/ous`, { name: 'x' }],
      ['GET', `/api/v1/tenants/${tenantA.id}/ous/${ouA.id}`, undefined],
    ] as const) {
      expect((await t.request({ method, url, token: adminB, body })).status, `${method} ${url}`).toBe(404);
    }
    const { token: adminA } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantA });
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/api/v1/tenants/${tenantA.id}/ous`,
          token: adminA,
          body: { name: 'Mine' },
        })
      ).status,
    ).toBe(201);
    expect((await t.get('/api/v1/tenants/tnt_00000000000000000000/ous')).status).toBe(404);
  });

  it('lets applications with users:read or groups:read read OUs but not write them', async () => {
    const tenant = await createTenant(t);
    const ou = await createOu(tenant, 'Readable');
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      allowedScopes: ['users:read'],
    });
    const reader = applicationToken(t, app, ['users:read']);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/ous/${ou.id}`, token: reader }))
        .status,
    ).toBe(200);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/ous/tree`, token: reader }))
        .status,
    ).toBe(200);
    const write = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/ous`,
      token: reader,
      body: { name: 'No' },
    });
    expect(write.status).toBe(403);
    const other = await createTenant(t);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${other.id}/ous`, token: reader })).status,
    ).toBe(404);
    const none = applicationToken(t, app, []);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/ous`, token: none })).status,
    ).toBe(403);
    expect((await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/ous` })).status).toBe(401);
  });
});
