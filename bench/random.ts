import { createHash } from 'node:crypto';
import { ID_PREFIXES, type IdKind } from '../src/lib/ids.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A small seeded generator (sfc32, 128-bit state from SHA-256 of the seed string). The bench's
 * dataset must be the same on every run and every machine, which Math.random cannot give.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: string) {
    const digest = createHash('sha256').update(seed).digest();
    this.#a = digest.readUInt32LE(0);
    this.#b = digest.readUInt32LE(4);
    this.#c = digest.readUInt32LE(8);
    this.#d = digest.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/**
 * A deterministic id of the right shape for `kind` (prefix + 20 of [0-9a-z]), derived from the
 * seed and the parts by hashing, so any row's id can be recomputed without generating the others.
 */
export function deterministicId(kind: IdKind, seed: string, ...parts: (string | number)[]): string {
  const digest = createHash('sha256')
    .update(`${seed}:${kind}:${parts.join(':')}`)
    .digest();
  let body = '';
  for (let i = 0; i < 20; i++) body += ALPHABET[(digest[i] as number) % ALPHABET.length];
  return ID_PREFIXES[kind] + body;
}
