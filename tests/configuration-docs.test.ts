import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../scripts/config-docs.js';
import { ENVIRONMENT_SCHEMA, RATE_LIMITS } from '../src/platform/config-schema.js';

describe('docs/configuration.md', () => {
  const committed = readFileSync(CONFIGURATION_DOC, 'utf8');

  it('has the tables written from the environment schema (run `npm run docs:config` after changing it)', () => {
    expect(renderConfigurationDoc(committed)).toBe(committed);
  });

  it('documents every variable of the schema, the rate limits included', () => {
    for (const variable of Object.keys(ENVIRONMENT_SCHEMA.properties)) {
      expect(committed).toContain(`| \`${variable}\` |`);
    }
    for (const [variable, fallback] of Object.values(RATE_LIMITS)) {
      expect(committed).toContain(`| \`${variable}\` | \`${fallback}\` |`);
    }
  });

  it('is checked: a table edited by hand no longer matches', () => {
    const edited = committed.replace('| `PORT` | `8080` |', '| `PORT` | `8081` |');
    expect(edited).not.toBe(committed);
    expect(renderConfigurationDoc(edited)).toBe(committed);
  });
});
