import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS_DOC, renderErrorsDoc } from '../scripts/errors-docs.js';
import { ERROR_REGISTRY, ErrorCodes } from '../src/platform/errors.js';

describe('docs/errors.md', () => {
  const committed = readFileSync(ERRORS_DOC, 'utf8');

  it('is written from the registry of error codes (run `npm run docs:errors` after changing it)', () => {
    expect(renderErrorsDoc()).toBe(committed);
  });

  it('lists every code of the registry with its status', () => {
    for (const [code, status] of Object.entries(ErrorCodes)) {
      expect(committed).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('gives every code a description of its own', () => {
    const descriptions = Object.values(ERROR_REGISTRY).map(({ description }) => description);
    for (const description of descriptions) expect(description.trim()).not.toBe('');
    expect(new Set(descriptions).size).toBe(descriptions.length);
  });
});
