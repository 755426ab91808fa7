import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * Webhook settings for tests that deliver to a receiver on loopback: private addresses allowed,
 * retries after 40 ms (so a retried delivery is seen within a test), endpoints failing after 3.
 */
export const LOOPBACK_WEBHOOKS = {
  allowPrivate: true,
  timeoutMs: 2000,
  retryBaseMs: 40,
  retryWindowMs: 600_000,
  failingAfter: 3,
  concurrency: 16,
};

/** Webhook settings as deployed (private addresses refused), for the SSRF guard's tests. */
export const GUARDED_WEBHOOKS = {
  allowPrivate: false,
  timeoutMs: 2000,
  retryBaseMs: 60_000,
  retryWindowMs: 3_600_000,
  failingAfter: 5,
  concurrency: 4,
};

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the payload field by field.
  json: any;
  at: number;
}

/** What the receiver answers a request: a status, or `hang` (never answers: a timeout). */
export type Answer = number | 'hang';

/**
 * A webhook receiver on 127.0.0.1 for tests: records every request, answers as `answer` says
 * (default 204), and lets a test wait until what it got satisfies a condition (no sleeping).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  answer: (request: Received) => Answer = () => 204;
  #server: Server | null = null;
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  #hanging: ServerResponse[] = [];
  base = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {}
        const received: Received = {
          path: request.url ?? '/',
          headers: request.headers,
          body,
          json,
          at: Date.now(),
        };
        this.received.push(received);
        const answer = this.answer(received);
        if (answer === 'hang') this.#hanging.push(response);
        else response.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
        this.#check();
      });
    });
    this.#server.keepAliveTimeout = 1;
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests that went to `path`. */
  at(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  /** Resolves once `condition` holds (checked now and at every request); rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs = 20_000, what = 'the expected deliveries'): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`Timed out waiting for ${what}; got ${this.received.length} requests`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push({ check: condition, resolve: done });
    });
  }

  #check(): void {
    const ready = this.#waiters.filter((waiter) => waiter.check());
    this.#waiters = this.#waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }

  async close(): Promise<void> {
    for (const response of this.#hanging.splice(0)) response.destroy();
    this.#server?.closeAllConnections();
    this.#server?.close();
  }
}

/** Verifies a delivery with the standardwebhooks library (independent of ScaiKey's signing): throws if not. */
export function verifyDelivery(secret: string, request: Received): unknown {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (typeof value === 'string') headers[name] = value;
  return new Webhook(secret).verify(request.body, headers);
}
