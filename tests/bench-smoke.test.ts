import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SIZES } from '../bench/dataset.js';
import { type BenchResult, runBench } from '../bench/harness.js';
import type { LoadResult } from '../bench/load.js';
import { countTokenBody, countTokens, startWindow } from '../bench/meter.js';
import type { ReferenceResult } from '../bench/references.js';
import { formatComparison, formatResult } from '../bench/report.js';
import { explain, whyText } from '../bench/why.js';
import { slapdInstalled } from './helpers/slapd.js';

/**
 * Issue 3: the bench harness end to end on a tiny dataset, a few requests per scenario, so that it
 * cannot rot unnoticed. It proves the plumbing only; figures come from `npm run bench`.
 * On PGlite by default; on PostgreSQL when the suite runs there (TEST_DATABASE_URL). With the
 * peers pass (issue 17, `--peers`): slapd when it is installed (else the report says it was
 * skipped), and bare oidc-provider.
 */
const postgresUrl = process.env.TEST_DATABASE_URL;
const workDir = mkdtempSync(join(tmpdir(), 'scaikey-bench-smoke-'));

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('bench harness', () => {
  it('seeds, measures every scenario and reference, and writes the JSON result', async () => {
    const resultsDir = join(workDir, 'results');
    const { result, file } = await runBench({
      databases: [postgresUrl ? 'postgres' : 'pglite'],
      ...(postgresUrl ? { postgresAdminUrl: postgresUrl } : {}),
      size: 'tiny',
      shape: SIZES.tiny,
      connections: 4,
      amount: 150,
      warmupSeconds: 0,
      referenceSeconds: 0.2,
      idleSeconds: 0.2,
      // No wait for PostgreSQL's statistics at the windows' ends (1.1 s each by default): the smoke
      // asserts the exact figures only (bench/meter.ts), so settled statistics buy it nothing.
      statsSettleSeconds: 0,
      peers: true,
      resultsDir,
      workDir,
      log: () => {},
    });

    expect(result.passes).toHaveLength(1);
    const [pass] = result.passes;
    expect(pass?.seed.rows.users).toBe(SIZES.tiny.usersPerTenant);
    const names = pass?.scenarios.map((row) => row.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining([
        'oauth.client-credentials',
        'tenants.get-by-id',
        'events.feed',
        'users.create-webhook',
        'webhooks.deliveries',
        'users.get-one',
      ]),
    );
    // Issue 17: users.get-one runs at its own single connection.
    expect(pass?.scenarios.find((row) => row.name === 'users.get-one')?.connections).toBe(1);
    for (const row of pass?.scenarios ?? []) {
      expect(row.load.unexpected, `${row.name}: ${JSON.stringify(row.load.statusCodes)}`).toBe(0);
      expect(row.load.errors).toBe(0);
      expect(row.load.operations).toBeGreaterThan(0);
      for (const figure of [row.load.rate, row.load.p50, row.load.p99, row.load.max]) {
        expect(figure).toBeGreaterThan(0);
      }
      expect(row.reference?.rate).toBeGreaterThan(0);
      expect(row.ratio).toBeGreaterThan(0);
    }
    // Issue 14: every webhook the scenarios caused arrived, signed, at the local receiver.
    for (const name of ['users.create-webhook', 'webhooks.deliveries']) {
      const figures = pass?.scenarios.find((row) => row.name === name)?.load.figures;
      expect(figures?.['not delivered'], name).toBe(0);
      expect(figures?.['bad signatures'], name).toBe(0);
    }
    expect(pass?.scenarios.find((row) => row.name === 'events.feed')?.load.figures?.events).toBeGreaterThan(
      0,
    );
    const references = pass?.references.map((reference) => reference.name) ?? [];
    expect(references).toEqual(
      expect.arrayContaining(['rs256-sign', 'rs256-verify', 'argon2id-hash', 'sql-select-by-pk']),
    );
    for (const reference of pass?.references ?? []) expect(reference.measurement.rate).toBeGreaterThan(0);
    expect(pass?.server.readyMs).toBeGreaterThan(0);
    expect(pass?.server.idleRssMb).toBeGreaterThan(0);
    expect(pass?.server.restartReadyMs).toBeGreaterThan(0);

    expect(existsSync(file)).toBe(true);
    expect(file.startsWith(resultsDir)).toBe(true);
    const written = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    expect(written).toEqual(result);
    expect(formatResult(written)).toContain('tenants.get-by-id');
    expect(formatResult(written)).toContain('users.create-webhook vs users.create');
    expect(formatComparison(written, written, 'A', 'B')).toContain('+0.0%');

    // Issue 17: the peers, measured once, and ScaiKey's ratios to them.
    const peers = written.peers;
    expect(peers).toBeDefined();
    const measured = (peers?.measurements ?? []).map((peer) => `${peer.name} c=${peer.connections}`);
    const expectedPeers = ['oidc-provider-client-credentials c=4'];
    if (slapdInstalled) expectedPeers.push('slapd-lookup-by-dn c=4', 'slapd-lookup-by-dn c=1');
    expect(measured.sort()).toEqual(expectedPeers.sort());
    for (const peer of peers?.measurements ?? []) {
      expect(peer.load.operations, peer.name).toBe(150);
      expect(peer.load.unexpected + peer.load.errors + peer.load.timeouts, peer.name).toBe(0);
      expect(peer.load.rate).toBeGreaterThan(0);
    }
    const ratios = (peers?.ratios ?? []).map((ratio) => `${ratio.scenario}/${ratio.peer}`);
    const expectedRatios = ['oauth.client-credentials/oidc-provider-client-credentials'];
    if (slapdInstalled) {
      expectedRatios.push('users.get/slapd-lookup-by-dn', 'users.get-one/slapd-lookup-by-dn');
    }
    expect(ratios.sort()).toEqual(expectedRatios.sort());
    for (const ratio of peers?.ratios ?? []) {
      expect(ratio.ratio).toBeCloseTo(ratio.rate / ratio.peerRate);
      if (ratio.peer === 'slapd-lookup-by-dn') expect(ratio.target).toBe(0.5);
    }
    const report = formatResult(written);
    expect(report).toContain('peers (--peers');
    if (slapdInstalled) {
      expect(report).toMatch(
        /users\.get-one .* of slapd lookups by DN at c=1 .*target >= 50% (met|MISSED by)/,
      );
    } else {
      expect(report).toContain('skipped: slapd: slapd is not installed');
    }
    expect(report).toMatch(/oauth\.client-credentials .* of bare oidc-provider client_credentials at c=4/);

    // Issue 17: every target says why, from figures measured over the scenario's window.
    const rows = pass?.scenarios ?? [];
    const row = (name: string) => rows.find((candidate) => candidate.name === name);
    for (const scenario of rows.filter((candidate) => candidate.target !== null || candidate.limits)) {
      const why = scenario.why;
      expect(why, scenario.name).toBeTruthy();
      expect(why?.serverCpuMsPerOp, scenario.name).toBeGreaterThanOrEqual(0);
      expect(why?.serverCpuPercent, scenario.name).toBeGreaterThanOrEqual(0);
      expect(why?.loadCpuPercent, scenario.name).toBeGreaterThan(0);
      expect(scenario.load.usage?.operations, scenario.name).toBe(scenario.load.operations);
      expect(why?.database?.kind, scenario.name).toBe(postgresUrl ? 'postgres' : 'in-process');
    }
    // Sign-ins hash a password and sign tokens: CPU that /proc's ticks cannot miss.
    for (const name of ['oidc.sign-in', 'oidc.refresh']) {
      expect(row(name)?.why?.serverCpuMsPerOp, name).toBeGreaterThan(0);
      expect(row(name)?.why?.reference?.ceiling, name).toBeGreaterThan(0);
    }
    const signIn = row('oidc.sign-in')?.why;
    expect(signIn?.reference?.name).toBe('argon2id-hash');
    expect(signIn?.reference?.basis).toBe('cpu');
    // The refresh grant answers with signed JWTs, decoded by the load: the ceiling is 1 / their count.
    const refresh = row('oidc.refresh')?.why;
    expect(refresh?.jwts?.perOp).toBeGreaterThanOrEqual(1);
    expect(refresh?.jwts?.ceiling).toBeCloseTo(1 / (refresh?.jwts?.perOp ?? 1));
    expect(row('oauth.client-credentials')?.why?.jwts?.perOp).toBeGreaterThanOrEqual(1);
    const created = row('users.create')?.why?.database;
    if (postgresUrl) {
      // Exact, server-wide: each create commits a transaction that writes (an xid) and its WAL.
      // (pg_stat_database's counters may still be pending in the backends: not asserted above 0.)
      expect(created?.kind).toBe('postgres');
      if (created?.kind === 'postgres') {
        expect(created.writeTransactionsPerOp).toBeGreaterThanOrEqual(1);
        expect(created.walBytesPerOp).toBeGreaterThan(0);
        expect(created.transactionsPerOp).toBeGreaterThanOrEqual(0);
        expect(created.rowsInsertedPerOp).toBeGreaterThanOrEqual(0);
        expect(created.backends).toBeGreaterThan(0);
      }
    }
    expect(report).toContain('targets, and why');
    expect(report).toMatch(
      /oidc\.sign-in >=70% (met|MISSED by [\d.]+ points): server CPU \d+% busy.*, [\d.]+ ms CPU\/op \(argon2id-hash [\d.]+ ms CPU\/op → [\d.]+% ceiling at this CPU\/op\).*load generator CPU \d+%/,
    );
    expect(report).toMatch(
      /oidc\.refresh >=50% (met|MISSED by [\d.]+ points): .*[\d.]+ JWTs signed\/op \(.*\).*signing alone caps the ratio at [\d.]+%/,
    );
    expect(report).toMatch(/users\.create >=2,000\/s (met|MISSED by .*): .*at most [\d,]+\/s on one core/);
    expect(report).toMatch(
      postgresUrl
        ? /users\.create .*PostgreSQL [\d.]+ writing transactions\/op and [\d,]+ WAL bytes\/op \(server-wide, exact\), statistics: [\d.]+ transactions\/op.*[\d.]+ rows written\/op.*\d+ backends [\d.]+ ms CPU\/op/
        : /users\.create .*database inside the server process \(PGlite\)/,
    );
    expect(report).toMatch(
      /RSS idle \d+ MB \(target <= \d+ MB: (met|MISSED by -?\d+ MB)\): VmRSS \d+ MB = anonymous \d+ MB \+ file-backed \d+ MB/,
    );
    if (!postgresUrl)
      expect(report).toMatch(/restart ready [\d.]+ s \(target .*\): server CPU [\d.]+ s until ready/);
  }, 900_000);

  it('counts the signed JWTs of token answers over a window', async () => {
    const jwt = (alg: string) =>
      `${Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url')}.e30.c2ln`;
    countTokens({ id_token: jwt('RS256') }); // before the window: not counted
    const window = await startWindow();
    // Two signed tokens and an opaque one; alg "none" is no signature; a body that is no JSON.
    countTokens({ id_token: jwt('RS256'), access_token: jwt('RS256'), refresh_token: 'opaque' });
    countTokenBody(JSON.stringify({ access_token: jwt('ES256') }));
    countTokens({ access_token: jwt('none') });
    countTokenBody('<html>');
    const usage = await window.end(2);
    expect(usage.jwts).toEqual({
      count: 3,
      kinds: { 'id_token RS256': 1, 'access_token RS256': 1, 'access_token ES256': 1 },
    });
    expect(usage.operations).toBe(2);
    // Without a meter set up (no server): the load process only.
    expect(usage.serverCpuSeconds).toBeNull();
    expect(usage.database).toBeNull();
    expect(usage.loadCpuSeconds).toBeGreaterThanOrEqual(0);
  });

  it("works out the why from a window's usage and the references", () => {
    const reference = (name: string, rate: number, cpuMsPerOp: number | null): ReferenceResult => ({
      name,
      description: name,
      concurrency: 1,
      measurement: { operations: rate, seconds: 1, rate, p50: 1, p99: 1, max: 1 },
      cpuMsPerOp,
    });
    const references = [reference('rs256-sign', 500, 1), reference('sql:x', 1000, null)];
    const load: LoadResult = {
      operations: 100,
      seconds: 2,
      rate: 50,
      p50: 1,
      p99: 2,
      max: 3,
      unexpected: 0,
      errors: 0,
      timeouts: 0,
      statusCodes: { ok: 100 },
      usage: {
        seconds: 2,
        operations: 100,
        serverCpuSeconds: 0.5,
        serverCore: { cpu: '0', busySeconds: 2 },
        loadCpuSeconds: 0.2,
        database: {
          kind: 'postgres',
          counters: {
            xactCommit: 290,
            xactRollback: 10,
            tupReturned: 1000,
            tupFetched: 500,
            tupInserted: 100,
            tupUpdated: 50,
            tupDeleted: 0,
          },
          writeTransactions: 150,
          walBytes: 250_000,
          backends: 3,
          backendCpuSeconds: 0.1,
        },
        jwts: { count: 200, kinds: { 'id_token RS256': 100, 'access_token RS256': 100 } },
      },
    };
    const why = explain(load, references[0] ?? null, references);
    expect(why?.serverCpuMsPerOp).toBeCloseTo(5);
    expect(why?.serverCpuPercent).toBeCloseTo(25);
    expect(why?.serverCore).toEqual({ cpu: '0', busyPercent: 100 });
    expect(why?.loadCpuPercent).toBeCloseTo(10);
    expect(why?.reference).toEqual({ name: 'rs256-sign', msPerOp: 1, basis: 'cpu', ceiling: 0.2 });
    expect(why?.jwts?.perOp).toBe(2);
    expect(why?.jwts?.signingMsPerOp).toBeCloseTo(2);
    expect(why?.jwts?.ceiling).toBeCloseTo(0.5);
    expect(why?.rateCeiling).toBeCloseTo(200);
    expect(why?.database).toMatchObject({
      kind: 'postgres',
      writeTransactionsPerOp: 1.5,
      walBytesPerOp: 2500,
      transactionsPerOp: 3,
      rollbacksPerOp: 0.1,
      rowsReturnedPerOp: 10,
      rowsFetchedPerOp: 5,
      rowsWrittenPerOp: 1.5,
      backends: 3,
    });
    const text = whyText(why as NonNullable<typeof why>, { minRate: true });
    expect(text).toContain('server CPU 25% busy (CPU 0 100% busy, 75 points of it other processes)');
    expect(text).toContain('5.00 ms CPU/op (rs256-sign 1.000 ms CPU/op → 20% ceiling at this CPU/op');
    expect(text).toContain('at most 200/s on one core');
    expect(text).toContain('2.00 JWTs signed/op');
    expect(text).toContain('signing alone caps the ratio at 50%');
    expect(text).toContain(
      'PostgreSQL 1.50 writing transactions/op and 2,500 WAL bytes/op (server-wide, exact), ' +
        'statistics: 3.00 transactions/op (0.10 rolled back)',
    );
    expect(text).toContain('3 backends 1.00 ms CPU/op');
    // An SQL reference on PostgreSQL has no CPU of its own: 1000 / its rate.
    expect(explain(load, references[1] ?? null, references)?.reference).toEqual({
      name: 'sql:x',
      msPerOp: 1,
      basis: 'rate',
      ceiling: 0.2,
    });
    // No window measured: no why.
    expect(explain({ ...load, usage: undefined }, null, references)).toBeNull();
  });
});
