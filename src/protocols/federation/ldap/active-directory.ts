import { ConfidentialityRequiredError, StrongAuthRequiredError } from 'ldapts';
import type { LdapProviderConfig } from '../types.js';

/**
 * What is particular to Active Directory (issue 15), proved against a Samba AD DC in
 * tests/ldap-ad.test.ts: the preset an `ACTIVE_DIRECTORY` provider starts from, and the account
 * states AD keeps outside `userAccountControl`.
 */

/** LDAP_MATCHING_RULE_IN_CHAIN: AD walks nested groups server-side (`member:1.2.840.113556.1.4.1941:=<dn>`). */
export const LDAP_MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';

/** `userAccountControl` ACCOUNTDISABLE (0x2): 514 = NORMAL_ACCOUNT (512) + ACCOUNTDISABLE. */
export const UF_ACCOUNTDISABLE = 0x2;

/**
 * The defaults of an `ACTIVE_DIRECTORY` provider; the rest (URL, bind DN and password, base DNs,
 * CA) is the administrator's. Users are people (`objectCategory=person` leaves out computer
 * accounts, which are `objectClass=user` too), the login is the pre-Windows-2000 name, the stable
 * id is `objectGUID` (survives renames and moves, unlike the DN or the sAMAccountName), and
 * nested groups are resolved by the DC with IN_CHAIN.
 */
export const ACTIVE_DIRECTORY_PRESET = {
  directory_type: 'ACTIVE_DIRECTORY',
  start_tls: false,
  allow_plain_bind: false,
  tls_verify: true,
  user_filter: '(&(objectCategory=person)(objectClass=user))',
  login_attribute: 'sAMAccountName',
  id_attribute: 'objectGUID',
  group_filter: '(objectClass=group)',
  group_member_attribute: 'member',
  nested_groups: 'IN_CHAIN',
  ou_placement: 'DN',
  // AD answers at most MaxPageSize (1000 by default) entries per page.
  page_size: 1000,
} as const satisfies Partial<LdapProviderConfig>;

/** `accountExpires` values that mean "never" (MS-ADA1 2.14): 0 and 0x7FFFFFFFFFFFFFFF. */
const NEVER_EXPIRES = new Set([0n, 0x7fffffffffffffffn]);
/** 100-nanosecond intervals between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/**
 * Whether AD's `accountExpires` (a FILETIME: 100 ns since 1601, as a decimal string) is past at
 * `now`. AD refuses the bind of an expired account, yet keeps `userAccountControl` unchanged, so a
 * sync that only reads ACCOUNTDISABLE would keep such a user active.
 */
export function accountExpired(accountExpires: string | null | undefined, now: Date): boolean {
  if (accountExpires === null || accountExpires === undefined || !/^\d+$/.test(accountExpires)) return false;
  const value = BigInt(accountExpires);
  if (NEVER_EXPIRES.has(value)) return false;
  return value <= BigInt(now.getTime()) * 10_000n + FILETIME_UNIX_EPOCH;
}

/** A date as AD's FILETIME string (for `accountExpires`). */
export function toFileTime(date: Date): string {
  return String(BigInt(date.getTime()) * 10_000n + FILETIME_UNIX_EPOCH);
}

/**
 * Whether AD no longer lets the account sign in for good: ACCOUNTDISABLE in `userAccountControl`
 * or `accountExpires` past at `now` (a lockout is temporary and is not counted). Both are plain
 * attributes an ordinary domain user may read.
 */
export function accountDisabled(
  userAccountControl: string | null | undefined,
  accountExpires: string | null | undefined,
  now: Date,
): boolean {
  const control = Number(userAccountControl ?? '0');
  return (
    (Number.isFinite(control) && (control & UF_ACCOUNTDISABLE) !== 0) || accountExpired(accountExpires, now)
  );
}

/**
 * Whether the directory refused a bind because the connection is not encrypted: AD answers a
 * simple bind over plain LDAP with strongAuthRequired (8) when `ldap server require strong auth`
 * (Samba) / LDAP signing (Windows) is on, some servers with confidentialityRequired (13).
 */
export function encryptionRequired(error: unknown): boolean {
  return error instanceof StrongAuthRequiredError || error instanceof ConfidentialityRequiredError;
}
