import type { DatasetPlan } from './dataset.js';
import type { Usage } from './meter.js';
import type { Storage } from './references.js';

/** Figures of the machine itself, measured in every pass (bench/references.ts). */
export type MachineReferenceName = 'rs256-sign' | 'rs256-verify' | 'argon2id-hash' | 'sql-select-by-pk';

/** A query run as plain SQL through the driver (`pg`, or PGlite itself), parameters taken in turn. */
export interface SqlQuery {
  /** Names the reference in the table, e.g. `sql:tenant-get`. */
  name: string;
  description: string;
  sql: string;
  params: unknown[][];
  /** Queries in flight (default: the scenarios' connection count); 1 for a write measured one at a time. */
  concurrency?: number;
  /** Run each query in its own transaction and roll it back: a write that leaves the data as seeded. */
  rollback?: boolean;
}

export type ScenarioReference =
  | { kind: 'machine'; name: MachineReferenceName }
  | { kind: 'sql'; query: SqlQuery };

/** What a scenario's requests are made of. Serializable: it is handed to the load process. */
export interface LoadPlan {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Used in turn, one per request (e.g. one per seeded tenant). */
  paths: string[];
  headers?: Record<string, string>;
  /** Request bodies, used in turn alongside the paths; one body for all when a single one is given. */
  bodies?: string[];
  /** Every response must have this status; any other counts as an error in the table. */
  expectedStatus: number;
  /** For a scenario with its own `drive`: whatever it needs (serializable). */
  custom?: unknown;
  /** The answers are token responses: count the JWTs in them (bench/meter.ts countTokens). */
  tokens?: boolean;
}

/** What a scenario's own driver gets in the load process (see `Scenario.drive`). */
export interface DriveContext {
  baseUrl: string;
  plan: LoadPlan;
  connections: number;
  durationSeconds: number;
  amount: number | null;
  warmupSeconds: number;
}

/** The result a driver reports, as the autocannon load does (bench/load.ts LoadResult). */
export interface DriveResult {
  operations: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  unexpected: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Further figures the table's columns cannot hold (e.g. events/s), printed under it by name. */
  figures?: Record<string, number>;
  /** What the measured window used (bench/meter.ts): measureOperations and measureOneByOne fill it. */
  usage?: Usage;
}

/** Absolute limits an issue sets (besides or instead of a ratio to the reference). */
export interface ScenarioLimits {
  /** Highest acceptable p99 latency, ms (for a single timed operation: of every repetition). */
  p99Ms?: number;
  /** Lowest acceptable rate, operations per second. */
  minRate?: number;
}

export interface ScenarioContext {
  baseUrl: string;
  dataset: DatasetPlan;
  /** The bootstrap GLOBAL SERVICE application the server was started with. */
  client: { id: string; secret: string };
  /** A client_credentials token of that application (all its scopes when `scope` is left out). */
  token(scope?: string): Promise<string>;
  /** The database the server runs on (scenarios that write through module code, e.g. ldap.sync). */
  storage: Storage;
}

/**
 * One bench scenario: a file in bench/scenarios/ exporting `scenario`. It names the reference it
 * is compared with (the ratio ScaiKey / reference is the figure that matters: it is stable across
 * machines where absolute rates are not) and, where an issue sets one, the lowest acceptable ratio.
 */
export interface Scenario {
  name: string;
  description: string;
  reference(dataset: DatasetPlan): ScenarioReference;
  /** Lowest acceptable ratio to the reference (0.7 = 70%), when an issue sets a target. */
  target?: number;
  /** Absolute limits, when an issue sets them. */
  limits?: ScenarioLimits;
  /**
   * Connections (or a driver's flows in flight) for this scenario instead of the run's `--connections`
   * (e.g. 1 for a latency target at one connection). The SQL reference of such a scenario should
   * set the same `concurrency`.
   */
  connections?: number;
  /**
   * Instead of autocannon over `paths`: the scenario runs its own operations (multi-step flows,
   * single timed writes) in the load process on the load CPU and reports the measurement.
   * No preflight request is made for such a scenario; the driver checks its own answers.
   */
  drive?(context: DriveContext): Promise<DriveResult>;
  /** Builds the requests against the running, seeded server. */
  prepare(context: ScenarioContext): Promise<LoadPlan>;
}
