/**
 * `npm run bench [-- options]`: see docs/performance.md, or `npm run bench -- --help`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { benchConsole } from './console.js';
import { type DatasetShape, SIZES, type SizeName } from './dataset.js';
import {
  type BenchOptions,
  type BenchResult,
  DEFAULT_OPTIONS,
  type Engine,
  postgresAvailable,
  runBench,
} from './harness.js';
import { killChildren } from './processes.js';
import { loadScenarios } from './registry.js';
import { formatComparison, formatResult } from './report.js';

const HELP = `Usage: npm run bench -- [options]

  --db pglite|postgres     database(s) to run on; repeat for both (default: both, PostgreSQL
                           only when --postgres-url answers)
  --scenario NAME          scenario(s) to run; repeat or comma-separate (default: all; --list shows them)
  --size tiny|default|large dataset size (default: default; large = one tenant of 100,000 users)
  --tenants N  --users N  --ou-depth N  --ou-fanout N  --groups N  --group-depth N  --memberships N
                           override one figure of the size (users and groups are per tenant)
  --seed TEXT              dataset seed (default: ${DEFAULT_OPTIONS.seed})
  --connections N          load generator connections (default: ${DEFAULT_OPTIONS.connections})
  --duration S             seconds measured per scenario (default: ${DEFAULT_OPTIONS.durationSeconds})
  --amount N               a fixed number of requests per scenario instead of --duration
  --warmup S               seconds of load before each measurement (default: ${DEFAULT_OPTIONS.warmupSeconds})
  --reference-seconds S    seconds per reference measurement (default: ${DEFAULT_OPTIONS.referenceSeconds})
  --repeat N               measure each scenario and reference N times, keep the best (default: 1;
                           use 3 on a machine that other work shares)
  --postgres-url URL       a role that may CREATE DATABASE (default: $BENCH_POSTGRES_URL or
                           ${DEFAULT_OPTIONS.postgresAdminUrl})
  --results DIR            where the JSON result is written (default: bench/results)
  --no-pin                 do not pin the server and load generator to CPUs
  --no-restart             skip the restart timing
  --keep                   keep the bench database / data folder
  --peers                  also measure the peers once, before the passes: a throwaway OpenLDAP slapd
                           with the dataset's users (lookups by DN, when slapd is installed) and
                           bare oidc-provider (client_credentials); prints ScaiKey's ratios to them
  --list                   list the scenarios and exit
  --compare A.json B.json  print the change per scenario from run A to run B and exit
  --console                measure the admin console instead (initial JavaScript, first screen in
                           chromium, signed-in deep link; --repeat N rounds, default 10) and exit
`;

function positiveNumber(name: string, raw: string | undefined, integerOnly = true): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (integerOnly && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a ${integerOnly ? 'whole ' : ''}number >= 0, got "${raw}"`);
  }
  return value;
}

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      db: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      size: { type: 'string' },
      tenants: { type: 'string' },
      users: { type: 'string' },
      'ou-depth': { type: 'string' },
      'ou-fanout': { type: 'string' },
      groups: { type: 'string' },
      'group-depth': { type: 'string' },
      memberships: { type: 'string' },
      seed: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      amount: { type: 'string' },
      warmup: { type: 'string' },
      'reference-seconds': { type: 'string' },
      repeat: { type: 'string' },
      'postgres-url': { type: 'string' },
      results: { type: 'string' },
      'no-pin': { type: 'boolean' },
      'no-restart': { type: 'boolean' },
      keep: { type: 'boolean' },
      peers: { type: 'boolean' },
      list: { type: 'boolean' },
      compare: { type: 'boolean' },
      console: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });

  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.compare) {
    if (positionals.length !== 2)
      throw new Error('--compare takes two result files: --compare A.json B.json');
    const [fileA, fileB] = positionals as [string, string];
    const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    process.stdout.write(`${formatComparison(read(fileA), read(fileB), basename(fileA), basename(fileB))}\n`);
    return;
  }
  if (positionals.length > 0) throw new Error(`Unexpected argument "${positionals[0]}" (see --help)`);
  if (values.console) {
    const rounds = positiveNumber('repeat', values.repeat) ?? 10;
    const resultsDir = values.results ?? DEFAULT_OPTIONS.resultsDir;
    process.stdout.write(`${await benchConsole({ rounds: Math.max(1, rounds), resultsDir })}\n`);
    return;
  }
  if (values.list) {
    for (const scenario of await loadScenarios()) {
      process.stdout.write(`${scenario.name.padEnd(32)} ${scenario.description}\n`);
    }
    return;
  }

  const sizeName = (values.size ?? 'default') as SizeName;
  if (!(sizeName in SIZES)) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}`);
  const overrides: Partial<DatasetShape> = {
    tenants: positiveNumber('tenants', values.tenants),
    usersPerTenant: positiveNumber('users', values.users),
    ouDepth: positiveNumber('ou-depth', values['ou-depth']),
    ouFanout: positiveNumber('ou-fanout', values['ou-fanout']),
    groupsPerTenant: positiveNumber('groups', values.groups),
    groupDepth: positiveNumber('group-depth', values['group-depth']),
    membershipsPerUser: positiveNumber('memberships', values.memberships),
  };
  const shape = { ...SIZES[sizeName] };
  let custom = false;
  for (const [key, value] of Object.entries(overrides) as [keyof DatasetShape, number | undefined][]) {
    if (value !== undefined) {
      shape[key] = value;
      custom = true;
    }
  }
  if (shape.tenants < 1) throw new Error('--tenants must be at least 1');

  const postgresAdminUrl = values['postgres-url'] ?? DEFAULT_OPTIONS.postgresAdminUrl;
  const asked = list(values.db);
  for (const db of asked) {
    if (db !== 'pglite' && db !== 'postgres') throw new Error(`--db must be pglite or postgres, got "${db}"`);
  }
  let databases = [...new Set(asked)] as Engine[];
  if (databases.includes('postgres') && !(await postgresAvailable(postgresAdminUrl))) {
    throw new Error(
      `PostgreSQL at ${postgresAdminUrl} does not answer; pass --postgres-url or set BENCH_POSTGRES_URL ` +
        '(a role that may CREATE DATABASE)',
    );
  }
  if (databases.length === 0) {
    databases = ['pglite'];
    if (await postgresAvailable(postgresAdminUrl)) databases.push('postgres');
    else process.stderr.write(`PostgreSQL at ${postgresAdminUrl} does not answer: PGlite only\n`);
  }

  const options: Partial<BenchOptions> = {
    databases,
    size: custom ? `${sizeName}+custom` : sizeName,
    shape,
    scenarios: list(values.scenario),
    postgresAdminUrl,
    pin: !values['no-pin'],
    restart: !values['no-restart'],
    keep: values.keep ?? false,
    peers: values.peers ?? false,
    ...(values.seed ? { seed: values.seed } : {}),
    ...(values.results ? { resultsDir: values.results } : {}),
  };
  const connections = positiveNumber('connections', values.connections);
  const duration = positiveNumber('duration', values.duration, false);
  const amount = positiveNumber('amount', values.amount);
  const warmup = positiveNumber('warmup', values.warmup, false);
  const referenceSeconds = positiveNumber('reference-seconds', values['reference-seconds'], false);
  if (connections !== undefined) options.connections = Math.max(1, connections);
  if (duration !== undefined) options.durationSeconds = duration;
  if (amount !== undefined) options.amount = amount;
  if (warmup !== undefined) options.warmupSeconds = warmup;
  if (referenceSeconds !== undefined) options.referenceSeconds = referenceSeconds;
  const repeat = positiveNumber('repeat', values.repeat);
  if (repeat !== undefined) options.repeat = Math.max(1, repeat);

  const { result, file } = await runBench(options);
  process.stdout.write(`\n${formatResult(result)}\n\nresults: ${file}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  killChildren();
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
