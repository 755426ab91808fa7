import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { sshaHash } from '../tests/helpers/directory-data.js';
import { type Slapd, type SlapdDirectory, slapdInstalled, startSlapd } from '../tests/helpers/slapd.js';
import { type DatasetPlan, generateUsers } from './dataset.js';
import { measureOperations, UnexpectedStatus } from './drive.js';
import type { LoadResult, LoadSettings } from './load.js';
import { cpuSeconds, nodeFlags, type Pinning, pinned, repoRoot, runWorker, track } from './processes.js';
import type { Scenario } from './scenario.js';
import type { LoadJob } from './worker.js';

/**
 * `npm run bench -- --peers` (issue 17): the systems ScaiKey is judged against, measured on the
 * same machine in the same run, each as its own process pinned to the server's CPU and loaded
 * from a worker on the load CPU, as ScaiKey is:
 *
 * - OpenLDAP `slapd` (Debian's package) holding the bench dataset's users as inetOrgPerson
 *   entries, answering lookups by DN (base-scope search, all attributes) of exactly the users the
 *   `users.get` scenario reads, from bound `ldapts` clients over plain ldap://;
 * - bare `oidc-provider` (the version ScaiKey embeds) with one confidential client answering
 *   `grant_type=client_credentials` with RS256 JWT access tokens shaped like ScaiKey's, loaded by
 *   autocannon like `oauth.client-credentials`: the token endpoint's floor.
 *
 * Measured once per bench invocation, before the database passes; every pass's scenarios are
 * compared with the same peer figures (PEER_COMPARISONS).
 */

export type PeerName = 'slapd-lookup-by-dn' | 'oidc-provider-client-credentials';

export interface PeerMeasurement {
  name: PeerName;
  description: string;
  /** Clients (LDAP connections or HTTP connections), one operation in flight on each. */
  connections: number;
  load: LoadResult;
  /** CPU the peer's process used while loaded (warm-up included), % of one core. */
  serverCpuPercent: number | null;
}

export interface PeersResult {
  /** What was not measured and why (e.g. slapd not installed). */
  skipped: string[];
  measurements: PeerMeasurement[];
  /** `slapd -VV` and oidc-provider's package version. */
  versions: Record<string, string>;
  /** Entries loaded into slapd (people and their branches). */
  slapdEntries: number | null;
  /** ScaiKey's scenarios over the peer figures, per pass. */
  ratios: PeerRatio[];
}

export interface PeerRatio {
  db: string;
  scenario: string;
  peer: PeerName;
  connections: number;
  rate: number;
  peerRate: number;
  ratio: number;
  target: number | null;
  met: boolean | null;
}

/** Which scenario is read against which peer (at the scenario's own connection count), and the target. */
export const PEER_COMPARISONS: { scenario: string; peer: PeerName; target: number | null }[] = [
  // Issue 17: authenticated GET user by id >= 50% of slapd's lookup-by-DN rate.
  { scenario: 'users.get', peer: 'slapd-lookup-by-dn', target: 0.5 },
  { scenario: 'users.get-one', peer: 'slapd-lookup-by-dn', target: 0.5 },
  // The token endpoint's floor: no target (ScaiKey answers client_credentials natively).
  { scenario: 'oauth.client-credentials', peer: 'oidc-provider-client-credentials', target: null },
];

export const SLAPD_MISSING = 'slapd is not installed (/usr/sbin/slapd; apt-get install slapd ldap-utils)';

const SUFFIX = 'dc=bench,dc=example';
const READER_DN = `cn=reader,${SUFFIX}`;
const READER_PASSWORD = 'reader-Secret-1';

/** RFC 2849: values that are not safe ASCII are written base64 (`attr:: …`). */
function ldifLine(attribute: string, value: string): string {
  const safe = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attribute}: ${value}` : `${attribute}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

function ldifEntry(dn: string, attributes: [string, string][]): string {
  return [ldifLine('dn', dn), ...attributes.map(([a, v]) => ldifLine(a, v))].join('\n');
}

/** An RDN value escaped (RFC 4514) for the few characters our generated names could hold. */
function rdnValue(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}

export interface BenchDirectory extends SlapdDirectory {
  readerDn: string;
  readerPassword: string;
  entries: number;
  /** The DN of every user that `users.get` reads, in its order. */
  lookups: string[];
}

/** The (tenant id, user id) pairs `users.get` reads, in its order: its SQL reference's parameters. */
export function usersGetTargets(usersGet: Scenario, dataset: DatasetPlan): [string, string][] {
  const reference = usersGet.reference(dataset);
  if (reference.kind !== 'sql')
    throw new Error('users.get no longer has an SQL reference: see bench/peers.ts');
  return reference.query.params.map((params) => [String(params[0]), String(params[1])]);
}

/**
 * The bench dataset's users as inetOrgPerson entries, one branch `ou=<tenant slug>` per tenant:
 * `uid` (username), `cn`/`displayName`, `sn`, `givenName`, `mail`, `employeeNumber` (ScaiKey's user
 * id), `employeeType` (status), `ou` (the OU path, when placed). A reader account binds.
 */
export function benchDirectory(dataset: DatasetPlan, targets: [string, string][]): BenchDirectory {
  const wanted = new Map<string, number[]>();
  for (const [index, [, userId]] of targets.entries()) {
    wanted.set(userId, [...(wanted.get(userId) ?? []), index]);
  }
  const lookups: string[] = new Array(targets.length);
  const dc = 'bench';
  const parts: string[] = [
    ldifEntry(SUFFIX, [
      ['objectClass', 'top'],
      ['objectClass', 'dcObject'],
      ['objectClass', 'organization'],
      ['o', dc],
      ['dc', dc],
    ]),
    ldifEntry(READER_DN, [
      ['objectClass', 'organizationalRole'],
      ['objectClass', 'simpleSecurityObject'],
      ['cn', 'reader'],
      ['userPassword', sshaHash(READER_PASSWORD)],
    ]),
  ];
  let entries = 0;
  for (const tenant of dataset.tenants) {
    const branch = `ou=${rdnValue(tenant.slug)},${SUFFIX}`;
    parts.push(
      ldifEntry(branch, [
        ['objectClass', 'organizationalUnit'],
        ['ou', tenant.slug],
      ]),
    );
    entries++;
    const ouPaths = new Map(tenant.ous.map((ou) => [ou.id, ou.path]));
    for (const user of generateUsers(dataset, tenant)) {
      const dn = `uid=${rdnValue(user.username)},${branch}`;
      const ouPath = user.ouId ? ouPaths.get(user.ouId) : undefined;
      parts.push(
        ldifEntry(dn, [
          ['objectClass', 'inetOrgPerson'],
          ['uid', user.username],
          ['cn', user.displayName],
          ['sn', user.lastName],
          ['givenName', user.firstName],
          ['displayName', user.displayName],
          ['mail', user.email],
          ['employeeNumber', user.id],
          ['employeeType', user.status],
          ...(ouPath ? [['ou', ouPath] as [string, string]] : []),
        ]),
      );
      entries++;
      for (const index of wanted.get(user.id) ?? []) lookups[index] = dn;
    }
  }
  const missing = targets.findIndex((_, index) => lookups[index] === undefined);
  if (missing >= 0) throw new Error(`users.get reads user ${targets[missing]?.[1]}, not in the dataset`);
  return {
    suffix: SUFFIX,
    ldif: `${parts.join('\n\n')}\n`,
    adminDn: `cn=admin,${SUFFIX}`,
    adminPassword: randomBytes(12).toString('base64url'),
    readerDn: READER_DN,
    readerPassword: READER_PASSWORD,
    entries,
    lookups,
  };
}

/** A worker job (bench/worker.ts): lookups by DN from `connections` bound clients. */
export interface LdapLookupJob {
  kind: 'ldap-lookup';
  url: string;
  bindDn: string;
  password: string;
  dns: string[];
  settings: LoadSettings;
}

/**
 * In the load process: `connections` ldapts clients, each bound (simple bind) once, then base-scope
 * searches of the DNs in turn, one in flight per client; an answer without exactly the one entry
 * counts as unexpected. Warm-up, then the best of `repeat` measurements.
 */
export async function measureLdapLookups(job: LdapLookupJob): Promise<LoadResult> {
  const { settings } = job;
  const clients = Array.from(
    { length: Math.max(1, settings.connections) },
    () => new Client({ url: job.url, timeout: 10_000, connectTimeout: 10_000 }),
  );
  try {
    await Promise.all(clients.map((client) => client.bind(job.bindDn, job.password)));
    const idle = [...clients];
    const operation = async (index: number) => {
      const client = idle.pop();
      if (!client) throw new Error('no idle LDAP client');
      try {
        const dn = job.dns[index % job.dns.length] as string;
        const { searchEntries } = await client.search(dn, { scope: 'base' });
        if (searchEntries.length !== 1 || searchEntries[0]?.dn.toLowerCase() !== dn.toLowerCase()) {
          throw new UnexpectedStatus(0, `${dn}: ${searchEntries.length} entries`);
        }
      } finally {
        idle.push(client);
      }
    };
    const concurrency = clients.length;
    if (settings.warmupSeconds > 0) {
      await measureOperations(
        { concurrency, seconds: settings.warmupSeconds, amount: null, warmup: true },
        operation,
      );
    }
    let best: LoadResult | null = null;
    for (let attempt = 0; attempt < Math.max(1, settings.repeat); attempt++) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const result = await measureOperations(
        { concurrency, seconds: settings.durationSeconds, amount: settings.amount },
        operation,
      );
      const cpu = process.cpuUsage(cpuBefore);
      const wallMs = performance.now() - started;
      const current: LoadResult = {
        ...result,
        figures: { 'load process CPU %': ((cpu.user + cpu.system) / 1000 / wallMs) * 100 },
      };
      if (!best || current.rate > best.rate) best = current;
    }
    return best as LoadResult;
  } finally {
    await Promise.all(clients.map((client) => client.unbind().catch(() => {})));
  }
}

/**
 * Runs a load job against a peer and reads the peer's CPU use over it: CPU seconds the peer used
 * during the job over the seconds of load (warm-up and every measurement; the worker's own start
 * puts no load on the peer), % of one core.
 */
async function measurePeer(
  pid: number | null,
  settings: LoadSettings,
  job: LoadJob | LdapLookupJob,
  cpu: string | null,
): Promise<{ load: LoadResult; serverCpuPercent: number | null }> {
  const cpuBefore = cpuSeconds(pid);
  const load = await runWorker<LoadResult>(cpu, job);
  const cpuAfter = cpuSeconds(pid);
  const loaded = settings.warmupSeconds + Math.max(1, settings.repeat) * load.seconds;
  const serverCpuPercent =
    cpuBefore !== null && cpuAfter !== null && loaded > 0 ? ((cpuAfter - cpuBefore) / loaded) * 100 : null;
  return { load, serverCpuPercent };
}

/** The bare oidc-provider process (bench/peer-host.ts), pinned to the server's CPU. */
interface PeerHost {
  pid: number;
  baseUrl: string;
  stop(): Promise<void>;
}

function startPeerHost(cpu: string | null, client: { id: string; secret: string }): Promise<PeerHost> {
  const entry = join(repoRoot, nodeFlags().length > 0 ? 'bench/peer-host.ts' : 'dist/bench/peer-host.js');
  const [command, args] = pinned(cpu, process.execPath, [...nodeFlags(), entry]);
  const child: ChildProcess = spawn(command, args, {
    cwd: repoRoot,
    // oidc-provider warns about Node 20 ("Unsupported runtime") on stderr: kept for failures only.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  track(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-10_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => {
      resolve({
        pid: child.pid as number,
        baseUrl: `http://127.0.0.1:${message.port}`,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`bench/peer-host exited with ${signal ?? code} before listening:\n${output}`)),
    );
    child.send({ kind: 'oidc-provider', client });
  });
}

function packageVersion(name: string): string {
  try {
    const file = join(repoRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function slapdVersion(): string {
  const probe = spawnSync('/usr/sbin/slapd', ['-VV'], { encoding: 'utf8' });
  const match = /slapd ([^\s]+)/.exec(`${probe.stdout ?? ''}${probe.stderr ?? ''}`);
  return match?.[1] ?? 'unknown';
}

export interface PeerOptions {
  settings: LoadSettings;
  log: (line: string) => void;
}

/**
 * The peers pass: slapd (when installed) at the run's connection count and at one connection (for
 * `users.get-one`), then bare oidc-provider at the run's connection count.
 */
export async function runPeers(
  dataset: DatasetPlan,
  usersGet: Scenario,
  pinning: Pinning,
  options: PeerOptions,
): Promise<PeersResult> {
  const { settings, log } = options;
  const result: PeersResult = {
    skipped: [],
    measurements: [],
    versions: { 'oidc-provider': packageVersion('oidc-provider') },
    slapdEntries: null,
    ratios: [],
  };
  const concurrencies = [...new Set([settings.connections, 1])];

  if (!slapdInstalled) {
    result.skipped.push(`slapd: ${SLAPD_MISSING}`);
    log(`[peers] slapd skipped: ${SLAPD_MISSING}`);
  } else {
    result.versions.slapd = slapdVersion();
    const directory = benchDirectory(dataset, usersGetTargets(usersGet, dataset));
    log(`[peers] slapd: loading ${directory.entries} entries with slapadd`);
    let slapd: Slapd<BenchDirectory> | null = null;
    try {
      slapd = await startSlapd(directory, { cpu: pinning.serverCpu });
      result.slapdEntries = directory.entries;
      for (const connections of concurrencies) {
        log(`[peers] slapd lookup by DN, ${connections} client(s)`);
        const job: LdapLookupJob = {
          kind: 'ldap-lookup',
          url: slapd.url,
          bindDn: directory.readerDn,
          password: directory.readerPassword,
          dns: directory.lookups,
          settings: { ...settings, connections },
        };
        const measured = await measurePeer(slapd.pid(), job.settings, job, pinning.loadCpu);
        result.measurements.push({
          name: 'slapd-lookup-by-dn',
          description:
            `OpenLDAP slapd ${result.versions.slapd} (mdb), search base=DN scope=base, all attributes, ` +
            `${directory.lookups.length} users.get users in turn; ldapts clients, simple bind, ldap://`,
          connections,
          ...measured,
        });
      }
    } finally {
      await slapd?.stop();
    }
  }

  const client = { id: 'bench-peer-client', secret: randomBytes(32).toString('base64url') };
  const host = await startPeerHost(pinning.serverCpu, client);
  try {
    log(`[peers] bare oidc-provider client_credentials, ${settings.connections} connections`);
    const basic = Buffer.from(`${client.id}:${client.secret}`).toString('base64');
    const job: LoadJob = {
      kind: 'load',
      baseUrl: host.baseUrl,
      plan: {
        method: 'POST',
        paths: ['/token'],
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        bodies: ['grant_type=client_credentials'],
        expectedStatus: 200,
      },
      settings,
    };
    // One request first: a wrong answer stops the pass with it shown (as the harness's preflight).
    const check = await fetch(`${host.baseUrl}/token`, {
      method: 'POST',
      headers: job.plan.headers,
      body: 'grant_type=client_credentials',
    });
    const text = await check.text();
    if (check.status !== 200) throw new Error(`bare oidc-provider answered ${check.status}: ${text}`);
    const measured = await measurePeer(host.pid, settings, job, pinning.loadCpu);
    result.measurements.push({
      name: 'oidc-provider-client-credentials',
      description:
        `bare oidc-provider ${result.versions['oidc-provider']}, one client (client_secret_basic), ` +
        'client_credentials, RS256 (RSA-2048) JWT access tokens with ScaiKey’s claims, in-memory adapter',
      connections: settings.connections,
      ...measured,
    });
  } finally {
    await host.stop();
  }
  return result;
}

/** Each pass's compared scenarios over the peer figure at the same connection count. */
export function peerRatios(
  peers: PeersResult,
  passes: { db: string; scenarios: { name: string; connections?: number; load: LoadResult }[] }[],
  defaultConnections: number,
): PeerRatio[] {
  const ratios: PeerRatio[] = [];
  for (const pass of passes) {
    for (const comparison of PEER_COMPARISONS) {
      const row = pass.scenarios.find((candidate) => candidate.name === comparison.scenario);
      if (!row) continue;
      const connections = row.connections ?? defaultConnections;
      const peer = peers.measurements.find(
        (candidate) => candidate.name === comparison.peer && candidate.connections === connections,
      );
      if (!peer || peer.load.rate <= 0) continue;
      const ratio = row.load.rate / peer.load.rate;
      ratios.push({
        db: pass.db,
        scenario: row.name,
        peer: peer.name,
        connections,
        rate: row.load.rate,
        peerRate: peer.load.rate,
        ratio,
        target: comparison.target,
        met: comparison.target === null ? null : ratio >= comparison.target,
      });
    }
  }
  return ratios;
}
