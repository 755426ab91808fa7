import type { CounterBackend } from './backends.js';

/** One hit of `RateLimitCounters.hitEach`: a key and its limit of `max` per `windowMs`. */
export interface KeyLimit {
  key: string;
  max: number;
  windowMs: number;
}

/** What a hit got: its number in the window (over the limit when greater than it) and the ms left. */
export interface Hit {
  current: number;
  ttlMs: number;
}

interface Entry {
  /** Local time at which the window ends (the store's window length, measured from our answer). */
  until: number;
  /** The hit numbers this instance holds and has not handed out yet: next..last. */
  next: number;
  last: number;
  /** The window's count has reached the limit: nothing more is admitted here until `until`. */
  full: boolean;
  /** A reservation in flight: concurrent hits wait for it instead of sending their own. */
  pending: Promise<void> | null;
}

/** Local entries kept at most; an attacker cycling through addresses must not grow the heap. */
const MAX_ENTRIES = 100_000;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Rate-limit counters in a store all instances share, with what this instance knows kept locally
 * so that the hot paths rarely wait for the store:
 *
 * - A key whose window is full is answered here until the window ends: requests over a limit
 *   cost no round trip (a flood stays local).
 * - `lease` > 1 (generous per-IP limits on hot endpoints): the instance reserves `lease` hits
 *   at once with one atomic add and hands them out locally. Every admitted request still owns a
 *   distinct hit number ≤ max in the shared window, so all instances together never admit more
 *   than `max`; at worst each instance leaves `lease - 1` reserved hits unused when it stops
 *   receiving requests.
 * - `lease` 1 (failure counters, strict limits): one atomic add per hit, concurrent hits in
 *   parallel.
 */
export class RateLimitCounters {
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly backend: CounterBackend,
    private readonly now: () => number = () => Date.now(),
    /** Told once per instance and window when a key reaches its limit (for the log). */
    private readonly onFull: (key: string, ttlMs: number) => void = () => {},
  ) {}

  /** Sweeps ended windows, locally and in the store, every minute (errors go to `onError`). */
  start(onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => {
      this.#sweepLocal();
      this.backend.sweep().catch(onError);
    }, SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.backend.close();
  }

  /** Counts one hit on `key` (a limit of `max` per `windowMs`); rejects when the store fails. */
  async hit(key: string, max: number, windowMs: number, lease = 1): Promise<Hit> {
    for (;;) {
      const now = this.now();
      let entry = this.#entries.get(key);
      if (entry && entry.until <= now && !entry.pending) {
        this.#entries.delete(key);
        entry = undefined;
      }
      if (entry) {
        if (entry.next <= entry.last) return { current: entry.next++, ttlMs: entry.until - now };
        if (entry.full) return { current: max + 1, ttlMs: entry.until - now };
        if (entry.pending) {
          await entry.pending;
          continue;
        }
      }
      if (lease <= 1) {
        const window = await this.backend.add(key, 1, windowMs);
        this.#remember(key, window.hits, window.ttlMs, max, 1, false);
        return { current: window.hits, ttlMs: window.ttlMs };
      }
      const size = Math.min(lease, max);
      const reserving = entry ?? this.#newEntry(key);
      reserving.pending = this.backend.add(key, size, windowMs).then(
        (window) => {
          reserving.pending = null;
          this.#remember(key, window.hits, window.ttlMs, max, size, true);
        },
        (error) => {
          reserving.pending = null;
          this.#entries.delete(key);
          throw error;
        },
      );
      await reserving.pending;
    }
  }

  /**
   * One hit on each of several distinct keys (strict limits, as `hit` with lease 1), the keys not
   * known here to be full counted in the store in ONE round trip (a sign-in counts its failure per
   * address and per account together). The hits in the order of `limits`; rejects when the store fails.
   */
  async hitEach(limits: readonly KeyLimit[]): Promise<Hit[]> {
    if (new Set(limits.map((limit) => limit.key)).size !== limits.length) {
      throw new Error('hitEach: the keys must be distinct');
    }
    const now = this.now();
    const hits: (Hit | null)[] = limits.map(({ key, max }) => {
      const entry = this.#entries.get(key);
      if (!entry || entry.pending || entry.until <= now) return null;
      if (entry.next <= entry.last) return { current: entry.next++, ttlMs: entry.until - now };
      return entry.full ? { current: max + 1, ttlMs: entry.until - now } : null;
    });
    const counted = limits.flatMap((limit, index) => (hits[index] === null ? [{ ...limit, index }] : []));
    if (counted.length === 0) return hits as Hit[];
    const windows = await this.backend.addEach(counted.map(({ key, windowMs }) => ({ key, windowMs })));
    counted.forEach(({ key, max, index }, answer) => {
      const window = windows[answer] as { hits: number; ttlMs: number };
      this.#remember(key, window.hits, window.ttlMs, max, 1, false);
      hits[index] = { current: window.hits, ttlMs: window.ttlMs };
    });
    return hits as Hit[];
  }

  /**
   * Milliseconds for which `key` is known here to be over its limit (0: not known to be). No
   * round trip: a window filled on another instance is learnt at this instance's next hit.
   */
  blockedFor(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry?.full || entry.next <= entry.last) return 0;
    return Math.max(0, entry.until - this.now());
  }

  /**
   * Takes back one hit on each of several keys (attempts counted before they were checked that
   * turned out not to fail), in one round trip.
   */
  async refundEach(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry) entry.full = false;
    }
    await this.backend.subtractEach(keys);
  }

  /** Records a window as the store answered it: which hit numbers this instance now holds. */
  #remember(key: string, hits: number, ttlMs: number, max: number, reserved: number, keepSlots: boolean) {
    const entry = this.#entries.get(key) ?? this.#newEntry(key);
    entry.until = this.now() + ttlMs;
    // The first reserved number is handed out by the caller (lease 1) or by the next loop turn.
    entry.next = keepSlots ? hits - reserved + 1 : 1;
    entry.last = keepSlots ? Math.min(hits, max) : 0;
    const wasFull = entry.full;
    entry.full = hits >= max;
    if (entry.full && !wasFull) this.onFull(key, ttlMs);
    if (!entry.full && !keepSlots) this.#entries.delete(key);
  }

  #newEntry(key: string): Entry {
    if (this.#entries.size >= MAX_ENTRIES) {
      this.#sweepLocal();
      // Still full: drop the oldest entries (their limits fall back to the store's count).
      for (const oldest of this.#entries.keys()) {
        if (this.#entries.size < MAX_ENTRIES * 0.9) break;
        this.#entries.delete(oldest);
      }
    }
    const entry: Entry = { until: 0, next: 1, last: 0, full: false, pending: null };
    this.#entries.set(key, entry);
    return entry;
  }

  #sweepLocal(): void {
    const now = this.now();
    for (const [key, entry] of this.#entries) {
      if (entry.until <= now && !entry.pending) this.#entries.delete(key);
    }
  }
}
