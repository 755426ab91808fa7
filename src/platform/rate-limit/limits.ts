import { createHash } from 'node:crypto';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { ProofReplayStore } from '../auth/dpop.js';
import type { Config, RateLimit, RateLimitName } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { instanceSecret } from '../db/instance-secrets.js';
import { type CounterBackend, PostgresCounters, RedisCounters } from './backends.js';
import { type Hit, type KeyLimit, RateLimitCounters } from './counters.js';

/** The instance secret (one per database) whose hash prefixes this installation's Redis keys. */
export const REDIS_NAMESPACE_SECRET = 'rate_limit_namespace';

/** The largest number of hits an instance reserves at once for a per-IP limit (see leaseFor). */
const MAX_LEASE = 100;

/**
 * Hits reserved per round trip for a per-IP limit of `max`: 1 (strict) up to 100 for limits of
 * thousands, so that at most 2% of a limit can be left reserved-but-unused per instance.
 */
export function leaseFor(max: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(max / 50)));
}

/** Whole seconds for a Retry-After header: at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** "about 5 minutes", "40 seconds": a wait, for people. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The client's address as limits count it: IPv4 as is, IPv6 by its /64 (one host's usual share). */
export function clientAddress(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

/** A fixed-length, non-reversible subject for a key made of user input (an email address). */
export function hashedSubject(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 27);
}

/**
 * A limit on failures (wrong client secret, wrong password) per subject, counted in the shared
 * store. `blocked` answers from what this instance knows (no round trip, for hot paths); `count`
 * adds one failure and says whether it went over the limit; `refund` takes back an attempt that
 * was counted before it was checked and did not fail.
 */
export class FailureLimit {
  constructor(
    private readonly counters: RateLimitCounters,
    private readonly name: RateLimitName,
    private readonly limit: RateLimit | null,
    private readonly onError: (error: unknown) => void,
  ) {}

  #key(subject: string): string {
    return `${this.name}:${subject}`;
  }

  /** The counter and limit of `subject` (RateLimits.countFailures); null when the limit is off. */
  keyLimit(subject: string): KeyLimit | null {
    return this.limit
      ? { key: this.#key(subject), max: this.limit.max, windowMs: this.limit.windowMs }
      : null;
  }

  /** Seconds `subject` is known here to be blocked for; 0 when it is not (or not known to be). */
  blocked(subject: string): number {
    if (!this.limit) return 0;
    const ms = this.counters.blockedFor(this.#key(subject));
    return ms > 0 ? retryAfterSeconds(ms) : 0;
  }

  /** Counts one failure: the seconds to wait when it is over the limit, else 0 (also when the store fails). */
  async count(subject: string): Promise<number> {
    if (!this.limit) return 0;
    try {
      const hit = await this.counters.hit(this.#key(subject), this.limit.max, this.limit.windowMs);
      return waitAfter(hit, this.limit.max);
    } catch (error) {
      this.onError(error);
      return 0;
    }
  }
}

/** Seconds to wait after `hit` on a limit of `max`: 0 while within it. */
function waitAfter(hit: Hit, max: number): number {
  return hit.current > max ? retryAfterSeconds(hit.ttlMs) : 0;
}

/** A failure limit and the subject one failure is counted for (RateLimits.countFailures). */
export type FailureSubject = readonly [FailureLimit, string];

/** Resolves to the seconds the request must wait (0: within the limit). */
export type RequestLimit = (request: FastifyRequest) => Promise<number>;

/**
 * The configured limits over one store shared by all instances: every request per client IP
 * (through @fastify/rate-limit, whose store is `RateLimitCounters`), and failures per subject.
 * Endpoints decide what they count and how they answer (RFC 6749 JSON, `{detail, code}`, a page).
 */
export class RateLimits {
  private constructor(
    private readonly app: FastifyInstance,
    private readonly counters: RateLimitCounters,
    private readonly settings: Config['rateLimits'],
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Every request counted per client IP; a limit set to `off` lets everything through. */
  perIp(name: RateLimitName): RequestLimit {
    const limit = this.settings[name];
    if (!limit) return async () => 0;
    const check = this.app.createRateLimit({
      max: limit.max,
      timeWindow: limit.windowMs,
      keyGenerator: (request) => `${name}:${clientAddress(request)}`,
      // A store that does not answer must not take sign-in down with it: let requests through.
      skipOnError: true,
    });
    return async (request) => {
      const result = await check(request);
      return !result.isAllowed && result.isExceeded ? retryAfterSeconds(result.ttl) : 0;
    };
  }

  failures(name: RateLimitName): FailureLimit {
    return new FailureLimit(this.counters, name, this.settings[name], this.onError);
  }

  /**
   * Counts one failure for each (limit, subject) — as FailureLimit.count, but all in one round
   * trip to the store: the seconds to wait per entry, 0 within its limit (and when the store fails).
   */
  async countFailures(entries: readonly FailureSubject[]): Promise<number[]> {
    const keyed = entries.map(([limit, subject]) => limit.keyLimit(subject));
    const on = keyed.filter((limit): limit is KeyLimit => limit !== null);
    try {
      const hits = await this.counters.hitEach(on);
      return keyed.map((limit) => {
        if (!limit) return 0;
        return waitAfter(hits[on.indexOf(limit)] as Hit, limit.max);
      });
    } catch (error) {
      this.onError(error);
      return entries.map(() => 0);
    }
  }

  /** Takes back the failures counted for each (limit, subject), in one round trip. */
  async refundFailures(entries: readonly FailureSubject[]): Promise<void> {
    const keys = entries.flatMap(([limit, subject]) => limit.keyLimit(subject)?.key ?? []);
    await this.counters.refundEach(keys).catch(this.onError);
  }

  /**
   * The shared store as a memory of one-time values (the `jti` of DPoP proofs): a key's first use
   * opens a window of `ttlMs`, any later use within it is a replay. Straight to the store, on every
   * call (no local leases): a replay on another instance must be seen. Store errors reject.
   */
  replayStore(): ProofReplayStore {
    const backend = this.counters.backend;
    return {
      firstUse: async (key, ttlMs) => (await backend.add(key, 1, ttlMs)).hits === 1,
    };
  }

  /**
   * Registers @fastify/rate-limit (no global limit: endpoints opt in) with the shared store:
   * Redis when `redisUrl` is set, else the database's `rate_limits` table.
   */
  static async register(
    app: FastifyInstance,
    options: { settings: Config['rateLimits']; redisUrl: string | null; database: DatabaseHandle },
  ): Promise<RateLimits> {
    const onError = warnAtMostEvery(app.log, 10_000);
    const backend: CounterBackend = options.redisUrl
      ? await RedisCounters.connect(
          options.redisUrl,
          await instanceSecret(options.database.db, REDIS_NAMESPACE_SECRET),
          onError,
        )
      : new PostgresCounters(options.database.db);
    const counters = new RateLimitCounters(backend, undefined, (key, ttlMs) =>
      app.log.warn({ key, seconds: retryAfterSeconds(ttlMs) }, 'rate limit reached'),
    );
    counters.start(onError);
    app.addHook('onClose', () => counters.stop());
    await app.register(fastifyRateLimit, { global: false, store: storeOver(counters, onError) });
    return new RateLimits(app, counters, options.settings, onError);
  }
}

/** @fastify/rate-limit's store interface over the shared counters (per-IP limits lease hits). */
function storeOver(counters: RateLimitCounters, onError: (error: unknown) => void) {
  return class SharedRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ): void {
      counters.hit(key, max, timeWindow, leaseFor(max)).then(
        (hit) => callback(null, { current: hit.current, ttl: hit.ttlMs }),
        (error: Error) => {
          onError(error);
          callback(error);
        },
      );
    }

    // Keys carry their limit's name: one store serves every limit.
    child(): SharedRateLimitStore {
      return this;
    }
  };
}

function warnAtMostEvery(log: FastifyBaseLogger, intervalMs: number): (error: unknown) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    log.warn({ err: error }, 'rate-limit store failed; requests are let through meanwhile');
  };
}
