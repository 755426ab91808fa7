import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lazyImport } from '../src/lib/lazy-import.js';

/**
 * Libraries that only some features use are imported at their first use, not at start
 * (docs/performance.md, "Idle memory"): importing the app (every module a start loads) must not
 * resolve them.
 */
const LOADED_AT_FIRST_USE = [
  '@simplewebauthn/server',
  '@node-saml/node-saml',
  'ldapts',
  'openid-client',
  'qrcode',
  'ioredis',
  'tar',
  'nodemailer',
  '@node-rs/argon2',
  // The first OIDC provider a request needs (src/protocols/oauth/providers.ts), and with it koa.
  'oidc-provider',
  'koa',
  // The first SAML document parsed (src/protocols/federation/saml/service-provider.ts).
  '@xmldom/xmldom',
];

describe('start-up imports', () => {
  it('importing the app loads none of the libraries that are loaded at first use', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './tests/fixtures/record-imports.mjs',
        '--input-type=module',
        '-e',
        "await import('./src/app.ts');",
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const packages = JSON.parse(output.trim().split('\n').at(-1) as string) as string[];
    // The hook sees the imports (a sanity check that it recorded anything at all).
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'kysely', 'jose']));
    expect(packages.filter((name) => LOADED_AT_FIRST_USE.includes(name))).toEqual([]);
  }, 60_000);
});

describe('lazyImport', () => {
  it('imports once, and again after a failed import', async () => {
    let calls = 0;
    let fail = true;
    const load = lazyImport(async () => {
      calls += 1;
      if (fail) throw new Error('not there');
      return { value: calls };
    });
    await expect(load()).rejects.toThrow('not there');
    fail = false;
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(b);
    expect(await load()).toEqual({ value: 2 });
    expect(calls).toBe(2);
  });
});
