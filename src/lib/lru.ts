import { LRUCache } from 'lru-cache';

/**
 * Wall-clock time, read on every call: what token expiry is measured in, and what tests move with
 * `vi.setSystemTime` (lru-cache's default clock, `performance.now`, would not follow it).
 */
const wallClock = { now: () => Date.now() };

/**
 * A bounded cache (lru-cache) that evicts the least recently used entry when full and whose
 * entries expire at an instant given when each is set (`setUntil`). Used for caches that must stay
 * small and short-lived so that several instances behave as one. Expiry is checked against the
 * clock on every read (`ttlResolution: 0`: no debounce timer on the hot path); nothing is purged
 * in the background, an expired entry is dropped when read or evicted.
 */
export function expiringLru<K extends {}, V extends {}>(maxEntries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ max: maxEntries, perf: wallClock, ttlResolution: 0 });
}

/**
 * Keeps `value` under `key` until `expiresAt` (ms since epoch; gone from that instant on), or
 * drops the key when that is (nearly) now.
 */
export function setUntil<K extends {}, V extends {}>(
  cache: LRUCache<K, V>,
  key: K,
  value: V,
  expiresAt: number,
  now = Date.now(),
): void {
  // lru-cache serves an entry while `now - start <= ttl`, and reads a ttl of 0 as "never expires".
  const ttl = expiresAt - now - 1;
  if (ttl > 0) cache.set(key, value, { ttl, start: now });
  else cache.delete(key);
}
