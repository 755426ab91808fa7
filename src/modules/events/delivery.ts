import type { FastifyBaseLogger } from 'fastify';
import type { WebhookSettings } from '../../platform/config.js';
import type { Db } from '../../platform/db/database.js';
import { EventSignal } from '../../platform/events/event-signal.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import type { AuditOrigin } from '../../platform/http.js';
import type { SecretBox } from '../../platform/secret-box.js';
import {
  type ClaimedDelivery,
  claimDeliveries,
  endpointFailed,
  endpointSucceeded,
  fanOutStep,
  nextDueAt,
  recordOutcome,
  skipFanOutWithoutEndpoints,
} from './delivery.repository.js';
import { postOnce } from './outbound.js';
import { scaikeySignature, standardSignature } from './webhook-signing.js';

const SYSTEM: AuditOrigin = { actorType: 'system', actorId: null, ipAddress: null, requestId: null };

/** Events read per fan-out transaction. */
const FANOUT_BATCH = 500;
/** A slow safety look even when nothing signalled (another instance's retries, clock drift). */
const SAFETY_POLL_MS = 5000;
/** The longest retry delay (the doubling stops there). */
const MAX_RETRY_DELAY_MS = 6 * 3600 * 1000;

/** The delay before retry number `failures` (1 = after the first failure): base·2ⁿ⁻¹, capped, ±25%. */
export function retryDelayMs(baseMs: number, failures: number, random = Math.random): number {
  const plain = Math.min(baseMs * 2 ** Math.min(failures - 1, 40), MAX_RETRY_DELAY_MS);
  return Math.round(plain * (0.75 + random() * 0.5));
}

/** The secrets that sign a delivery now: the current one, and the previous one during its overlap. */
export function signingSecrets(
  box: SecretBox,
  endpoint: {
    id: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: Date | null;
  },
  now = new Date(),
): string[] {
  const secrets = [box.unseal(endpoint.secret, endpoint.id)];
  if (
    endpoint.previous_secret &&
    endpoint.previous_secret_expires_at &&
    endpoint.previous_secret_expires_at > now
  ) {
    secrets.push(box.unseal(endpoint.previous_secret, endpoint.id));
  }
  return secrets.filter((secret): secret is string => secret !== null);
}

/** The headers of one attempt (docs/api-decisions.md, "Webhooks"). */
export function deliveryHeaders(
  secrets: readonly string[],
  message: { deliveryId: number; eventId: string; eventType: string; body: string },
  now = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const signed = { id: message.eventId, timestamp, body: message.body };
  return {
    'content-type': 'application/json',
    'user-agent': 'ScaiKey-Webhook/1.0',
    'webhook-id': message.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': standardSignature(secrets, signed),
    'x-scaikey-webhook-id': String(message.deliveryId),
    'x-scaikey-event-id': message.eventId,
    'x-scaikey-event-type': message.eventType,
    'x-scaikey-timestamp': String(timestamp),
    'x-scaikey-signature': scaikeySignature(secrets, signed),
  };
}

export interface DispatcherOptions {
  db: Db;
  work: UnitOfWork;
  box: SecretBox;
  signal: EventSignal;
  settings: WebhookSettings;
  log: FastifyBaseLogger;
  /** The safety look's interval (default SAFETY_POLL_MS; tests that count fan-out steps set it long). */
  safetyPollMs?: number;
}

/**
 * Webhook delivery on this instance: fans committed events out into deliveries and sends due
 * deliveries, up to `concurrency` at a time. It wakes on event notices (EventSignal), when a send
 * finishes, at the next retry or lease expiry (a timer set to that moment) and, as a safety net,
 * every few seconds. Any number of instances run it on one database: the fan-out cursor is taken
 * by one at a time, deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease.
 */
export class WebhookDispatcher {
  readonly #options: DispatcherOptions;
  readonly #sending = new Set<Promise<void>>();
  #stopped = true;
  #cycle: Promise<void> | null = null;
  #again = false;
  #fanOutWanted = false;
  #claimWanted = false;
  #timer: NodeJS.Timeout | null = null;
  #wait: { cancel(): void } | null = null;
  /**
   * What the last fan-out saw: no live endpoint at all. Only a hint for which statement to try
   * first — skipFanOutWithoutEndpoints checks it again in the database, so a stale hint costs one
   * statement and is never wrong.
   */
  #noEndpoints = false;
  #fanOutSteps = 0;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** Fan-out steps this dispatcher ran (one statement or one transaction each): tests, diagnostics. */
  get fanOutSteps(): number {
    return this.#fanOutSteps;
  }

  /** Resolves when no cycle is running or queued (tests, diagnostics). */
  async idle(): Promise<void> {
    while (this.#cycle) await this.#cycle.catch(() => {});
  }

  get leaseMs(): number {
    return this.#options.settings.timeoutMs + 30_000;
  }

  start(): void {
    this.#stopped = false;
    this.#listen();
    this.kick();
  }

  /** Stops taking work and waits for the sends in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wait?.cancel();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#cycle?.catch(() => {});
    await Promise.allSettled([...this.#sending]);
  }

  /**
   * Looks for work now: new events to fan out (`fanOut`: on event notices and timers) and due
   * deliveries (`claim`: at start, on timers, when a send finishes, and after a fan-out that made
   * deliveries). An event notice only fans out: when its events make no delivery (no endpoint
   * wants them) nothing is due that was not before, and the timer already waits for the next due
   * time, so the claim and due-time queries are not run for every change.
   */
  kick(fanOut = true, claim = true): void {
    if (this.#stopped) return;
    this.#fanOutWanted ||= fanOut;
    this.#claimWanted ||= claim;
    if (this.#cycle) {
      // Running: what it has not yet read is read by one more step or cycle, however many kicks.
      this.#again = true;
      return;
    }
    // Queued until the events already arrived are handled: every notice of this turn of the
    // event loop (a burst of commits, a chunk of NOTIFY messages) joins this cycle.
    this.#cycle = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.#again = false;
        return this.#run();
      })
      .finally(() => {
        this.#cycle = null;
        if (this.#again) {
          this.#again = false;
          // What the kicks during the cycle asked for is in #fanOutWanted and #claimWanted.
          this.kick(false, false);
        }
      });
  }

  #listen(): void {
    if (this.#stopped) return;
    const wait = this.#options.signal.next(EventSignal.ANY);
    this.#wait = wait;
    void wait.arrived.then(() => {
      if (this.#stopped) return;
      this.#listen();
      this.kick(true, false);
    });
  }

  async #run(): Promise<void> {
    const { db, settings, log } = this.#options;
    try {
      // Fan out everything committed so far (another instance holding the cursor does it instead,
      // and claims what it made).
      while (this.#fanOutWanted && !this.#stopped) {
        this.#fanOutWanted = false;
        this.#fanOutSteps++;
        // No endpoint anywhere (the usual case without webhooks): one statement moves the cursor.
        if (this.#noEndpoints && (await skipFanOutWithoutEndpoints(db))) continue;
        const step = await db.transaction().execute((trx) => fanOutStep(trx, FANOUT_BATCH));
        if (step?.endpoints !== undefined) this.#noEndpoints = step.endpoints === 0;
        if (step !== null && step.read === FANOUT_BATCH) this.#fanOutWanted = true;
        if (step !== null && step.delivered > 0) this.#claimWanted = true;
      }
      if (!this.#claimWanted || this.#stopped) return;
      this.#claimWanted = false;
      const free = settings.concurrency - this.#sending.size;
      let claimed = 0;
      if (free > 0 && !this.#stopped) {
        const deliveries = await claimDeliveries(db, free, this.leaseMs);
        for (const delivery of deliveries) this.#send(delivery);
        claimed = deliveries.length;
      }
      // Sends in flight kick the next claim when they finish; with none, wait for the next due time.
      this.#schedule(claimed > 0 || this.#sending.size > 0 ? null : await nextDueAt(db));
    } catch (error) {
      if (!this.#stopped) log.error({ err: error }, 'webhook delivery cycle failed');
      this.#schedule(null);
    }
  }

  #schedule(dueAt: Date | null): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const poll = this.#options.safetyPollMs ?? SAFETY_POLL_MS;
    const wait = dueAt ? Math.max(0, dueAt.getTime() - Date.now()) + 5 : poll;
    this.#timer = setTimeout(() => this.kick(), Math.min(wait, poll));
    this.#timer.unref();
  }

  #send(delivery: ClaimedDelivery): void {
    const sending = this.#deliver(delivery)
      .catch((error) =>
        this.#options.log.error({ err: error, delivery: delivery.id }, 'webhook delivery failed'),
      )
      .finally(() => {
        this.#sending.delete(sending);
        this.kick(false);
      });
    this.#sending.add(sending);
  }

  async #deliver(delivery: ClaimedDelivery): Promise<void> {
    const { box, settings, work } = this.#options;
    const startedAt = new Date();
    const secrets = signingSecrets(box, { ...delivery, id: delivery.endpoint_id });
    const result = await postOnce(delivery.url, {
      headers: deliveryHeaders(secrets, {
        deliveryId: delivery.id,
        eventId: delivery.event_id,
        eventType: delivery.event_type,
        body: delivery.body,
      }),
      body: delivery.body,
      timeoutMs: settings.timeoutMs,
      allowPrivate: settings.allowPrivate,
    });
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const error = ok
      ? null
      : (result.error ??
        (result.status !== null && result.status >= 300 && result.status < 400
          ? `Redirect (HTTP ${result.status}) refused`
          : `HTTP ${result.status}`));
    let retryAt: Date | null = null;
    let final: 'succeeded' | 'retry' | 'failed' = 'succeeded';
    if (!ok) {
      retryAt = new Date(Date.now() + retryDelayMs(settings.retryBaseMs, delivery.attempts));
      const windowEnds = delivery.created_at.getTime() + settings.retryWindowMs;
      final = retryAt.getTime() > windowEnds ? 'failed' : 'retry';
      if (final === 'failed') retryAt = null;
    }
    await work.run(SYSTEM, async (w) => {
      const recorded = await recordOutcome(w.db, {
        deliveryId: delivery.id,
        attempt: delivery.attempts,
        startedAt,
        responseCode: result.status,
        responseMs: result.ms,
        error,
        result: final,
        retryAt,
      });
      if (!recorded) return;
      if (ok) {
        await endpointSucceeded(w.db, delivery.endpoint_id);
        return;
      }
      const disabled = await endpointFailed(
        w.db,
        delivery.endpoint_id,
        settings.failingAfter,
        final === 'failed',
      );
      if (disabled) {
        w.audit({
          action: 'webhook.disabled',
          resourceType: 'webhook',
          resourceId: delivery.endpoint_id,
          tenantId: disabled.tenant_id,
          partnerId: disabled.partner_id,
          after: {
            status: 'disabled',
            enabled: false,
            reason: 'A delivery failed for the whole retry window',
            delivery_id: delivery.id,
            event_id: delivery.event_id,
            consecutive_failures: disabled.consecutive_failures,
          },
        });
      }
    });
  }
}
