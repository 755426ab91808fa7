/**
 * A bench worker process: the harness starts one per job, pinned to a CPU (bench/processes.ts),
 * sends it one job over IPC and gets one answer back.
 *
 * - `prepare` (CPU 0, before the server starts): seed the fresh database (bench/seed.ts), then
 *   measure the machine references (RS256, argon2id, the scenarios' SQL through the driver).
 * - `load` (CPU 1, against the running server): one scenario through autocannon.
 * - `ldap-lookup` (CPU 1, against the peers pass's slapd, bench/peers.ts): lookups by DN.
 */
import { openDatabase } from '../src/platform/db/database.js';
import { type DatasetShape, planDataset } from './dataset.js';
import { type LoadSettings, runLoad } from './load.js';
import { closeMeter, configureMeter, type MeterSpec } from './meter.js';
import { type LdapLookupJob, measureLdapLookups } from './peers.js';
import {
  measureArgon2,
  measureCrypto,
  measureSql,
  type ReferenceResult,
  type ReferenceSettings,
  type Storage,
} from './references.js';
import { loadScenarios } from './registry.js';
import type { LoadPlan, MachineReferenceName, SqlQuery } from './scenario.js';
import { type SeedReport, seedDataset } from './seed.js';

export interface PrepareJob {
  kind: 'prepare';
  storage: Storage;
  shape: DatasetShape;
  seed: string;
  machine: MachineReferenceName[];
  queries: SqlQuery[];
  settings: ReferenceSettings;
}

export interface PrepareResult {
  seed: SeedReport;
  references: ReferenceResult[];
}

export interface LoadJob {
  kind: 'load';
  /** Set when the scenario has its own driver (Scenario.drive): it is looked up by name here. */
  scenario?: string;
  baseUrl: string;
  plan: LoadPlan;
  settings: LoadSettings;
  /** What to read around the measured window (the server's pid, PostgreSQL's statistics). */
  meter?: MeterSpec;
}

async function prepare(job: PrepareJob): Promise<PrepareResult> {
  const handle = await openDatabase(
    job.storage.kind === 'postgres'
      ? { kind: 'postgres', url: job.storage.url }
      : { kind: 'pglite', dataDir: job.storage.dataDir },
  );
  let seed: SeedReport;
  try {
    seed = await seedDataset(handle.db, planDataset(job.shape, job.seed), job.storage.kind);
  } finally {
    await handle.close();
  }
  const references = await measureCrypto(job.machine, job.settings);
  if (job.machine.includes('argon2id-hash')) references.push(await measureArgon2(job.settings));
  references.push(...(await measureSql(job.storage, job.queries, job.settings)));
  return { seed, references };
}

async function handle(job: PrepareJob | LoadJob | LdapLookupJob): Promise<unknown> {
  if (job.kind === 'prepare') return prepare(job);
  if (job.kind === 'ldap-lookup') return measureLdapLookups(job);
  if (job.kind === 'load' && job.scenario) {
    const name = job.scenario;
    const scenario = (await loadScenarios()).find((candidate) => candidate.name === name);
    if (!scenario?.drive) throw new Error(`scenario ${name} has no driver`);
    return scenario.drive({
      baseUrl: job.baseUrl,
      plan: job.plan,
      connections: job.settings.connections,
      durationSeconds: job.settings.durationSeconds,
      amount: job.settings.amount,
      warmupSeconds: job.settings.warmupSeconds,
    });
  }
  if (job.kind === 'load') return runLoad(job.baseUrl, job.plan, job.settings);
  throw new Error(`unknown job ${(job as { kind: string }).kind}`);
}

process.once('message', (job: PrepareJob | LoadJob | LdapLookupJob) => {
  if (job.kind === 'load') configureMeter(job.meter ?? null);
  handle(job)
    .finally(closeMeter)
    .then(
      (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
      (error: unknown) =>
        process.send?.(
          { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
          () => process.exit(1),
        ),
    );
});
