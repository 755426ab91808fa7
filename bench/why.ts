import type { LoadResult } from './load.js';
import type { MemoryBreakdown } from './processes.js';
import type { ReferenceResult } from './references.js';

/**
 * Issue 17: "reports each target met or says by how much it is missed and why". The why is worked
 * out from what the scenario's window measured (bench/meter.ts `Usage`) and the pass's references,
 * never from canned text: the server's CPU per operation and how busy it was, the load generator's
 * CPU, the database's work per operation (PostgreSQL) and, for a ratio to a machine reference, the
 * reference's own time per operation and the ceiling that leaves at the measured CPU per operation.
 */
export interface Why {
  /** ms of ScaiKey server CPU (all its threads) per measured operation. */
  serverCpuMsPerOp: number | null;
  /** The server's CPU over the window, % of one core. */
  serverCpuPercent: number | null;
  /** The pinned server CPU, and how busy it was over the window with every process on it, %. */
  serverCore: { cpu: string; busyPercent: number } | null;
  /** The load generator's CPU, % of one core. */
  loadCpuPercent: number;
  database:
    | { kind: 'in-process' }
    | {
        kind: 'postgres';
        /** Exact, server-wide: transaction ids assigned (transactions that wrote) per operation. */
        writeTransactionsPerOp: number;
        /** Exact, server-wide: WAL bytes inserted per operation. */
        walBytesPerOp: number;
        /**
         * The rest are the bench database's statistics (pg_stat_database), approximate: flushed by
         * each backend at most once a second (bench/meter.ts).
         * xact_commit + xact_rollback of the bench database per operation.
         */
        transactionsPerOp: number;
        rollbacksPerOp: number;
        /** tup_returned, tup_fetched per operation. */
        rowsReturnedPerOp: number;
        rowsFetchedPerOp: number;
        /** tup_inserted + tup_updated + tup_deleted per operation, and each. */
        rowsWrittenPerOp: number;
        rowsInsertedPerOp: number;
        rowsUpdatedPerOp: number;
        rowsDeletedPerOp: number;
        /** Client backends of the bench database, and their CPU per operation (null: unreadable). */
        backends: number;
        backendCpuMsPerOp: number | null;
      }
    | null;
  /**
   * The reference's own time per operation and, beside the server's CPU per operation, the ratio
   * the server could reach at most if it had a core to itself as the reference had: reference ms /
   * server ms. `basis` "cpu": the reference process's CPU per operation (RS256, argon2id, SQL on
   * PGlite: the machine's cost of one, however busy the machine was); "rate": 1000 / its rate (SQL
   * on PostgreSQL, whose work is in the database's processes).
   */
  reference: { name: string; msPerOp: number; basis: 'cpu' | 'rate'; ceiling: number | null } | null;
  /** Signed JWTs per operation in the token answers, by "field alg" (null: no token answers). */
  jwts: {
    perOp: number;
    kinds: Record<string, number>;
    /** perOp x rs256-sign's ms per op: the CPU the signatures take per operation. */
    signingMsPerOp: number | null;
    /** Against rs256-sign: 1 / perOp, the ratio the signatures alone allow. */
    ceiling: number | null;
  } | null;
  /** 1000 / server ms per op: operations per second one core of this server allows. */
  rateCeiling: number | null;
  note?: string;
}

/** A reference's time per operation: its CPU per operation when known, else 1000 / its rate. */
function msPerOp(reference: ReferenceResult): { ms: number; basis: 'cpu' | 'rate' } | null {
  if (reference.cpuMsPerOp) return { ms: reference.cpuMsPerOp, basis: 'cpu' };
  return reference.measurement.rate > 0 ? { ms: 1000 / reference.measurement.rate, basis: 'rate' } : null;
}

/** Works out the why of one scenario's measurement; null when its window was not measured. */
export function explain(
  load: LoadResult,
  reference: ReferenceResult | null,
  references: ReferenceResult[],
): Why | null {
  const usage = load.usage;
  if (!usage || usage.operations <= 0 || usage.seconds <= 0) return null;
  const ops = usage.operations;
  const serverCpuMsPerOp = usage.serverCpuSeconds === null ? null : (usage.serverCpuSeconds * 1000) / ops;
  let database: Why['database'] = null;
  if (usage.database?.kind === 'in-process') database = { kind: 'in-process' };
  else if (usage.database?.kind === 'postgres') {
    const c = usage.database.counters;
    database = {
      kind: 'postgres',
      writeTransactionsPerOp: usage.database.writeTransactions / ops,
      walBytesPerOp: usage.database.walBytes / ops,
      transactionsPerOp: (c.xactCommit + c.xactRollback) / ops,
      rollbacksPerOp: c.xactRollback / ops,
      rowsReturnedPerOp: c.tupReturned / ops,
      rowsFetchedPerOp: c.tupFetched / ops,
      rowsWrittenPerOp: (c.tupInserted + c.tupUpdated + c.tupDeleted) / ops,
      rowsInsertedPerOp: c.tupInserted / ops,
      rowsUpdatedPerOp: c.tupUpdated / ops,
      rowsDeletedPerOp: c.tupDeleted / ops,
      backends: usage.database.backends,
      backendCpuMsPerOp:
        usage.database.backendCpuSeconds === null ? null : (usage.database.backendCpuSeconds * 1000) / ops,
    };
  }
  const referenceTime = reference ? msPerOp(reference) : null;
  const rs256 = references.find((candidate) => candidate.name === 'rs256-sign');
  const signatureMs = rs256 ? msPerOp(rs256)?.ms : undefined;
  const jwtsPerOp = usage.jwts.count / ops;
  return {
    serverCpuMsPerOp,
    serverCpuPercent: usage.serverCpuSeconds === null ? null : (usage.serverCpuSeconds / usage.seconds) * 100,
    serverCore: usage.serverCore
      ? { cpu: usage.serverCore.cpu, busyPercent: (usage.serverCore.busySeconds / usage.seconds) * 100 }
      : null,
    loadCpuPercent: (usage.loadCpuSeconds / usage.seconds) * 100,
    database,
    reference:
      reference && referenceTime
        ? {
            name: reference.name,
            msPerOp: referenceTime.ms,
            basis: referenceTime.basis,
            ceiling: serverCpuMsPerOp ? referenceTime.ms / serverCpuMsPerOp : null,
          }
        : null,
    jwts:
      usage.jwts.count > 0
        ? {
            perOp: jwtsPerOp,
            kinds: Object.fromEntries(
              Object.entries(usage.jwts.kinds).map(([kind, count]) => [kind, count / ops]),
            ),
            signingMsPerOp: signatureMs !== undefined ? jwtsPerOp * signatureMs : null,
            ceiling: reference?.name === 'rs256-sign' ? 1 / jwtsPerOp : null,
          }
        : null,
    rateCeiling: serverCpuMsPerOp ? 1000 / serverCpuMsPerOp : null,
    ...(usage.note ? { note: usage.note } : {}),
  };
}

const fixed = (value: number, digits = 2) => (value < 10 ? value.toFixed(digits) : value.toFixed(1));
const share = (value: number) => `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
const perSecond = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The why as one clause list: "server CPU 100% busy, 4.20 ms CPU/op (argon2id-hash 1.60 ms/op → …), …". */
export function whyText(why: Why, options: { minRate: boolean }): string {
  const parts: string[] = [];
  if (why.serverCpuMsPerOp === null || why.serverCpuPercent === null) {
    parts.push('server CPU not readable (/proc)');
  } else {
    let cpu = `server CPU ${why.serverCpuPercent.toFixed(0)}% busy`;
    if (why.serverCore) {
      // The server's pinned CPU with every process on it: what the server did not get went elsewhere.
      const others = Math.max(0, why.serverCore.busyPercent - why.serverCpuPercent);
      cpu +=
        ` (CPU ${why.serverCore.cpu} ${why.serverCore.busyPercent.toFixed(0)}% busy, ` +
        `${others.toFixed(0)} points of it other processes)`;
    }
    cpu += `, ${fixed(why.serverCpuMsPerOp)} ms CPU/op`;
    const ceilings: string[] = [];
    if (why.reference?.ceiling != null) {
      ceilings.push(
        `${why.reference.name} ${fixed(why.reference.msPerOp, 3)} ms ${why.reference.basis === 'cpu' ? 'CPU/op' : 'per op at its rate'} → ` +
          `${share(why.reference.ceiling)} ceiling at this CPU/op`,
      );
    }
    if (options.minRate && why.rateCeiling !== null) {
      ceilings.push(`at most ${perSecond.format(why.rateCeiling)}/s on one core`);
    }
    if (ceilings.length > 0) cpu += ` (${ceilings.join('; ')})`;
    parts.push(cpu);
  }
  if (why.jwts) {
    const kinds = Object.entries(why.jwts.kinds)
      .map(([kind, perOp]) => `${kind} ${fixed(perOp)}`)
      .join(', ');
    let jwts = `${fixed(why.jwts.perOp)} JWTs signed/op (${kinds})`;
    const more: string[] = [];
    if (why.jwts.signingMsPerOp !== null) {
      more.push(
        `${fixed(why.jwts.signingMsPerOp)} ms of signing` +
          (why.serverCpuMsPerOp
            ? ` = ${share(why.jwts.signingMsPerOp / why.serverCpuMsPerOp)} of the CPU/op`
            : ''),
      );
    }
    if (why.jwts.ceiling !== null) more.push(`signing alone caps the ratio at ${share(why.jwts.ceiling)}`);
    if (more.length > 0) jwts += `: ${more.join(', ')}`;
    parts.push(jwts);
  }
  parts.push(`load generator CPU ${why.loadCpuPercent.toFixed(0)}%`);
  if (why.database?.kind === 'in-process') {
    parts.push('database inside the server process (PGlite): its work is in the server CPU');
  } else if (why.database?.kind === 'postgres') {
    const d = why.database;
    parts.push(
      `PostgreSQL ${fixed(d.writeTransactionsPerOp)} writing transactions/op and ` +
        `${perSecond.format(d.walBytesPerOp)} WAL bytes/op (server-wide, exact)`,
      `statistics: ${fixed(d.transactionsPerOp)} transactions/op` +
        (d.rollbacksPerOp > 0 ? ` (${fixed(d.rollbacksPerOp)} rolled back)` : ''),
      `rows ${fixed(d.rowsReturnedPerOp)} returned + ${fixed(d.rowsFetchedPerOp)} fetched/op`,
      `${fixed(d.rowsWrittenPerOp)} rows written/op` +
        (d.rowsWrittenPerOp > 0
          ? ` (${fixed(d.rowsInsertedPerOp)} ins, ${fixed(d.rowsUpdatedPerOp)} upd, ${fixed(d.rowsDeletedPerOp)} del)`
          : ''),
      d.backendCpuMsPerOp === null
        ? `${d.backends} backends (CPU not readable)`
        : `${d.backends} backends ${fixed(d.backendCpuMsPerOp)} ms CPU/op`,
    );
  }
  if (why.note) parts.push(why.note);
  return parts.join(', ');
}

/** The idle server's resident memory by kind: "anon 95 MB + file 41 MB + shmem 1 MB, 11 threads". */
export function memoryText(memory: MemoryBreakdown): string {
  const mb = (value: number) => `${Math.round(value)} MB`;
  return (
    `VmRSS ${mb(memory.rssMb)} = anonymous ${mb(memory.anonMb)} + file-backed ${mb(memory.fileMb)} + ` +
    `shared ${mb(memory.shmemMb)}; ${memory.threads} threads`
  );
}

/** CPU until /readyz: "server CPU 1.30 s until ready (90% of the wall time)". */
export function startText(cpuSeconds: number, readyMs: number): string {
  return `server CPU ${cpuSeconds.toFixed(2)} s until ready (${((cpuSeconds * 1000 * 100) / readyMs).toFixed(0)}% of the wall time)`;
}
