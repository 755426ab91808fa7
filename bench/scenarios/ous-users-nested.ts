import type { DatasetPlan } from '../dataset.js';
import type { Scenario } from '../scenario.js';

/** The first root OU of each tenant: a quarter of the tree (1,365 OUs, ~22,500 users at the large size). */
function roots(dataset: DatasetPlan) {
  return dataset.tenants.map((tenant) => ({ tenant, ou: tenant.ous[0] }));
}

/**
 * Issue 4: the first page (20) of the users of an OU's whole subtree with the exact total,
 * `GET .../ous/{root}/users?include_nested=true`, against the page and count queries of
 * ous.service.ts `users` in one plain SQL statement. Target: p99 <= 10 ms.
 */
export const scenario: Scenario = {
  name: 'ous.users-nested',
  description: 'GET /api/v1/tenants/{id}/ous/{root}/users?include_nested=true&per_page=20',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:ous.users-nested',
      description: 'first 20 users of the subtree, newest first, with the exact total, as plain SQL',
      sql: `with subtree as (select id from ous where tenant_id = $1 and (path = $2 or path like $3))
select u.id, u.email, u.display_name, u.status, o.path as ou_path, u.identity_source, u.mfa_enabled,
  u.last_login_at, u.created_at,
  (select count(*)::int from users c where c.tenant_id = $1 and c.deleted_at is null
     and c.ou_id in (select id from subtree)) as total
from users u left join ous o on o.tenant_id = u.tenant_id and o.id = u.ou_id
where u.tenant_id = $1 and u.deleted_at is null and u.ou_id in (select id from subtree)
order by u.created_at desc, u.id desc limit 20`,
      params: roots(dataset)
        .filter(({ ou }) => ou)
        .map(({ tenant, ou }) => [tenant.id, ou?.path, `${ou?.path}/%`]),
    },
  }),
  limits: { p99Ms: 10 },
  async prepare({ dataset, token }) {
    const bearer = await token();
    return {
      method: 'GET',
      paths: roots(dataset).map(
        ({ tenant, ou }) =>
          `/api/v1/tenants/${tenant.id}/ous/${ou?.id}/users?include_nested=true&per_page=20`,
      ),
      headers: { authorization: `Bearer ${bearer}` },
      expectedStatus: 200,
    };
  },
};
