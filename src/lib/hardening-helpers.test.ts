// Issue 10: the pure helpers behind the input and log hardening.
import { describe, expect, it } from 'vitest';
import { isStorableText, unstorableTextPaths } from './text.js';

describe('storable text', () => {
  it('refuses NUL characters and unpaired surrogates, keeps pairs', () => {
    expect(isStorableText('plain é 😀')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('\ud800')).toBe(false);
    expect(isStorableText('a\udc00')).toBe(false);
    expect(isStorableText('\udc00\ud800')).toBe(false);
  });

  it('reports where the bad strings are, keys included', () => {
    expect(unstorableTextPaths({ a: ['ok', 'x\u0000'], 'k\ud800': 1, b: { c: '\udfff' } })).toEqual([
      ['a', 1],
      ['k\ud800'],
      ['b', 'c'],
    ]);
    expect(unstorableTextPaths('\u0000')).toEqual([[]]);
    expect(unstorableTextPaths({ fine: [1, true, null, 'text'] })).toEqual([]);
  });
});
