import { sql } from 'kysely';
import { expect } from 'vitest';
import { groupClosureDrift } from '../../src/modules/groups/index.js';
import { insertUser, type Tenant } from './factories.js';
import type { TestAppHandle } from './test-app.js';

/** A group as the Groups API returns it (the fields the tests read). */
export interface Group {
  id: string;
  name: string;
  parent_group_id: string | null;
}

/** The Groups API as the tests/groups*.test.ts files call it, on the app of `t` with its platform token. */
export function groupsApi(t: TestAppHandle) {
  const tenantUrl = (tenant: Tenant, rest = '') => `/api/v1/tenants/${tenant.id}/groups${rest}`;

  async function createGroup(
    tenant: Tenant,
    name: string,
    extra: Record<string, unknown> = {},
  ): Promise<Group> {
    const response = await t.post(tenantUrl(tenant), { name, ...extra });
    if (response.status !== 201)
      throw new Error(`createGroup ${name}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.data;
  }

  const getGroup = async (tenant: Tenant, id: string, query = '') =>
    (await t.get(tenantUrl(tenant, `/${id}${query}`))).body.data;

  const putMembers = (tenant: Tenant, id: string, body: unknown, as = t.token) =>
    t.request({ method: 'PUT', url: tenantUrl(tenant, `/${id}/members`), token: as, body });

  const patchGroup = (tenant: Tenant, id: string, body: unknown) =>
    t.patch(tenantUrl(tenant, `/${id}`), body);

  const nest = (parentId: string, childIds: string[]) =>
    t.post(`/api/v1/admin/groups/${parentId}/nested-groups`, { group_ids: childIds });

  const deleteGroup = (tenant: Tenant, id: string, strategy?: string) =>
    t.delete(tenantUrl(tenant, `/${id}${strategy ? `?strategy=${strategy}` : ''}`));

  async function effective(groupId: string, query = '?per_page=100') {
    const response = await t.get(`/api/v1/admin/groups/${groupId}/effective-members${query}`);
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

  return {
    tenantUrl,
    createGroup,
    getGroup,
    putMembers,
    patchGroup,
    nest,
    deleteGroup,
    effective,
    effectiveMap,
    users,
    auditEvents,
    expectNoDrift,
  };
}
