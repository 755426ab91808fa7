import type { Scenario } from '../scenario.js';
import { scenario as usersGet } from './users-get.js';

/**
 * Issue 17: `users.get` exactly (the same 1,000 users in turn, the same token) at ONE connection,
 * for the latency target "p99 <= 2 ms at one connection"; its reference is users.get's SQL one
 * query at a time. With `--peers` its rate is also read against slapd's lookups by DN from one
 * client (bench/peers.ts).
 */
export const scenario: Scenario = {
  name: 'users.get-one',
  description: 'GET /api/v1/tenants/{id}/users/{user_id}, one connection',
  connections: 1,
  reference: (dataset) => {
    const reference = usersGet.reference(dataset);
    if (reference.kind !== 'sql') return reference;
    return {
      kind: 'sql',
      query: {
        ...reference.query,
        name: 'sql:users.get-one',
        description: `${reference.query.description}, one at a time`,
        concurrency: 1,
      },
    };
  },
  limits: { p99Ms: 2 },
  prepare: (context) => usersGet.prepare(context),
};
