import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

/** The entry types PGlite's dumpDataDir writes: regular files (`0`, or NUL in old archives) and directories. */
const UNPACKED_TYPES = new Set(['File', 'OldFile', 'Directory']);

/**
 * Unpacks a tar archive of directories and regular files (what PGlite's dumpDataDir writes) into
 * `target`, with node-tar. Any other entry type, a path leaving `target`, or an entry node-tar
 * refuses (a damaged header, say) is an error; the names' leading `/` (PGlite writes absolute
 * names) is dropped, as node-tar always does. Owners and modification times are not restored.
 */
export function untar(archive: Buffer, target: string): void {
  const root = resolve(target);
  let failure: Error | undefined;
  // node-tar is loaded here, at a first start on PGlite, not by every start (docs/performance.md,
  // "Idle memory"); synchronous, as the data folder's lock calls this.
  const { UnpackSync } = createRequire(import.meta.url)('tar') as typeof import('tar');
  const unpack = new UnpackSync({
    cwd: root,
    preserveOwner: false,
    noMtime: true,
    // Checked before node-tar looks at the entry (it would skip, not refuse, what it does not unpack).
    filter: (name, entry) => {
      const path = resolve(root, `.${name.startsWith('/') ? '' : '/'}${name}`);
      if (path !== root && !path.startsWith(`${root}${sep}`))
        throw new Error(`tar entry outside the target: ${name}`);
      if (!('type' in entry) || !UNPACKED_TYPES.has(entry.type))
        throw new Error(
          `unsupported tar entry type "${'header' in entry ? entry.header.typeKey : '?'}" for ${name}`,
        );
      return true;
    },
    // TAR_ENTRY_INFO is only the note that a leading `/` was dropped; anything else skipped an entry.
    onwarn: (code, message) => {
      if (code !== 'TAR_ENTRY_INFO') failure ??= new Error(`tar: ${message}`);
    },
  });
  unpack.end(archive);
  if (failure) throw failure;
}
