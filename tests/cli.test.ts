import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { untar } from '../src/platform/db/initial-database.js';
import { spawnScript } from './helpers/process.js';
import { onPostgres } from './helpers/test-app.js';

/** The command line (src/cli.ts): its arguments are read by node:util parseArgs (issue 12). */

const scratch = mkdtempSync(join(tmpdir(), 'scaikey-cli-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs the command line on a data folder of its own (never the developer's, never PostgreSQL). */
async function run(args: string[], dataDir = join(scratch, 'unused')) {
  const script = spawnScript('src/cli.ts', args, { SCAIKEY_DATA_DIR: dataDir, DATABASE_URL: '' });
  return { code: await script.exited, output: script.output() };
}

const USAGE_START = 'Usage: scaikey keys rotate [--overlap-seconds N]\n       scaikey initial-database\n';

describe('scaikey command line', () => {
  it('answers a command it does not know with the usage and exit code 2', async () => {
    const results = await Promise.all(
      [[], ['keys'], ['rotate', 'keys'], ['initial-database', 'again'], ['help']].map((args) => run(args)),
    );
    for (const { code, output } of results) {
      expect(code).toBe(2);
      expect(output.startsWith(USAGE_START)).toBe(true);
      expect(output).toContain('keys rotate uses the same environment as the server');
    }
  });

  it('refuses an option it does not know instead of rotating with the default overlap', async () => {
    const { code, output } = await run(['keys', 'rotate', '--overlap-second', '0']);
    expect(code).toBe(2);
    expect(output.startsWith(USAGE_START)).toBe(true);
    expect(output).not.toContain('New active signing key');
  });

  it('refuses an overlap that is not a whole number of seconds, with exit code 2', async () => {
    const results = await Promise.all(
      [['abc'], ['-1'], ['1.5'], []].map((value) => run(['keys', 'rotate', '--overlap-seconds', ...value])),
    );
    for (const { code, output } of results) {
      expect(code).toBe(2);
      expect(output.trim()).toBe('--overlap-seconds must be a whole number of seconds');
    }
  });

  // Rotating writes to a database: the run's PGlite template, unpacked into a folder of its own.
  it.skipIf(onPostgres)(
    'rotates with the overlap given, the old key published that long',
    async () => {
      const dataDir = join(scratch, 'data');
      mkdirSync(dataDir);
      untar(readFileSync(inject('databaseTemplate')), dataDir);
      const first = await run(['keys', 'rotate', '--overlap-seconds', '120'], dataDir);
      expect(first.code, first.output).toBe(0);
      expect(first.output).toMatch(/^New active signing key: \S+$/m);
      expect(first.output).toMatch(/^Retired \(published for 120 s more\): \S+$/m);
      const second = await run(['keys', 'rotate', '--overlap-seconds=0'], dataDir);
      expect(second.code, second.output).toBe(0);
      const firstKid = /^New active signing key: (\S+)$/m.exec(first.output)?.[1];
      expect(second.output).toContain(`Retired (published for 0 s more): ${firstKid}`);
    },
    120_000,
  );
});
