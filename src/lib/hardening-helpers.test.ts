// Issue 10: the pure helpers behind the input and log hardening.
import { describe, expect, it } from 'vitest';
import { jsonNestedDeeperThan } from './json-depth.js';
import { isStorableText, unstorableTextPaths } from './text.js';

describe('jsonNestedDeeperThan', () => {
  it('counts nesting of objects and arrays', () => {
    expect(jsonNestedDeeperThan('[[[1]]]', 3)).toBe(false);
    expect(jsonNestedDeeperThan('[[[[1]]]]', 3)).toBe(true);
    expect(jsonNestedDeeperThan('{"a":{"b":[{"c":1}]}}', 3)).toBe(true);
    expect(jsonNestedDeeperThan('[[1],[2],[3],[4]]', 2)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonNestedDeeperThan('{"a":"[[[[{{{{"}', 2)).toBe(false);
    expect(jsonNestedDeeperThan('{"a":"\\"[[[[\\\\"}', 2)).toBe(false);
    expect(jsonNestedDeeperThan('["\\\\",[[[1]]]]', 3)).toBe(true);
  });
});

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
