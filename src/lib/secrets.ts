import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A long random secret (256 bits, base64url), e.g. an application's client secret. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Hex SHA-256 digest. Client secrets are high-entropy, so a fast digest is safe where a password hash would cap grants. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares a presented secret with a stored SHA-256 hex digest in constant time. */
export function secretMatchesDigest(presented: string, digestHex: string): boolean {
  const expected = Buffer.from(digestHex, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
