import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Db } from './db/database.js';
import type { SigningKeyRow } from './db/schema.js';
import { hasActiveKey, insertFirstKey, liveKeys, replaceActiveKey } from './keys.repository.js';

export const SIGNING_ALG = 'RS256';
export const KEYS_CHANNEL = 'scaikey_keys';
/** How long a retired key stays in the JWKS by default: longer than the longest access token lifetime (24 h). */
export const DEFAULT_RETIRED_KEY_OVERLAP_SECONDS = 86_400;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Public JWK with kid, alg and use, as published in the JWKS. */
  publicJwk: JWK;
  /** Private JWK for oidc-provider's keystore. */
  privateJwk: JWK;
  /** When a retired key leaves the JWKS (ms since epoch); null while active. */
  expiresAt: number | null;
}

/** A JSON Web Key (RFC 7517), as node:crypto exports it. */
export type JWK = Record<string, string | undefined> & {
  kty?: string;
  kid?: string;
  alg?: string;
  use?: string;
};

async function generateKeyRow(): Promise<{ kid: string; publicJwk: JWK; privatePem: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  // The key id is its RFC 7638 thumbprint (SHA-256, base64url).
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    publicJwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' },
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

function toSigningKey(row: SigningKeyRow): SigningKey {
  const privateKey = createPrivateKey(row.private_key_pem);
  const publicJwk = row.public_jwk as JWK;
  return {
    kid: row.kid,
    privateKey,
    publicKey: createPublicKey(privateKey),
    publicJwk,
    privateJwk: {
      ...(privateKey.export({ format: 'jwk' }) as JWK),
      kid: row.kid,
      alg: SIGNING_ALG,
      use: 'sig',
    },
    expiresAt: row.status === 'ACTIVE' || !row.expires_at ? null : row.expires_at.getTime(),
  };
}

const isLive = (key: SigningKey) => key.expiresAt === null || key.expiresAt > Date.now();

/**
 * The signing keys, kept in the database and mirrored in memory. One key is ACTIVE and signs;
 * RETIRED keys stay published (and accepted) until their `expires_at`, so tokens they signed keep
 * working after a rotation. Another instance's rotation arrives by NOTIFY, or at the latest when a
 * token names a kid this instance does not know yet.
 */
export class KeyStore {
  #active!: SigningKey;
  #verification = new Map<string, SigningKey>();
  #lastReload = 0;

  private constructor(private readonly db: Db) {}

  /** Loads the keys, creating the first key pair on first start. */
  static async open(db: Db): Promise<KeyStore> {
    const store = new KeyStore(db);
    if (!(await hasActiveKey(db))) {
      const key = await generateKeyRow();
      await insertFirstKey(db, { ...key, alg: SIGNING_ALG });
    }
    await store.reload();
    return store;
  }

  /** Re-reads the keys from the database. */
  async reload(): Promise<void> {
    const rows = await liveKeys(this.db);
    const keys = new Map(rows.map((row) => [row.kid, toSigningKey(row)]));
    const active = rows.find((row) => row.status === 'ACTIVE');
    if (!active) throw new Error('No active signing key in the database');
    this.#active = keys.get(active.kid) as SigningKey;
    this.#verification = keys;
    this.#lastReload = Date.now();
  }

  get active(): SigningKey {
    return this.#active;
  }

  /** The key for a token's kid, reloading once (at most every 5 s) when the kid is unknown. */
  async verificationKey(kid: string): Promise<SigningKey | undefined> {
    const known = this.#verification.get(kid);
    if (known) return isLive(known) ? known : undefined;
    if (Date.now() - this.#lastReload > 5_000) {
      await this.reload();
      return this.#verification.get(kid);
    }
    return undefined;
  }

  /** The published key set (RFC 7517): the active key and retired keys still within their overlap. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.#verification.values()].filter(isLive).map((key) => key.publicJwk) };
  }

  /** Private JWKs for oidc-provider's keystore: the active one first, so it signs. */
  privateJwks(): JWK[] {
    const others = [...this.#verification.values()].filter((key) => key !== this.#active && isLive(key));
    return [this.#active.privateJwk, ...others.map((key) => key.privateJwk)];
  }
}

/**
 * Rotates the signing key: a new key becomes ACTIVE, the old one RETIRED and kept in the JWKS for
 * `overlapSeconds` (default 24 h, the longest token lifetime). Running instances are told by NOTIFY.
 */
export async function rotateSigningKey(
  db: Db,
  overlapSeconds = DEFAULT_RETIRED_KEY_OVERLAP_SECONDS,
): Promise<{ newKid: string; retiredKids: string[] }> {
  const key = await generateKeyRow();
  const retiredKids = await replaceActiveKey(db, { ...key, alg: SIGNING_ALG }, overlapSeconds, KEYS_CHANNEL);
  return { newKid: key.kid, retiredKids };
}
