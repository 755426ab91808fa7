import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SIZES } from '../bench/dataset.js';
import { type BenchResult, runBench } from '../bench/harness.js';
import { formatComparison, formatResult } from '../bench/report.js';
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
  }, 900_000);
});
