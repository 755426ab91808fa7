import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuBusySeconds, cpuSeconds } from './processes.js';

/**
 * Issue 17 ("say by how much a target is missed and why"): what the load process reads around the
 * measured part of a scenario (warm-up excluded), so that the report can say where the time went:
 * the ScaiKey server's CPU (`/proc/<pid>/stat` utime + stime, all its threads), the busy time of
 * the CPU it is pinned to (`/proc/stat`, every process on it), the load process's own CPU, the
 * JWTs the server signed in the tokens it answered, and on PostgreSQL the database's work for the
 * bench database (`pg_stat_database`) and the CPU of its backend processes.
 *
 * The load process reads the server's /proc files itself (same machine, same user), so the window
 * is exactly the measured operations.
 *
 * On PostgreSQL two figures are exact and current when read: the transaction ids assigned (every
 * transaction that writes takes one; `pg_current_snapshot()`'s xmax, read without taking one) and
 * the WAL written (`pg_current_wal_insert_lsn()`). Both are server-wide, so they count the bench
 * database and anything else writing on that server. They are read right at both ends of the
 * window. The `pg_stat_database` counters are not exact: a backend flushes them when a transaction
 * ends at least a second after its last flush (`PGSTAT_MIN_INTERVAL`, PostgreSQL 15+), and what is
 * left pending when it goes idle only after ten seconds idle (`PGSTAT_IDLE_INTERVAL`). They are read
 * after `settleSeconds` without load at both ends of the window: the warm-up's last second moves
 * into the window about as much as the window's last second moves out of it, so per-op figures
 * over a window of some seconds are close, and those of a window under a second may be far off
 * (even zero).
 */
export interface MeterSpec {
  /** The ScaiKey server process. */
  serverPid: number;
  /** The CPU the server is pinned to (its busy time from /proc/stat), or null when not pinned. */
  serverCpu: string | null;
  /** PostgreSQL: where to read pg_stat_database / pg_stat_activity (not the bench database itself). */
  postgres: { adminUrl: string; database: string } | null;
  /** Seconds without load before reading PostgreSQL's counters (see above). */
  settleSeconds: number;
}

/** pg_stat_database counters of the bench database over the window (deltas). */
export interface DatabaseCounters {
  xactCommit: number;
  xactRollback: number;
  tupReturned: number;
  tupFetched: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
}

export type DatabaseUsage =
  /** PGlite: the database runs inside the server process; its work is in the server's CPU. */
  | { kind: 'in-process' }
  | {
      kind: 'postgres';
      /** Statistics of the bench database, approximate (see the comment at the top). */
      counters: DatabaseCounters;
      /** Exact, server-wide: transaction ids assigned in the window (transactions that wrote). */
      writeTransactions: number;
      /** Exact, server-wide: bytes of WAL inserted in the window. */
      walBytes: number;
      /** Client backends of the bench database seen at either end of the window. */
      backends: number;
      /** CPU of those backends over the window (/proc/<pid>/stat), or null when not readable. */
      backendCpuSeconds: number | null;
    };

/** What one measured window used. */
export interface Usage {
  /** Wall time of the window, s. */
  seconds: number;
  /** Operations measured in it (the measurement's count). */
  operations: number;
  /** CPU seconds of the server process (all threads), or null when /proc cannot be read. */
  serverCpuSeconds: number | null;
  /** The pinned server CPU: its id and its busy seconds (every process on it). */
  serverCore: { cpu: string; busySeconds: number } | null;
  /** CPU seconds of the load process (this one). */
  loadCpuSeconds: number;
  /** null: the meter was not set up (e.g. a peer's load). */
  database: DatabaseUsage | null;
  /** Signed JWTs in the token responses the load received (see `countTokens`), by "field alg". */
  jwts: { count: number; kinds: Record<string, number> };
  /** Said when the window holds more than the measured operations (e.g. untimed restores). */
  note?: string;
}

let spec: MeterSpec | null = null;
let admin: pg.Client | null = null;

/** Sets up the meter for this load process (bench/worker.ts, from the load job). */
export function configureMeter(value: MeterSpec | null): void {
  spec = value;
}

/** Closes the meter's PostgreSQL connection (before the worker exits). */
export async function closeMeter(): Promise<void> {
  const client = admin;
  admin = null;
  await client?.end().catch(() => {});
}

const jwtTally: { count: number; kinds: Record<string, number> } = { count: 0, kinds: {} };

/**
 * Counts the signed JWTs among a token response's tokens (id_token, access_token, refresh_token
 * when it is one): the header decoded, `alg` other than `none`. Opaque tokens are not counted.
 */
export function countTokens(tokens: Record<string, unknown>): void {
  for (const field of ['id_token', 'access_token', 'refresh_token']) {
    const token = tokens[field];
    if (typeof token !== 'string') continue;
    const parts = token.split('.');
    if (parts.length !== 3) continue;
    try {
      const header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as {
        alg?: unknown;
      };
      if (typeof header.alg !== 'string' || header.alg === 'none') continue;
      const kind = `${field} ${header.alg}`;
      jwtTally.count++;
      jwtTally.kinds[kind] = (jwtTally.kinds[kind] ?? 0) + 1;
    } catch {
      // Not a JWT.
    }
  }
}

/** Counts the JWTs of a JSON token response body (autocannon's onResponse gives the text). */
export function countTokenBody(body: string): void {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object') countTokens(parsed as Record<string, unknown>);
  } catch {
    // Not JSON.
  }
}

interface PostgresSnapshot {
  counters: DatabaseCounters;
  pids: number[];
  /** The next transaction id to be assigned, and the WAL insert position in bytes (exact). */
  nextXid: number;
  walBytes: number;
}

async function postgresClient(url: string): Promise<pg.Client> {
  if (!admin) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    admin = client;
  }
  return admin;
}

async function readPostgres(target: NonNullable<MeterSpec['postgres']>): Promise<PostgresSnapshot> {
  const client = await postgresClient(target.adminUrl);
  const { rows } = await client.query<Record<string, string | number[] | null>>(
    `select xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted,
       (select coalesce(array_agg(pid), '{}') from pg_stat_activity
         where datname = $1 and backend_type = 'client backend') as pids,
       pg_snapshot_xmax(pg_current_snapshot())::text as next_xid,
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text as wal_bytes
     from pg_stat_database where datname = $1`,
    [target.database],
  );
  const row = rows[0];
  if (!row) throw new Error(`pg_stat_database has no row for ${target.database}`);
  const n = (key: string) => Number(row[key] ?? 0);
  return {
    counters: {
      xactCommit: n('xact_commit'),
      xactRollback: n('xact_rollback'),
      tupReturned: n('tup_returned'),
      tupFetched: n('tup_fetched'),
      tupInserted: n('tup_inserted'),
      tupUpdated: n('tup_updated'),
      tupDeleted: n('tup_deleted'),
    },
    pids: (row.pids as number[] | null) ?? [],
    nextXid: n('next_xid'),
    walBytes: n('wal_bytes'),
  };
}

function backendCpu(pids: number[]): Map<number, number | null> {
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
}

/** An open window: `end()` reads everything again and returns what the window used. */
export interface MeterWindow {
  end(operations: number, note?: string): Promise<Usage>;
}

/**
 * Opens a window right before the measured operations (on PostgreSQL after `settleSeconds` without
 * load, see MeterSpec); `end` right after them. Without a spec (a peer's load) only the load
 * process's CPU, the wall time and the JWTs are read.
 */
export async function startWindow(): Promise<MeterWindow> {
  const current = spec;
  let pgBefore: PostgresSnapshot | null = null;
  let backendsBefore = new Map<number, number | null>();
  if (current?.postgres) {
    if (current.settleSeconds > 0) await sleep(current.settleSeconds * 1000);
    pgBefore = await readPostgres(current.postgres);
    backendsBefore = backendCpu(pgBefore.pids);
  }
  const jwtsBefore = { count: jwtTally.count, kinds: { ...jwtTally.kinds } };
  const serverBefore = current ? cpuSeconds(current.serverPid) : null;
  const coreBefore = current?.serverCpu ? cpuBusySeconds(current.serverCpu) : null;
  const loadBefore = process.cpuUsage();
  const started = performance.now();

  return {
    async end(operations, note) {
      const seconds = (performance.now() - started) / 1000;
      const load = process.cpuUsage(loadBefore);
      const serverAfter = current ? cpuSeconds(current.serverPid) : null;
      const coreAfter = current?.serverCpu ? cpuBusySeconds(current.serverCpu) : null;
      const kinds: Record<string, number> = {};
      for (const [kind, count] of Object.entries(jwtTally.kinds)) {
        const delta = count - (jwtsBefore.kinds[kind] ?? 0);
        if (delta > 0) kinds[kind] = delta;
      }
      let database: DatabaseUsage | null = current ? { kind: 'in-process' } : null;
      if (current?.postgres && pgBefore) {
        // Backend CPU, transaction ids and WAL now (they are current); the statistics after settling.
        const now = await readPostgres(current.postgres);
        const pidsNow = now.pids;
        const backendsAfter = backendCpu(pidsNow);
        let backendCpuSeconds: number | null = 0;
        for (const [pid, after] of backendsAfter) {
          if (after === null) {
            backendCpuSeconds = null;
            break;
          }
          // A backend that started during the window: all of its CPU is the window's.
          const before = backendsBefore.get(pid);
          backendCpuSeconds += after - (before ?? 0);
        }
        if (current.settleSeconds > 0) await sleep(current.settleSeconds * 1000);
        const pgAfter = await readPostgres(current.postgres);
        const counters = Object.fromEntries(
          Object.entries(pgAfter.counters).map(([key, value]) => [
            key,
            value - (pgBefore as PostgresSnapshot).counters[key as keyof DatabaseCounters],
          ]),
        ) as unknown as DatabaseCounters;
        database = {
          kind: 'postgres',
          counters,
          writeTransactions: now.nextXid - pgBefore.nextXid,
          walBytes: now.walBytes - pgBefore.walBytes,
          backends: new Set([...backendsBefore.keys(), ...backendsAfter.keys()]).size,
          backendCpuSeconds,
        };
      }
      return {
        seconds,
        operations,
        serverCpuSeconds: serverBefore !== null && serverAfter !== null ? serverAfter - serverBefore : null,
        serverCore:
          current?.serverCpu && coreBefore !== null && coreAfter !== null
            ? { cpu: current.serverCpu, busySeconds: coreAfter - coreBefore }
            : null,
        loadCpuSeconds: (load.user + load.system) / 1e6,
        database,
        jwts: { count: jwtTally.count - jwtsBefore.count, kinds },
        ...(note ? { note } : {}),
      };
    },
  };
}
