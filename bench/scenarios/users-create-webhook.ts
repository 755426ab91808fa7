import type { Scenario } from '../scenario.js';
import { freePort } from '../server.js';
import { createEndpoint, createUsersUntilDelivered } from '../webhooks.js';
import { scenario as usersCreate } from './users-create.js';

const PREFIX = 'bench-hook-';

interface Custom {
  count: number;
  port: number;
  secret: string;
  endpointId: string;
}

/**
 * Issue 14: the added cost of one subscribed endpoint per write. Exactly users.create (the same
 * number of users, 50 in flight, into the bench's write tenant, against the same SQL reference)
 * while one enabled endpoint of that tenant subscribes to `user.*` and points at a local receiver
 * (bench/receiver.ts: node:http in the load process, 204, signatures checked). Every write then
 * also costs its share of the fan-out (a delivery row) and the delivery (claim, signed POST,
 * outcome) on the server while the writes run. The table's rate is the writes'; the report prints
 * it beside users.create ("with and without"). After the writes the driver waits for every
 * delivery (figures: deliveries, how long after the last write the last one came) and deletes the
 * endpoint.
 */
export const scenario: Scenario = {
  name: 'users.create-webhook',
  description: 'users.create with one enabled endpoint subscribed to user.* on the tenant (local receiver)',
  reference: usersCreate.reference,
  async prepare(context) {
    const plan = await usersCreate.prepare(context);
    const bearer = plan.headers?.authorization?.replace(/^Bearer /, '') ?? (await context.token());
    const endpoint = await createEndpoint(context.baseUrl, bearer, {
      port: await freePort(),
      tenantId: context.dataset.writeTenant.id,
      events: ['user.*'],
      description: 'bench users.create-webhook',
    });
    const { count } = plan.custom as { count: number };
    const custom: Custom = { count, port: endpoint.port, secret: endpoint.secret, endpointId: endpoint.id };
    return { ...plan, custom };
  },
  async drive({ baseUrl, plan, amount, connections }) {
    const custom = plan.custom as Custom;
    const { writes, writesEnded, duringWrites, missing, receiver } = await createUsersUntilDelivered({
      baseUrl,
      path: plan.paths[0] as string,
      headers: plan.headers ?? {},
      endpoint: { id: custom.endpointId, secret: custom.secret, port: custom.port },
      prefix: PREFIX,
      concurrency: connections,
      seconds: 3_600,
      amount: amount ?? custom.count,
    });
    return {
      ...writes,
      errors: writes.errors + missing,
      figures: {
        deliveries: receiver.received,
        'delivered during the writes': duringWrites,
        'last delivery s after the last write':
          Math.max(0, (receiver.lastAt ?? writesEnded) - writesEnded) / 1000,
        'not delivered': missing,
        duplicates: receiver.duplicates,
        'bad signatures': receiver.badSignatures,
      },
    };
  },
};
