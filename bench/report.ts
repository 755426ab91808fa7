import type { BenchResult, PassResult } from './harness.js';
import type { PeersResult } from './peers.js';
import { memoryText, startText, whyText } from './why.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function rate(value: number): string {
  return value < 100 ? value.toFixed(1) : integer.format(value);
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function percent(value: number | null): string {
  return value === null ? '' : `${(value * 100).toFixed(1)}%`;
}

function change(before: number | null, after: number | null): string {
  if (before === null || after === null || before === 0) return '';
  const delta = (after / before - 1) * 100;
  return `${delta >= 0 ? '+' : ''}${delta.toFixed(1)}%`;
}

/** Renders rows as a fixed-width table; numeric columns (all but the listed text ones) right-aligned. */
function table(header: string[], rows: string[][], textColumns: number[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        textColumns.includes(column) ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** "met", or "MISSED by <how much>" (issue 17: every target says by how much it is missed). */
function verdictBy(met: boolean, by: string): string {
  return met ? 'met' : `MISSED by ${by}`;
}

/** A ratio against a lowest acceptable ratio: "met" or "MISSED by 12.3 points". */
export function ratioVerdict(ratio: number, target: number): string {
  return verdictBy(ratio >= target, `${((target - ratio) * 100).toFixed(1)} points`);
}

function targetCell(row: PassResult['scenarios'][number]): string {
  const parts: string[] = [];
  if (row.target !== null) {
    parts.push(
      `>=${Math.round(row.target * 100)}% ${row.ratio === null ? 'MISSED (no ratio)' : ratioVerdict(row.ratio, row.target)}`,
    );
  }
  if (row.limits) {
    const measured = row.load.operations > 0;
    const { p99Ms, minRate } = row.limits;
    if (p99Ms !== undefined) {
      parts.push(
        `p99<=${p99Ms}ms ${measured ? verdictBy(row.load.p99 <= p99Ms, `${ms(row.load.p99 - p99Ms)} ms`) : 'MISSED (not measured)'}`,
      );
    }
    if (minRate !== undefined) {
      parts.push(
        `>=${integer.format(minRate)}/s ${
          measured
            ? verdictBy(
                row.load.rate >= minRate,
                `${rate(minRate - row.load.rate)}/s (${percent(1 - row.load.rate / minRate)})`,
              )
            : 'MISSED (not measured)'
        }`,
      );
    }
  }
  return parts.join('; ');
}

/** The scenario's name, with its own connection count when it sets one (users.get-one: c=1). */
function scenarioName(row: PassResult['scenarios'][number]): string {
  return row.connections === undefined ? row.name : `${row.name} (c=${row.connections})`;
}

function passRows(pass: PassResult): string[][] {
  const rows: string[][] = [];
  for (const row of pass.scenarios) {
    rows.push([
      pass.db,
      scenarioName(row),
      integer.format(row.load.operations),
      rate(row.load.rate),
      ms(row.load.p50),
      ms(row.load.p99),
      ms(row.load.max),
      row.reference?.name ?? '',
      row.reference ? rate(row.reference.rate) : '',
      percent(row.ratio),
      targetCell(row),
    ]);
  }
  for (const reference of pass.references) {
    const m = reference.measurement;
    rows.push([
      pass.db,
      `  ref ${reference.name}${reference.concurrency > 1 ? ` (c=${reference.concurrency})` : ''}`,
      integer.format(m.operations),
      rate(m.rate),
      ms(m.p50),
      ms(m.p99),
      ms(m.max),
      '',
      '',
      '',
      '',
    ]);
  }
  return rows;
}

function figure(value: number): string {
  return Number.isInteger(value)
    ? integer.format(value)
    : value < 100
      ? value.toFixed(2)
      : integer.format(value);
}

/** A driven scenario's further figures (events/s, deliveries, …), one line per scenario. */
function figureLines(pass: PassResult): string[] {
  return pass.scenarios
    .filter((row) => row.load.figures && Object.keys(row.load.figures).length > 0)
    .map(
      (row) =>
        `  ${pass.db} ${row.name}: ${Object.entries(row.load.figures ?? {})
          .map(([name, value]) => `${name} ${figure(value)}`)
          .join(', ')}`,
    );
}

/**
 * Pairs of a scenario measured with and without something it adds (issue 14: users.create with
 * one subscribed webhook endpoint): the rate and p50 of both, and the added cost per operation
 * two ways: 1/rate with minus 1/rate without (what the writes themselves pay), and, when the
 * scenario reports how long its deferred work went on after its last operation (`tail`, s: the
 * deliveries), the whole time of the operations and that work, minus the time of the operations
 * without it, per operation (the server time one more write costs in all).
 */
const PAIRS: { without: string; withIt: string; what: string; tail?: string }[] = [
  {
    without: 'users.create',
    withIt: 'users.create-webhook',
    what: 'one subscribed webhook endpoint',
    tail: 'last delivery s after the last write',
  },
];

function pairLines(pass: PassResult): string[] {
  const lines: string[] = [];
  for (const { without, withIt, what, tail } of PAIRS) {
    const a = pass.scenarios.find((row) => row.name === without);
    const b = pass.scenarios.find((row) => row.name === withIt);
    if (!a || !b || a.load.rate <= 0 || b.load.rate <= 0) continue;
    const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
    const added = 1000 / b.load.rate - 1000 / a.load.rate;
    let line =
      `  ${pass.db} ${withIt} vs ${without} (${what}): ${rate(b.load.rate)}/s vs ${rate(a.load.rate)}/s ` +
      `(${change(a.load.rate, b.load.rate)}), p50 ${ms(b.load.p50)} vs ${ms(a.load.p50)} ms; ` +
      `per write ${signed(added)} ms at the writes' rate`;
    const tailSeconds = tail ? b.load.figures?.[tail] : undefined;
    if (tailSeconds !== undefined && b.load.operations > 0) {
      const withAll = b.load.seconds + tailSeconds;
      const alone = b.load.operations / a.load.rate;
      line +=
        `, ${signed(((withAll - alone) * 1000) / b.load.operations)} ms with the deliveries ` +
        `(${b.load.operations} writes and their deliveries ${withAll.toFixed(1)} s vs the writes alone ${alone.toFixed(1)} s)`;
    }
    lines.push(line);
  }
  return lines;
}

const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
const mb = (value: number) => `${Math.round(value)} MB`;

/** "figure (target <= limit: met)", or "…: MISSED by 23 MB)" */
function against(figure: string, value: number, limit: number | null, unit: (value: number) => string) {
  return limit === null
    ? figure
    : `${figure} (target <= ${unit(limit)}: ${verdictBy(value <= limit, unit(value - limit))})`;
}

function serverLine(pass: PassResult): string {
  const s = pass.server;
  const parts = [
    `ready ${seconds(s.readyMs)} after start`,
    s.restartReadyMs === null
      ? null
      : against(
          `restart ready ${seconds(s.restartReadyMs)}`,
          s.restartReadyMs,
          s.targets.restartReadyMs,
          seconds,
        ),
    against(`RSS idle ${mb(s.idleRssMb)}`, s.idleRssMb, s.targets.idleRssMb, mb),
    `after bench ${mb(s.afterBenchRssMb)}`,
    s.peakRssMb === null ? null : `peak ${mb(s.peakRssMb)}`,
    s.restartIdleRssMb === null ? null : `idle after restart ${mb(s.restartIdleRssMb)}`,
  ];
  return `  ${pass.db}: ${parts.filter(Boolean).join(', ')}`;
}

/**
 * Issue 17: one line per target (scenario targets, idle RSS, restart), met or missed, with why:
 * the figures the scenario's window measured (bench/meter.ts, bench/why.ts).
 */
export function whyLines(pass: PassResult): string[] {
  const lines: string[] = [];
  for (const row of pass.scenarios) {
    if (row.target === null && !row.limits) continue;
    const verdict = targetCell(row);
    const why = row.why
      ? whyText(row.why, { minRate: row.limits?.minRate !== undefined })
      : 'not measured (no usage recorded for this scenario)';
    lines.push(`  ${pass.db} ${scenarioName(row)} ${verdict}: ${why}`);
  }
  const s = pass.server;
  if (s.idleMemory) {
    lines.push(
      `  ${pass.db} ${against(`RSS idle ${mb(s.idleRssMb)}`, s.idleRssMb, s.targets.idleRssMb, mb)}: ${memoryText(s.idleMemory)}`,
    );
  }
  if (s.targets.restartReadyMs !== null && s.restartReadyMs !== null) {
    const cpu = s.restartReadyCpuSeconds;
    lines.push(
      `  ${pass.db} ${against(`restart ready ${seconds(s.restartReadyMs)}`, s.restartReadyMs, s.targets.restartReadyMs, seconds)}: ` +
        (cpu === null || cpu === undefined
          ? 'server CPU not readable (/proc)'
          : startText(cpu, s.restartReadyMs)),
    );
  }
  return lines;
}

const PEER_LABELS: Record<string, string> = {
  'slapd-lookup-by-dn': 'slapd lookups by DN',
  'oidc-provider-client-credentials': 'bare oidc-provider client_credentials',
};

/** `--peers`: what each peer answered, then every pass's compared scenarios over them. */
export function peerLines(peers: PeersResult): string[] {
  const lines = ['peers (--peers; measured once, before the passes; bench/peers.ts):'];
  const versions = Object.entries(peers.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  if (versions) lines.push(`  versions: ${versions}`);
  if (peers.slapdEntries !== null) lines.push(`  slapd holds ${integer.format(peers.slapdEntries)} entries`);
  for (const peer of peers.measurements) {
    const m = peer.load;
    const cpu = [
      peer.serverCpuPercent === null ? null : `peer CPU ${peer.serverCpuPercent.toFixed(0)}%`,
      m.figures?.['load process CPU %'] === undefined
        ? null
        : `load process CPU ${(m.figures['load process CPU %'] as number).toFixed(0)}%`,
    ].filter(Boolean);
    const problems = m.unexpected + m.errors + m.timeouts;
    lines.push(
      `  ${PEER_LABELS[peer.name] ?? peer.name}, c=${peer.connections}: ${rate(m.rate)}/s, ` +
        `p50 ${ms(m.p50)} ms, p99 ${ms(m.p99)} ms, max ${ms(m.max)} ms (${integer.format(m.operations)} ops` +
        `${cpu.length > 0 ? `; ${cpu.join(', ')}` : ''})` +
        (problems > 0
          ? ` ! ${m.unexpected} unexpected ${JSON.stringify(m.statusCodes)}, ${m.errors} errors, ${m.timeouts} timeouts`
          : ''),
    );
  }
  for (const reason of peers.skipped) lines.push(`  skipped: ${reason}`);
  for (const r of peers.ratios) {
    lines.push(
      `  ${r.db} ${r.scenario} ${rate(r.rate)}/s = ${percent(r.ratio)} of ${PEER_LABELS[r.peer] ?? r.peer} ` +
        `at c=${r.connections} (${rate(r.peerRate)}/s)` +
        (r.target === null
          ? ''
          : `: target >= ${Math.round(r.target * 100)}% ${ratioVerdict(r.ratio, r.target)}`),
    );
  }
  if (peers.ratios.length === 0) {
    lines.push('  (no compared scenario ran: users.get, users.get-one, oauth.client-credentials)');
  }
  return lines;
}

function describeMachine(result: BenchResult): string {
  const { cpus, cpuModel, memoryGb, node, platform } = result.machine;
  return `${cpus} x ${cpuModel}, ${memoryGb} GB, Node ${node}, ${platform}`;
}

function describeDataset(result: BenchResult): string {
  const { shape, size, seed } = result.options;
  return (
    `${size} (${shape.tenants} tenant(s) x ${shape.usersPerTenant} users, ` +
    `OUs ${shape.ouDepth} deep x ${shape.ouFanout}, ` +
    `${shape.groupsPerTenant} groups ${shape.groupDepth} deep, ` +
    `${shape.membershipsPerUser} memberships/user; seed "${seed}")`
  );
}

function describeLoad(result: BenchResult): string {
  const { options } = result;
  const amount =
    options.amount !== null
      ? `${options.amount} requests`
      : `${options.durationSeconds} s after ${options.warmupSeconds} s warm-up`;
  const repeat = (options.repeat ?? 1) > 1 ? `; best of ${options.repeat}` : '';
  return (
    `autocannon, ${options.connections} connections, ${amount}; ` +
    `references ${options.referenceSeconds} s each${repeat}`
  );
}

function describeLoadAverage(result: BenchResult): string {
  // Results written before the load average was recorded have none.
  const loads = result.loadAverageAtStart ?? [];
  const busy = (loads[0] ?? 0) > 0.5;
  return (loads.join(', ') || 'unknown') + (busy ? ' (the machine was busy: figures are less reliable)' : '');
}

/** The bench's table: every scenario beside its reference, then the references, then the server figures. */
export function formatResult(result: BenchResult): string {
  const lines = [
    `ScaiKey bench, ${result.startedAt}`,
    `machine: ${describeMachine(result)}`,
    `pinning: ${result.pinning}`,
    `load average before the run: ${describeLoadAverage(result)}`,
    `dataset: ${describeDataset(result)}`,
    `load: ${describeLoad(result)}`,
    '',
    table(
      [
        'db',
        'scenario',
        'requests',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'reference',
        'ref/s',
        'ratio',
        'target',
      ],
      result.passes.flatMap(passRows),
      [0, 1, 7, 10],
    ),
  ];
  const problems = result.passes.flatMap((pass) =>
    pass.scenarios
      .filter((row) => row.load.unexpected + row.load.errors + row.load.timeouts > 0)
      .map(
        (row) =>
          `  ! ${pass.db} ${row.name}: ${row.load.unexpected} unexpected responses ` +
          `${JSON.stringify(row.load.statusCodes)}, ${row.load.errors} errors, ` +
          `${row.load.timeouts} timeouts (not counted in req/s)`,
      ),
  );
  if (problems.length > 0) lines.push('', ...problems);
  const whys = result.passes.flatMap(whyLines);
  if (whys.length > 0) {
    lines.push(
      '',
      "targets, and why (measured over each scenario's measured window: server CPU from /proc, " +
        'PostgreSQL from pg_stat_database; bench/why.ts):',
      ...whys,
    );
  }
  const figures = result.passes.flatMap(figureLines);
  if (figures.length > 0) lines.push('', 'further figures (driven scenarios):', ...figures);
  const pairs = result.passes.flatMap(pairLines);
  if (pairs.length > 0) lines.push('', 'with and without:', ...pairs);
  if (result.peers) lines.push('', ...peerLines(result.peers));
  lines.push('', 'server (start to /readyz, resident memory):', ...result.passes.map(serverLine));
  lines.push(
    '',
    'seeding:',
    ...result.passes.map((pass) => `  ${pass.db}: ${pass.seed.seconds.toFixed(1)} s, ${pass.seed.method}`),
  );
  return lines.join('\n');
}

interface Comparable {
  rate: number;
  p50: number;
  p99: number;
  ratio: number | null;
}

function comparables(result: BenchResult): Map<string, Comparable> {
  const map = new Map<string, Comparable>();
  for (const pass of result.passes) {
    for (const row of pass.scenarios) map.set(`${pass.db}\t${row.name}`, { ...row.load, ratio: row.ratio });
    for (const reference of pass.references) {
      map.set(`${pass.db}\t  ref ${reference.name}`, { ...reference.measurement, ratio: null });
    }
  }
  return map;
}

/** What changed from run A to run B, per scenario and reference present in both. */
export function formatComparison(a: BenchResult, b: BenchResult, nameA: string, nameB: string): string {
  const before = comparables(a);
  const after = comparables(b);
  const rows: string[][] = [];
  for (const [key, old] of before) {
    const now = after.get(key);
    if (!now) continue;
    const [db, name] = key.split('\t') as [string, string];
    rows.push([
      db,
      name,
      rate(old.rate),
      rate(now.rate),
      change(old.rate, now.rate),
      ms(old.p50),
      ms(now.p50),
      ms(old.p99),
      ms(now.p99),
      change(old.p99, now.p99),
      percent(old.ratio),
      percent(now.ratio),
    ]);
  }
  const lines = [
    `A: ${nameA} (${a.startedAt}, ${a.options.size}; ${describeMachine(a)})`,
    `B: ${nameB} (${b.startedAt}, ${b.options.size}; ${describeMachine(b)})`,
    '',
    table(
      [
        'db',
        'scenario',
        'A req/s',
        'B req/s',
        'change',
        'A p50',
        'B p50',
        'A p99',
        'B p99',
        'change',
        'A ratio',
        'B ratio',
      ],
      rows,
      [0, 1],
    ),
  ];
  const servers: string[] = [];
  for (const passA of a.passes) {
    const passB = b.passes.find((pass) => pass.db === passA.db);
    if (!passB) continue;
    const sa = passA.server;
    const sb = passB.server;
    const from = (label: string, x: number | null, y: number | null, unit: string) =>
      `${label} ${x === null ? '-' : Math.round(x)} -> ${y === null ? '-' : Math.round(y)} ${unit}` +
      (x !== null && y !== null ? ` (${change(x, y)})` : '');
    const parts = [
      from('ready', sa.readyMs, sb.readyMs, 'ms'),
      from('restart', sa.restartReadyMs, sb.restartReadyMs, 'ms'),
      from('RSS idle', sa.idleRssMb, sb.idleRssMb, 'MB'),
      from('after bench', sa.afterBenchRssMb, sb.afterBenchRssMb, 'MB'),
    ];
    servers.push(`  ${passA.db}: ${parts.join(', ')}`);
  }
  if (servers.length > 0) lines.push('', 'server:', ...servers);
  if (rows.length === 0) lines.push('', '(no scenario or reference in common)');
  return lines.join('\n');
}
