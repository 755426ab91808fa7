import { type DatasetPlan, generateUsers, type TenantPlan } from '../dataset.js';
import type { Scenario } from '../scenario.js';
import { LIST_QUERY, LIST_SQL } from './users-list.js';

const PER_PAGE = 20;
/** The page the issue names; smaller tenants use their last full page. */
const DEEP_PAGE = 1_000;

function deepPage(tenant: TenantPlan): number {
  const active = Math.floor(tenant.userCount * 0.95);
  return Math.max(1, Math.min(DEEP_PAGE, Math.floor(active / PER_PAGE)));
}

/** The keyset (email, id) ending the page before the deep one, by JavaScript ordering: close to it, same cost. */
function keyset(dataset: DatasetPlan): [string, string, string] {
  const tenant = dataset.tenants[0] as TenantPlan;
  const active = [...generateUsers(dataset, tenant)]
    .filter((user) => user.status === 'ACTIVE')
    .map((user) => [user.email, user.id] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const at = active[Math.max(0, Math.min(active.length - 1, (deepPage(tenant) - 1) * PER_PAGE - 1))];
  return [tenant.id, at?.[0] ?? '', at?.[1] ?? ''];
}

/**
 * Issue 5: page 1,000 (20 a page) of the same list as users.list, reached by the keyset `cursor`,
 * must cost what page 1 costs (compare with users.list). The cursor is found by walking the pages
 * before the load. Against the same keyset query with the exact total as plain SQL.
 * Target: p99 <= 20 ms, as the first page.
 */
export const scenario: Scenario = {
  name: 'users.list-cursor',
  description: `GET /api/v1/tenants/{id}/users?${LIST_QUERY}&cursor=... (page 1,000; smaller tenants: last full page)`,
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:users.list-cursor',
      description: 'the page after a keyset (email, id) with the exact total, as plain SQL',
      sql: `${LIST_SQL} and (u.email > $2 or (u.email = $2 and u.id > $3) or u.email is null)
order by u.email asc, u.id asc limit 20`,
      params: [keyset(dataset)],
    },
  }),
  limits: { p99Ms: 20 },
  async prepare({ baseUrl, dataset, token }) {
    const bearer = await token();
    const tenant = dataset.tenants[0] as TenantPlan;
    const base = `/api/v1/tenants/${tenant.id}/users?${LIST_QUERY}`;
    let path = base;
    for (let page = 1; page < deepPage(tenant); page++) {
      const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
      const body = (await response.json()) as { pagination?: { next_cursor?: string | null } };
      const cursor = body.pagination?.next_cursor;
      if (response.status !== 200 || !cursor) break;
      path = `${base}&cursor=${encodeURIComponent(cursor)}`;
    }
    return {
      method: 'GET',
      paths: [path],
      headers: { authorization: `Bearer ${bearer}` },
      expectedStatus: 200,
    };
  },
};
