import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import {
  DataDirLockedError,
  LOCK_DIR,
  type LockOwner,
  lockDataDir,
} from '../src/platform/db/data-dir-lock.js';
import { untar } from '../src/platform/db/initial-database.js';
import { type ChildScript, platformToken, spawnScript, spawnServer, startServer } from './helpers/process.js';
import { freePort, onPostgres } from './helpers/test-app.js';

/**
 * Security issue, item 4: two processes on one embedded data folder each served their own view,
 * lost acknowledged writes and could leave a folder that no longer opened. One process at a time
 * may hold a folder now (ADR 0008).
 */

const scratch = mkdtempSync(join(tmpdir(), 'scaikey-lock-'));
const children: ChildScript[] = [];
afterEach(() => {
  for (const { child } of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

let folders = 0;
const newFolder = () => join(scratch, `data-${++folders}`);

function track<T extends ChildScript>(script: T): T {
  children.push(script);
  return script;
}

/** A process holding the lock on `dataDir` (tests/helpers/data-lock-child.ts) until its stdin ends. */
async function lockInChild(dataDir: string): Promise<ChildScript> {
  const child = track(spawnScript('tests/helpers/data-lock-child.ts', [dataDir], {}));
  await child.waitForOutput(/^ready$/m);
  child.child.stdin?.write('go\n');
  await child.waitForOutput(/^locked /m);
  return child;
}

/** `count` processes that try to lock `dataDir` at the same moment; their outcomes. */
async function race(dataDir: string, count: number, mode: string[] = []) {
  const racers = Array.from({ length: count }, () =>
    track(spawnScript('tests/helpers/data-lock-child.ts', [dataDir, ...mode], {})),
  );
  await Promise.all(racers.map((racer) => racer.waitForOutput(/^ready$/m)));
  for (const racer of racers) racer.child.stdin?.write('go\n');
  await Promise.all(racers.map((racer) => racer.waitForOutput(/^(locked|refused)/m)));
  const winners = racers.filter((racer) => /^locked /m.test(racer.output()));
  const losers = racers.filter((racer) => !winners.includes(racer));
  for (const loser of losers) expect(await loser.exited).toBe(3);
  return { winners, losers };
}

/** Writes a lock file as another process would have. */
function plantOwner(dataDir: string, owner: Partial<LockOwner>): LockOwner {
  const complete: LockOwner = {
    pid: 1,
    hostname: hostname(),
    start: '1',
    command: 'main.js',
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
    ...owner,
  };
  mkdirSync(join(dataDir, LOCK_DIR), { recursive: true });
  writeFileSync(join(dataDir, LOCK_DIR, `${complete.token}.json`), JSON.stringify(complete));
  return complete;
}

const lockFiles = (dataDir: string) => readdirSync(join(dataDir, LOCK_DIR));

// The lock itself involves no database: this part runs on both test databases.
describe('the data folder lock', () => {
  it('refuses a second holder, naming the first, and is free again once released', () => {
    const dataDir = newFolder();
    const lock = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(dataDir)).toThrow(`in use by this process (${process.pid})`);
    lock.release();
    expect(readdirSync(dataDir)).toEqual([]);
    lockDataDir(dataDir).release();
    lock.release(); // a second release is harmless
  });

  it('never removes a lock it does not own', () => {
    const dataDir = newFolder();
    const lock = lockDataDir(dataDir);
    // Its file was removed behind its back and another owner's installed.
    unlinkSync(join(dataDir, LOCK_DIR, `${lock.owner.token}.json`));
    const other = plantOwner(dataDir, { hostname: 'elsewhere.example' });
    lock.release();
    expect(lockFiles(dataDir)).toEqual([`${other.token}.json`]);
  });

  it('takes over a lock left by a killed process', async () => {
    const dataDir = newFolder();
    const holder = await lockInChild(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(`in use by process ${holder.child.pid} (data-lock-child.ts`);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const lock = lockDataDir(dataDir);
    expect(lockFiles(dataDir)).toEqual([`${lock.owner.token}.json`]);
    lock.release();
  });

  it.runIf(existsSync('/proc/self/stat'))('tells the owner from a later process that got its pid', () => {
    const dataDir = newFolder();
    // The parent process runs, but started at another time than this lock's owner did.
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'latin1');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
    plantOwner(dataDir, { pid: process.ppid, start: `${start}0` });
    const lock = lockDataDir(dataDir);
    lock.release();
    plantOwner(dataDir, { pid: process.ppid, start });
    expect(() => lockDataDir(dataDir)).toThrow(`in use by process ${process.ppid} (main.js)`);
  });

  it('never takes over a lock held on another host, and says what to remove', () => {
    const dataDir = newFolder();
    plantOwner(dataDir, { hostname: 'elsewhere.example', pid: 4242 });
    expect(() => lockDataDir(dataDir)).toThrow(`in use by process 4242 (main.js) on host elsewhere.example`);
    expect(() => lockDataDir(dataDir)).toThrow(`remove ${join(dataDir, LOCK_DIR)}`);
  });

  it('never takes over a lock it cannot read, and says what to remove', () => {
    const dataDir = newFolder();
    mkdirSync(join(dataDir, LOCK_DIR), { recursive: true });
    writeFileSync(join(dataDir, LOCK_DIR, 'notes.txt'), 'mine');
    expect(() => lockDataDir(dataDir)).toThrow('not a lock file this version of ScaiKey understands');
    expect(lockFiles(dataDir)).toEqual(['notes.txt']);
  });

  it('of processes racing for a lock left by a killed process, exactly one gets it', async () => {
    const dataDir = newFolder();
    const holder = await lockInChild(dataDir);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const { winners, losers } = await race(dataDir, 4);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as ChildScript;
    for (const loser of losers) expect(loser.output()).toContain(`in use by process ${winner.child.pid} `);
    winner.child.stdin?.end();
    expect(await winner.exited).toBe(0);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('of processes racing to fill a new folder, exactly one fills it and gets it', async () => {
    const dataDir = newFolder();
    const { winners, losers } = await race(dataDir, 4, ['initialize']);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as ChildScript;
    for (const loser of losers) expect(loser.output()).toContain(`in use by process ${winner.child.pid} `);
    expect(readFileSync(join(dataDir, 'filled-by'), 'utf8')).toBe(String(winner.child.pid));
    // No staging folder is left next to it.
    expect(readdirSync(scratch).filter((name) => name.startsWith(`${dataDir.split('/').pop()}.`))).toEqual(
      [],
    );
    winner.child.stdin?.end();
    expect(await winner.exited).toBe(0);
  });
});

// The processes: a PGlite matter, the PostgreSQL run has nothing to add.
describe.skipIf(onPostgres)('one process per embedded data folder', () => {
  /** A data folder as a first start leaves it: the run's migrated template, unpacked. */
  function filledFolder(): string {
    const dataDir = newFolder();
    mkdirSync(dataDir);
    untar(readFileSync(inject('databaseTemplate')), dataDir);
    return dataDir;
  }

  async function stop(server: ChildScript): Promise<number | null> {
    server.child.kill('SIGTERM');
    return server.exited;
  }

  it('refuses a second server, which never listens, while the first keeps serving and its writes survive a restart', async () => {
    const dataDir = filledFolder();
    const first = track(await startServer({ SCAIKEY_DATA_DIR: dataDir }));
    const second = track(spawnServer({ SCAIKEY_DATA_DIR: dataDir }, await freePort()));
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toContain(`in use by process ${first.child.pid} (main.ts)`);
    expect(second.output()).not.toContain('listening');

    const created = await fetch(`${first.base}/api/v1/admin/tenants/`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await platformToken(first.base)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'Written while refused' }),
    });
    expect(created.status).toBe(201);
    const tenantId = ((await created.json()) as { data: { id: string } }).data.id;
    expect(await stop(first), first.output()).toBe(0);
    expect(readdirSync(dataDir)).not.toContain(LOCK_DIR); // released on SIGTERM

    const restarted = track(await startServer({ SCAIKEY_DATA_DIR: dataDir }));
    const read = await fetch(`${restarted.base}/api/v1/admin/tenants/${tenantId}`, {
      headers: { authorization: `Bearer ${await platformToken(restarted.base)}` },
    });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { data: { name: string } }).data.name).toBe('Written while refused');
    expect(await stop(restarted)).toBe(0);
  }, 180_000);

  it('refuses keys rotate while a server holds the folder, and runs it once the server stopped', async () => {
    const dataDir = filledFolder();
    const server = track(await startServer({ SCAIKEY_DATA_DIR: dataDir }));
    const refused = track(spawnScript('src/cli.ts', ['keys', 'rotate'], { SCAIKEY_DATA_DIR: dataDir }));
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain(`in use by process ${server.child.pid} (main.ts)`);
    expect(refused.output()).not.toContain('New active signing key');
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);

    expect(await stop(server)).toBe(0);
    const rotated = track(spawnScript('src/cli.ts', ['keys', 'rotate'], { SCAIKEY_DATA_DIR: dataDir }));
    expect(await rotated.exited, rotated.output()).toBe(0);
    expect(rotated.output()).toContain('New active signing key');
    expect(readdirSync(dataDir)).not.toContain(LOCK_DIR);
  }, 180_000);

  it('starts after the previous holder was killed, taking over its lock', async () => {
    const dataDir = filledFolder();
    const killed = track(await startServer({ SCAIKEY_DATA_DIR: dataDir }));
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(lockFiles(dataDir)).toHaveLength(1);

    const next = track(await startServer({ SCAIKEY_DATA_DIR: dataDir }));
    expect((await fetch(`${next.base}/readyz`)).status).toBe(200);
    const [file] = lockFiles(dataDir);
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_DIR, file as string), 'utf8')).pid).toBe(
      next.child.pid,
    );
    expect(await stop(next)).toBe(0);
  }, 180_000);

  it('of two servers starting on one folder at once, exactly one listens', async () => {
    const dataDir = filledFolder();
    const [portA, portB] = [await freePort(), await freePort()];
    const servers = [portA, portB].map((port) => track(spawnServer({ SCAIKEY_DATA_DIR: dataDir }, port)));
    // Each either listens or exits (its exit code).
    const outcomes = await Promise.all(
      servers.map(async (server) => {
        try {
          await server.waitForOutput(/ScaiKey listening on/);
          return 'listening';
        } catch {
          return server.exited;
        }
      }),
    );
    const winner = servers[outcomes.indexOf('listening')];
    const loser = servers[outcomes.findIndex((outcome) => outcome !== 'listening')];
    expect(outcomes.filter((outcome) => outcome === 'listening')).toHaveLength(1);
    expect(outcomes).toContain(1);
    expect(loser?.output()).toContain(`in use by process ${winner?.child.pid} (main.ts)`);
    expect(await stop(winner as ChildScript)).toBe(0);
  }, 180_000);
});
