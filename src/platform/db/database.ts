import type { PGlite } from '@electric-sql/pglite';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { migrations } from './migrations/index.js';
import { type ListenGaps, PgListener } from './pg-listener.js';
import { PGliteDialect } from './pglite-dialect.js';
import { preparedStatementName } from './prepared.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: repositories accept both. */
export type Queryable = Db | Tx;

export interface DatabaseHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  /**
   * Subscribes to a NOTIFY channel; the returned function unsubscribes. `gaps` hears when notices
   * may be lost and when they flow again (PostgreSQL's LISTEN connection; PGlite has none to lose).
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    gaps?: ListenGaps,
  ): Promise<() => Promise<void>>;
  /**
   * Registers a handler for errors of idle PostgreSQL connections (the server restarted, a
   * connection was terminated): the pool drops such a connection and opens a new one on demand.
   */
  onConnectionError(handler: (error: Error) => void): void;
  /** PGlite only: the data folder as an uncompressed tarball (a template for fresh databases). */
  dumpDataDir?: () => Promise<Blob>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export type DatabaseTarget =
  | { kind: 'postgres'; url: string }
  /**
   * `dataDir` null = in memory; `template` = a dumped data folder to start from (dumpDataDir);
   * `lock` = the folder's lock when the caller took it already (the handle releases it on close).
   */
  | { kind: 'pglite'; dataDir: string | null; template?: Blob; lock?: DataDirLock };

/**
 * The pg pool as Kysely sees it, except that the SQL of prepared queries (prepared.ts) runs as
 * named prepared statements: pg sends Parse once per connection and PostgreSQL reuses the plan.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        const query = (sqlText: string, parameters: ReadonlyArray<unknown>) => {
          const name = typeof sqlText === 'string' ? preparedStatementName(sqlText) : undefined;
          return name
            ? client.query({ name, text: sqlText, values: parameters as unknown[] })
            : client.query(sqlText, parameters as unknown[]);
        };
        wrapper = { query: query as unknown as PostgresPoolClient['query'], release: () => client.release() };
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/** Opens PostgreSQL (pool) or the embedded PGlite database (`dataDir` null = in memory). */
export async function openDatabase(
  target: DatabaseTarget,
  options: { poolSize?: number } = {},
): Promise<DatabaseHandle> {
  if (target.kind === 'postgres') {
    // Counts arrive as int8; every count ScaiKey makes fits a JS number.
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    };
    const pool = new pg.Pool({ connectionString: target.url, max: options.poolSize ?? 10, types });
    // Without a listener, an idle connection's error (e.g. "terminating connection due to
    // administrator command") would be thrown as an uncaught exception and end the process.
    const errorHandlers = new Set<(error: Error) => void>();
    // Each lost connection is reported once, whether it was idle (the pool's 'error') or checked
    // out (its client's 'error': a statement in flight also fails with the loss, and its caller
    // answers as for any database error). A client may emit both, and more than once.
    const reported = new WeakSet<object>();
    const report = (client: object, error: Error) => {
      if (reported.has(client)) return;
      reported.add(client);
      for (const handler of errorHandlers) handler(error);
    };
    pool.on('error', (error, client) => report(client, error));
    // The pool listens to a client only while it is idle: without this listener the error of a
    // checked-out client would be an uncaught exception.
    pool.on('connect', (client) => {
      client.on('error', (error) => report(client, error));
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
    const listener = new PgListener(target.url, (error) => {
      for (const handler of errorHandlers) handler(error);
    });
    return {
      db,
      kind: 'postgres',
      listen: (channel, onPayload, gaps) => listener.listen(channel, onPayload, gaps),
      onConnectionError(handler) {
        errorHandlers.add(handler);
      },
      async close() {
        await db.destroy();
        await listener.close();
      },
    };
  }

  // One process at a time per data folder (ADR 0008): taken before PGlite touches the folder, held
  // until close. An in-memory database is this process's alone.
  const lock = target.dataDir ? (target.lock ?? lockDataDir(target.dataDir)) : null;
  let pglite: PGlite;
  try {
    // Loaded only for the embedded database: a PostgreSQL instance never needs it.
    const { PGlite: PGliteClass } = await import('@electric-sql/pglite');
    pglite = new PGliteClass(target.dataDir ?? undefined, {
      parsers: { [INT8_OID]: Number, [NUMERIC_OID]: Number },
      ...(target.template ? { loadDataDir: target.template } : {}),
    });
    await pglite.waitReady;
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    async listen(channel, onPayload) {
      const unsubscribe = await pglite.listen(channel, onPayload);
      return async () => unsubscribe();
    },
    // The embedded database has no connections to lose.
    onConnectionError() {},
    dumpDataDir: () => pglite.dumpDataDir('none'),
    async close() {
      try {
        await db.destroy();
        await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** Applies every pending migration (run at start; safe with several instances: Kysely takes a lock). */
export async function migrateToLatest(db: Db): Promise<void> {
  // The common case, a schema already up to date, costs one SELECT instead of the Migrator's
  // lock-and-compare round (a third of a PGlite restart).
  const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(db).then(
    (result) => new Set(result.rows.map((row) => row.name)),
    () => new Set<string>(),
  );
  if (Object.keys(migrations).every((name) => applied.has(name))) return;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}
