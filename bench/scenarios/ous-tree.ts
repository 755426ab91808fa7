import type { Scenario } from '../scenario.js';

/**
 * Issue 4: `GET /api/v1/tenants/{id}/ous/tree` (the whole forest, children sorted by name), against
 * the query the route makes (ous.repository.ts `all`) as plain SQL. Target: p99 <= 50 ms with
 * 5,000 OUs 6 deep (the large size has 5,460).
 */
export const scenario: Scenario = {
  name: 'ous.tree',
  description: 'GET /api/v1/tenants/{id}/ous/tree',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:ous.tree',
      description: 'every OU of the tenant sorted by name, as plain SQL',
      sql: 'select id, parent_id, name, path from ous where tenant_id = $1 order by lower(name), name, id',
      params: dataset.tenants.map((tenant) => [tenant.id]),
    },
  }),
  limits: { p99Ms: 50 },
  async prepare({ dataset, token }) {
    const bearer = await token();
    return {
      method: 'GET',
      paths: dataset.tenants.map((tenant) => `/api/v1/tenants/${tenant.id}/ous/tree`),
      headers: { authorization: `Bearer ${bearer}` },
      expectedStatus: 200,
    };
  },
};
