import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A throwaway test CA and a server certificate it signed, for directory servers the tests start
 * (slapd, Samba AD): `ca.pem`/`ca.key` and `server.pem`/`server.key` in `dir`, valid two days, for
 * the IP address `host` and the DNS name `dns`. The server key is readable by its owner only (Samba
 * refuses others). Made with the openssl command (Debian's openssl package).
 */
export async function makeTestCertificates(
  dir: string,
  { host, dns, caName }: { host: string; dns: string; caName: string },
): Promise<void> {
  const ca = join(dir, 'ca');
  const server = join(dir, 'server');
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${caName}`,
  ]);
  await run('openssl', [
    'req',
    ...EC_KEY,
    '-keyout',
    `${server}.key`,
    '-out',
    `${server}.csr`,
    '-subj',
    `/CN=${dns}`,
  ]);
  writeFileSync(`${server}.ext`, `subjectAltName=IP:${host},DNS:${dns}\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    `${server}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${server}.pem`,
    '-days',
    '2',
    '-extfile',
    `${server}.ext`,
  ]);
  chmodSync(`${server}.key`, 0o600);
}
