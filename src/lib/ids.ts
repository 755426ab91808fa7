import { randomInt } from 'node:crypto';

/** Type prefixes of every id ScaiKey hands out (docs/api-contract.md, "IDs"). */
export const ID_PREFIXES = {
  partner: 'prt_',
  tenant: 'tnt_',
  user: 'usr_',
  group: 'grp_',
  ou: 'ou_',
  application: 'app_',
  identityProvider: 'idp_',
  session: 'ses_',
  event: 'evt_',
  roleAssignment: 'rol_',
  federatedIdentity: 'fid_',
  mfaFactor: 'mfa_',
  mfaChallenge: 'mfc_',
  webhook: 'whk_',
  ldapSyncRun: 'lsr_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 20;

/** A new id: the kind's prefix and 20 characters of [0-9a-z] from the CSPRNG (~103 bits). */
export function newId(kind: IdKind): string {
  let body = '';
  for (let i = 0; i < BODY_LENGTH; i++) body += ALPHABET[randomInt(ALPHABET.length)];
  return ID_PREFIXES[kind] + body;
}

const patterns = new Map<IdKind, RegExp>(
  (Object.keys(ID_PREFIXES) as IdKind[]).map((kind) => [
    kind,
    new RegExp(`^${ID_PREFIXES[kind]}[0-9a-z]{20}$`),
  ]),
);

/** Whether `value` has the exact shape of an id of `kind`. A wrong shape can never exist, so callers answer 404. */
export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && (patterns.get(kind) as RegExp).test(value);
}
