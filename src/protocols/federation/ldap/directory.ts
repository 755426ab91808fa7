import { connect as connectTcp } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import {
  AndFilter,
  Client,
  type Entry,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  FilterParser,
  InvalidCredentialsError,
  OrFilter,
  ResultCodeError,
} from 'ldapts';
import { AppError } from '../../../platform/errors.js';
import type { ConnectionCheck, LdapProviderConfig, UpstreamIdentity } from '../types.js';
import { accountDisabled, encryptionRequired } from './active-directory.js';
import { normalizeDn } from './dn.js';

export { normalizeDn, ouPathFromDn } from './dn.js';

/**
 * The LDAP / Active Directory adapter (issue 15): pure functions over an {@link LdapProviderConfig}
 * with ldapts. It connects (LDAPS or StartTLS; a plain bind only when the provider allows it),
 * binds as the service account, reads users and groups in pages, resolves nested groups, and
 * checks a user's password by binding as the user (bind-through: the password is never stored).
 */

/** Why the directory could not be used; every one of them means "the password cannot be checked". */
export type DirectoryFailure =
  | 'UNREACHABLE'
  | 'TLS'
  | 'PLAIN_BIND_REFUSED'
  | 'SERVICE_BIND_REJECTED'
  | 'OPERATION_FAILED';

/**
 * The directory cannot answer: down, unreachable, TLS failed, the service account was refused,
 * or the configuration refuses a plain bind. Sign-in says "directory unavailable" (and local
 * accounts still sign in); a sync fails and changes nothing.
 */
export class DirectoryUnavailable extends AppError {
  constructor(
    readonly failure: DirectoryFailure,
    detail: string,
  ) {
    super('DIRECTORY_UNAVAILABLE', detail);
    this.name = 'DirectoryUnavailable';
  }
}

/** A user entry as the adapter hands it on. */
export interface DirectoryUser {
  /** `entryUUID`, or AD `objectGUID` as a lowercase UUID string. */
  id: string;
  dn: string;
  login: string | null;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  /** AD: userAccountControl ACCOUNTDISABLE (0x2) or accountExpires past; OpenLDAP: pwdAccountLockedTime present. */
  disabled: boolean;
  /** `memberOf` of the entry (direct groups, when the directory maintains it). */
  memberOf: string[];
  /** Every (textual) attribute as received, passwords and binary values left out. */
  attributes: Record<string, string | string[]>;
}

export interface DirectoryGroup {
  id: string;
  dn: string;
  name: string;
  /** The values of the provider's member attribute (people and groups, as DNs). */
  members: string[];
  description: string | null;
}

/** Attributes never handed on, even when the service account may read them. */
const SECRET_ATTRIBUTES = new Set([
  'userpassword',
  'unicodepwd',
  'ntpwdhistory',
  'lmpwdhistory',
  'supplementalcredentials',
]);
/** Binary attributes asked for as buffers (else ldapts decodes them as mangled UTF-8). */
const BINARY_ATTRIBUTES = ['objectGUID', 'objectSid', 'jpegPhoto', 'thumbnailPhoto', 'userCertificate'];

function isPlain(config: LdapProviderConfig): boolean {
  return !config.url.toLowerCase().startsWith('ldaps://') && !config.start_tls;
}

function tlsOptions(config: LdapProviderConfig): ConnectionOptions {
  return {
    ...(config.tls_ca_certificate ? { ca: [config.tls_ca_certificate] } : {}),
    rejectUnauthorized: config.tls_verify !== false,
  };
}

function errorCode(error: unknown): string {
  return String((error as { code?: unknown })?.code ?? '');
}

const TLS_ERROR = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL|HOSTNAME_MISMATCH)/;

/** Maps a transport failure to a {@link DirectoryUnavailable} that says what failed (never a secret). */
function unavailable(error: unknown, config: LdapProviderConfig): DirectoryUnavailable {
  if (error instanceof DirectoryUnavailable) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (TLS_ERROR.test(code) || /certificate|tls|ssl/i.test(message)) {
    return new DirectoryUnavailable('TLS', `TLS with the directory at ${config.url} failed: ${message}`);
  }
  if (encryptionRequired(error)) {
    return new DirectoryUnavailable(
      'PLAIN_BIND_REFUSED',
      `The directory requires an encrypted connection (use an ldaps:// URL or StartTLS): ${message}`,
    );
  }
  if (error instanceof ResultCodeError) {
    return new DirectoryUnavailable('OPERATION_FAILED', `The directory refused the operation: ${message}`);
  }
  return new DirectoryUnavailable(
    'UNREACHABLE',
    `The directory at ${config.url} is unavailable: ${code ? `${code} ` : ''}${message}`,
  );
}

const PLAIN_BIND_REFUSED =
  'Refusing to bind over an unencrypted connection: use an ldaps:// URL or StartTLS (or explicitly allow plain binds)';

function assertEncryptedOrAllowed(config: LdapProviderConfig): void {
  if (isPlain(config) && !config.allow_plain_bind) {
    throw new DirectoryUnavailable('PLAIN_BIND_REFUSED', PLAIN_BIND_REFUSED);
  }
}

/** A connected client, upgraded with StartTLS when configured, not yet bound. */
async function openClient(config: LdapProviderConfig): Promise<Client> {
  assertEncryptedOrAllowed(config);
  const ldaps = config.url.toLowerCase().startsWith('ldaps://');
  // ldapts treats any tlsOptions as "connect with TLS", so they go to ldaps:// only (StartTLS gets its own).
  const client = new Client({
    url: config.url,
    timeout: config.timeout_ms,
    connectTimeout: config.timeout_ms,
    ...(ldaps ? { tlsOptions: tlsOptions(config) } : {}),
    strictDN: false,
  });
  if (config.start_tls && !ldaps) {
    try {
      await client.startTLS(tlsOptions(config));
    } catch (error) {
      await client.unbind().catch(() => undefined);
      const failure = unavailable(error, config);
      if (failure.failure === 'OPERATION_FAILED') {
        throw new DirectoryUnavailable('TLS', `The directory refused StartTLS: ${failure.detail}`);
      }
      throw failure;
    }
  }
  return client;
}

/**
 * Connects to the directory (LDAPS, or StartTLS on ldap://; a bind over a plain connection only
 * with `allow_plain_bind`) and binds as the service account. The caller unbinds the client.
 * @throws DirectoryUnavailable when the directory cannot be reached, TLS fails, or the bind is refused.
 */
export async function connect(config: LdapProviderConfig, bindPassword: string): Promise<Client> {
  const client = await openClient(config);
  try {
    if (!bindPassword) {
      throw new DirectoryUnavailable(
        'SERVICE_BIND_REJECTED',
        'No bind password is configured for the service account (an empty password would be an anonymous bind)',
      );
    }
    await client.bind(config.bind_dn, bindPassword);
    return client;
  } catch (error) {
    await client.unbind().catch(() => undefined);
    if (error instanceof InvalidCredentialsError) {
      throw new DirectoryUnavailable(
        'SERVICE_BIND_REJECTED',
        `The directory refused the service account ${config.bind_dn} (invalid credentials)`,
      );
    }
    throw unavailable(error, config);
  }
}

/** AD's objectGUID bytes as the UUID string AD shows: the first three fields are little-endian. */
export function objectGuidToUuid(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error('objectGUID must be 16 bytes');
  const hex = (indexes: number[]) =>
    indexes.map((i) => (bytes[i] as number).toString(16).padStart(2, '0')).join('');
  return [hex([3, 2, 1, 0]), hex([5, 4]), hex([7, 6]), hex([8, 9]), hex([10, 11, 12, 13, 14, 15])].join('-');
}

function parseFilter(filter: string): Filter {
  const trimmed = filter.trim();
  return FilterParser.parseString(trimmed.startsWith('(') ? trimmed : `(${trimmed})`);
}

function attributeValue(entry: Entry, name: string): Buffer | Buffer[] | string[] | string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

function firstString(entry: Entry, name: string): string | null {
  const value = attributeValue(entry, name);
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || Buffer.isBuffer(first)) return null;
  return first === '' ? null : first;
}

function strings(entry: Entry, name: string): string[] {
  const value = attributeValue(entry, name);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

function stableId(entry: Entry, config: LdapProviderConfig): string | null {
  const value = attributeValue(entry, config.id_attribute);
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  if (Buffer.isBuffer(first)) {
    return first.length === 16 ? objectGuidToUuid(first) : first.toString('hex');
  }
  return first.toLowerCase();
}

function textAttributes(entry: Entry): Record<string, string | string[]> {
  const attributes: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn' || SECRET_ATTRIBUTES.has(name.toLowerCase())) continue;
    if (Buffer.isBuffer(value)) continue;
    if (Array.isArray(value)) {
      const texts = (value as (string | Buffer)[]).filter((v): v is string => typeof v === 'string');
      if (texts.length === 0) continue;
      attributes[name] = texts.length === 1 ? (texts[0] as string) : texts;
    } else {
      attributes[name] = value;
    }
  }
  return attributes;
}

function isDisabled(entry: Entry, config: LdapProviderConfig): boolean {
  if (config.directory_type === 'ACTIVE_DIRECTORY') {
    // ACCOUNTDISABLE, or accountExpires past: AD refuses both binds, yet an expired account keeps
    // its userAccountControl (active-directory.ts).
    return accountDisabled(
      firstString(entry, 'userAccountControl'),
      firstString(entry, 'accountExpires'),
      new Date(),
    );
  }
  return firstString(entry, 'pwdAccountLockedTime') !== null;
}

function userAttributes(config: LdapProviderConfig): string[] {
  return [
    '*',
    config.id_attribute,
    'memberOf',
    'pwdAccountLockedTime',
    'userAccountControl',
    'accountExpires',
  ];
}

function bufferAttributes(config: LdapProviderConfig): string[] {
  return config.directory_type === 'ACTIVE_DIRECTORY' || config.id_attribute.toLowerCase() === 'objectguid'
    ? [...new Set([...BINARY_ATTRIBUTES, config.id_attribute])]
    : BINARY_ATTRIBUTES;
}

function toUser(entry: Entry, config: LdapProviderConfig): DirectoryUser | null {
  const id = stableId(entry, config);
  if (!id) return null;
  return {
    id,
    dn: entry.dn,
    login: firstString(entry, config.login_attribute),
    email: firstString(entry, 'mail') ?? firstString(entry, 'userPrincipalName'),
    givenName: firstString(entry, 'givenName'),
    familyName: firstString(entry, 'sn'),
    displayName: firstString(entry, 'displayName') ?? firstString(entry, 'cn'),
    disabled: isDisabled(entry, config),
    memberOf: strings(entry, 'memberOf'),
    attributes: textAttributes(entry),
  };
}

async function pagedSearch(
  client: Client,
  config: LdapProviderConfig,
  base: string,
  filter: Filter | string,
  attributes: string[],
): Promise<Entry[]> {
  try {
    const { searchEntries } = await client.search(base, {
      scope: 'sub',
      filter,
      attributes,
      explicitBufferAttributes: bufferAttributes(config),
      paged: { pageSize: Math.max(1, config.page_size || 500) },
    });
    return searchEntries;
  } catch (error) {
    throw unavailable(error, config);
  }
}

/** Every user under `user_base_dn` that matches `user_filter`, read in pages of `page_size`. */
export async function searchUsers(client: Client, config: LdapProviderConfig): Promise<DirectoryUser[]> {
  const entries = await pagedSearch(
    client,
    config,
    config.user_base_dn,
    parseFilter(config.user_filter),
    userAttributes(config),
  );
  return entries.map((entry) => toUser(entry, config)).filter((user): user is DirectoryUser => user !== null);
}

function groupAttributes(config: LdapProviderConfig): string[] {
  return [config.id_attribute, 'cn', 'description', config.group_member_attribute];
}

function toGroup(entry: Entry, config: LdapProviderConfig): DirectoryGroup | null {
  const id = stableId(entry, config);
  if (!id) return null;
  return {
    id,
    dn: entry.dn,
    name: firstString(entry, 'cn') ?? entry.dn,
    members: strings(entry, config.group_member_attribute),
    description: firstString(entry, 'description'),
  };
}

/** Every group under `group_base_dn` (else the user base) that matches `group_filter`, in pages. */
export async function searchGroups(client: Client, config: LdapProviderConfig): Promise<DirectoryGroup[]> {
  const entries = await pagedSearch(
    client,
    config,
    config.group_base_dn || config.user_base_dn,
    parseFilter(config.group_filter),
    groupAttributes(config),
  );
  return entries
    .map((entry) => toGroup(entry, config))
    .filter((group): group is DirectoryGroup => group !== null);
}

/** How users and groups are related, computed from the groups' member attributes. */
export interface Memberships {
  /** normalized user DN → the DNs of the groups it is a direct member of. */
  direct: Map<string, string[]>;
  /** normalized user DN → the DNs of every group it belongs to through any chain (cycle-safe). */
  effective: Map<string, string[]>;
  /** [parent group DN, child group DN]: a group that is a member of another (empty for NONE). */
  groupEdges: [string, string][];
}

/**
 * Resolves memberships for a sync from the groups read: direct members, group → group edges
 * (EXPAND and IN_CHAIN; none for NONE) and each user's effective groups, cycle-safe.
 */
export function resolveMemberships(
  users: DirectoryUser[],
  groups: DirectoryGroup[],
  config: LdapProviderConfig,
): Memberships {
  const groupByDn = new Map(groups.map((g) => [normalizeDn(g.dn), g]));
  const userDns = new Set(users.map((u) => normalizeDn(u.dn)));
  const direct = new Map<string, string[]>();
  const parents = new Map<string, string[]>();
  const groupEdges: [string, string][] = [];
  for (const group of groups) {
    for (const member of group.members) {
      const key = normalizeDn(member);
      if (userDns.has(key)) {
        const list = direct.get(key) ?? [];
        list.push(group.dn);
        direct.set(key, list);
      } else if (config.nested_groups !== 'NONE' && groupByDn.has(key)) {
        const child = groupByDn.get(key) as DirectoryGroup;
        groupEdges.push([group.dn, child.dn]);
        const list = parents.get(key) ?? [];
        list.push(group.dn);
        parents.set(key, list);
      }
    }
  }
  const effective = new Map<string, string[]>();
  for (const [userDn, groupsOf] of direct) {
    const seen = new Map<string, string>();
    const queue = [...groupsOf];
    while (queue.length > 0) {
      const dn = queue.pop() as string;
      const key = normalizeDn(dn);
      if (seen.has(key)) continue;
      seen.set(key, dn);
      queue.push(...(parents.get(key) ?? []));
    }
    effective.set(userDn, [...seen.values()]);
  }
  return { direct, effective, groupEdges };
}

const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

/** The DNs of the groups `userDn` belongs to, per the provider's nested-group mode (sign-in). */
async function groupsOfUser(
  client: Client,
  config: LdapProviderConfig,
  user: DirectoryUser,
): Promise<string[]> {
  const base = config.group_base_dn || config.user_base_dn;
  const member = config.group_member_attribute;
  const groupFilter = parseFilter(config.group_filter);
  if (config.nested_groups === 'IN_CHAIN') {
    const filter = new AndFilter({
      filters: [
        groupFilter,
        new ExtensibleFilter({ matchType: member, rule: IN_CHAIN_RULE, value: user.dn }),
      ],
    });
    return (await pagedSearch(client, config, base, filter, ['1.1'])).map((e) => e.dn);
  }
  const found = new Map<string, string>();
  let frontier = [user.dn];
  while (frontier.length > 0) {
    const next: string[] = [];
    // Batches keep each filter small; `found` makes the walk stop on cycles.
    for (let i = 0; i < frontier.length; i += 50) {
      const batch = frontier.slice(i, i + 50);
      const filter = new AndFilter({
        filters: [
          groupFilter,
          new OrFilter({ filters: batch.map((dn) => new EqualityFilter({ attribute: member, value: dn })) }),
        ],
      });
      for (const entry of await pagedSearch(client, config, base, filter, ['1.1'])) {
        const key = normalizeDn(entry.dn);
        if (found.has(key)) continue;
        found.set(key, entry.dn);
        next.push(entry.dn);
      }
    }
    frontier = config.nested_groups === 'EXPAND' ? next : [];
  }
  for (const dn of user.memberOf) {
    if (!found.has(normalizeDn(dn))) found.set(normalizeDn(dn), dn);
  }
  return [...found.values()];
}

/** The filter that finds the user typed at sign-in; the value is a filter value, never filter text (RFC 4515). */
export function loginFilter(config: LdapProviderConfig, login: string): Filter {
  return new AndFilter({
    filters: [
      parseFilter(config.user_filter),
      new EqualityFilter({ attribute: config.login_attribute, value: login }),
    ],
  });
}

/**
 * Bind-through sign-in: binds as the service account, finds the user by `login_attribute`, then
 * binds as that user with `password` (checked by the directory, never stored). Null for an unknown
 * or ambiguous login, a wrong password, a disabled entry, or an empty password (an empty-password
 * simple bind is an anonymous bind that succeeds, RFC 4513 §5.1.2, so it is refused before any bind).
 * @throws DirectoryUnavailable when the directory cannot be used (sign-in then says so).
 */
export async function authenticate(
  config: LdapProviderConfig,
  bindPassword: string,
  login: string,
  password: string,
): Promise<UpstreamIdentity | null> {
  if (!password || !login.trim()) return null;
  const client = await connect(config, bindPassword);
  try {
    const entries = await pagedSearch(
      client,
      config,
      config.user_base_dn,
      loginFilter(config, login.trim()),
      userAttributes(config),
    );
    if (entries.length !== 1) return null;
    const user = toUser(entries[0] as Entry, config);
    if (!user || user.disabled) return null;
    try {
      await client.bind(user.dn, password);
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return null;
      throw unavailable(error, config);
    }
    // Back to the service account: the user may not be allowed to read groups.
    try {
      await client.bind(config.bind_dn, bindPassword);
    } catch (error) {
      throw unavailable(error, config);
    }
    const groups = await groupsOfUser(client, config, user);
    return {
      subject: user.id,
      email: user.email,
      emailVerified: true,
      attributes: user.attributes,
      groups,
      amr: ['pwd'],
      dn: user.dn,
    };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function hostAndPort(config: LdapProviderConfig): { host: string; port: number; secure: boolean } {
  const url = new URL(config.url);
  const secure = url.protocol === 'ldaps:';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (secure ? 636 : 389),
    secure,
  };
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}

function probeTls(config: LdapProviderConfig, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port, timeout: config.timeout_ms, ...tlsOptions(config) });
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol() ?? 'TLS';
      const verified = socket.authorized
        ? 'certificate verified'
        : 'certificate NOT verified (tls_verify off)';
      socket.destroy();
      resolve(`${protocol}, ${verified}`);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(
        Object.assign(new Error(`no TLS handshake within ${config.timeout_ms} ms`), { code: 'ETIMEDOUT' }),
      );
    });
    socket.once('error', reject);
  });
}

/**
 * `POST …/{idp_id}/test` for LDAP: connect, TLS, service bind, user search, group search, each
 * with what it found or why it failed; the checks stop at the first failure.
 */
export async function testConnection(
  config: LdapProviderConfig,
  bindPassword: string,
): Promise<ConnectionCheck[]> {
  const checks: ConnectionCheck[] = [];
  const fail = (name: string, detail: string) => {
    checks.push({ name, ok: false, detail });
    return checks;
  };
  let target: ReturnType<typeof hostAndPort>;
  try {
    target = hostAndPort(config);
  } catch {
    return fail('connect', `Not a valid LDAP URL: ${config.url}`);
  }
  try {
    await probeTcp(target.host, target.port, config.timeout_ms);
    checks.push({ name: 'connect', ok: true, detail: `Connected to ${target.host}:${target.port}` });
  } catch (error) {
    return fail('connect', unavailable(error, config).detail);
  }
  if (target.secure) {
    try {
      checks.push({
        name: 'tls',
        ok: true,
        detail: `LDAPS: ${await probeTls(config, target.host, target.port)}`,
      });
    } catch (error) {
      return fail('tls', `LDAPS handshake failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (config.start_tls) {
    try {
      const client = await openClient(config);
      await client.unbind().catch(() => undefined);
      checks.push({ name: 'tls', ok: true, detail: 'StartTLS succeeded' });
    } catch (error) {
      return fail('tls', unavailable(error, config).detail);
    }
  } else if (config.allow_plain_bind) {
    checks.push({
      name: 'tls',
      ok: true,
      detail: 'No TLS: plain binds are explicitly allowed (not recommended)',
    });
  } else {
    return fail('tls', PLAIN_BIND_REFUSED);
  }
  let client: Client;
  try {
    client = await connect(config, bindPassword);
    checks.push({ name: 'service_bind', ok: true, detail: `Bound as ${config.bind_dn}` });
  } catch (error) {
    return fail('service_bind', unavailable(error, config).detail);
  }
  try {
    try {
      const users = await searchUsers(client, config);
      checks.push({
        name: 'user_search',
        ok: true,
        detail: `${users.length} users under ${config.user_base_dn}`,
      });
    } catch (error) {
      return fail('user_search', unavailable(error, config).detail);
    }
    try {
      const groups = await searchGroups(client, config);
      const base = config.group_base_dn || config.user_base_dn;
      checks.push({ name: 'group_search', ok: true, detail: `${groups.length} groups under ${base}` });
    } catch (error) {
      return fail('group_search', unavailable(error, config).detail);
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
  return checks;
}
