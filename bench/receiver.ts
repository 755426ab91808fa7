import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { LatencyRecorder } from './stats.js';

/**
 * A local webhook receiver for the webhook scenarios (issue 14): node:http on the loopback
 * interface, in the load process. It answers every POST 204, checks each delivery's Standard
 * Webhooks signature (`webhook-signature: v1,<base64 HMAC-SHA256(secret, "{id}.{ts}.{body}")>`)
 * with the endpoint's secret, and counts the distinct events (`webhook-id`) it received, with the
 * time each one arrived and how long after its event's `created_at` (same machine, same clock).
 */
export interface Receiver {
  url: string;
  /** Distinct events received with a valid signature and accepted by `accept`. */
  readonly received: number;
  /** Every POST (duplicates, bad signatures and events `accept` refused included). */
  readonly requests: number;
  readonly duplicates: number;
  readonly badSignatures: number;
  /** performance.now() of the first and the latest accepted event (null before the first). */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** Accepted events that arrived at or after `since` (performance.now()). */
  receivedSince(since: number): number;
  /** Event created_at → arrival, ms, of the accepted events (optionally only those arriving after `since`). */
  latencies: LatencyRecorder;
  /** Resolves when `count` events were accepted, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  port: number;
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string;
  /** Which deliveries count (given the parsed payload); default all. */
  accept?: (payload: { type?: string; data?: Record<string, unknown> }) => boolean;
  /** Only record the latency of events arriving after this moment (performance.now()). */
  latencyFrom?: () => number;
}

function signatureValid(
  secret: Buffer,
  headers: Record<string, string | string[] | undefined>,
  body: string,
) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest();
  return signature.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const secret = Buffer.from(options.secret.replace(/^whsec_/, ''), 'base64');
  const seen = new Set<string>();
  const arrivals: number[] = [];
  const latencies = new LatencyRecorder();
  let requests = 0;
  let duplicates = 0;
  let badSignatures = 0;
  let waiters: { count: number; resolve: () => void }[] = [];

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      response.writeHead(204).end();
      if (!signatureValid(secret, request.headers, body)) {
        badSignatures++;
        return;
      }
      const id = request.headers['webhook-id'] as string;
      if (seen.has(id)) {
        duplicates++;
        return;
      }
      seen.add(id);
      const payload = JSON.parse(body) as {
        type?: string;
        created_at?: string;
        data?: Record<string, unknown>;
      };
      if (options.accept && !options.accept(payload)) return;
      const now = performance.now();
      arrivals.push(now);
      if (payload.created_at && (!options.latencyFrom || now >= options.latencyFrom())) {
        latencies.add(Math.max(0, Date.now() - Date.parse(payload.created_at)));
      }
      if (waiters.length > 0) {
        const done = waiters.filter((waiter) => arrivals.length >= waiter.count);
        waiters = waiters.filter((waiter) => arrivals.length < waiter.count);
        for (const waiter of done) waiter.resolve();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${options.port}/hook`,
    get received() {
      return arrivals.length;
    },
    get requests() {
      return requests;
    },
    get duplicates() {
      return duplicates;
    },
    get badSignatures() {
      return badSignatures;
    },
    get firstAt() {
      return arrivals[0] ?? null;
    },
    get lastAt() {
      return arrivals.at(-1) ?? null;
    },
    receivedSince(since) {
      let count = 0;
      for (let i = arrivals.length - 1; i >= 0 && (arrivals[i] as number) >= since; i--) count++;
      return count;
    },
    latencies,
    waitFor(count, timeoutMs) {
      if (arrivals.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter.resolve !== done);
          reject(new Error(`the receiver got ${arrivals.length} of ${count} deliveries in ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ count, resolve: done });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
