// Issue 10: the pure helpers behind the input and log hardening.
import { describe, expect, it } from 'vitest';
import { jsonNestedDeeperThan } from './json-depth.js';
import { redactUrl } from './redact-url.js';
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

describe('redactUrl', () => {
  it('replaces the values of secret parameters, whatever the case or encoding of their names', () => {
    expect(redactUrl('/x?id_token_hint=abc&state=s&client_id=c')).toBe(
      '/x?id_token_hint=[REDACTED]&state=[REDACTED]&client_id=c',
    );
    expect(redactUrl('/x?TOKEN=abc&%74oken=def&Access_Token=g&code=h&login_hint=a%40b')).toBe(
      '/x?TOKEN=[REDACTED]&%74oken=[REDACTED]&Access_Token=[REDACTED]&code=[REDACTED]&login_hint=[REDACTED]',
    );
  });

  it('returns other URLs unchanged', () => {
    expect(redactUrl('/api/v1/admin/tenants/')).toBe('/api/v1/admin/tenants/');
    expect(redactUrl('/x?search=token&page=2&token')).toBe('/x?search=token&page=2&token');
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
