import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateToLatest, openDatabase } from './database.js';
import { migrations } from './migrations/index.js';

/**
 * The prebuilt initial PGlite database: an empty, fully migrated data folder as a tarball, made
 * by `npm run build` (ADR 0006). A first start on an empty data folder unpacks it instead of
 * running initdb inside the server process, which costs ~3.5 s and leaves the WebAssembly memory
 * at ~800 MB for the life of the process (it never shrinks); unpacking takes a tenth of a second.
 */
export const INITIAL_DATABASE_FILE = 'initial-database.tar';
const KEY_FILE = 'initial-database.json';

/** The build output folder (`dist/`) when running the compiled code; the repository when from source. */
export const defaultInitialDatabaseDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What the tarball depends on: the PGlite release (its on-disk format) and the migrations in it. */
export function initialDatabaseKey(): string {
  // The package does not export its package.json; find it next to its entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return JSON.stringify({ pglite: version, migrations: Object.keys(migrations) });
}

/** Whether `dir` holds a tarball made for the running code's key. */
function upToDate(dir: string): boolean {
  const keyPath = join(dir, KEY_FILE);
  return (
    existsSync(keyPath) &&
    existsSync(join(dir, INITIAL_DATABASE_FILE)) &&
    readFileSync(keyPath, 'utf8') === initialDatabaseKey()
  );
}

/** The prebuilt tarball in `dir`, or null when there is none or it was made for another key. */
export function readInitialDatabase(dir = defaultInitialDatabaseDir): Buffer | null {
  return upToDate(dir) ? readFileSync(join(dir, INITIAL_DATABASE_FILE)) : null;
}

/** Makes an empty in-memory PGlite database, migrates it and returns its data folder as a tarball. */
export async function buildInitialDatabase(): Promise<Blob> {
  const database = await openDatabase({ kind: 'pglite', dataDir: null });
  try {
    await migrateToLatest(database.db);
    return await (database.dumpDataDir as () => Promise<Blob>)();
  } finally {
    await database.close();
  }
}

/** Writes the tarball to `dir` unless an up-to-date one is there. Returns whether it wrote one. */
export async function writeInitialDatabase(dir = defaultInitialDatabaseDir): Promise<boolean> {
  if (upToDate(dir)) return false;
  const dump = await buildInitialDatabase();
  // Written under a temporary name and renamed, so a start never finds half a file.
  const temporary = join(dir, `${INITIAL_DATABASE_FILE}.${process.pid}`);
  writeFileSync(temporary, Buffer.from(await dump.arrayBuffer()));
  renameSync(temporary, join(dir, INITIAL_DATABASE_FILE));
  writeFileSync(join(dir, KEY_FILE), initialDatabaseKey());
  return true;
}

/**
 * Unpacks the prebuilt initial database into `folder` (new and empty), so PGlite opens an existing
 * cluster instead of running initdb. Returns false, leaving the folder to PGlite, when the tarball
 * is missing or stale.
 *
 * A first start calls it through lockDataDir (data-dir-lock.ts, ADR 0008) on a staging folder,
 * which is then renamed into place with the lock in it: an interrupted first start never leaves
 * half a cluster behind, and two processes starting on one empty folder never both fill it.
 * The tarball is unpacked here rather than by PGlite's `loadDataDir`, which keeps the whole
 * tarball referenced for the life of the process (~90 MB more resident memory, measured).
 */
export function unpackInitialDatabase(
  folder: string,
  initialDatabaseDir = defaultInitialDatabaseDir,
): boolean {
  const tar = readInitialDatabase(initialDatabaseDir);
  if (!tar) return false;
  untar(tar, folder);
  return true;
}

/** Reads a POSIX ustar header field: NUL-terminated text, or an octal number. */
function field(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('latin1', offset, end >= offset && end < offset + length ? end : offset + length);
}

/**
 * Unpacks a ustar archive of directories and regular files (what PGlite's dumpDataDir writes)
 * into `target`. Any other entry type, or a path leaving `target`, is an error.
 */
export function untar(archive: Buffer, target: string): void {
  const root = resolve(target);
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break; // end-of-archive marker
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(header, 0, 100);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = Number.parseInt(field(header, 100, 8).trim() || '0', 8) & 0o777;
    const type = String.fromCharCode(header[156] ?? 0);
    const path = resolve(root, `.${name.startsWith('/') ? '' : '/'}${name}`);
    if (path !== root && !path.startsWith(`${root}${sep}`))
      throw new Error(`tar entry outside the target: ${name}`);
    offset += 512;
    if (type === '5') {
      mkdirSync(path, { recursive: true, mode: mode || 0o700 });
    } else if (type === '0' || type === '\0') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, archive.subarray(offset, offset + size), { mode: mode || 0o600 });
      offset += Math.ceil(size / 512) * 512;
    } else {
      throw new Error(`unsupported tar entry type "${type}" for ${name}`);
    }
  }
}
