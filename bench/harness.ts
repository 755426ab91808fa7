import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type DatasetPlan, type DatasetShape, planDataset, SIZES } from './dataset.js';
import type { LoadResult, LoadSettings } from './load.js';
import type { MeterSpec } from './meter.js';
import { type PeersResult, peerRatios, runPeers } from './peers.js';
import {
  detectPinning,
  killChildren,
  type MemoryBreakdown,
  machineInfo,
  type Pinning,
  repoRoot,
  runWorker,
} from './processes.js';
import { deterministicId } from './random.js';
import type { ReferenceResult, ReferenceSettings, Storage } from './references.js';
import { loadScenarios, selectScenarios } from './registry.js';
import type {
  LoadPlan,
  MachineReferenceName,
  Scenario,
  ScenarioContext,
  ScenarioLimits,
  SqlQuery,
} from './scenario.js';
import type { SeedReport } from './seed.js';
import { freePort, type RunningServer, startServer } from './server.js';
import { explain, type Why } from './why.js';
import type { LoadJob, PrepareJob, PrepareResult } from './worker.js';

export type Engine = 'pglite' | 'postgres';

export interface BenchOptions {
  databases: Engine[];
  /** Name of the size for the report (`tiny`, `default`, `large`, or `custom`). */
  size: string;
  shape: DatasetShape;
  seed: string;
  /** Scenario names; empty = all of bench/scenarios/. */
  scenarios: string[];
  connections: number;
  durationSeconds: number;
  /** A fixed number of requests per scenario instead of `durationSeconds`. */
  amount: number | null;
  warmupSeconds: number;
  /** How long each reference (RS256, argon2id, each SQL query) is measured. */
  referenceSeconds: number;
  /** Measure every scenario and reference this many times and keep the best (for a shared machine). */
  repeat: number;
  /** How long the server sits idle after /readyz before its idle RSS is read. */
  idleSeconds: number;
  /**
   * PostgreSQL: seconds without load before pg_stat_database is read at each end of a measured
   * window (backends flush their statistics at most once a second; bench/meter.ts).
   */
  statsSettleSeconds: number;
  /** Connection string with the right to CREATE / DROP DATABASE (a fresh database per pass). */
  postgresAdminUrl: string;
  /** Where the JSON result goes. */
  resultsDir: string;
  /** Where PGlite data folders are made (a temporary folder by default). */
  workDir: string;
  /** Pin server and load generator to separate CPUs with taskset when possible. */
  pin: boolean;
  /** Also time a restart of the server on the same database. */
  restart: boolean;
  /** Keep the bench database or data folder afterwards (printed). */
  keep: boolean;
  /** Also measure the peers (slapd, bare oidc-provider: bench/peers.ts), once, before the passes. */
  peers: boolean;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  databases: ['pglite', 'postgres'],
  size: 'default',
  shape: SIZES.default,
  seed: 'scaikey-bench',
  scenarios: [],
  connections: 50,
  durationSeconds: 10,
  amount: null,
  warmupSeconds: 2,
  referenceSeconds: 5,
  repeat: 1,
  idleSeconds: 2,
  statsSettleSeconds: 1.1,
  postgresAdminUrl: process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  resultsDir: join(repoRoot, 'bench', 'results'),
  workDir: tmpdir(),
  pin: true,
  restart: true,
  keep: false,
  peers: false,
  log: (line) => process.stderr.write(`${line}\n`),
};

/** The server's connection pool (openDatabase's default); the `pg` reference gets the same. */
const SERVER_POOL_SIZE = 10;

/** Targets for memory and start: issue 3's; idle RSS on PostgreSQL issue 17's (was 120 MB). */
export const SERVER_TARGETS: Record<Engine, { idleRssMb: number; restartReadyMs: number | null }> = {
  postgres: { idleRssMb: 80, restartReadyMs: null },
  pglite: { idleRssMb: 400, restartReadyMs: 2_000 },
};

export interface ScenarioRow {
  name: string;
  description: string;
  /** Connections of this scenario when it sets its own (Scenario.connections); else the run's. */
  connections?: number;
  load: LoadResult;
  reference: { name: string; rate: number } | null;
  /** ScaiKey's rate / the reference's rate. */
  ratio: number | null;
  target: number | null;
  met: boolean | null;
  /** Absolute limits of the issue (p99, rate) and whether the measurement keeps them. */
  limits?: ScenarioLimits | null;
  limitsMet?: boolean | null;
  /** Why the figures are what they are (bench/why.ts), from the measured window's usage (load.usage). */
  why?: Why | null;
}

export interface ServerFigures {
  readyMs: number;
  idleRssMb: number;
  afterBenchRssMb: number;
  peakRssMb: number | null;
  restartReadyMs: number | null;
  restartIdleRssMb: number | null;
  targets: { idleRssMb: number; restartReadyMs: number | null };
  /** The idle RSS by kind (/proc/<pid>/status), when readable. */
  idleMemory?: MemoryBreakdown | null;
  /** CPU seconds the server used from spawning to /readyz, at the start and the restart. */
  readyCpuSeconds?: number | null;
  restartReadyCpuSeconds?: number | null;
}

export interface PassResult {
  db: Engine;
  seed: SeedReport;
  references: ReferenceResult[];
  scenarios: ScenarioRow[];
  server: ServerFigures;
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: ReturnType<typeof machineInfo>;
  /** 1, 5 and 15 minute load averages before the run: other work on the machine skews every figure. */
  loadAverageAtStart: number[];
  pinning: string;
  options: {
    size: string;
    shape: DatasetShape;
    seed: string;
    connections: number;
    durationSeconds: number | null;
    amount: number | null;
    warmupSeconds: number;
    referenceSeconds: number;
    repeat: number;
  };
  passes: PassResult[];
  /** `--peers`: slapd and bare oidc-provider, measured once before the passes, and the ratios. */
  peers?: PeersResult;
}

/** Machine references measured in every pass, whichever scenarios run. */
const MACHINE_REFERENCES: MachineReferenceName[] = ['rs256-sign', 'rs256-verify', 'argon2id-hash'];

/** The raw single-row SELECT: one tenant by primary key, as plain SQL. */
function selectByPk(dataset: DatasetPlan): SqlQuery {
  return {
    name: 'sql-select-by-pk',
    description: 'select * from tenants where id = $1',
    sql: 'select * from tenants where id = $1',
    params: dataset.tenants.map((tenant) => [tenant.id]),
  };
}

function limitsMet(limits: ScenarioLimits, load: LoadResult): boolean {
  if (load.operations === 0) return false;
  if (limits.p99Ms !== undefined && load.p99 > limits.p99Ms) return false;
  if (limits.minRate !== undefined && load.rate < limits.minRate) return false;
  return true;
}

function referenceName(scenario: Scenario, dataset: DatasetPlan): string {
  const reference = scenario.reference(dataset);
  return reference.kind === 'machine' ? reference.name : reference.query.name;
}

async function fetchToken(baseUrl: string, client: { id: string; secret: string }, scope?: string) {
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString(
    'base64',
  );
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const response = await fetch(`${baseUrl}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !json.access_token) {
    throw new Error(`The bench could not get a token (${response.status}): ${JSON.stringify(json)}`);
  }
  return json.access_token;
}

/** One request of the plan before the load: a wrong status stops the bench with the answer shown. */
async function preflight(baseUrl: string, scenario: Scenario, plan: LoadPlan): Promise<void> {
  const response = await fetch(`${baseUrl}${plan.paths[0]}`, {
    method: plan.method,
    headers: plan.headers ?? {},
    ...(plan.bodies?.[0] !== undefined ? { body: plan.bodies[0] } : {}),
  });
  const text = await response.text();
  if (response.status !== plan.expectedStatus) {
    throw new Error(
      `Scenario ${scenario.name}: ${plan.method} ${plan.paths[0]} answered ${response.status}, ` +
        `expected ${plan.expectedStatus}: ${text.slice(0, 500)}`,
    );
  }
}

async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `scaikey_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Whether the PostgreSQL admin URL answers (without it, the CLI runs PGlite only). */
export async function postgresAvailable(adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function runPass(
  db: Engine,
  options: BenchOptions,
  pinning: Pinning,
  dataset: DatasetPlan,
  scenarios: Scenario[],
): Promise<PassResult> {
  const { log } = options;
  let storage: Storage;
  let cleanup: () => Promise<void>;
  if (db === 'postgres') {
    const created = await createPostgresDatabase(options.postgresAdminUrl);
    storage = { kind: 'postgres', url: created.url };
    cleanup = created.drop;
  } else {
    mkdirSync(options.workDir, { recursive: true });
    const dataDir = mkdtempSync(join(options.workDir, 'scaikey-bench-pglite-'));
    storage = { kind: 'pglite', dataDir };
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
  }
  const where = storage.kind === 'postgres' ? storage.url : storage.dataDir;

  let server: RunningServer | null = null;
  try {
    // 1. Seed and measure the references on the server's CPU while no server runs.
    const settings: ReferenceSettings = {
      seconds: options.referenceSeconds,
      warmupSeconds: Math.min(options.warmupSeconds, options.referenceSeconds),
      concurrency: options.connections,
      poolSize: SERVER_POOL_SIZE,
      repeat: options.repeat,
    };
    const queries = [selectByPk(dataset)];
    for (const scenario of scenarios) {
      const reference = scenario.reference(dataset);
      if (reference.kind === 'sql' && !queries.some((query) => query.name === reference.query.name)) {
        queries.push(reference.query);
      }
    }
    log(`[${db}] seeding ${where} and measuring references`);
    const prepareJob: PrepareJob = {
      kind: 'prepare',
      storage,
      shape: dataset.shape,
      seed: dataset.seed,
      machine: MACHINE_REFERENCES,
      queries,
      settings,
    };
    const prepared = await runWorker<PrepareResult>(pinning.serverCpu, prepareJob);
    log(`[${db}] seeded ${prepared.seed.rows.users} users in ${prepared.seed.seconds.toFixed(1)} s`);

    // 2. Start the server on the seeded database.
    const client = {
      id: deterministicId('application', dataset.seed, 'bootstrap'),
      secret: randomBytes(32).toString('base64url'),
    };
    const port = await freePort();
    server = await startServer({ storage, client, cpu: pinning.serverCpu, port });
    const readyMs = server.readyMs;
    log(`[${db}] ready in ${Math.round(readyMs)} ms`);
    await sleep(options.idleSeconds * 1000);
    const idle = server.memory();
    const idleMemory = server.memoryBreakdown();
    const readyCpuSeconds = server.readyCpuSeconds;

    // 3. The scenarios, each from a fresh load process on the other CPU.
    const running = server;
    const context: ScenarioContext = {
      baseUrl: running.baseUrl,
      dataset,
      client,
      token: (scope) => fetchToken(running.baseUrl, client, scope),
      storage,
    };
    const loadSettings: LoadSettings = {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      amount: options.amount,
      warmupSeconds: options.warmupSeconds,
      repeat: options.repeat,
    };
    const meter: MeterSpec = {
      serverPid: running.pid,
      serverCpu: pinning.serverCpu,
      postgres:
        storage.kind === 'postgres'
          ? {
              adminUrl: options.postgresAdminUrl,
              database: decodeURIComponent(new URL(storage.url).pathname.slice(1)),
            }
          : null,
      settleSeconds: options.statsSettleSeconds,
    };
    const rows: ScenarioRow[] = [];
    for (const scenario of scenarios) {
      const plan = await scenario.prepare(context);
      if (!scenario.drive) await preflight(running.baseUrl, scenario, plan);
      log(`[${db}] ${scenario.name}`);
      const loadJob: LoadJob = {
        kind: 'load',
        baseUrl: running.baseUrl,
        plan,
        settings: { ...loadSettings, connections: scenario.connections ?? loadSettings.connections },
        ...(scenario.drive ? { scenario: scenario.name } : {}),
        meter,
      };
      const load = await runWorker<LoadResult>(pinning.loadCpu, loadJob);
      const name = referenceName(scenario, dataset);
      const reference = prepared.references.find((candidate) => candidate.name === name);
      const ratio =
        reference && reference.measurement.rate > 0 ? load.rate / reference.measurement.rate : null;
      rows.push({
        name: scenario.name,
        description: scenario.description,
        ...(scenario.connections !== undefined ? { connections: scenario.connections } : {}),
        load,
        reference: reference ? { name, rate: reference.measurement.rate } : null,
        ratio,
        target: scenario.target ?? null,
        met: scenario.target !== undefined && ratio !== null ? ratio >= scenario.target : null,
        limits: scenario.limits ?? null,
        limitsMet: scenario.limits ? limitsMet(scenario.limits, load) : null,
        why: explain(load, reference ?? null, prepared.references),
      });
    }
    const after = server.memory();
    await server.stop();
    server = null;

    // 4. A restart on the same, now populated, database.
    let restartReadyMs: number | null = null;
    let restartIdleRssMb: number | null = null;
    let restartReadyCpuSeconds: number | null = null;
    if (options.restart) {
      server = await startServer({ storage, client, cpu: pinning.serverCpu, port: await freePort() });
      restartReadyMs = server.readyMs;
      restartReadyCpuSeconds = server.readyCpuSeconds;
      log(`[${db}] restart ready in ${Math.round(restartReadyMs)} ms`);
      await sleep(options.idleSeconds * 1000);
      restartIdleRssMb = server.memory().rssMb;
      await server.stop();
      server = null;
    }

    return {
      db,
      seed: prepared.seed,
      references: prepared.references,
      scenarios: rows,
      server: {
        readyMs,
        idleRssMb: idle.rssMb,
        afterBenchRssMb: after.rssMb,
        peakRssMb: after.peakRssMb,
        restartReadyMs,
        restartIdleRssMb,
        targets: SERVER_TARGETS[db],
        idleMemory,
        readyCpuSeconds,
        restartReadyCpuSeconds,
      },
    };
  } finally {
    if (server) await server.stop().catch(() => {});
    if (options.keep) log(`[${db}] kept ${where}`);
    else await cleanup().catch((error) => log(`[${db}] could not remove ${where}: ${String(error)}`));
  }
}

/**
 * Runs the whole bench: for each database a fresh store, the seeded dataset, the references, the
 * server and the scenarios; writes the JSON result and returns it with its path.
 */
export async function runBench(
  overrides: Partial<BenchOptions> = {},
): Promise<{ result: BenchResult; file: string }> {
  const options: BenchOptions = { ...DEFAULT_OPTIONS, ...overrides };
  const startedAt = new Date();
  const loadAverageAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
  const pinning = detectPinning(options.pin);
  const dataset = planDataset(options.shape, options.seed);
  const scenarios = selectScenarios(await loadScenarios(), options.scenarios);
  options.log(`bench: ${options.size} dataset, ${scenarios.length} scenario(s), ${pinning.description}`);

  const passes: PassResult[] = [];
  let peers: PeersResult | undefined;
  try {
    if (options.peers) {
      // users.get's users are what slapd serves, whichever scenarios run.
      const usersGet = (await loadScenarios()).find((scenario) => scenario.name === 'users.get');
      if (!usersGet) throw new Error('--peers needs the users.get scenario (bench/scenarios/users-get.ts)');
      peers = await runPeers(dataset, usersGet, pinning, {
        settings: {
          connections: options.connections,
          durationSeconds: options.durationSeconds,
          amount: options.amount,
          warmupSeconds: options.warmupSeconds,
          repeat: options.repeat,
        },
        log: options.log,
      });
    }
    for (const db of options.databases) passes.push(await runPass(db, options, pinning, dataset, scenarios));
    if (peers) peers.ratios = peerRatios(peers, passes, options.connections);
  } catch (error) {
    killChildren();
    throw error;
  }

  const result: BenchResult = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    loadAverageAtStart,
    pinning: pinning.description,
    options: {
      size: options.size,
      shape: options.shape,
      seed: options.seed,
      connections: options.connections,
      durationSeconds: options.amount === null ? options.durationSeconds : null,
      amount: options.amount,
      warmupSeconds: options.warmupSeconds,
      referenceSeconds: options.referenceSeconds,
      repeat: options.repeat,
    },
    passes,
    ...(peers ? { peers } : {}),
  };
  mkdirSync(options.resultsDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(options.resultsDir, `${stamp}-${options.size}-${options.databases.join('+')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return { result, file };
}
