import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export { PostgresCounters } from './rate-limits.repository.js';

/** A counter in its current window: the hits counted so far and the milliseconds the window has left. */
export interface CounterWindow {
  hits: number;
  ttlMs: number;
}

/** One hit on a key whose window is `windowMs` long (CounterBackend.addEach). */
export interface CounterHit {
  key: string;
  windowMs: number;
}

/**
 * Where rate-limit counters live: a store every instance shares (the database's `rate_limits`
 * table, or Redis). Windows are fixed: the first hit opens one of `windowMs`, later hits add to it
 * until it ends, and the next hit then opens a new one. Time is the store's own, so instances with
 * skewed clocks agree on when a window ends.
 */
export interface CounterBackend {
  /** Adds `amount` hits to `key` in one atomic step (opening a window when none is open). */
  add(key: string, amount: number, windowMs: number): Promise<CounterWindow>;
  /**
   * Adds one hit to each of several distinct keys in one round trip (each key's add atomic, as
   * `add`): the windows in the order of `hits`.
   */
  addEach(hits: readonly CounterHit[]): Promise<CounterWindow[]>;
  /** Takes one hit back from each of several keys' open windows (never below zero), in one round trip. */
  subtractEach(keys: readonly string[]): Promise<void>;
  /** Deletes ended windows (storage only: an ended window is never counted again). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** INCRBY, and a TTL on a new key, in one script: atomic, as the SQL upsert is. */
const ADD_SCRIPT = `
local hits = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {hits, ttl}`;

const SUBTRACT_SCRIPT = `
if redis.call('PTTL', KEYS[1]) > 0 then
  local hits = redis.call('DECRBY', KEYS[1], ARGV[1])
  if hits < 0 then redis.call('INCRBY', KEYS[1], -hits) end
end
return 0`;

type ScriptedRedis = Redis & {
  scaikeyRateLimitAdd(key: string, amount: number, windowMs: number): Promise<[number, number]>;
  scaikeyRateLimitSubtract(key: string, amount: number): Promise<number>;
};

/** The prefix of every Redis key of the installation whose namespace seed this is. */
export function redisKeyPrefix(namespaceSeed: string): string {
  return `scaikey:rl:${createHash('sha256').update(namespaceSeed).digest('base64url').slice(0, 12)}:`;
}

/**
 * Counters in Redis (SCAIKEY_REDIS_URL): one script call per add, expiry by Redis itself. Keys
 * are prefixed with a namespace of the database (`namespaceSeed`), so that several ScaiKey
 * installations (or test runs) may share one Redis without counting each other's requests.
 */
export class RedisCounters implements CounterBackend {
  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly prefix: string,
  ) {}

  /** Connects (a Redis that does not answer stops the start) and defines the scripts. */
  static async connect(
    url: string,
    namespaceSeed: string,
    onError: (error: Error) => void,
  ): Promise<RedisCounters> {
    // Loaded only when SCAIKEY_REDIS_URL is set (docs/performance.md, "Idle memory").
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, {
      lazyConnect: true,
      // While Redis is unreachable, fail at once (the limits then let requests through) instead
      // of queueing commands and holding requests until it is back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      connectTimeout: 5000,
    }) as ScriptedRedis;
    redis.on('error', onError);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`Redis at SCAIKEY_REDIS_URL does not answer: ${(error as Error).message}`);
    }
    redis.defineCommand('scaikeyRateLimitAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
    redis.defineCommand('scaikeyRateLimitSubtract', { numberOfKeys: 1, lua: SUBTRACT_SCRIPT });
    return new RedisCounters(redis, redisKeyPrefix(namespaceSeed));
  }

  async add(key: string, amount: number, windowMs: number): Promise<CounterWindow> {
    const [hits, ttlMs] = await this.redis.scaikeyRateLimitAdd(this.prefix + key, amount, windowMs);
    return { hits: Number(hits), ttlMs: Math.max(0, Number(ttlMs)) };
  }

  async addEach(hits: readonly CounterHit[]): Promise<CounterWindow[]> {
    // A pipeline: one round trip; each script atomic on its key (keys may live on other nodes).
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      scaikeyRateLimitAdd(key: string, amount: number, windowMs: number): unknown;
    };
    for (const hit of hits) pipeline.scaikeyRateLimitAdd(this.prefix + hit.key, 1, hit.windowMs);
    const answers = (await pipeline.exec()) ?? [];
    return hits.map((_, index) => {
      const [error, answer] = answers[index] ?? [new Error('Redis answered no result'), null];
      if (error) throw error;
      const [hits, ttlMs] = answer as [number, number];
      return { hits: Number(hits), ttlMs: Math.max(0, Number(ttlMs)) };
    });
  }

  async subtractEach(keys: readonly string[]): Promise<void> {
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      scaikeyRateLimitSubtract(key: string, amount: number): unknown;
    };
    for (const key of keys) pipeline.scaikeyRateLimitSubtract(this.prefix + key, 1);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  async sweep(): Promise<void> {}

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
