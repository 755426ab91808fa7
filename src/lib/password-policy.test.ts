import { describe, expect, it } from 'vitest';
import { brokenPasswordRules } from './password-policy.js';

const strict = {
  min_length: 10,
  require_uppercase: true,
  require_lowercase: true,
  require_digit: true,
  require_symbol: true,
};

describe('brokenPasswordRules', () => {
  it('lists every rule a password breaks', () => {
    expect(brokenPasswordRules('abc', strict)).toEqual([
      'at least 10 characters',
      'an uppercase letter',
      'a digit',
      'a symbol',
    ]);
  });
  it('passes a password that keeps every rule, counting code points and Unicode classes', () => {
    expect(brokenPasswordRules('Ünïcode-Pass1', strict)).toEqual([]);
    expect(
      brokenPasswordRules('😀😀😀😀😀😀😀😀😀😀', {
        ...strict,
        require_uppercase: false,
        require_lowercase: false,
        require_digit: false,
      }),
    ).toEqual([]);
  });
});
