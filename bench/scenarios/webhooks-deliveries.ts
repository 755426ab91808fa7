import type { Scenario } from '../scenario.js';
import { freePort } from '../server.js';
import { createEndpoint, createUsersUntilDelivered } from '../webhooks.js';

const PREFIX = 'bench-delivery-';

interface Custom {
  port: number;
  secret: string;
  endpointId: string;
}

/**
 * Issue 14: webhook deliveries per second, end to end, to a local receiver (bench/receiver.ts:
 * node:http in the load process answering 204, every Standard Webhooks signature checked, counted
 * once per event id). One enabled endpoint of the bench's write tenant subscribes to
 * `user.created`. The driver writes N changes (users created through the API, 50 in flight, for
 * --duration seconds or --amount users) and then waits until the receiver has all N.
 *
 * The table's rate is **N / (first write → N-th signed delivery received)**: the rate at which
 * changes go from the API through the outbox, the fan-out and the dispatcher (default 16 sends in
 * flight) to the receiver, on one server that also takes the writes. p50/p99 are event → receipt
 * (the event's `created_at` to its arrival: queueing included, so they grow with the backlog).
 * Further figures: the writes' rate, the deliveries received while the writes ran, and the
 * **drain rate** once they stopped (deliveries alone, no writes competing for the server's CPU).
 * Against the by-key SELECT (a scale only: each delivery is a handful of single-row statements).
 */
export const scenario: Scenario = {
  name: 'webhooks.deliveries',
  description: 'signed webhook deliveries/s to a local receiver: N users created, until all N are received',
  reference: () => ({ kind: 'machine', name: 'sql-select-by-pk' }),
  async prepare({ baseUrl, dataset, token }) {
    const bearer = await token();
    const endpoint = await createEndpoint(baseUrl, bearer, {
      port: await freePort(),
      tenantId: dataset.writeTenant.id,
      events: ['user.created'],
      description: 'bench webhooks.deliveries',
    });
    const custom: Custom = { port: endpoint.port, secret: endpoint.secret, endpointId: endpoint.id };
    return {
      method: 'POST',
      paths: [`/api/v1/tenants/${dataset.writeTenant.id}/users`],
      headers: { authorization: `Bearer ${bearer}` },
      expectedStatus: 201,
      custom,
    };
  },
  async drive({ baseUrl, plan, amount, connections, durationSeconds }) {
    const custom = plan.custom as Custom;
    const { writes, started, writesEnded, duringWrites, missing, receiver } = await createUsersUntilDelivered(
      {
        baseUrl,
        path: plan.paths[0] as string,
        headers: plan.headers ?? {},
        endpoint: { id: custom.endpointId, secret: custom.secret, port: custom.port },
        prefix: PREFIX,
        concurrency: connections,
        seconds: durationSeconds,
        amount,
      },
    );
    const produced = writes.operations;
    const last = receiver.lastAt ?? writesEnded;
    const seconds = (last - started) / 1000;
    const drained = receiver.received - duringWrites;
    const drainSeconds = Math.max(0, last - writesEnded) / 1000;
    const latency = receiver.latencies.summarize(receiver.received, seconds);
    return {
      ...latency,
      unexpected: writes.unexpected,
      errors: writes.errors + missing,
      timeouts: 0,
      statusCodes: { delivered: receiver.received, ...writes.statusCodes },
      figures: {
        'changes written': produced,
        'writes/s': writes.rate,
        'delivered during the writes': duringWrites,
        'deliveries/s during the writes': duringWrites / ((writesEnded - started) / 1000),
        'delivered after the writes': drained,
        'drain deliveries/s': drainSeconds > 0 ? drained / drainSeconds : 0,
        'not delivered': missing,
        duplicates: receiver.duplicates,
        'bad signatures': receiver.badSignatures,
      },
    };
  },
};
