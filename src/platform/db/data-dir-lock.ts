import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';

/**
 * One process at a time per embedded data folder (ADR 0008). PGlite has no lock of its own: two
 * processes on one folder each serve their own view, lose acknowledged writes and can leave a
 * folder that no longer opens.
 *
 * The lock is a folder, `scaikey.lock`, inside the data folder, holding one file named for its
 * owner's random token (`<token>.json`: pid, host, process start time). It is installed by
 * renaming a complete private folder onto that path, which the kernel does atomically and only
 * when the path is missing or an empty folder: of two processes starting at once exactly one
 * succeeds. A lock whose owner is gone (killed, crashed) is taken over by deleting exactly that
 * owner's file, which can never delete a newer owner's file; the empty folder left is free again.
 */
export const LOCK_DIR = 'scaikey.lock';

/** What a lock file records about the process that holds the folder. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /**
   * When the process started: on Linux its start time in clock ticks since boot (/proc/<pid>/stat),
   * which tells a reused pid from the owner; elsewhere the process's own time origin.
   */
  start: string;
  /** The program and its arguments, for the message a second process gets (`main.js`). */
  command: string;
  /** When the lock was taken, ISO 8601. */
  since: string;
  token: string;
}

/** The data folder is held by another process (or this one): it must not be opened. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder; null when its lock file could not be read. */
    readonly owner: LockOwner | null,
    message: string,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  readonly owner: LockOwner;
  /** Removes this process's lock file (never another's); safe to call more than once. */
  release(): void;
}

export interface LockOptions {
  /**
   * Fills a new, empty folder when `dataDir` is missing or empty (the first start); returns
   * whether it did. The folder is then renamed to `dataDir` with the lock already in it, so no
   * other process ever sees it half filled or unlocked.
   */
  initialize?: (folder: string) => boolean;
}

// Holders are judged again after every lost round; more rounds than racing processes is plenty.
const MAX_ROUNDS = 20;

/**
 * Takes the exclusive lock on the embedded data folder `dataDir` (created when missing), before
 * anything opens it. Throws DataDirLockedError naming the holder when a live process has it; a
 * lock left by a process that is gone is taken over.
 */
export function lockDataDir(dataDir: string, options: LockOptions = {}): DataDirLock {
  const owner = ownOwner();
  if (
    options.initialize &&
    isMissingOrEmpty(dataDir) &&
    publishInitialized(dataDir, owner, options.initialize)
  )
    return held(dataDir, owner);

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockDir = join(dataDir, LOCK_DIR);
  const candidate = `${lockDir}.${owner.token}`;
  writeLockFolder(candidate, owner);
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (renameIfFree(candidate, lockDir)) return held(dataDir, owner);
      for (const entry of readEntries(lockDir)) {
        const found = readOwner(join(lockDir, entry));
        if (found === undefined) continue; // released or taken over meanwhile
        if (typeof found === 'string') {
          throw new DataDirLockedError(
            dataDir,
            null,
            `The data folder ${dataDir} is locked by ${join(lockDir, entry)}, but ${found}. If no ScaiKey process uses the folder, remove ${lockDir}.`,
          );
        }
        const state = ownerState(found);
        if (state !== 'gone')
          throw new DataDirLockedError(dataDir, found, lockedMessage(dataDir, found, state));
        // Deletes this owner's file only: a newer owner has another token, so another file name.
        removeIfPresent(join(lockDir, entry));
      }
    }
  } finally {
    rmSync(candidate, { recursive: true, force: true });
  }
  throw new Error(`Could not lock the data folder ${dataDir}: its lock kept changing hands`);
}

/** This process, as its lock file describes it. */
function ownOwner(): LockOwner {
  const [script, ...args] = process.argv.slice(1);
  return {
    pid: process.pid,
    hostname: hostname(),
    start: processStart(process.pid) ?? `origin:${Math.round(performance.timeOrigin)}`,
    command: [script ? basename(script) : 'node', ...args].join(' '),
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
  };
}

/** Linux: the start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isMissingOrEmpty(dataDir: string): boolean {
  try {
    return readdirSync(dataDir).length === 0;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
}

/**
 * The first start: `initialize` fills a staging folder next to `dataDir`, the lock is written into
 * it, and it is renamed to `dataDir`. Returns false when there was nothing to fill it with or
 * another process got there first (the caller then locks the usual way, and learns who).
 */
function publishInitialized(
  dataDir: string,
  owner: LockOwner,
  initialize: (folder: string) => boolean,
): boolean {
  const staging = `${dataDir}.initial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  try {
    if (!initialize(staging)) return false;
    writeLockFolder(join(staging, LOCK_DIR), owner);
    // Replaces a missing or empty folder; an interrupted first start leaves only the staging folder.
    return renameIfFree(staging, dataDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * A lock folder holding `owner`'s file, complete before anyone can see it under the lock's name.
 * Readable by all: a process of another user (keys rotate run as root, say) must learn who holds
 * the folder, and the file holds nothing secret.
 */
function writeLockFolder(folder: string, owner: LockOwner): void {
  mkdirSync(folder, { mode: 0o755 });
  writeFileSync(join(folder, `${owner.token}.json`), `${JSON.stringify(owner)}\n`, {
    flag: 'wx',
    mode: 0o644,
  });
}

/** rename(2) of a folder onto `target`: succeeds when `target` is missing or an empty folder. */
function renameIfFree(source: string, target: string): boolean {
  try {
    renameSync(source, target);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

function readEntries(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/** The owner a lock file names; undefined when the file is gone, else why it cannot be read. */
function readOwner(path: string): LockOwner | string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    return `it cannot be read (${errorCode(error) ?? String(error)})`;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    const valid =
      Number.isSafeInteger(owner.pid) &&
      (owner.pid as number) > 0 &&
      typeof owner.hostname === 'string' &&
      typeof owner.start === 'string' &&
      typeof owner.token === 'string' &&
      basename(path) === `${owner.token}.json`;
    if (valid) return { command: '', since: '', ...owner } as LockOwner;
  } catch {
    // Not JSON: reported below like any other foreign file.
  }
  return 'it is not a lock file this version of ScaiKey understands';
}

/**
 * Whether the owner still runs: 'gone' only when certain. A process on another host (the folder
 * on a shared file system, or another container) cannot be checked from here.
 */
function ownerState(owner: LockOwner): 'running' | 'gone' | 'elsewhere' {
  if (owner.hostname !== hostname()) return 'elsewhere';
  const ownStart = processStart(process.pid) ?? `origin:${Math.round(performance.timeOrigin)}`;
  // Our own pid: this very process (another open in it), or one that had our pid before us, such
  // as the previous run of a container whose entry point is always pid 1.
  if (owner.pid === process.pid) return owner.start === ownStart ? 'running' : 'gone';
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if (errorCode(error) === 'ESRCH') return 'gone';
  }
  const start = processStart(owner.pid);
  // The pid was reused by a process that started later than the owner.
  if (start !== null && start !== owner.start) return 'gone';
  return 'running';
}

function lockedMessage(dataDir: string, owner: LockOwner, state: 'running' | 'elsewhere'): string {
  const what = `process ${owner.pid}${owner.command ? ` (${owner.command})` : ''}`;
  const since = owner.since ? ` since ${owner.since}` : '';
  if (state === 'elsewhere') {
    return `The data folder ${dataDir} is in use by ${what} on host ${owner.hostname}${since}, which cannot be checked from ${hostname()}. The embedded database allows one process at a time; if no ScaiKey process runs there any more, remove ${join(dataDir, LOCK_DIR)}.`;
  }
  const who = owner.pid === process.pid ? `this process (${owner.pid})` : what;
  return `The data folder ${dataDir} is in use by ${who}${since}. The embedded database allows one process at a time: stop that process first, or use PostgreSQL (DATABASE_URL) for several instances.`;
}

function held(dataDir: string, owner: LockOwner): DataDirLock {
  let released = false;
  return {
    dataDir,
    owner,
    release() {
      if (released) return;
      released = true;
      const lockDir = join(dataDir, LOCK_DIR);
      removeIfPresent(join(lockDir, `${owner.token}.json`));
      try {
        rmdirSync(lockDir);
      } catch (error) {
        // Another process has installed its lock since (not empty), or nothing is left to remove.
        const code = errorCode(error);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error;
      }
    },
  };
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}
