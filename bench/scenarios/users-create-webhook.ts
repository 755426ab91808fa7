import { call, measureOperations } from '../drive.js';
import { startReceiver } from '../receiver.js';
import type { Scenario } from '../scenario.js';
import { freePort } from '../server.js';
import { createEndpoint, deleteEndpoint } from '../webhooks.js';
import { scenario as usersCreate } from './users-create.js';

const PREFIX = 'bench-hook-';
const email = (index: number) => `${PREFIX}${index + 1}@bench-writes.bench.example`;
/** How long the driver waits, after the last write, for the receiver to have every delivery. */
const DRAIN_TIMEOUT_MS = 300_000;

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
    const headers = plan.headers ?? {};
    const receiver = await startReceiver({
      port: custom.port,
      secret: custom.secret,
      accept: (payload) =>
        payload.type === 'user.created' && String(payload.data?.email ?? '').startsWith(PREFIX),
    });
    try {
      const result = await measureOperations(
        { concurrency: connections, seconds: 3_600, amount: amount ?? custom.count },
        (index) =>
          call(`${baseUrl}${plan.paths[0]}`, {
            method: 'POST',
            headers,
            body: { email: email(index), send_welcome_email: false },
            expect: 201,
          }).then(() => {}),
      );
      const writesEnded = performance.now();
      const duringWrites = receiver.received;
      let missing = 0;
      try {
        await receiver.waitFor(result.operations, DRAIN_TIMEOUT_MS);
      } catch {
        missing = result.operations - receiver.received;
      }
      return {
        ...result,
        errors: result.errors + missing,
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
    } finally {
      await deleteEndpoint(baseUrl, headers.authorization?.replace(/^Bearer /, '') ?? '', custom.endpointId);
      await receiver.close();
    }
  },
};
