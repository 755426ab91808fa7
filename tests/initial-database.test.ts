import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { lockDataDir } from '../src/platform/db/data-dir-lock.js';
import { openDatabase } from '../src/platform/db/database.js';
import {
  INITIAL_DATABASE_FILE,
  initialDatabaseKey,
  readInitialDatabase,
  unpackInitialDatabase,
  untar,
  writeInitialDatabase,
} from '../src/platform/db/initial-database.js';
import { createTenant } from './helpers/factories.js';
import { onPostgres, startTestApp } from './helpers/test-app.js';

// The prebuilt first-start database is a PGlite matter; the PostgreSQL run has nothing to add.
describe.skipIf(onPostgres)('prebuilt initial PGlite database', () => {
  let scratch: string;
  let buildDir: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'scaikey-initial-'));
    buildDir = join(scratch, 'dist');
    mkdirSync(buildDir);
    // The run's template is exactly what the build makes: an empty, migrated data folder.
    copyFileSync(inject('databaseTemplate'), join(buildDir, INITIAL_DATABASE_FILE));
    writeFileSync(join(buildDir, 'initial-database.json'), initialDatabaseKey());
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('fills a new data folder on the first start, which then opens it as a restart would', async () => {
    const dataDir = join(scratch, 'data');
    const initialize = vi.fn((folder: string) => unpackInitialDatabase(folder, buildDir));
    // What openConfiguredDatabase does, with this test's build folder.
    const open = () => openDatabase({ kind: 'pglite', dataDir, lock: lockDataDir(dataDir, { initialize }) });
    const noTemplate = { open, drop: async () => {}, env: {} };

    const first = await startTestApp({ dataDir }, noTemplate);
    expect(initialize).toHaveBeenCalledTimes(1);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const tenant = await createTenant(first, { name: 'Made on the first start' });
    await first.close();

    // A folder with a cluster is never touched again.
    const second = await startTestApp({ dataDir }, noTemplate);
    expect(initialize).toHaveBeenCalledTimes(1);
    const read = await second.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: await second.platformToken(),
    });
    expect(read.status).toBe(200);
    expect(read.body.data.name).toBe('Made on the first start');
    await second.close();
  });

  it('fills an existing empty folder, and leaves a folder that holds anything to PGlite', () => {
    const initialize = (folder: string) => unpackInitialDatabase(folder, buildDir);
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    lockDataDir(empty, { initialize }).release();
    expect(existsSync(join(empty, 'PG_VERSION'))).toBe(true);

    const occupied = join(scratch, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    lockDataDir(occupied, { initialize }).release();
    expect(existsSync(join(occupied, 'PG_VERSION'))).toBe(false);
    expect(readdirSync(occupied)).toEqual(['notes.txt']);
  });

  it('is ignored when made for another PGlite release or other migrations, and then made again', async () => {
    expect(readInitialDatabase(buildDir)).toBeInstanceOf(Buffer);
    const stale = join(scratch, 'stale');
    mkdirSync(stale);
    copyFileSync(join(buildDir, INITIAL_DATABASE_FILE), join(stale, INITIAL_DATABASE_FILE));
    writeFileSync(
      join(stale, 'initial-database.json'),
      JSON.stringify({ pglite: '0.0.1', migrations: ['0001_initial'] }),
    );
    expect(readInitialDatabase(stale)).toBeNull();
    const unfilled = join(scratch, 'data-stale');
    mkdirSync(unfilled);
    expect(unpackInitialDatabase(unfilled, stale)).toBe(false);
    expect(readdirSync(unfilled)).toEqual([]);
    expect(readInitialDatabase(join(scratch, 'missing'))).toBeNull();
    // The build replaces it, and does nothing while it is up to date.
    expect(await writeInitialDatabase(stale)).toBe(true);
    expect(readInitialDatabase(stale)).toBeInstanceOf(Buffer);
    expect(await writeInitialDatabase(stale)).toBe(false);
  });

  it('refuses tar entries that would leave the folder or that it does not know', () => {
    const header = (name: string, type: string) => {
      const block = Buffer.alloc(1024);
      block.write(name, 0, 'latin1');
      block.write('0000644\0', 100, 'latin1');
      block.write('00000000000\0', 124, 'latin1');
      block.write(type, 156, 'latin1');
      if (type === '2') block.write('target', 157, 'latin1'); // a link names its target
      // The header checksum: the byte sum with the checksum field read as spaces.
      block.fill(' ', 148, 156, 'latin1');
      const sum = block.subarray(0, 512).reduce((total, byte) => total + byte, 0);
      block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      return block;
    };
    const target = join(scratch, 'untar');
    mkdirSync(target);
    expect(() => untar(header('../escape', '0'), target)).toThrow(/outside the target/);
    expect(() => untar(header('/link', '2'), target)).toThrow(/unsupported tar entry type "2"/);
    const damaged = header('/damaged', '0');
    damaged.write('X', 1, 'latin1'); // the name changed, the checksum not
    expect(() => untar(damaged, target)).toThrow();
    expect(existsSync(join(target, 'damaged'))).toBe(false);
    untar(header('/empty-file', '0'), target);
    expect(existsSync(join(target, 'empty-file'))).toBe(true);
  });
});
