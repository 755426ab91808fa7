import { call, measureOperations } from './drive.js';
import { type Receiver, startReceiver } from './receiver.js';

/**
 * The webhook endpoint of a webhook scenario (issue 14), made through the API in the scenario's
 * `prepare` and removed by its driver once the measurement is over (a soft delete: nothing more is
 * delivered, pending deliveries are dropped), so that later scenarios run without it.
 */
export interface BenchEndpoint {
  id: string;
  secret: string;
  port: number;
}

export async function createEndpoint(
  baseUrl: string,
  bearer: string,
  input: { port: number; tenantId: string; events: string[]; description: string },
): Promise<BenchEndpoint> {
  const created = (await call(`${baseUrl}/api/v1/admin/webhooks/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}` },
    body: {
      url: `http://127.0.0.1:${input.port}/hook`,
      description: input.description,
      events: input.events,
      tenant_id: input.tenantId,
    },
    expect: 201,
  })) as { data: { id: string; secret: string } };
  return { id: created.data.id, secret: created.data.secret, port: input.port };
}

export async function deleteEndpoint(baseUrl: string, bearer: string, id: string): Promise<void> {
  await call(`${baseUrl}/api/v1/admin/webhooks/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${bearer}` },
    expect: 204,
  });
}

/** How long a driver waits, after the last write, for the receiver to have every delivery. */
const DRAIN_TIMEOUT_MS = 300_000;

/** What a webhook driver learns from `createUsersUntilDelivered`. */
export interface DeliveredWrites {
  writes: Awaited<ReturnType<typeof measureOperations>>;
  /** performance.now() when the writes began and ended. */
  started: number;
  writesEnded: number;
  /** Deliveries received while the writes ran, and those never received. */
  duringWrites: number;
  missing: number;
  /** The (closed) receiver: counts, last arrival, latencies. */
  receiver: Receiver;
}

/**
 * The drive of the webhook scenarios: starts the endpoint's receiver, creates users through the
 * API (emails starting with `prefix`, counted by the receiver as `user.created` deliveries), waits
 * until every one has been delivered (or DRAIN_TIMEOUT_MS passed), then deletes the endpoint so
 * that later scenarios run without it, and closes the receiver.
 */
export async function createUsersUntilDelivered(options: {
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
  endpoint: BenchEndpoint;
  prefix: string;
  concurrency: number;
  seconds: number;
  amount: number | null;
}): Promise<DeliveredWrites> {
  const { baseUrl, headers, endpoint, prefix } = options;
  const receiver = await startReceiver({
    port: endpoint.port,
    secret: endpoint.secret,
    accept: (payload) =>
      payload.type === 'user.created' && String(payload.data?.email ?? '').startsWith(prefix),
  });
  try {
    const started = performance.now();
    const writes = await measureOperations(
      { concurrency: options.concurrency, seconds: options.seconds, amount: options.amount },
      (index) =>
        call(`${baseUrl}${options.path}`, {
          method: 'POST',
          headers,
          body: { email: `${prefix}${index + 1}@bench-writes.bench.example`, send_welcome_email: false },
          expect: 201,
        }).then(() => {}),
    );
    const writesEnded = performance.now();
    const duringWrites = receiver.received;
    let missing = 0;
    try {
      await receiver.waitFor(writes.operations, DRAIN_TIMEOUT_MS);
    } catch {
      missing = writes.operations - receiver.received;
    }
    return { writes, started, writesEnded, duringWrites, missing, receiver };
  } finally {
    await deleteEndpoint(baseUrl, headers.authorization?.replace(/^Bearer /, '') ?? '', endpoint.id);
    await receiver.close();
  }
}
