import type { DatasetPlan, OuPlan, TenantPlan } from '../dataset.js';
import { call, measureOperations } from '../drive.js';
import type { Scenario } from '../scenario.js';

interface Move {
  tenantId: string;
  ou: OuPlan;
  /** A root OU without a child of the same name: the subtree moves under it and back to the root. */
  target: OuPlan;
}

/** The first root OU of tenant 0 (1,365 OUs at the large size) and where it goes. */
function move(dataset: DatasetPlan): Move {
  const tenant = dataset.tenants[0] as TenantPlan;
  const ou = tenant.ous[0] as OuPlan;
  const roots = tenant.ous.filter((candidate) => candidate.depth === 0 && candidate.id !== ou.id);
  const target =
    roots.find((root) => !tenant.ous.some((child) => child.parentId === root.id && child.name === ou.name)) ??
    (roots[0] as OuPlan);
  return { tenantId: tenant.id, ou, target };
}

/** Moves measured: there and back, so the tree ends as seeded. */
const MOVES = 10;

/**
 * Issue 4: moving a whole subtree (the first root OU with everything below it: 1,365 OUs at the
 * large size) with one `PATCH .../ous/{id}` {parent_id}, one request at a time, alternately under
 * another root and back to the root. Against the same move as one plain SQL UPDATE (parent and
 * every path and depth of the subtree, the statement ous.repository.ts `rewriteSubtreePaths`
 * runs), rolled back, one at a time. Target: <= 500 ms each.
 */
export const scenario: Scenario = {
  name: 'ous.move-subtree',
  description: 'PATCH /api/v1/tenants/{id}/ous/{root} {parent_id} (a whole subtree), one at a time',
  reference: (dataset) => {
    const { tenantId, ou, target } = move(dataset);
    const newPath = `${target.path}${ou.path}`;
    return {
      kind: 'sql',
      query: {
        name: 'sql:ous.move-subtree',
        description: 'the subtree move as one UPDATE, one at a time',
        sql: `update ous set parent_id = case when id = $2 then $3 else parent_id end,
  path = $4 || substr(path, length($5) + 1), depth = depth + 1, updated_at = now()
where tenant_id = $1 and (path = $5 or path like $6)`,
        params: [[tenantId, ou.id, target.id, newPath, ou.path, `${ou.path}/%`]],
        concurrency: 1,
        rollback: true,
      },
    };
  },
  limits: { p99Ms: 500 },
  async prepare({ dataset, token }) {
    const { tenantId, ou, target } = move(dataset);
    return {
      method: 'PATCH',
      paths: [`/api/v1/tenants/${tenantId}/ous/${ou.id}`],
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
      custom: { targetId: target.id },
    };
  },
  async drive({ baseUrl, plan, amount }) {
    const { targetId } = plan.custom as { targetId: string };
    const count = Math.min(amount ?? MOVES, MOVES);
    return measureOperations({ concurrency: 1, seconds: 3_600, amount: count - (count % 2) || 2 }, (index) =>
      call(`${baseUrl}${plan.paths[0]}`, {
        method: 'PATCH',
        headers: plan.headers ?? {},
        body: { parent_id: index % 2 === 0 ? targetId : null },
        expect: 200,
      }).then(() => {}),
    );
  },
};
