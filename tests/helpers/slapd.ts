import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { newId } from '../../src/lib/ids.js';
import type { Database } from '../../src/platform/db/schema.js';
import type { LdapProviderConfig } from '../../src/protocols/federation/types.js';
import type { DirectoryData } from './directory-data.js';
import { makeTestCertificates } from './test-certificates.js';

const run = promisify(execFile);

export const SLAPD = '/usr/sbin/slapd';
export const SLAPADD = '/usr/sbin/slapadd';
export const slapdInstalled = existsSync(SLAPD) && existsSync(SLAPADD);

/**
 * A throwaway OpenLDAP server (issue 15) on loopback: `ldap://` (StartTLS offered) and `ldaps://`,
 * with a certificate signed by a CA made for it, seeded offline with slapadd (fast even for 10,000
 * people), mdb backend. Stopped (and its folder removed) by `stop`.
 */
/**
 * What startSlapd needs of a directory: its suffix, the LDIF loaded offline and the root account.
 * DirectoryData (tests/helpers/directory-data.ts) has all of it; the bench's peers pass
 * (bench/peers.ts) builds its own from the bench dataset.
 */
export interface SlapdDirectory {
  suffix: string;
  ldif: string;
  adminDn: string;
  adminPassword: string;
  /** The ppolicy default policy entry; without it the ppolicy overlay is not loaded. */
  policyDn?: string;
}

export interface SlapdOptions {
  /** Pin slapd to this CPU (`taskset -c CPU`, util-linux); not pinned when left out or null. */
  cpu?: string | null;
}

export interface Slapd<D extends SlapdDirectory = DirectoryData> {
  /** ldap://127.0.0.1:PORT (plain; StartTLS available). */
  url: string;
  /** ldaps://127.0.0.1:PORT */
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate. */
  caPem: string;
  data: D;
  /** The running slapd's process id (null while halted). */
  pid(): number | null;
  /** Stops the server (and waits for its exit); the database is kept for `start`. */
  halt(): Promise<void>;
  /** Starts it again on the same ports after `halt`. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

function slapdConf(dir: string, data: SlapdDirectory): string {
  const ppolicy = data.policyDn !== undefined;
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
${ppolicy ? 'moduleload ppolicy\n' : ''}pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
sizelimit unlimited
database mdb
maxsize 1073741824
suffix "${data.suffix}"
rootdn "${data.adminDn}"
rootpw ${data.adminPassword}
directory ${dir}/db
${ppolicy ? `overlay ppolicy\nppolicy_default "${data.policyDn}"\n` : ''}index objectClass eq
index uid,mail,cn eq
index member eq
index entryUUID eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`;
}

/** A free loopback port (this helper is also used by the bench, outside vitest). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Accepts TCP connections on `port` (without speaking LDAP). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSlapd<D extends SlapdDirectory = DirectoryData>(
  data: D,
  options: SlapdOptions = {},
): Promise<Slapd<D>> {
  const dir = mkdtempSync(join(tmpdir(), 'scaikey-slapd-'));
  mkdirSync(join(dir, 'db'));
  await makeTestCertificates(dir, { host: '127.0.0.1', dns: 'localhost', caName: 'ScaiKey test LDAP CA' });
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, slapdConf(dir, data));
  const ldifPath = join(dir, 'data.ldif');
  writeFileSync(ldifPath, data.ldif);
  // Offline load: quick mode (-q) skips consistency checks the generator already guarantees.
  await run(SLAPADD, ['-q', '-f', conf, '-l', ldifPath], { maxBuffer: 16 * 1024 * 1024 });
  const port = await freePort();
  const ldapsPort = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    output = '';
    // -d keeps slapd in the foreground (so the test owns the process); level 0 logs nothing.
    const args = ['-d', '0', '-f', conf, '-h', `${url}/ ${ldapsUrl}/`];
    // taskset execs slapd: the child is slapd itself (its pid, its signals).
    const [command, commandArgs] =
      options.cpu === undefined || options.cpu === null
        ? [SLAPD, args]
        : ['taskset', ['-c', options.cpu, SLAPD, ...args]];
    const process_ = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = process_;
    process_.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    process_.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + 30_000;
    while (!((await accepts(port)) && (await accepts(ldapsPort)))) {
      if (process_.exitCode !== null || process_.signalCode !== null) {
        throw new Error(`slapd exited before listening:\n${output}`);
      }
      if (Date.now() > deadline) throw new Error(`slapd did not listen within 30 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const halt = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    ldapsUrl,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    data,
    pid: () => {
      const running = child as ChildProcess | null;
      return running && running.exitCode === null && running.signalCode === null
        ? (running.pid ?? null)
        : null;
    },
    halt,
    start,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A provider config for this server (ldaps with the test CA, EXPAND), with `overrides`. */
export function openLdapConfig(
  slapd: Slapd,
  overrides: Partial<LdapProviderConfig> = {},
): LdapProviderConfig {
  return {
    directory_type: 'OPENLDAP',
    url: slapd.ldapsUrl,
    start_tls: false,
    allow_plain_bind: false,
    tls_ca_certificate: slapd.caPem,
    tls_verify: true,
    bind_dn: slapd.data.serviceDn,
    user_base_dn: slapd.data.peopleBase,
    user_filter: '(objectClass=inetOrgPerson)',
    login_attribute: 'uid',
    id_attribute: 'entryUUID',
    group_base_dn: slapd.data.groupBase,
    group_filter: '(objectClass=groupOfNames)',
    group_member_attribute: 'member',
    nested_groups: 'EXPAND',
    ou_placement: 'NONE',
    sync_interval_minutes: 0,
    page_size: 100,
    timeout_ms: 5_000,
    ...overrides,
  };
}

/**
 * An LDAP identity provider row of `tenantId` as the admin API stores it (no secrets: the sync
 * takes the bind password as a parameter), for tests and the bench that call the sync directly.
 */
export async function insertLdapProviderRow(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
  config: LdapProviderConfig,
): Promise<string> {
  const id = newId('identityProvider');
  await db
    .insertInto('identity_providers')
    .values({
      tenant_id: tenantId,
      id,
      name,
      provider_type: 'LDAP',
      config: JSON.stringify(config),
      email_domains: JSON.stringify([]),
      attribute_mapping: JSON.stringify({}),
      group_mapping: JSON.stringify([]),
      default_ou_id: null,
      updated_at: null,
      deleted_at: null,
      description: null,
      button_label: null,
      secrets: null,
      created_by: null,
    })
    .execute();
  return id;
}
