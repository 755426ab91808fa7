import type { TenantPlan } from '../dataset.js';
import { call, measureOperations } from '../drive.js';
import type { Scenario } from '../scenario.js';

const LIMIT = 1_000;

interface FeedPage {
  data: { events: unknown[]; next_cursor: string | null; has_more: boolean };
}

/**
 * Issue 14: change-feed events per second. One consumer reads the first tenant's feed
 * (`GET /api/v1/tenants/{id}/events?limit=1000`, 50,000 events seeded at the default size:
 * bench/seed.ts), one page a request, passing each answer's `next_cursor` as `after`; at the end
 * of the feed it starts over from the oldest event. The table's rate is pages (requests) per
 * second, beside the same page query as plain SQL (one at a time, as the one consumer); the
 * events read per second are in the further figures.
 */
export const scenario: Scenario = {
  name: 'events.feed',
  description: 'GET /api/v1/tenants/{id}/events?limit=1000&after=..., one consumer keeping its cursor',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:events.feed',
      description: 'a page of 1,000 committed events of the tenant in (txid, seq) order',
      sql: `select seq::int8 as seq, txid::text as txid, id, type, tenant_id, partner_id, resource_type, resource_id,
  actor_type, actor_id, data, request_id, created_at
from event_outbox
where txid < pg_snapshot_xmin(pg_current_snapshot()) and tenant_id = $1
order by txid, seq
limit ${LIMIT}`,
      params: [[(dataset.tenants[0] as TenantPlan).id]],
      concurrency: 1,
    },
  }),
  async prepare({ dataset, token }) {
    return {
      method: 'GET',
      paths: [`/api/v1/tenants/${(dataset.tenants[0] as TenantPlan).id}/events?limit=${LIMIT}`],
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
    };
  },
  async drive({ baseUrl, plan, amount, durationSeconds, warmupSeconds }) {
    let cursor: string | null = null;
    let events = 0;
    const read = async () => {
      const after: string = cursor ? `&after=${encodeURIComponent(cursor)}` : '';
      const page = (await call(`${baseUrl}${plan.paths[0]}${after}`, {
        method: 'GET',
        headers: plan.headers ?? {},
        expect: 200,
      })) as FeedPage;
      events += page.data.events.length;
      cursor = page.data.has_more ? page.data.next_cursor : null;
    };
    if (warmupSeconds > 0 && amount === null) {
      await measureOperations({ concurrency: 1, seconds: warmupSeconds, amount: null, warmup: true }, read);
      cursor = null;
    }
    events = 0;
    const result = await measureOperations({ concurrency: 1, seconds: durationSeconds, amount }, read);
    return {
      ...result,
      figures: { events, 'events/s': result.seconds > 0 ? events / result.seconds : 0 },
    };
  },
};
